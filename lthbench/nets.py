"""Haiku ansätze: each gives a real log-amplitude log psi(s) for a batch of +-1 configurations.

Registry (`make_ansatz(name, system, **hyper)`), with the paper's defaults:

- 'ffnn'   log psi = sum_j ReLU(sum_i W_ji s_i), width alpha*N (alpha=1), no bias, W ~ Normal(0, std 0.01)
           (the authors' Flax `initializers.normal()` default, a standard deviation), float64;
- 'rbm'    log psi = sum_j log cosh(sum_i W_ji s_i + b_j) + sum_i a_i s_i, alpha*N hidden units (alpha=1),
           Normal(0, std 0.01) for all parameters, float64; biases are not prunable;
- 'cnn'    one 3 x 3 convolution 1 -> 4 channels ('SAME' zero padding), no bias, GELU, sum; He-normal,
           float32; needs a square lattice (spins reshaped row-major to `system.lattice_shape`);
- 'rescnn' embedding 3 x 3 conv 1 -> nf, nb residual blocks (LayerNorm -> GELU -> conv -> GELU -> conv,
           plus skip), final LayerNorm, sum; no biases; He-normal; float32 (nf=16, nb=4). The
           embedding and the LayerNorms are never prunable.

Prunable leaves are kernels only. Masks are applied outside (`params * mask`), so the modules know
nothing about pruning. Single-layer nets (FFNN, RBM) also expose `single_layer`, which the VMC engine
uses for its fast paths (one spin flip changes the pre-activations by -2 W[i, :] s_i).

An `Ansatz` compares and hashes by (name, hyper, n_spins, dtype, lattice), so two `make_ansatz` calls
with the same arguments share compiled VMC functions.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from .errors import LthbenchError
from .masks import default_is_prunable


@dataclasses.dataclass(frozen=True, eq=False)
class Ansatz:
    """A network and what the rest of the suite needs to know about it.

    Fields:
      name: 'ffnn' | 'cnn' | 'rescnn' | 'rbm'.
      hyper: hashable (key, value) pairs, e.g. (('alpha', 5.0),).
      n_spins: N.
      dtype: parameter dtype (jnp.float64 for ffnn/rbm, jnp.float32 for cnn/rescnn).
      init: init(key) -> params (a Haiku params dict).
      log_psi: log_psi(params, spins (B, N) of +-1) -> (B,) real log-amplitude (in `dtype`).
      is_prunable: is_prunable(name, leaf) -> bool, name as `lthbench.masks.path_name`.
      single_layer: None, or a `SingleLayer` for nets of the form
        log psi = sum_j act(theta_j) + a.s with theta = s @ W + b (FFNN, RBM).
      lattice_key: what of the system's geometry the net depends on (for equality/hashing).
    """

    name: str
    hyper: tuple
    n_spins: int
    dtype: Any
    init: Callable
    log_psi: Callable
    is_prunable: Callable
    single_layer: Any = None
    lattice_key: tuple = ()

    def _key(self):
        return (self.name, self.hyper, self.n_spins, np.dtype(self.dtype).name, self.lattice_key)

    def __eq__(self, other):
        return isinstance(other, Ansatz) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        hyper = ", ".join(f"{k}={v}" for k, v in self.hyper)
        return f"<Ansatz {self.name}({hyper}) N={self.n_spins} {np.dtype(self.dtype).name}>"

    @property
    def hyper_dict(self) -> dict:
        return dict(self.hyper)


@dataclasses.dataclass(frozen=True)
class SingleLayer:
    """log psi(s) = activation_sum(s @ W + b) + s @ a, for the VMC fast paths.

    parts(params) -> (W (N, H), b (H,) or None, a (N,) or None), taken from (already masked) params;
    activation_sum(theta (..., H)) -> (...,).
    """

    parts: Callable
    activation_sum: Callable


def _log_cosh(x):
    return jnp.logaddexp(x, -x) - jnp.log(2.0).astype(x.dtype)


def _relu_sum(theta):
    return jnp.sum(jax.nn.relu(theta), axis=-1)


def _log_cosh_sum(theta):
    return jnp.sum(_log_cosh(theta), axis=-1)


def _width(alpha: float, n_spins: int) -> int:
    width = int(round(float(alpha) * n_spins))
    if width < 1:
        raise LthbenchError(f"alpha={alpha} gives no hidden units for N={n_spins}")
    return width


def _transform(fn, n_spins: int, dtype):
    tr = hk.without_apply_rng(hk.transform(fn))
    dummy = jnp.ones((1, n_spins), dtype=dtype)

    def init(key):
        return tr.init(key, dummy)

    def log_psi(params, spins):
        return tr.apply(params, jnp.asarray(spins, dtype=dtype))

    return init, log_psi


def _ffnn(system, alpha: float = 1.0, std: float = 0.01):
    n = system.n_spins
    width = _width(alpha, n)

    def fn(spins):
        lin = hk.Linear(width, with_bias=False, w_init=hk.initializers.RandomNormal(stddev=std), name="ffnn")
        return _relu_sum(lin(spins))

    init, log_psi = _transform(fn, n, jnp.float64)
    single = SingleLayer(parts=lambda p: (p["ffnn"]["w"], None, None), activation_sum=_relu_sum)
    hyper = (("alpha", float(alpha)),) + ((("std", float(std)),) if std != 0.01 else ())
    return Ansatz("ffnn", hyper, n, jnp.float64, init, log_psi, default_is_prunable, single)


def _rbm(system, alpha: float = 1.0, std: float = 0.01):
    n = system.n_spins
    width = _width(alpha, n)
    w_init = hk.initializers.RandomNormal(stddev=std)

    def fn(spins):
        lin = hk.Linear(width, with_bias=True, w_init=w_init, b_init=w_init, name="rbm")
        a = hk.get_parameter("visible_bias", (n,), spins.dtype, init=w_init)
        return _log_cosh_sum(lin(spins)) + spins @ a

    init, log_psi = _transform(fn, n, jnp.float64)
    single = SingleLayer(
        parts=lambda p: (p["rbm"]["w"], p["rbm"]["b"], p["~"]["visible_bias"]), activation_sum=_log_cosh_sum
    )
    hyper = (("alpha", float(alpha)),) + ((("std", float(std)),) if std != 0.01 else ())
    return Ansatz("rbm", hyper, n, jnp.float64, init, log_psi, default_is_prunable, single)


def _square_shape(system) -> tuple[int, int]:
    shape = tuple(system.lattice_shape)
    if len(shape) != 2 or not all(isinstance(x, (int, np.integer)) for x in shape):
        raise LthbenchError(f"convolutional ansätze need a square-lattice system, got lattice {shape} for {system.id}")
    return int(shape[0]), int(shape[1])


_HE_NORMAL = hk.initializers.VarianceScaling(2.0, "fan_in", "truncated_normal")


def _conv(channels: int, name: str):
    return hk.Conv2D(channels, kernel_shape=3, padding="SAME", with_bias=False, w_init=_HE_NORMAL, name=name)


def _cnn(system, channels: int = 4):
    lx, ly = _square_shape(system)
    n = system.n_spins

    def fn(spins):
        x = spins.reshape(spins.shape[:-1] + (lx, ly, 1))
        y = jax.nn.gelu(_conv(int(channels), "conv")(x))
        return jnp.sum(y, axis=(-3, -2, -1))

    init, log_psi = _transform(fn, n, jnp.float32)
    return Ansatz(
        "cnn",
        (("channels", int(channels)),),
        n,
        jnp.float32,
        init,
        log_psi,
        default_is_prunable,
        lattice_key=(lx, ly),
    )


def _rescnn(system, nf: int = 16, nb: int = 4):
    lx, ly = _square_shape(system)
    n = system.n_spins
    nf, nb = int(nf), int(nb)

    def norm(name):
        return hk.LayerNorm(axis=-1, create_scale=True, create_offset=True, eps=1e-6, name=name)

    def fn(spins):
        x = spins.reshape(spins.shape[:-1] + (lx, ly, 1))
        x = _conv(nf, "embed")(x)
        for b in range(nb):
            y = jax.nn.gelu(norm(f"block{b}_norm")(x))
            y = _conv(nf, f"block{b}_conv1")(y)
            y = jax.nn.gelu(y)
            y = _conv(nf, f"block{b}_conv2")(y)
            x = x + y
        x = norm("final_norm")(x)
        return jnp.sum(x, axis=(-3, -2, -1))

    def is_prunable(name: str, leaf) -> bool:
        return default_is_prunable(name, leaf) and not name.startswith("embed")

    init, log_psi = _transform(fn, n, jnp.float32)
    return Ansatz("rescnn", (("nf", nf), ("nb", nb)), n, jnp.float32, init, log_psi, is_prunable, lattice_key=(lx, ly))


_REGISTRY = {"ffnn": _ffnn, "rbm": _rbm, "cnn": _cnn, "rescnn": _rescnn}


def available() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def make_ansatz(name: str, system, **hyper) -> Ansatz:
    """The ansatz `name` ('ffnn', 'rbm', 'cnn', 'rescnn') for `system`, with hyperparameters `hyper`.

    Raises LthbenchError for an unknown name, an unknown hyperparameter, or a net the system's
    geometry does not support (a CNN on the torus).
    """
    if name not in _REGISTRY:
        raise LthbenchError(f"unknown ansatz {name!r}; choose one of {', '.join(_REGISTRY)}")
    try:
        return _REGISTRY[name](system, **hyper)
    except TypeError as err:
        raise LthbenchError(f"bad hyperparameters for {name!r}: {hyper} ({err})") from None


def n_parameters(ansatz: Ansatz) -> int:
    params = jax.eval_shape(ansatz.init, jax.random.key(0))
    return int(sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(params)))
