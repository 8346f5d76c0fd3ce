"""User-facing errors: the CLI prints their message on one line and exits with code 2."""


class LthbenchError(ValueError):
    """Bad input from the user (unknown id, out-of-range value, infeasible request)."""


class TooLargeForExactError(LthbenchError):
    """The system is too large for exact diagonalisation on this machine."""


class UserCodeError(LthbenchError):
    """The user's own code (a pruning method) raised or misbehaved.

    The message names the method and the round; the user's exception is kept as `__cause__`, which
    `lthbench --debug` prints as a traceback.
    """


def one_line(exc: BaseException, limit: int = 300) -> str:
    """'Type: message' of an exception on one line (whitespace collapsed, at most `limit` characters)."""
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
