"""The errors ``tsnlib`` raises for bad input. Each names the file and, when there is one, the list line.

Introduced in notebooks/01_data_preparation.ipynb (checking a dataset).
"""

from __future__ import annotations


class DataError(ValueError):
    """Bad input data: a missing, unreadable or inconsistent file, list line or label."""

    def __init__(self, message: str, path=None, source: str | None = None):
        where = []
        if path is not None:
            where.append(str(path))
        if source:
            where.append(f"from {source}")
        full = f"{message} [{'; '.join(where)}]" if where else message
        super().__init__(full)
        self.path = path
        self.source = source
        self.reason = message


class DecodeError(DataError):
    """A video that cannot be opened or decoded (missing, truncated, zero frames, no video stream)."""


class AnnotationError(DataError):
    """A malformed annotation: split line, list line, label out of range, unknown class name."""
