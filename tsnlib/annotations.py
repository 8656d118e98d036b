"""Annotations: which videos (or frame folders) a dataset has, their labels, and the list files.

Introduced in notebooks/01_data_preparation.ipynb.

Every reader returns ``(records, label_map)``: a list of :class:`VideoRecord` (one per video file
or frame folder, with a 0-based ``label`` and the ``source`` line it came from, e.g.
``"trainlist01.txt:17"``) and the :class:`LabelMap` of class names. Layouts understood:

* **UCF101** (:func:`read_ucf101`): ``UCF-101/<Class>/v_<Class>_gGG_cCC.avi`` and
  ``ucfTrainTestlist/`` with ``classInd.txt`` (``"1 ApplyEyeMakeup"``, 1-based on disk),
  ``trainlist0N.txt`` (``"Class/v_Class_g08_c01.avi 1"``) and ``testlist0N.txt`` (no label); the
  synthetic set (:mod:`tsnlib.synthetic`) also has ``vallist0N.txt`` (no label, groups disjoint from
  train and test), which the official UCF101 lacks.
* **HMDB51** (:func:`read_hmdb51`): ``hmdb51_org/<class>/<name>.avi`` and
  ``testTrainMulti_7030_splits/<class>_test_splitN.txt`` with ``"<name>.avi <tag>"`` lines,
  tag 1 = train, 2 = test, 0 = not used in that split. Labels: class names sorted.
* **MMAction2-style list files** (:func:`read_list_file`): ``"path label"`` for videos,
  ``"frame_dir total_frames label"`` for frame folders; 0-based labels; multi-label lines
  (``"path 3 17"``) and segment lines with an offset (``"frame_dir offset total_frames label"``).
* **A folder per class** (:func:`read_class_folders`): ``<root>/<class>/<video>``, optionally
  under ``<root>/train/`` and ``<root>/test/``.
* **The other benchmarks** of the TSN model zoo (:data:`BENCHMARK_LAYOUTS`: Kinetics-400/600/700,
  Something-Something v1/v2, Diving48, Moments in Time, Multi-Moments in Time, ActivityNet, HVU),
  read from their official annotation files by :mod:`tsnlib.benchmark_annotations`; this module
  dispatches to it.

:func:`load_annotations` recognises the layout by itself (:func:`detect_layout`).
:func:`write_list_file`, :func:`write_label_map` and :func:`build_lists` write the MMAction2
formats (``ucf101_train_split_1_videos.txt``, ``..._rawframes.txt``, ``classInd.txt``).

Bad annotations raise :class:`~tsnlib.errors.AnnotationError` naming the file and the line
(``... [ucfTrainTestlist/trainlist01.txt; from trainlist01.txt:17]``); nothing is silently dropped.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tsnlib.errors import AnnotationError, DataError

__all__ = [
    "VIDEO_EXTENSIONS",
    "LAYOUTS",
    "VideoRecord",
    "LabelMap",
    "read_ucf101",
    "read_hmdb51",
    "read_list_file",
    "read_class_folders",
    "detect_layout",
    "load_annotations",
    "available_subsets",
    "write_list_file",
    "write_label_map",
    "build_lists",
    "scan_frame_folder",
    "add_lists_arguments",
    "cli_lists",
]

#: File extensions taken as videos wherever folders are scanned (class folders, ``tsnlib frames`` and
#: ``tsnlib flow`` on a folder of videos), compared case-insensitively: the one definition.
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v")
#: The benchmarks read from their official annotation files by :mod:`tsnlib.benchmark_annotations`.
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

#: Frame files of a frame folder: ``img_00001.jpg``, ``flow_x_00001.jpg``, ``flow_y_00001.jpg``; a bare
#: ``00001.jpg`` is an RGB frame too (Something-Something v1 is distributed so).
FRAME_FILE = re.compile(r"^(?:(img|flow_x|flow_y)_)?(\d+)\.jpg$")

_UCF_ANN_DIRS = ("ucfTrainTestlist", "annotations")
_UCF_VIDEO_DIRS = ("UCF-101", "videos", "UCF101")
_HMDB_ANN_DIRS = ("testTrainMulti_7030_splits", "annotations")
_HMDB_VIDEO_DIRS = ("hmdb51_org", "hmdb51", "videos")
_HMDB_SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<split>\d+)\.txt$")
_UCF_LIST_FILE = re.compile(r"^(?P<subset>train|test|val)list(?P<split>\d+)\.txt$", re.IGNORECASE)
_HMDB_TAGS = {"0": None, "1": "train", "2": "test"}
_LIST_SUFFIX = {"video": "videos", "frames": "rawframes", "flow": "flow"}


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

    Introduced in notebooks/01_data_preparation.ipynb.
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


# ----------------------------------------------------------------------------------------------
# UCF101
# ----------------------------------------------------------------------------------------------


def _first_dir(candidates: Iterable[Path]) -> Path | None:
    return next((c for c in candidates if c.is_dir()), None)


def _is_ucf101_ann(d: Path) -> bool:
    """A UCF101 annotation folder: ``classInd.txt`` and ``trainlist0N.txt``/``testlist0N.txt`` files
    (a folder written by :func:`build_lists` has a ``classInd.txt`` too, but no split files)."""
    return (d / "classInd.txt").is_file() and bool(_ucf101_splits(d))


def _ucf101_dirs(root, videos_root=None, require_videos: bool = True) -> tuple[Path, Path]:
    """``(annotation_dir, video_dir)`` of a UCF101 root, its annotation folder, or one of its list files.

    Without ``require_videos`` a missing videos folder is returned as the expected path.
    """
    root = Path(root)
    if root.is_file():
        root = root.parent
    if _is_ucf101_ann(root):
        ann = root
        parents = [root.parent / d for d in _UCF_VIDEO_DIRS]
        video = _first_dir([root / d for d in _UCF_VIDEO_DIRS] + parents)
        expected = f"{root.parent / 'UCF-101'}"
    else:
        ann = next((root / d for d in _UCF_ANN_DIRS if _is_ucf101_ann(root / d)), None)
        if ann is None:
            raise DataError("not a UCF101 root: no classInd.txt and trainlist0N.txt in ucfTrainTestlist/ "
                        "(or annotations/)", path=root)
        video = _first_dir(root / d for d in _UCF_VIDEO_DIRS)
        if video is None and _folder_kind(root, VIDEO_EXTENSIONS) == "video":
            video = root  # class folders directly in the root
        expected = f"{root / 'UCF-101'}"
    if videos_root is not None:
        video = Path(videos_root)
    if (video is None or not video.is_dir()) and not require_videos:
        return ann, Path(video or expected)
    if video is None or not video.is_dir():
        raise DataError(f"UCF101 videos folder not found: expected {expected} (or videos/) beside {ann.name}/, "
                        "or pass videos_root", path=video or expected)
    return ann, video


def _ucf101_splits(ann: Path) -> list[int]:
    found = {int(m.group("split")) for p in ann.iterdir() if (m := _UCF_LIST_FILE.match(p.name))}
    return sorted(found)


_NO_VAL_LIST = ("no vallist0{split}.txt: only the synthetic dataset (tsnlib synth) has a validation list, the "
                "official UCF101 does not; set data.val_subset: test, as the paper's protocol does")


def _ucf101_list_path(ann: Path, split: int, subset: str) -> Path | None:
    """The ``<subset>list0N.txt`` file of ``ann`` (its name's case may differ on disk), or None."""
    path = ann / f"{subset}list{int(split):02d}.txt"
    if path.is_file():
        return path
    try:
        return next((p for p in ann.iterdir() if p.name.casefold() == path.name.casefold() and p.is_file()), None)
    except OSError:
        return None


def _ucf101_list(ann: Path, video_dir: Path, label_map: LabelMap, split: int, subset: str, report: Report,
                 resolve: _Resolver | None = None) -> list[VideoRecord]:
    path = _ucf101_list_path(ann, split, subset)
    if path is None:
        missing = ann / f"{subset}list{int(split):02d}.txt"
        if subset == "val":
            report("missing-file", _NO_VAL_LIST.format(split=f"{int(split)}"), missing, error=DataError)
        else:
            report("missing-file", f"UCF101 split file not found (split {split}, {subset})", missing, error=DataError)
        return []
    resolve = resolve or _Resolver(video_dir)
    records: list[VideoRecord] = []
    seen: dict[str, int] = {}
    for line, text in _lines(path, report):
        src = _src(path, line)
        parts = text.rsplit(None, 1)
        given = None
        if len(parts) == 2 and _is_int(parts[1]):
            rel, given = parts[0], int(parts[1])
        elif subset == "train":
            report("malformed-line", f"expected '<Class>/<video file> <1-based label>', got {text!r}", path, src)
            continue
        else:
            rel = text
        rel = rel.replace("\\", "/").strip()
        if rel.startswith("./"):
            rel = rel[2:]
        folder, _, fname = rel.rpartition("/")
        if not fname or (not folder and given is None):
            report("malformed-line", f"expected '<Class>/<video file>', got {text!r}", path, src)
            continue
        class_name = folder.split("/")[-1] if folder else None
        label = None
        if class_name is not None:
            label = label_map.find(class_name)
            if label is None:
                report("unknown-class", f"class folder {class_name!r} is not in classInd.txt", path, src)
                continue
        if given is not None:
            if not 1 <= given <= len(label_map):
                report("bad-label", f"label {given} out of range: classInd.txt has labels 1..{len(label_map)}", path, src)
                continue
            if label is not None and given - 1 != label:
                report("bad-label", f"label {given} ({label_map.name(given - 1)}) does not match the class folder "
                       f"{class_name!r} (label {label + 1} in classInd.txt)", path, src)
                continue
            label = given - 1
        key = rel.casefold()
        if key in seen:
            report("duplicate", f"{rel} is listed twice (also line {seen[key]})", path, src)
            continue
        seen[key] = line
        found = resolve(rel)  # the file on disk (its name's case may differ from the list's)
        records.append(VideoRecord(path=found, label=label, video_id=found.stem, source=src))
    return records


def read_ucf101(root, split: int = 1, subset: str = "train", videos_root=None) -> tuple[list[VideoRecord], LabelMap]:
    """Records and label map of one UCF101 split and subset.

    ``root``: the dataset folder holding ``UCF-101/`` (videos; ``videos/`` also accepted, as
    MMAction2 names it) and ``ucfTrainTestlist/`` (or ``annotations/``); or the annotation folder
    itself (videos are then looked for beside it); ``videos_root`` overrides the videos folder.
    ``split``: 1, 2 or 3; ``subset``: ``"train"`` (``trainlist0N.txt``), ``"test"``
    (``testlist0N.txt``) or ``"val"`` (``vallist0N.txt``: only the synthetic set has one; a missing
    one raises :class:`~tsnlib.errors.DataError` saying to set ``data.val_subset: test``, as the
    paper's protocol does).

    Labels are 0-based: ``classInd.txt``'s 1-based index minus one. A train line's label must
    match its class folder; test and val lines have no label, it comes from the class folder through
    ``classInd.txt``. CRLF line ends and blank lines (both in the official files) are fine.
    Class folder names are matched to ``classInd.txt`` case-insensitively, and a listed video
    path that does not exist as written is looked up case-insensitively on disk: the official
    files mix ``HandstandPushups`` and ``HandStandPushups``. Record paths are the files on disk.

    An unknown class folder, a label out of range or not matching its folder, a malformed line
    or a video listed twice raises :class:`~tsnlib.errors.AnnotationError` naming the list file
    and line (``source`` ``"trainlist01.txt:17"``).

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    subset = _check_subset(subset)
    ann, video = _ucf101_dirs(root, videos_root)
    label_map = _read_class_index(ann / "classInd.txt", _raise)
    records = _ucf101_list(ann, video, label_map, split, subset, _raise)
    return records, label_map


# ----------------------------------------------------------------------------------------------
# HMDB51
# ----------------------------------------------------------------------------------------------


def _has_hmdb_splits(d: Path) -> bool:
    try:
        return d.is_dir() and any(_HMDB_SPLIT_FILE.match(p.name) for p in d.iterdir())
    except OSError:
        return False


def _hmdb51_dirs(root, videos_root=None, require_videos: bool = True) -> tuple[Path, Path]:
    root = Path(root)
    if root.is_file():
        root = root.parent
    if _has_hmdb_splits(root):
        ann = root
        video = _first_dir([root / d for d in _HMDB_VIDEO_DIRS] + [root.parent / d for d in _HMDB_VIDEO_DIRS])
        expected = root.parent / "hmdb51_org"
    else:
        ann = next((root / d for d in _HMDB_ANN_DIRS if _has_hmdb_splits(root / d)), None)
        if ann is None:
            raise DataError("not an HMDB51 root: no <class>_test_split<N>.txt files in testTrainMulti_7030_splits/ "
                            "(or annotations/)", path=root)
        video = _first_dir(root / d for d in _HMDB_VIDEO_DIRS)
        if video is None and _folder_kind(root, VIDEO_EXTENSIONS) == "video":
            video = root  # class folders directly in the root
        expected = root / "hmdb51_org"
    if videos_root is not None:
        video = Path(videos_root)
    if (video is None or not video.is_dir()) and not require_videos:
        return ann, Path(video or expected)
    if video is None or not video.is_dir():
        raise DataError(f"HMDB51 videos folder not found: expected {expected}/<class>/*.avi (or hmdb51/, videos/), "
                        "or pass videos_root", path=video or expected)
    return ann, video


def _hmdb51_classes(ann: Path) -> tuple[LabelMap, dict[int, dict[str, Path]]]:
    """Label map (class names from the split files, sorted) and ``{split: {class: split file}}``."""
    files: dict[int, dict[str, Path]] = {}
    for p in sorted(ann.iterdir()):
        m = _HMDB_SPLIT_FILE.match(p.name)
        if m and p.is_file():
            files.setdefault(int(m.group("split")), {})[m.group("cls")] = p
    names = sorted({c for per in files.values() for c in per})
    return LabelMap(names, source=ann.name), files


def _hmdb51_split(ann: Path, video_dir: Path, label_map: LabelMap, files: dict[str, Path], split: int,
                  subsets: Sequence[str | None], report: Report, resolve: _Resolver | None = None) -> list[VideoRecord]:
    """Records of one split whose tag maps to one of ``subsets`` (``"train"``, ``"test"``, None = tag 0)."""
    resolve = resolve or _Resolver(video_dir)
    records: list[VideoRecord] = []
    seen: dict[str, str] = {}
    for cls in label_map.names:
        path = files.get(cls, ann / f"{cls}_test_split{split}.txt")
        if cls not in files:
            report("missing-file", f"HMDB51 split file of class {cls!r} not found (split {split})", path, error=DataError)
            continue
        label = label_map.index(cls)
        for line, text in _lines(path, report):
            src = _src(path, line)
            parts = text.rsplit(None, 1)
            if len(parts) != 2:
                report("malformed-line", f"expected '<video name> <tag 0|1|2>', the tag is missing: {text!r}", path, src)
                continue
            name, tag = parts[0].strip(), parts[1]
            if tag not in _HMDB_TAGS:
                report("malformed-line", f"tag must be 0 (unused), 1 (train) or 2 (test), got {tag!r} in {text!r}",
                       path, src)
                continue
            key = name.casefold()
            if key in seen:
                report("duplicate", f"{name} is listed twice (also {seen[key]})", path, src)
                continue
            seen[key] = src
            if _HMDB_TAGS[tag] in subsets:
                found = resolve(f"{cls}/{name}")
                records.append(VideoRecord(path=found, label=label, video_id=found.stem, source=src))
    return records


def read_hmdb51(root, split: int = 1, subset: str = "train", videos_root=None) -> tuple[list[VideoRecord], LabelMap]:
    """Records and label map of one HMDB51 split and subset.

    ``root``: the dataset folder holding the videos (``hmdb51_org/<class>/*.avi``; ``hmdb51/``,
    ``videos/`` or class folders directly in ``root`` also accepted) and
    ``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`` (or ``annotations/``), or the
    split folder itself; ``videos_root`` overrides the videos folder. Each split line is
    ``"<video name> <tag>"``, tag 1 = train, 2 = test, 0 = unused in that split (such videos are
    in neither subset). HMDB51 has no validation subset: ``subset="val"`` raises
    :class:`~tsnlib.errors.DataError`. Labels: the class names (from the split file names) sorted
    alphabetically, 0-based, like the ``classInd.txt`` MMAction2 generates.

    Real names contain ``&``, ``(``, ``)``, ``!``, ``#`` and ``'``: lines are split at their last
    whitespace only and names are used as they are (no shell is involved). A missing or invalid
    tag or a video listed twice raises :class:`~tsnlib.errors.AnnotationError` naming the split
    file and line.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    subset = _check_subset(subset)
    ann, video = _hmdb51_dirs(root, videos_root)
    if subset == "val":
        raise DataError("HMDB51 has no validation subset: its split tags are 1 (train), 2 (test) and 0 (unused); "
                        "set data.val_subset: test, as the paper's protocol does", path=ann)
    label_map, files = _hmdb51_classes(ann)
    if split not in files:
        raise DataError(f"no HMDB51 split {split}: found split files for splits {sorted(files)}", path=ann)
    return _hmdb51_split(ann, video, label_map, files[split], split, [subset], _raise), label_map


# ----------------------------------------------------------------------------------------------
# List files (MMAction2 format)
# ----------------------------------------------------------------------------------------------


def scan_frame_folder(folder) -> dict[str, list[int]]:
    """The frame numbers present in a frame folder: ``{"img": [...], "flow_x": [...], "flow_y": [...]}``.

    Numbers as in the file names (``img_00001.jpg`` → 1; a bare ``00001.jpg`` counts as ``img``),
    sorted. A missing folder raises :class:`~tsnlib.errors.DataError`.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("frame folder not found", path=folder)
    out: dict[str, list[int]] = {"img": [], "flow_x": [], "flow_y": []}
    with os.scandir(folder) as it:
        for entry in it:
            m = FRAME_FILE.match(entry.name)
            if m:
                out[m.group(1) or "img"].append(int(m.group(2)))
    for v in out.values():
        v.sort()
    return out


def _split_numbers(text: str, want: int, base: Path) -> tuple[str, list[int]] | None:
    """``(path, numbers)``: the trailing integers of a list line, the rest is the path (may hold spaces).

    More trailing integers than ``want``: the extra ones belong to the path only when that path
    exists under ``base``; otherwise they are returned (the caller reports multi-label lines).
    """
    tokens = text.split()
    k = len(tokens)
    while k > 1 and _is_int(tokens[k - 1]):
        k -= 1
    numbers = [int(t) for t in tokens[k:]]
    if len(numbers) > want:
        # "clip 2 120 3" could be the folder "clip 2": prefer an existing path
        for extra in range(1, len(numbers) - want + 1):
            head = text.rsplit(None, len(numbers) - extra)[0]
            if (base / head).exists():
                return head, numbers[extra:]
    head = text.rsplit(None, len(numbers))[0] if numbers else text
    return head, numbers


def _guess_list_kind(path: Path, lines: list[tuple[int, str]]) -> str:
    for _, text in lines[:20]:
        tokens = text.split()
        if len(tokens) >= 3 and _is_int(tokens[-1]) and _is_int(tokens[-2]):
            if Path(" ".join(tokens[:-2])).suffix.lower() not in VIDEO_EXTENSIONS:
                return "flow" if "flow" in path.name.casefold() else "frames"
    return "video"


def _name_words(path: Path) -> list[str]:
    return Path(path).stem.casefold().split("_")


def _guess_multi_label(path: Path) -> bool:
    """Lists of a multi-label dataset are named for it (``mmit_train_split_1_videos.txt``, ``hvu_...``, ``tags_...``)."""
    return _name_words(path)[0] in MULTI_LABEL_LIST_NAMES


def _guess_with_offset(path: Path) -> bool:
    """Lists of segments have ``clip`` in their name (``activitynet_clip_...``, MMAction2's ``anet_train_clip.txt``)."""
    return "clip" in _name_words(path)


def _list_records(path: Path, kind: str | None, data_prefix, label_map: LabelMap | None, report: Report,
                  multi_label: bool | None = None, with_offset: bool | None = None) -> tuple[list[VideoRecord], str]:
    """Records of a list file and its kind; ``multi_label``/``with_offset`` None: guessed from the name."""
    lines = _lines(path, report)
    kind = kind or _guess_list_kind(path, lines)
    if kind not in LIST_KINDS:
        raise ValueError(f"kind must be one of {LIST_KINDS}, got {kind!r}")
    multi_label = _guess_multi_label(path) if multi_label is None else bool(multi_label)
    with_offset = (kind != "video" and _guess_with_offset(path)) if with_offset is None else bool(with_offset)
    if with_offset and kind == "video":
        raise ValueError("with_offset is for frame lists ('frame_dir offset total_frames label'), not video lists")
    base = Path(data_prefix) if data_prefix is not None else path.parent
    counts = 0 if kind == "video" else (2 if with_offset else 1)  # numbers before the label(s)
    want = counts + 1
    head_form = ("<video path>" if kind == "video" else "<frame_dir>" + (" <offset>" if with_offset else "")
                 + " <total_frames>")
    form = f"'{head_form} <label>{' <label> ...' if multi_label else ''}'"
    records: list[VideoRecord] = []
    seen: dict[str, int] = {}
    for line, text in lines:
        src = _src(path, line)
        head, numbers = _split_numbers(text, 1 << 30 if multi_label else want, base)
        if len(numbers) < want or not head:
            hint = " (a video list read as frames? use kind='video')" if kind != "video" and len(numbers) == 1 else ""
            report("malformed-line", f"expected {form}, got {text!r}{hint}", path, src)
            continue
        if len(numbers) > want and not multi_label:
            hint = (" (a rawframes list 'frame_dir total_frames label'? use kind='frames')"
                    if kind == "video" and len(numbers) == 2 else " (a multi-label list? pass multi_label=True)")
            report("malformed-line", f"expected {form}: {len(numbers) - want + 1} labels found; multi-label lines "
                   f"are not supported{hint}: {text!r}", path, src)
            continue
        labels = numbers[counts:]
        limit = f"0..{len(label_map) - 1} ({len(label_map)} classes)" if label_map is not None else ">= 0"
        bad = next((c for c in labels if c < 0 or (label_map is not None and c >= len(label_map))), None)
        if bad is not None:
            report("bad-label", f"label {bad} out of range: labels are 0-based, {limit}", path, src)
            continue
        if multi_label and len(set(labels)) != len(labels):
            report("duplicate", f"a label appears twice in {labels}: {text!r}", path, src)
            continue
        offset = numbers[0] if with_offset else None
        count = numbers[counts - 1] if kind != "video" else None
        if count is not None and count < 1:
            report("malformed-line", f"total_frames must be a positive number, got {count}: {text!r}", path, src)
            continue
        if offset is not None and offset < 0:
            report("malformed-line", f"the offset must be >= 0, got {offset}: {text!r}", path, src)
            continue
        rel = head.replace("\\", "/")
        full = Path(os.path.normpath(base / rel))  # "../rawframes/x" -> a clean path
        key = str(full).casefold() + ("" if offset is None else f" {offset} {count}")
        if key in seen:
            what = rel if offset is None else f"{rel} at offset {offset}"
            report("duplicate", f"{what} is listed twice (also line {seen[key]})", path, src)
            continue
        seen[key] = line
        name = Path(rel).stem if kind == "video" else Path(rel).name
        records.append(VideoRecord(
            path=full, label=labels[0], source=src,
            num_frames=count if kind == "frames" else None,
            num_flow_frames=count if kind == "flow" else None,
            video_id=name if offset is None else f"{name}#{offset}",
            labels=tuple(labels) if multi_label else None, offset=offset,
        ))
    return records, kind


def _top_label(records: list[VideoRecord]) -> int:
    return max((max(r.labels or (r.label,)) for r in records), default=-1)


def _default_label_map(path: Path, records: list[VideoRecord], report: Report) -> LabelMap:
    for cand in (path.parent / "classInd.txt", path.parent / "label_map.txt"):
        if cand.is_file():
            return _read_class_index(cand, report)
    return LabelMap([str(i) for i in range(_top_label(records) + 1)], source=path.name)


def read_list_file(path, kind: str | None = "video", data_prefix=None, label_map: LabelMap | None = None,
                   multi_label: bool | None = None, with_offset: bool | None = None,
                   ) -> tuple[list[VideoRecord], LabelMap]:
    """Records of an MMAction2-style list file.

    ``kind``: ``"video"`` — lines ``"<video path> <label>"``; ``"frames"`` — RGB frame folders,
    ``"<frame_dir> <total_frames> <label>"`` (``num_frames`` = total_frames); ``"flow"`` — the
    same format with the *flow* count (``num_flow_frames``, often the RGB count minus one);
    None — guess from the lines (three columns and no video extension → frames, or flow when the
    file name contains "flow"). Labels are 0-based. Paths are relative to ``data_prefix``
    (default: the list's folder); absolute paths are kept. A path may contain spaces (the numbers
    are taken from the right).

    ``multi_label``: every number after the path (videos) or the count (frames) is a label, as
    MMAction2 writes multi-label lists (``"<path> 3 17 40"``); the records get ``labels`` (a
    tuple) and ``label`` = the first. None guesses it from the name: lists of a multi-label
    benchmark (:data:`MULTI_LABEL_LAYOUTS`: ``mmit_*.txt``, ``hvu_*.txt``, as
    :func:`build_lists` names them) and of the synthetic tag dataset (``tags_*.txt``,
    :mod:`tsnlib.synthetic_tags`), :data:`MULTI_LABEL_LIST_NAMES`; otherwise more than one label is a
    malformed line.
    ``with_offset``: frame lines are ``"<frame_dir> <offset> <total_frames> <label>"``
    (MMAction2's ``with_offset``: a segment of ``total_frames`` frames from the 0-based
    ``offset``; ``VideoRecord.offset``); None guesses it from the name (``clip`` among its
    ``_``-separated words, e.g. ``activitynet_clip_train_split_1_rawframes.txt``). Several
    segments of one folder are fine; their ``video_id`` is ``"<folder>#<offset>"``.

    ``label_map``: checks labels against its size; default: ``classInd.txt`` beside the list
    when there is one (as :func:`build_lists` writes it), else names ``"0"``, ``"1"``, ... up to
    the largest label. A malformed line, a label out of range or a path listed twice raises
    :class:`~tsnlib.errors.AnnotationError` naming the file and line.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("list file not found", path=path, hint="give an existing list file (tsnlib lists writes them)")
    records, _ = _list_records(path, kind, data_prefix, label_map, _raise, multi_label, with_offset)
    if label_map is None:
        label_map = _default_label_map(path, records, _raise)
        bad = next((r for r in records if max(r.labels or (r.label,)) >= len(label_map)), None)
        if bad is not None:
            raise _make_error("bad-label", f"label {max(bad.labels or (bad.label,))} out of range: {len(label_map)} "
                              f"classes in {label_map.source}", path, bad.source)
    return records, label_map


# ----------------------------------------------------------------------------------------------
# A folder per class
# ----------------------------------------------------------------------------------------------


def _class_dirs(root: Path) -> list[Path]:
    try:
        return sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "_"))),
                      key=lambda d: d.name)
    except OSError:
        return []


def _is_video(p: Path, extensions: Sequence[str]) -> bool:
    return p.suffix.lower() in extensions and p.is_file()


def _is_frame_folder(d: Path) -> bool:
    try:
        with os.scandir(d) as it:
            return any(FRAME_FILE.match(e.name) for e in it)
    except OSError:
        return False


def _frame_record(folder: Path, label: int, source: str | None, report: Report | None = None) -> VideoRecord:
    nums = scan_frame_folder(folder)
    nx, ny = len(nums["flow_x"]), len(nums["flow_y"])
    if nx != ny:
        (report or _raise)("count-mismatch", f"{nx} flow_x but {ny} flow_y files", folder, source, DataError)
    return VideoRecord(path=folder, label=label, num_frames=len(nums["img"]) or None,
                       video_id=folder.name, source=source, num_flow_frames=nx or None)


def _folder_kind(root: Path, extensions: Sequence[str]) -> str | None:
    """``"video"`` or ``"frames"`` for a root of class folders (first class folders looked at), or None."""
    for d in _class_dirs(root)[:20]:
        for p in sorted(d.iterdir())[:200]:
            if _is_video(p, extensions):
                return "video"
            if p.is_dir() and _is_frame_folder(p):
                return "frames"
    return None


def read_class_folders(root, extensions: Sequence[str] = VIDEO_EXTENSIONS, kind: str = "video",
                       label_map: LabelMap | None = None) -> tuple[list[VideoRecord], LabelMap]:
    """Records of a folder per class: ``root/<class>/<video>`` (``kind="video"``, any depth below
    the class folder) or ``root/<class>/<video_id>/img_00001.jpg`` (``kind="frames"``: every folder
    holding ``img_*``/``flow_x_*`` JPEGs, with its counts).

    Labels: the class folder names sorted, 0-based (or ``label_map``'s, which must know every
    class folder). Extensions are compared case-insensitively. A video file directly in ``root``
    (outside any class folder) or an empty tree raises :class:`~tsnlib.errors.DataError`.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    records, label_map, stray = _class_folder_records(root, extensions, kind, label_map)
    if stray:
        raise DataError(f"{len(stray)} video file(s) directly in the root, outside any class folder "
                        f"(e.g. {stray[0].name!r}): expected <root>/<class>/<video>", path=root)
    if not records:
        what = "videos (" + ", ".join(extensions) + ")" if kind == "video" else "frame folders (img_*.jpg)"
        raise DataError(f"no {what} found in class folders: expected <root>/<class>/<video>", path=root)
    return records, label_map


def _class_folder_records(root, extensions: Sequence[str], kind: str, label_map: LabelMap | None,
                          ) -> tuple[list[VideoRecord], LabelMap, list[Path]]:
    """Records of ``root/<class>/...``, the label map, and the videos lying directly in ``root``."""
    root = Path(root)
    if kind not in ("video", "frames"):
        raise ValueError(f"kind must be 'video' or 'frames', got {kind!r}")
    if not root.is_dir():
        raise DataError("class folder root not found", path=root)
    extensions = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    stray = sorted(p for p in root.iterdir() if _is_video(p, extensions))
    classes = _class_dirs(root)
    if label_map is None:
        label_map = LabelMap([d.name for d in classes], source=root.name)
    records: list[VideoRecord] = []
    for d in classes:
        label = label_map.find(d.name)
        if label is None:
            raise AnnotationError(f"class folder {d.name!r} is not in the label map {label_map!r}", path=d)
        if kind == "video":
            found = sorted((p for p in d.rglob("*") if _is_video(p, extensions)), key=lambda p: p.as_posix())
            records += [VideoRecord(path=p, label=label) for p in found]
        else:
            found = sorted((p for p in [d, *d.rglob("*")] if p.is_dir() and _is_frame_folder(p)),
                           key=lambda p: p.as_posix())
            records += [_frame_record(p, label, None) for p in found]
    return records, label_map, stray


def _subset_folder(root: Path, subset: str) -> Path | None:
    """``root/<subset>`` when the root is split into ``train/``, ``test/`` (``val/``) folders, else None.

    ``"test"`` falls back to ``val/`` when there is no ``test/``; ``"val"`` needs a ``val/`` folder
    (an unsplit tree has no validation subset: :class:`~tsnlib.errors.DataError`).
    """
    names = {d.name.casefold(): d for d in _class_dirs(root)}
    if not ({"train", "test", "val"} & set(names)):
        if subset == "val":
            raise DataError("no 'val' folder: a folder per class has a validation subset only under val/", path=root)
        return None
    aliases = {"test": ("test", "val"), "train": ("train",), "val": ("val",)}[subset]
    hit = next((names[a] for a in aliases if a in names), None)
    if hit is None:
        raise DataError(f"no {subset!r} folder: the root is split into {sorted(names)}", path=root)
    return hit


def _read_folders(path: Path, subset: str, list_kind: str | None) -> tuple[list[VideoRecord], LabelMap]:
    sub = _subset_folder(path, subset)
    base = sub or path
    kind = list_kind if list_kind in ("video", "frames") else (_folder_kind(base, VIDEO_EXTENSIONS) or "video")
    label_map = None
    if sub is not None:  # one label map for all subsets: the union of their class folders
        names = {d.name for s in _class_dirs(path) if s.name.casefold() in ("train", "test", "val")
                 for d in _class_dirs(s)}
        label_map = LabelMap(sorted(names), source=path.name)
    return read_class_folders(base, kind=kind, label_map=label_map)


# ----------------------------------------------------------------------------------------------
# Layout detection and dispatch
# ----------------------------------------------------------------------------------------------


def _benchmarks():
    """:mod:`tsnlib.benchmark_annotations`, imported when first needed (it builds on this module)."""
    from tsnlib import benchmark_annotations  # noqa: PLC0415 - that module imports this one

    return benchmark_annotations


def _looks_like_list(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4096).decode("utf-8", "replace")
    except OSError:
        return False
    lines = [ln.strip() for ln in head.split("\n") if ln.strip()]
    if not lines:
        return False
    tokens = lines[0].split()
    return len(tokens) >= 2 and _is_int(tokens[-1])


def _list_files_in(d: Path) -> list[Path]:
    return sorted(p for p in d.glob("*_split_*.txt") if re.search(r"_(train|test|val)_split_\d+", p.name))


def detect_layout(path) -> str:
    """The layout of a dataset path: ``"ucf101"``, ``"hmdb51"``, ``"list"`` or ``"folders"``.

    * ``"ucf101"``: a folder with ``ucfTrainTestlist/classInd.txt`` (or ``annotations/``), the
      annotation folder itself, or one of its files;
    * ``"hmdb51"``: a folder with ``testTrainMulti_7030_splits/<class>_test_splitN.txt`` (or
      ``annotations/``), that folder itself, or one of its files;
    * ``"list"``: a list file (``"path label"`` / ``"dir total_frames label"`` lines) or a folder
      of ``*_train_split_N_*.txt`` lists (as :func:`build_lists` writes them);
    * ``"folders"``: a folder per class holding videos or frame folders (possibly under
      ``train/`` and ``test/``);
    * a benchmark of :data:`BENCHMARK_LAYOUTS` (``"kinetics400"``, ``"sthv2"``, ``"activitynet"``,
      ...): its root, annotation folder or an annotation file, recognised by the official annotation
      files (:func:`tsnlib.benchmark_annotations.detect_benchmark`).

    Anything else raises :class:`~tsnlib.errors.DataError` saying what was expected.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("dataset path not found", path=path,
                        hint="give an existing dataset folder, list file or folder of videos")
    bench = _benchmarks().detect_benchmark(path)
    if path.is_file():
        if (path.name == "classInd.txt" or _UCF_LIST_FILE.match(path.name)) and _is_ucf101_ann(path.parent):
            return "ucf101"
        if _HMDB_SPLIT_FILE.match(path.name):
            return "hmdb51"
        if _looks_like_list(path):
            return "list"
        if bench is not None:
            return bench
        raise DataError("not a list file: expected lines '<path> <label>' or '<frame_dir> <total_frames> <label>'",
                        path=path)
    if any(_is_ucf101_ann(d) for d in (path, *(path / d for d in _UCF_ANN_DIRS))):
        return "ucf101"
    if _has_hmdb_splits(path) or any(_has_hmdb_splits(path / d) for d in _HMDB_ANN_DIRS):
        return "hmdb51"
    if bench is not None:
        return bench
    if _list_files_in(path):
        return "list"
    sub = None
    try:
        sub = _subset_folder(path, "train")
    except DataError:
        sub = next((d for d in _class_dirs(path) if d.name.casefold() in ("test", "val")), None)
    if _folder_kind(sub or path, VIDEO_EXTENSIONS) is not None:
        return "folders"
    seen = ", ".join(p.name + ("/" if p.is_dir() else "") for p in sorted(path.iterdir())[:8]) or "nothing"
    raise DataError(
        "cannot recognise the dataset layout: expected a UCF101 root (UCF-101/ and ucfTrainTestlist/classInd.txt), "
        "an HMDB51 root (hmdb51_org/ and testTrainMulti_7030_splits/<class>_test_split1.txt), a list file or a "
        "folder of *_train_split_1_*.txt lists, a folder per class (<class>/<video>.avi), or a benchmark root with "
        f"its official annotations (Kinetics, Something-Something, Diving48, Moments, ActivityNet, HVU); found: {seen}",
        path=path,
    )


def _find_list(d: Path, split: int, subset: str, list_kind: str | None) -> tuple[Path, str]:
    """``(list file, list kind)`` of ``*_{subset}_split_{split}_{videos|rawframes|flow}.txt`` in ``d``.

    ``"val"`` reads the ``*_val_split_*`` lists; ``"test"`` the ``*_test_split_*`` ones, or the
    ``*_val_split_*`` ones when the folder has no test list at all (datasets that call their
    held-out set "val").
    """
    subsets = ("test", "val") if subset == "test" else (subset,)
    found: dict[str, Path] = {}
    files = _list_files_in(d)
    for s in subsets:
        for p in files:
            for kind, suffix in _LIST_SUFFIX.items():
                if p.name.endswith(f"_{s}_split_{split}_{suffix}.txt"):
                    found.setdefault(kind, p)
        if found:
            break
    if list_kind is not None:
        if list_kind in found:
            return found[list_kind], list_kind
        raise DataError(f"no {subset} list of {list_kind} for split {split}: expected *_{subset}_split_{split}_"
                        f"{_LIST_SUFFIX[list_kind]}.txt", path=d)
    for kind in LIST_KINDS:  # videos, then rawframes, then flow
        if kind in found:
            return found[kind], kind
    raise DataError(f"no {subset} list for split {split}: expected *_{subset}_split_{split}_videos.txt "
                    "(or _rawframes.txt, _flow.txt)", path=d)


def load_annotations(path, split: int = 1, subset: str = "train", kind: str | None = None, data_prefix=None,
                     list_kind: str | None = None, activitynet_level: str = "clip", hvu_category: str = "action",
                     ) -> tuple[list[VideoRecord], LabelMap]:
    """``(records, label_map)`` of any supported dataset path, its layout recognised by itself.

    ``path``: a UCF101 or HMDB51 root (or their annotation folder), a list file, a folder of
    lists written by :func:`build_lists`, or a folder per class (see :func:`detect_layout`).
    ``split`` and ``subset`` (``"train"``/``"val"``/``"test"``) choose the official split lists
    (``"val"``: the synthetic UCF101 layout's ``vallist0N.txt``; the official UCF101 and HMDB51 have
    no validation subset and raise :class:`~tsnlib.errors.DataError`), the
    ``*_{subset}_split_{split}_*.txt`` list of a folder of lists, or the ``train/``/``val/``/``test/``
    sub-folder of a class-folder tree; a single list file is read as it is.
    :func:`available_subsets` says which subsets a dataset has.
    ``kind``: None (detect) or a layout name (``"ucf101"``, ``"hmdb51"``, ``"list"``,
    ``"folders"``, as ``data.dataset`` in the configs) — or, as a shorthand, ``"video"``,
    ``"frames"`` or ``"flow"`` for ``list_kind``, what a list or class folder holds (default:
    guessed; in a folder of lists, videos first, then rawframes, then flow). ``data_prefix``:
    base folder of the paths in a list file (default: the list's folder).

    The benchmarks of :data:`BENCHMARK_LAYOUTS` (``"kinetics400"``, ``"sthv1"``, ``"activitynet"``,
    ...) are read from their official annotation files by
    :func:`tsnlib.benchmark_annotations.read_benchmark` (one split, ``split=1``), with
    ``activitynet_level`` (``"clip"``: a record per labelled segment, ``"video"``: per video) and
    ``hvu_category`` (the HVU tag category whose label map is used, or ``"all"``), the config's
    ``data.activitynet_level`` and ``data.hvu_category``.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    path = Path(path)
    subset = _check_subset(subset)
    if kind in LIST_KINDS:
        kind, list_kind = None, kind
    if kind is not None and kind not in LAYOUTS:
        raise ValueError(f"kind must be one of {LAYOUTS + LIST_KINDS} or None, got {kind!r}")
    if list_kind is not None and list_kind not in LIST_KINDS:
        raise ValueError(f"list_kind must be one of {LIST_KINDS} or None, got {list_kind!r}")
    layout = kind or detect_layout(path)
    if layout == "ucf101":
        return read_ucf101(path, split=split, subset=subset)
    if layout == "hmdb51":
        return read_hmdb51(path, split=split, subset=subset)
    if layout in BENCHMARK_LAYOUTS:
        return _benchmarks().read_benchmark(path, layout, subset, split=split, activitynet_level=activitynet_level,
                                            hvu_category=hvu_category)
    if layout == "list":
        if path.is_dir():
            path, list_kind = _find_list(path, split, subset, list_kind)
        return read_list_file(path, kind=list_kind, data_prefix=data_prefix)
    return _read_folders(path, subset, list_kind)


def available_subsets(path, split: int = 1, kind: str | None = None) -> tuple[str, ...]:
    """The subsets of ``split`` that a dataset path has, in :data:`SUBSETS` order; returns a tuple.

    ``("train", "test")``, with ``"val"`` between them only when the dataset has a validation
    subset: a UCF101 root with ``vallist0N.txt`` (the synthetic set; the official UCF101 has none),
    a folder of lists with ``*_val_split_N_*.txt`` lists, or a class-folder tree with a ``val/``
    folder. HMDB51 (its tags have no validation subset) and single list files: never ``"val"``. A
    benchmark of :data:`BENCHMARK_LAYOUTS`: the subsets whose annotation file it has (e.g. Kinetics
    ``("train", "val", "test")``, Moments in Time ``("train", "val")``, Diving48 ``("train", "test")``).
    ``kind``: the layout (as :func:`load_annotations`'s), None to detect it. Loops over the subsets
    of a dataset (:func:`build_lists`, ``tsnlib flow``, ``tsnlib check``) use it so that a dataset
    without a validation list still works and one with it has its val videos handled too.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    path = Path(path)
    layout = kind if kind in LAYOUTS else detect_layout(path)
    if layout in BENCHMARK_LAYOUTS:
        return _benchmarks().benchmark_subsets(path, layout)
    has_val = False
    if layout == "ucf101":
        ann_dir, _ = _ucf101_dirs(path, require_videos=False)
        has_val = _ucf101_list_path(ann_dir, split, "val") is not None
    elif layout == "list" and path.is_dir():
        has_val = any(p.name.endswith(f"_val_split_{int(split)}_{suffix}.txt")
                      for p in _list_files_in(path) for suffix in _LIST_SUFFIX.values())
    elif layout == "folders" and path.is_dir():
        has_val = any(d.name.casefold() == "val" for d in _class_dirs(path))
    return tuple(s for s in SUBSETS if s != "val" or has_val)


# ----------------------------------------------------------------------------------------------
# Writers
# ----------------------------------------------------------------------------------------------


def write_list_file(records: Sequence[VideoRecord], path, kind: str = "video", root=None,
                    with_offset: bool | None = None) -> Path:
    """Write an MMAction2-style list file; returns its path.

    ``kind="video"``: ``"<video path> <label>"``; ``"frames"``: ``"<frame_dir> <num_frames>
    <label>"`` (RGB count); ``"flow"``: ``"<frame_dir> <num_flow_frames> <label>"`` (the flow
    count, often one less: a flow loader given the RGB count would read past the end). Paths
    are written relative to ``root`` (default: the list's own folder, so that
    :func:`read_list_file` reads it back without a ``data_prefix``), with ``/`` separators.
    The file is written whole or not at all (a temporary file renamed into place).

    A multi-label record (``labels`` set) gets all its labels, ``"<path> 3 17 40"``, as MMAction2
    writes multi-label lists. ``with_offset`` (None: when a record has an ``offset``) writes frame
    lines as ``"<frame_dir> <offset> <count> <label>"`` (MMAction2's ``with_offset``), the
    counts being the segment's. A segment in seconds of a video file (``start``/``end``) has no
    list line: MMAction2's lists carry no time window (write frame lists with offsets instead,
    :func:`build_lists`), so it raises :class:`~tsnlib.errors.DataError`.

    A path with spaces inside is written (:func:`read_list_file` takes the numbers from the
    right), with a ``UserWarning``: MMAction2's loaders split lines on whitespace and cannot read
    it. A label < 0 (or an empty ``labels``), a missing count, or a path with a line break or with
    whitespace at either end (no list line can hold those) raises :class:`~tsnlib.errors.DataError`
    naming the record.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    path = Path(path)
    text = _list_text(records, path, kind, root, with_offset)
    return _write_atomic(path, text)


def _list_text(records: Sequence[VideoRecord], path: Path, kind: str, root=None, with_offset: bool | None = None) -> str:
    """The text of a list file (see :func:`write_list_file`); checks every record, writes nothing."""
    if kind not in LIST_KINDS:
        raise ValueError(f"kind must be one of {LIST_KINDS}, got {kind!r}")
    if with_offset is None:
        with_offset = any(getattr(r, "offset", None) is not None for r in records)
    if with_offset and kind == "video":
        raise DataError("video lists have no offsets: write frame lists (kind='frames' or 'flow') for segments",
                        path=path)
    base = Path(root) if root is not None else path.parent
    base = base.absolute()
    lines, spaced = [], []
    for r in records:
        where = r.source or r.video_id
        labels = getattr(r, "labels", None)
        if (labels is None and r.label < 0) or (labels is not None and not labels):
            raise DataError(f"record {r.video_id} has no label ({r.label}); list files need 0-based labels",
                            path=r.path, source=r.source)
        if getattr(r, "is_segment", False) and (kind == "video" or getattr(r, "offset", None) is None):
            raise DataError(f"record {r.video_id} is the segment {r.start}-{r.end} s of a video: list lines have no "
                            "time window", path=r.path, source=r.source,
                            hint="write frame lists with offsets (tsnlib lists --kind frames), or read the "
                                 "official annotations directly (data.dataset=<benchmark>)")
        label_text = " ".join(str(c) for c in labels) if labels is not None else str(r.label)
        rel = Path(os.path.relpath(Path(r.path).absolute(), base)).as_posix()
        if "\n" in rel or "\r" in rel or rel != rel.strip():
            raise DataError(f"path {rel!r} has a line break or whitespace at an end, which no list line can hold",
                            path=r.path, source=r.source, hint="rename the file or folder")
        if any(c.isspace() for c in rel):
            spaced.append(rel)
        if kind == "video":
            lines.append(f"{rel} {label_text}")
            continue
        count = r.num_frames if kind == "frames" else r.num_flow_frames
        if count is None:
            field = "num_frames" if kind == "frames" else "num_flow_frames"
            raise DataError(f"record {where} has no {field}; count the frame folder first", path=r.path,
                            source=r.source)
        offset = f"{int(r.offset or 0)} " if with_offset else ""
        lines.append(f"{rel} {offset}{int(count)} {label_text}")
    if spaced:
        warnings.warn(f"{path.name}: {len(spaced)} path(s) with spaces, e.g. {spaced[0]!r}: tsnlib reads them, "
                      "MMAction2's list loaders (which split lines on whitespace) cannot", UserWarning, stacklevel=3)
    return "".join(line + "\n" for line in lines)


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


def _frame_folder_records(records: list[VideoRecord], frames_root: Path, skip_missing: bool = False,
                          ) -> list[VideoRecord]:
    """Frame-folder records ``frames_root/<class folder>/<video_id>`` with counts from disk (a missing
    folder raises, or is left out with ``skip_missing``)."""
    out = []
    resolve = _Resolver(frames_root)
    for r in records:
        folder = resolve(f"{r.path.parent.name}/{r.folder_name}")
        if not folder.is_dir():
            if skip_missing:
                continue
            raise DataError("frame folder not found (extract it with `tsnlib frames` / `tsnlib flow`)", path=folder,
                            source=r.source)
        fr = _frame_record(folder, r.label, r.source)
        if not fr.num_frames:
            raise DataError("frame folder holds no img_*.jpg", path=folder, source=r.source)
        out.append(fr)
    return out


def build_lists(root, out_dir, kind: str = "video", splits: Sequence[int] = (1, 2, 3), dataset: str = "auto",
                frames_root=None, relative_to=None, skip_missing: bool = False, activitynet_level: str = "clip",
                hvu_category: str = "action") -> list[Path]:
    """Write the MMAction2-style lists of every split of a dataset root with official splits; returns the paths.

    Writes ``<out_dir>/classInd.txt`` and, per split and subset (train, test, and val where the root
    has a validation list: the synthetic UCF101 layout's ``vallist0N.txt``, see
    :func:`available_subsets`), ``<dataset>_<subset>_split_<n>_videos.txt`` (``kind="video"``:
    ``"path label"``) or ``..._rawframes.txt`` (``kind="frames"``:
    ``"frame_dir total_frames label"`` with the ``img_*`` count) plus ``..._flow.txt`` (the
    ``flow_x_*`` count) when the folders hold flow. Frame folders are
    ``frames_root/<class folder>/<video_id>`` (default ``root/rawframes``), counted on disk; a
    missing folder, or ``flow_x`` and ``flow_y`` counts that differ, raises
    :class:`~tsnlib.errors.DataError` naming the folder. ``dataset``: ``"auto"``, ``"ucf101"``,
    ``"hmdb51"`` or a benchmark of :data:`BENCHMARK_LAYOUTS`. Paths are relative to
    ``relative_to`` (default: ``out_dir``, so the lists read back with no ``data_prefix``; pass the
    videos folder for MMAction2's ``data_prefix`` style). HMDB51 videos tagged 0 are in no list.
    Every list is checked before the first file is written, and each file is written whole
    (renamed into place), so an error leaves no half-written folder.

    Benchmarks (one split: ``splits`` is not used) get lists named after
    :func:`tsnlib.benchmark_annotations.list_stem` (``kinetics400_train_split_1_videos.txt``,
    ``activitynet_clip_val_split_1_rawframes.txt``, ``hvu_action_train_split_1_videos.txt``) for
    their labelled subsets (an unlabelled test set has no list); multi-label lines hold every label
    id after the path; segments of untrimmed videos (ActivityNet clips, Kinetics or HVU clips kept in
    their whole video) need ``kind="frames"`` and get offset lines ``"frame_dir offset total_frames
    label"`` in the folder of their whole video
    (:func:`tsnlib.benchmark_annotations.segment_frame_records`), in lists whose name says ``clip``
    (``kinetics400_clip_train_split_1_rawframes.txt``) so that :func:`read_list_file` reads the offsets. ``activitynet_level`` and
    ``hvu_category`` choose what is read (one HVU category per ``out_dir``: they share
    ``classInd.txt``). ``skip_missing``: leave out the videos (or frame folders) not on disk
    instead of listing them (videos) or raising (frames), as MMAction2 lists only what was
    downloaded; how many were left out is printed.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    if kind not in ("video", "frames"):
        raise ValueError(f"kind must be 'video' or 'frames', got {kind!r}")
    root, out_dir = Path(root), Path(out_dir)
    layout = detect_layout(root) if dataset == "auto" else dataset
    frames_root = Path(frames_root) if frames_root is not None else root / "rawframes"
    if layout == "sthv1" and kind == "video":
        raise DataError("Something-Something v1 is distributed as frame folders, not videos: use kind='frames' "
                        "(tsnlib lists --kind frames)", path=root)
    if layout in BENCHMARK_LAYOUTS:
        bench = _benchmarks()
        stem_name = bench.list_stem(layout, activitynet_level, hvu_category)
        jobs = [(1, subset) for subset in bench.benchmark_subsets(root, layout)]

        def read(split: int, subset: str):
            return bench._read(root, layout, subset, split=split, activitynet_level=activitynet_level,
                               hvu_category=hvu_category)

        def frames_of(read_result):
            return bench.segment_frame_records(read_result.records, frames_root, read_result.durations, skip_missing)
    elif layout in ("ucf101", "hmdb51"):
        stem_name = layout
        reader = read_ucf101 if layout == "ucf101" else read_hmdb51
        jobs = [(split, subset) for split in splits for subset in available_subsets(root, split, layout)]

        def read(split: int, subset: str):
            return _Plain(*reader(root, split=split, subset=subset))

        def frames_of(read_result):
            return _frame_folder_records(read_result.records, frames_root, skip_missing)
    else:
        raise DataError(f"build_lists needs a UCF101 or HMDB51 root with official splits, or a benchmark root "
                        f"({', '.join(BENCHMARK_LAYOUTS)}), found layout {layout!r}", path=root)
    base = relative_to or out_dir
    texts: dict[Path, str] = {}  # every file is checked before the first is written: no half-written folder
    label_map, left_out = None, 0
    for split, subset in jobs:
        found = read(split, subset)
        label_map = found.label_map
        labelled = [r for r in found.records if r.label >= 0 or r.labels]
        if not labelled:
            continue  # an unlabelled test set (Kinetics, Something-Something): no list
        if skip_missing:
            kept = [r for r in labelled if r.path.exists()]
            left_out += len(labelled) - len(kept)
            labelled = kept
            if not labelled:
                continue  # nothing of this subset on disk: no empty list
        found.records = labelled
        stem = out_dir / f"{stem_name}_{subset}_split_{split}"
        if kind == "video":
            p = Path(f"{stem}_videos.txt")
            texts[p] = _list_text(labelled, p, "video", root=base)
            continue
        frames = frames_of(found)
        left_out += len(labelled) - len(frames)
        if any(r.offset is not None for r in frames) and not _guess_with_offset(stem):
            # segments of untrimmed videos (Kinetics, HVU): offset lines, in a list named so that it reads back so
            stem = out_dir / f"{stem_name}_clip_{subset}_split_{split}"
        p = Path(f"{stem}_rawframes.txt")
        texts[p] = _list_text(frames, p, "frames", root=base)
        with_flow = [r for r in frames if r.num_flow_frames]
        if with_flow:
            if len(with_flow) != len(frames):
                lacking = next(r for r in frames if not r.num_flow_frames)
                raise DataError("frame folder has no flow_x/flow_y files while others do", path=lacking.path,
                                source=lacking.source)
            p = Path(f"{stem}_flow.txt")
            texts[p] = _list_text(frames, p, "flow", root=base)
    if left_out:
        print(f"lists: {left_out} sample(s) left out: their {'videos' if kind == 'video' else 'frame folders'} "
              "are not on disk (--skip-missing)")
    written = [_write_atomic(p, text) for p, text in texts.items()]
    if label_map is not None:
        written.insert(0, write_label_map(label_map, out_dir / "classInd.txt"))
    return written


@dataclass
class _Plain:
    """A reader's ``(records, label_map)`` as :func:`build_lists` handles them."""

    records: list[VideoRecord]
    label_map: LabelMap


# ----------------------------------------------------------------------------------------------
# Command line: tsnlib lists
# ----------------------------------------------------------------------------------------------


def add_lists_arguments(parser) -> None:
    """Arguments of ``tsnlib lists ROOT --out DIR [--kind video|frames] [--splits 1 2 3] [--frames-root DIR]``."""
    bench = _benchmarks()
    parser.add_argument("root", help="a UCF101 or HMDB51 root (videos and official split files), or a benchmark root "
                                     "with its official annotations (Kinetics, Something-Something, ActivityNet, ...)")
    parser.add_argument("--out", required=True, help="folder for classInd.txt and the *_split_N_*.txt lists")
    parser.add_argument("--kind", choices=("video", "frames"), default="video",
                        help="video: 'path label' lists; frames: 'frame_dir total_frames label' (+ flow lists)")
    parser.add_argument("--splits", type=int, nargs="+", default=[1, 2, 3],
                        help="splits to write (default: 1 2 3; benchmarks have one split)")
    parser.add_argument("--dataset", choices=("auto", "ucf101", "hmdb51") + BENCHMARK_LAYOUTS, default="auto")
    parser.add_argument("--frames-root", default=None, help="frame folders <dir>/<class>/<video_id> (default ROOT/rawframes)")
    parser.add_argument("--relative-to", default=None, help="write paths relative to this folder (default: --out)")
    parser.add_argument("--skip-missing", action="store_true",
                        help="leave out the videos / frame folders that are not on disk (e.g. Kinetics clips gone "
                             "from YouTube) instead of listing them (videos) or stopping (frames)")
    parser.add_argument("--activitynet-level", choices=bench.ACTIVITYNET_LEVELS, default="clip",
                        help="ActivityNet: a line per labelled segment (clip, with frame offsets) or per video")
    parser.add_argument("--hvu-category", choices=bench.HVU_CHOICES, default="action",
                        help="HVU: the tag category whose labels the lists hold (one --out folder per category)")


def cli_lists(args) -> int:
    """``tsnlib lists``: write the list files and ``classInd.txt``; prints them.

    A data error (raised before any file is written) is printed as one line by :func:`tsnlib.cli.main`.
    """
    written = build_lists(args.root, args.out, kind=args.kind, splits=args.splits, dataset=args.dataset,
                          frames_root=args.frames_root, relative_to=args.relative_to,
                          skip_missing=getattr(args, "skip_missing", False),
                          activitynet_level=getattr(args, "activitynet_level", "clip"),
                          hvu_category=getattr(args, "hvu_category", "action"))
    for p in written:
        n = sum(1 for line in p.read_text(encoding="utf-8").splitlines() if line.strip())
        print(f"{p}  ({n} lines)")
    return 0
