"""Reading the benchmarks' official annotation files: finding them, their CSV and JSON rows, their videos.

What every reader of :mod:`tsnlib.annotations.benchmark_readers` shares: where the annotation files
are (``annotations/``, ``labels/`` or the root itself, MMAction2's names and the official ones),
rows with the line they came from, a header check, an index of the videos on disk by stem, a
duplicate check, label maps from class lists, and the check of a segment against its video.

Used by :mod:`tsnlib.annotations.benchmark_readers`.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tsnlib.annotations.records import VIDEO_EXTENSIONS, LabelMap, Report, VideoRecord, _lines
from tsnlib.errors import DataError

_ANN_DIRS = ("annotations", "labels", "")
_SUBSET_WORDS = {"train": ("train", "training"), "val": ("val", "validate", "validation"), "test": ("test", "testing")}


# ----------------------------------------------------------------------------------------------
# Reading files
# ----------------------------------------------------------------------------------------------


@dataclass
class _Read:
    """What an internal reader found: records, label map, the videos folder(s) looked in, and the
    annotated duration (seconds) of each untrimmed video, keyed by its path."""

    records: list[VideoRecord]
    label_map: LabelMap
    video_dirs: list[Path] = field(default_factory=list)
    durations: dict[Path, float] = field(default_factory=dict)


def _base(path) -> Path:
    path = Path(path)
    return path.parent if path.is_file() else path


def _find(path, names: Iterable[str]) -> Path | None:
    """The first of ``names`` in ``path``, ``path/annotations`` or ``path/labels`` (``path`` may be a file)."""
    base = _base(path)
    for d in _ANN_DIRS:
        for n in names:
            p = base / d / n if d else base / n
            if p.is_file():
                return p
    return None


def _root_of(ann_file: Path) -> Path:
    """The dataset root of an annotation file: the folder above ``annotations/`` or ``labels/``."""
    d = ann_file.parent
    return d.parent if d.name.casefold() in ("annotations", "labels") else d


def _need(path, names: Sequence[str], what: str) -> Path:
    found = _find(path, names)
    if found is None:
        raise DataError(f"{what} not found: expected {' or '.join(names)} in the root or its annotations/",
                        path=_base(path))
    return found


def _csv_rows(path: Path, report: Report, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """``(line, fields)`` of the non-blank lines of a CSV file (quoted fields, CRLF and BOM tolerated)."""
    return [(line, [f.strip() for f in next(csv.reader([text], delimiter=delimiter))]) for line, text in
            _lines(path, report)]


def _json(path: Path, report: Report):
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        report("missing-file", f"annotation file cannot be read: {exc}", path, error=DataError)
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        report("malformed-line", f"not valid JSON: {exc.msg}", path, f"{path.name}:{getattr(exc, 'lineno', '?')}")
        return None


def _entry(path: Path, where) -> str:
    return f"{path.name}:entry {where}" if isinstance(where, int) else f"{path.name}:{where}"


def _number(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


def _header(rows: list[tuple[int, list[str]]], required: Sequence[str], path: Path, report: Report,
            ) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    """Column positions from the header row (case-insensitive, spaces tolerated) and the data rows."""
    if not rows:
        report("malformed-line", f"empty file: expected a header {','.join(required)}", path)
        return {}, []
    line, head = rows[0]
    cols = {h.strip().casefold().replace(" ", "_"): i for i, h in enumerate(head)}
    missing = [c for c in required if c not in cols]
    if missing:
        report("malformed-line", f"the header lacks column(s) {', '.join(missing)}: expected "
               f"{','.join(required)}, got {','.join(head)!r}", path, f"{path.name}:{line}")
        return {}, []
    return cols, rows[1:]


class _VideoIndex:
    """Video files under some folders, by stem (case-insensitive); the walk is made on first use."""

    def __init__(self, folders: Sequence[Path]):
        self.folders = [f for f in folders if f.is_dir()]
        self._by_stem: dict[str, Path] | None = None

    def get(self, stem: str) -> Path | None:
        if self._by_stem is None:
            self._by_stem = {}
            for folder in self.folders:
                for dirpath, dirnames, filenames in os.walk(folder):
                    dirnames.sort()
                    for n in sorted(filenames):
                        p = Path(dirpath) / n
                        if p.suffix.lower() in VIDEO_EXTENSIONS:
                            self._by_stem.setdefault(p.stem.casefold(), p)
        return self._by_stem.get(stem.casefold())


def _subset_dirs(root: Path, subset: str, prefixes: Sequence[str] = ("videos_", "", "videos/")) -> list[Path]:
    """Existing folders named for ``subset`` (``videos_train``, ``train``, ``videos/training``, ...)."""
    return [root / f"{p}{w}" for p in prefixes for w in _SUBSET_WORDS[subset] if (root / f"{p}{w}").is_dir()]


def _first_dir(root: Path, names: Sequence[str]) -> Path:
    """The first existing ``root/<name>`` (``names[0]`` when none exists: the expected place)."""
    return next((root / n for n in names if (root / n).is_dir()), root / names[0])


class _Seen:
    """Ids already read, with the source that read them: a second one is a ``duplicate`` problem."""

    def __init__(self, path: Path, report: Report):
        self.path, self.report, self.first = path, report, {}

    def __call__(self, key: str, src: str, what: str) -> bool:
        """True (and reported) when ``key`` was seen before."""
        k = key.casefold()
        if k in self.first:
            self.report("duplicate", f"{what} {key!r} appears twice (also {self.first[k]})", self.path, src)
            return True
        self.first[k] = src
        return False


def _class_list_map(names_and_lines: list[tuple[str, int]], path: Path, report: Report) -> LabelMap:
    """A label map from class names in file order, each reported once when repeated."""
    seen = _Seen(path, report)
    names = [n for n, line in names_and_lines if not seen(n, f"{path.name}:{line}", "class name")]
    if not names:
        report("malformed-line", "no class names", path)
    return LabelMap(names, source=path.name)


def _numbered_map(path: Path, report: Report) -> LabelMap:
    """``moments_categories.txt``: lines ``name,index`` (0-based) → label map in index order."""
    by_index: dict[int, str] = {}
    for line, fields in _csv_rows(path, report):
        src = f"{path.name}:{line}"
        if len(fields) < 2 or not fields[0] or not re.fullmatch(r"\d+", fields[-1]):
            report("malformed-line", f"expected '<class name>,<0-based index>', got {','.join(fields)!r}", path, src)
            continue
        name, idx = ",".join(fields[:-1]), int(fields[-1])
        if idx in by_index or name in by_index.values():
            report("duplicate", f"class index {idx} or name {name!r} appears twice", path, src)
            continue
        by_index[idx] = name
    if sorted(by_index) != list(range(len(by_index))):
        missing = sorted(set(range(max(by_index, default=-1) + 1)) - set(by_index))[:5]
        report("bad-label", f"class indices must be 0..{len(by_index) - 1}; missing {missing}", path)
    return LabelMap([by_index[i] for i in sorted(by_index)], source=path.name)


def _segment_problem(start, end, duration) -> str | None:
    """Why ``[start, end]`` seconds is no segment of a ``duration``-second video, or None."""
    if start is None or end is None:
        return "segment times are not numbers"
    if start < 0 or end <= start:
        return f"segment [{start:g}, {end:g}] s is empty or starts before 0"
    if duration is not None and start >= duration:
        return f"segment [{start:g}, {end:g}] s starts after the video's end ({duration:g} s)"
    return None

