"""The vocabulary of the annotation readers: records, label maps, and what every reader shares.

A reader turns a dataset's annotation files into a list of :class:`VideoRecord` (one per video
file or frame folder, with a 0-based ``label`` and the ``source`` line it came from, e.g.
``"trainlist01.txt:17"``) and the :class:`LabelMap` of class names. This module holds those two
classes, the names of what the readers understand (:data:`LAYOUTS`, :data:`LIST_KINDS`,
:data:`SUBSETS`, :data:`VIDEO_EXTENSIONS`), ``classInd.txt`` files, and the plumbing every reader
uses: a ``report`` that raises at the first problem (the readers) or collects them all
(:mod:`tsnlib.checks`), line reading that tolerates CRLF and BOMs, case-insensitive path
resolution, and atomic writes.

Part of :mod:`tsnlib.annotations` (notebooks/01_data_preparation.ipynb).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tsnlib.errors import AnnotationError, DataError

#: File extensions taken as videos wherever folders are scanned (class folders, ``tsnlib frames`` and
#: ``tsnlib flow`` on a folder of videos), compared case-insensitively: the one definition.
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v")
#: The benchmarks read from their official annotation files by :mod:`tsnlib.annotations.benchmarks`.
BENCHMARK_LAYOUTS = ("kinetics400", "kinetics600", "kinetics700", "sthv1", "sthv2", "diving48", "mit", "mmit",
                     "activitynet", "hvu")
#: The benchmarks whose samples have several classes (``VideoRecord.labels``); their list files
#: (``mmit_*.txt``, ``hvu_*.txt``) hold every label id after the path.
MULTI_LABEL_LAYOUTS = ("mmit", "hvu")
#: The first words of the list-file names read as multi-label when nobody says: the multi-label
#: benchmarks', and ``tags`` for the synthetic tag dataset (:mod:`tsnlib.synthetic_tags`).
MULTI_LABEL_LIST_NAMES = MULTI_LABEL_LAYOUTS + ("tags",)
#: The layouts :func:`detect_layout` returns and :func:`load_annotations` accepts as ``kind``.
LAYOUTS = ("ucf101", "hmdb51", "list", "folders") + BENCHMARK_LAYOUTS
#: What a list file or class folder holds: video files, RGB frame folders, or flow frame folders.
LIST_KINDS = ("video", "frames", "flow")
#: The subsets a reader accepts. ``"val"`` exists only where the dataset has one: the synthetic
#: UCF101 layout's ``vallist0N.txt``, ``*_val_split_N_*.txt`` lists, a ``val/`` class-folder tree
#: (see :func:`available_subsets`); the official UCF101 and HMDB51 splits have none.
SUBSETS = ("train", "val", "test")


# ----------------------------------------------------------------------------------------------
# Records and label maps
# ----------------------------------------------------------------------------------------------


@dataclass
class VideoRecord:
    """One sample of a dataset: a video file or a frame folder, with its label.

    Fields: ``path`` (Path: the video file or frame folder), ``label`` (int, 0-based; -1 when
    unknown), ``num_frames`` (int or None: None = ask the decoder; for frame folders the number
    of ``img_*.jpg``), ``video_id`` (str, a stable name such as ``"v_ApplyEyeMakeup_g01_c01"``;
    defaults to the file's stem or the folder's name), ``source`` (str or None: the list file and
    line it came from, e.g. ``"trainlist01.txt:17"``, quoted by every error about this sample),
    ``num_flow_frames`` (int or None: frame folders only, the number of ``flow_x_*.jpg``, often
    ``num_frames - 1``), ``labels`` (tuple of int or None: multi-label datasets only, every class
    of the sample, 0-based; ``label`` is then the first of them, or -1 when there is none).

    A sample can be a part of a longer video (ActivityNet's labelled segments, Kinetics clips
    read from the untrimmed YouTube video): ``start`` and ``end`` (float seconds or None: the
    segment of a *video file*, None = from its first / to its last frame; frame ``i`` is taken at
    ``i / fps``, as MMAction2's ActivityNet lists do) or ``offset`` (int or None: the 0-based first
    frame in a *frame folder*, MMAction2's ``with_offset`` lists ``"frame_dir offset total_frames
    label"``; ``num_frames`` and ``num_flow_frames`` then count the frames of the segment, not of
    the folder). :class:`tsnlib.datasets.TSNDataset` samples inside the segment only.

    Introduced in notebooks/01_data_preparation.ipynb.
    """

    path: Path
    label: int
    num_frames: int | None = None
    video_id: str = ""
    source: str | None = None
    num_flow_frames: int | None = None
    labels: tuple[int, ...] | None = None
    start: float | None = None
    end: float | None = None
    offset: int | None = None

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.label = int(self.label)
        if self.labels is not None:
            self.labels = tuple(int(c) for c in self.labels)
        self.start = None if self.start is None else float(self.start)
        self.end = None if self.end is None else float(self.end)
        self.offset = None if self.offset is None else int(self.offset)
        if not self.video_id:
            name = self.path.name
            self.video_id = self.path.stem if self.path.suffix.lower() in VIDEO_EXTENSIONS else name

    @property
    def is_segment(self) -> bool:
        """True when the sample is a time window of a longer video file (``start`` or ``end`` set)."""
        return self.start is not None or self.end is not None

    @property
    def folder_name(self) -> str:
        """The name of the frame folder extracted for this sample: ``video_id``, or the video file's
        stem for a segment (every segment of a video reads the one folder of the whole video)."""
        return self.path.stem if self.is_segment else self.video_id


class LabelMap:
    """Ordered class names: label ``i`` (0-based) is ``names[i]``.

    ``len(m)``, ``m.names`` (tuple), ``m.index(name) -> int``, ``m.name(i) -> str``,
    ``name in m``, iteration over the names. On disk it is a ``classInd.txt``-style file,
    ``"1 ApplyEyeMakeup"`` per line, **1-based** (:meth:`to_file`, :meth:`from_file`).

    :meth:`index` matches exactly first, then case-insensitively: the official UCF101 files spell
    one class ``HandstandPushups`` in ``classInd.txt`` and ``HandStandPushups`` in the video
    names, and other copies of the dataset swap the two.

    Introduced in notebooks/01_data_preparation.ipynb.
    """

    def __init__(self, names: Iterable[str], source: str | None = None):
        self._names = tuple(str(n) for n in names)
        self.source = source
        self._exact = {}
        self._folded: dict[str, int | None] = {}
        for i, n in enumerate(self._names):
            if not n or n != n.strip() or any(c in n for c in "\r\n"):
                raise AnnotationError(f"class name {n!r} is empty or has surrounding whitespace", source=source)
            if n in self._exact:
                raise AnnotationError(f"class name {n!r} appears twice (labels {self._exact[n]} and {i})", source=source)
            self._exact[n] = i
            key = n.casefold()
            self._folded[key] = None if key in self._folded else i  # None: ambiguous ignoring case

    @property
    def names(self) -> tuple[str, ...]:
        """The class names in label order."""
        return self._names

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self):
        return iter(self._names)

    def __contains__(self, name) -> bool:
        return self.find(name) is not None

    def __eq__(self, other) -> bool:
        return isinstance(other, LabelMap) and self._names == other._names

    def __hash__(self) -> int:
        return hash(self._names)

    def __repr__(self) -> str:
        shown = ", ".join(self._names[:5]) + (", ..." if len(self._names) > 5 else "")
        return f"LabelMap({len(self)} classes: {shown})"

    def find(self, name: str) -> int | None:
        """The label of ``name`` (exact match, else the unique case-insensitive one), or None."""
        name = str(name)
        if name in self._exact:
            return self._exact[name]
        return self._folded.get(name.casefold())

    def index(self, name: str) -> int:
        """The 0-based label of class ``name``; unknown → :class:`~tsnlib.errors.AnnotationError`."""
        i = self.find(name)
        if i is None:
            shown = ", ".join(self._names[:10]) + (", ..." if len(self._names) > 10 else "")
            raise AnnotationError(f"unknown class name {name!r}; the {len(self)} classes are: {shown}",
                                  source=self.source)
        return i

    def name(self, label: int) -> str:
        """The class name of 0-based ``label``; out of range → :class:`~tsnlib.errors.AnnotationError`."""
        label = int(label)
        if not 0 <= label < len(self._names):
            raise AnnotationError(f"label {label} out of range: {len(self)} classes (0..{len(self) - 1})",
                                  source=self.source)
        return self._names[label]

    def to_file(self, path) -> Path:
        """Write ``classInd.txt`` style: ``"1 Name"`` per line, 1-based. Returns the path."""
        return _write_atomic(Path(path), "".join(f"{i} {n}\n" for i, n in enumerate(self._names, 1)))

    @classmethod
    def from_file(cls, path) -> LabelMap:
        """Read a ``classInd.txt``-style file (``"1 Name"``, 1-based, CRLF and blank lines tolerated).

        The indices must be exactly 1..N (in any order); a malformed line, a repeated index or
        name, or a gap raises :class:`~tsnlib.errors.AnnotationError` naming the file and line.
        """
        return _read_class_index(Path(path), _raise)


def write_label_map(label_map: LabelMap, path) -> Path:
    """Write ``label_map`` as a ``classInd.txt``-style file (``"1 Name"``, 1-based); returns the path.

    Used by :func:`tsnlib.annotations.build_lists`.
    """
    return label_map.to_file(path)


# ----------------------------------------------------------------------------------------------
# Reporting: raise at the first problem (readers) or collect them all (tsnlib.checks)
# ----------------------------------------------------------------------------------------------

#: ``report(kind, message, path, source=None, error=AnnotationError)``; raises or records.
Report = Callable[..., None]


def _make_error(kind: str, message: str, path, source: str | None, error=AnnotationError) -> DataError:
    err = error(message, path=path, source=source)
    err.kind = kind  # e.g. "malformed-line", "unknown-class", "bad-label", "duplicate", "missing-file"
    return err


def _raise(kind: str, message: str, path, source: str | None = None, error=AnnotationError) -> None:
    raise _make_error(kind, message, path, source, error)


class _Collector:
    """A ``report`` that keeps every problem (as exceptions with a ``kind``) instead of raising."""

    def __init__(self):
        self.errors: list[DataError] = []

    def __call__(self, kind: str, message: str, path, source: str | None = None, error=AnnotationError) -> None:
        self.errors.append(_make_error(kind, message, path, source, error))


def _lines(path: Path, report: Report) -> list[tuple[int, str]]:
    """``(line_number, text)`` of the non-blank lines, stripped (CRLF, BOM and trailing spaces tolerated)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        report("missing-file", "annotation file not found", path, error=DataError)
        return []
    except OSError as exc:
        report("missing-file", f"annotation file cannot be read: {exc}", path, error=DataError)
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return [(i, line.strip()) for i, line in enumerate(text.split("\n"), 1) if line.strip()]


