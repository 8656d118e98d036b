"""The errors ``tsnlib`` raises for input a person can fix, and how the command line prints them.

Introduced in notebooks/06_model_visualization.ipynb (which catches a DataError); notebook 01's dataset
checks report the same errors.

Every expected error is a :class:`TsnlibError`: bad data (:class:`DataError`, with
:class:`DecodeError` and :class:`AnnotationError`), a bad config (:class:`ConfigError`), a file that
is not a usable checkpoint (:class:`CheckpointError`) or a bad command-line value
(:class:`UsageError`). Their message names the file, list line or key and says what to do. The
``tsnlib`` command prints such an error as the single line of :func:`one_line` and exits with
status 1; anything else is a bug and keeps its traceback (``--debug`` or ``TSNLIB_DEBUG=1`` shows
the traceback of every error).
"""

from __future__ import annotations


class TsnlibError(Exception):
    """An expected error: bad input that the message tells the user how to fix (no traceback needed)."""


class DataError(TsnlibError, ValueError):
    """Bad input data: a missing, unreadable or inconsistent file, list line or label.

    ``str(err)`` is ``"<message> [<path>; from <list file>:<line>]"`` followed by ``hint`` (what to
    do) when one is given.
    """

    def __init__(self, message: str, path=None, source: str | None = None, hint: str | None = None):
        where = []
        if path is not None:
            where.append(str(path))
        if source:
            where.append(f"from {source}")
        full = f"{message} [{'; '.join(where)}]" if where else message
        if hint:
            full = f"{full}: {hint}"
        super().__init__(full)
        self.path = path
        self.source = source
        self.reason = message
        self.hint = hint


class DecodeError(DataError):
    """A video that cannot be opened or decoded (missing, truncated, zero frames, no video stream)."""


class AnnotationError(DataError):
    """A malformed annotation: split line, list line, label out of range, unknown class name."""


class ConfigError(TsnlibError, ValueError):
    """A config that cannot be used: unknown key, wrong type, bad value, missing file, cycle in ``base:``.

    Used by :func:`tsnlib.config.preset_path`, :func:`tsnlib.config.load_config`,
    :func:`tsnlib.config.default_config` (also importable as ``tsnlib.config.ConfigError``).
    """


class CheckpointError(TsnlibError, RuntimeError):
    """A checkpoint that cannot (or must not) be loaded: missing, not plain data, wrong format, other classes.

    Used by :mod:`tsnlib.checkpoints`, :func:`tsnlib.experiment.load_model_from_checkpoint`,
    :func:`tsnlib.experiment.test_checkpoint`, :func:`tsnlib.backbones.load_imagenet_state_dict` (also importable as
    ``tsnlib.checkpoints.CheckpointError``).
    """


class UsageError(TsnlibError, ValueError):
    """A command-line or function argument out of its range: ``--clips 0``, ``--device cuda`` without a GPU,
    a work folder that already holds a run."""


def one_line(err: BaseException) -> str:
    """The message of an expected error as one line (what the ``tsnlib`` command prints).

    An error raised in a DataLoader worker comes back to the main process with the worker's
    traceback inside its message; only the original message (its last line) is kept.
    """
    text = str(err)
    if "Original Traceback" in text:
        last = [ln for ln in text.splitlines() if ln.strip()][-1]
        name = type(err).__name__
        text = last.split(f"{name}: ", 1)[1] if f"{name}: " in last else last
    return " ".join(part.strip() for part in text.splitlines() if part.strip())
