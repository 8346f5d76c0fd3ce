"""Keep OpenBLAS single-threaded while VMC programs run.

On CPU, jax's Cholesky and triangular solves call LAPACK/BLAS from scipy's bundled OpenBLAS. Its worker
threads busy-wait; on a small machine shared with other processes (or with XLA's own thread pool) that
made one SR solve up to ten times slower than with one thread (measured: 200 ms vs 29 ms per TFIM 4 x 4
step under load). `single_threaded_blas()` sets OpenBLAS to one thread for the duration of a call and
restores the previous count. If the library cannot be found it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
from functools import lru_cache

import scipy


@lru_cache(maxsize=1)
def _openblas():
    """(get, set) functions of scipy's OpenBLAS, or None."""
    libdir = os.path.join(os.path.dirname(os.path.dirname(scipy.__file__)), "scipy.libs")
    for path in sorted(glob.glob(os.path.join(libdir, "libscipy_openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix in ("", "64_"):
            get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
            put = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                get.restype = ctypes.c_int
                put.argtypes = [ctypes.c_int]
                return get, put
    return None


@contextlib.contextmanager
def single_threaded_blas():
    fns = _openblas() if os.environ.get("LTHBENCH_BLAS_THREADS", "1") == "1" else None
    if fns is None:
        yield
        return
    get, put = fns
    before = get()
    put(1)
    try:
        yield
    finally:
        put(before)


def blas1(fn):
    """Decorator: run `fn` with OpenBLAS single-threaded (see `single_threaded_blas`)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return fn(*args, **kwargs)

    return wrapper