def _src(path: Path, line: int) -> str:
    return f"{path.name}:{line}"


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True


def _check_subset(subset: str) -> str:
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    return subset


class _Resolver:
    """Paths under ``base``: exact when the file exists, else the case-insensitive match on disk.

    The index of all files is built only when a listed path is not found as written.
    """

    def __init__(self, base: Path):
        self.base = Path(base)
        self._index: dict[str, Path] | None = None

    def __call__(self, rel: str) -> Path:
        p = self.base / rel
        if p.exists():
            return p
        if self._index is None:
            self._index = {}
            if self.base.is_dir():
                for dirpath, dirnames, filenames in os.walk(self.base):
                    rel_dir = Path(dirpath).relative_to(self.base)
                    for n in filenames + dirnames:
                        self._index.setdefault((rel_dir / n).as_posix().casefold(), Path(dirpath) / n)
        return self._index.get(Path(rel).as_posix().casefold(), p)


def _read_class_index(path: Path, report: Report) -> LabelMap:
    by_index: dict[int, tuple[str, int]] = {}
    for line, text in _lines(path, report):
        parts = text.split(None, 1)
        src = _src(path, line)
        if len(parts) != 2 or not _is_int(parts[0]):
            report("malformed-line", f"expected '<1-based index> <ClassName>', got {text!r}", path, src)
            continue
        idx, name = int(parts[0]), parts[1].strip()
        if idx in by_index:
            report("duplicate", f"class index {idx} appears twice (also line {by_index[idx][1]})", path, src)
            continue
        dup = next((ln for n, ln in by_index.values() if n.casefold() == name.casefold()), None)
        if dup is not None:
            report("duplicate", f"class name {name!r} appears twice (also line {dup})", path, src)
            continue
        by_index[idx] = (name, line)
    n = len(by_index)
    if by_index and sorted(by_index) != list(range(1, n + 1)):
        missing = sorted(set(range(1, max(by_index) + 1)) - set(by_index))[:5]
        outside = sorted(i for i in by_index if not 1 <= i <= n)[:5]
        report("bad-label", f"class indices must be 1..{n} (1-based); missing {missing}, unexpected {outside}", path)
        names = [name for _, (name, _) in sorted(by_index.items())]
    else:
        names = [by_index[i][0] for i in range(1, n + 1)]
    if not names:
        report("malformed-line", "no classes: expected '<1-based index> <ClassName>' lines", path)
    return LabelMap(names, source=path.name)



def _write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

