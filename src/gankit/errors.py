"""Exceptions for problems the user can fix.

The CLI prints a :class:`GankitError` as one line and exits non-zero; anything
else is a bug in gankit and keeps its traceback.
"""


class GankitError(Exception):
    """A problem with the user's input (config, data, checkpoint, path, argument)."""


class ConfigError(GankitError):
    """A config key, type or value is not allowed."""


class DataError(GankitError):
    """A dataset is missing, corrupt or cannot be fetched."""


class CheckpointError(GankitError):
    """A checkpoint or exported model is missing, corrupt or does not match."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (at most ``limit`` characters), else its class name.

    What a one-line error keeps of a library exception it replaces.
    """
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else exc.__class__.__name__
