"""User-facing errors: the CLI prints their message on one line and exits with code 2."""


class LthbenchError(ValueError):
    """Bad input from the user (unknown id, out-of-range value, infeasible request)."""


class TooLargeForExactError(LthbenchError):
    """The system is too large for exact diagonalisation on this machine."""
