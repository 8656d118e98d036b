"""The official UCF101 and HMDB51 annotations: their split files, their folders, their quirks.

* **UCF101** (:func:`read_ucf101`): ``UCF-101/<Class>/v_<Class>_gGG_cCC.avi`` and
  ``ucfTrainTestlist/`` with ``classInd.txt`` (``"1 ApplyEyeMakeup"``, 1-based on disk),
  ``trainlist0N.txt`` (``"Class/v_Class_g08_c01.avi 1"``) and ``testlist0N.txt`` (no label); the
  synthetic set (:mod:`tsnlib.synthetic`) also has ``vallist0N.txt`` (no label, groups disjoint from
  train and test), which the official UCF101 lacks.
* **HMDB51** (:func:`read_hmdb51`): ``hmdb51_org/<class>/<name>.avi`` and
  ``testTrainMulti_7030_splits/<class>_test_splitN.txt`` with ``"<name>.avi <tag>"`` lines,
  tag 1 = train, 2 = test, 0 = not used in that split. Labels: class names sorted.

Both find their annotation and video folders the same way (:func:`_official_dirs`): the dataset
root, its annotation folder or one of its files; the videos beside the annotations, in the usual
folder names or as class folders directly in the root.

Part of :mod:`tsnlib.annotations` (notebooks/01_data_preparation.ipynb reads both layouts through it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tsnlib.annotations.folders import _folder_kind
from tsnlib.annotations.records import (
    VIDEO_EXTENSIONS,
    LabelMap,
    Report,
    VideoRecord,
    _check_subset,
    _is_int,
    _lines,
    _raise,
    _read_class_index,
    _Resolver,
    _src,
)
from tsnlib.errors import DataError

_UCF_ANN_DIRS = ("ucfTrainTestlist", "annotations")
_UCF_VIDEO_DIRS = ("UCF-101", "videos", "UCF101")
_HMDB_ANN_DIRS = ("testTrainMulti_7030_splits", "annotations")
_HMDB_VIDEO_DIRS = ("hmdb51_org", "hmdb51", "videos")
_HMDB_SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<split>\d+)\.txt$")
_UCF_LIST_FILE = re.compile(r"^(?P<subset>train|test|val)list(?P<split>\d+)\.txt$", re.IGNORECASE)
_HMDB_TAGS = {"0": None, "1": "train", "2": "test"}


# ----------------------------------------------------------------------------------------------
# Where the annotations and the videos are (UCF101 and HMDB51 alike)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Folders:
    """Where an official dataset keeps its files, and what to say when they are not there."""

    is_ann: Callable[[Path], bool]  # is this folder the annotation folder?
    ann_dirs: tuple[str, ...]  # the annotation folder's names under the root
    video_dirs: tuple[str, ...]  # the videos folder's names, the usual one first
    not_a_root: str
    no_videos: str  # formatted with the expected videos folder and the annotation folder's name


def _first_dir(candidates: Iterable[Path]) -> Path | None:
    return next((c for c in candidates if c.is_dir()), None)


def _official_dirs(folders: _Folders, root, videos_root=None, require_videos: bool = True) -> tuple[Path, Path]:
    """``(annotation_dir, video_dir)`` of a dataset root, its annotation folder, or one of its files.

    The videos are looked for under the root (or beside the annotation folder when given that
    folder), in ``folders.video_dirs``, else as class folders directly in the root;
    ``videos_root`` overrides them. Without ``require_videos`` a missing videos folder is returned
    as the expected path (``<root>/<usual name>``).
    """
    root = Path(root)
    if root.is_file():
        root = root.parent
    if folders.is_ann(root):
        ann = root
        video = _first_dir([root / d for d in folders.video_dirs] + [root.parent / d for d in folders.video_dirs])
        expected = root.parent / folders.video_dirs[0]
    else:
        ann = next((root / d for d in folders.ann_dirs if folders.is_ann(root / d)), None)
        if ann is None:
            raise DataError(folders.not_a_root, path=root)
        video = _first_dir(root / d for d in folders.video_dirs)
        if video is None and _folder_kind(root, VIDEO_EXTENSIONS) == "video":
            video = root  # class folders directly in the root
        expected = root / folders.video_dirs[0]
    if videos_root is not None:
        video = Path(videos_root)
    if (video is None or not video.is_dir()) and not require_videos:
        return ann, Path(video or expected)
    if video is None or not video.is_dir():
        raise DataError(folders.no_videos.format(expected=expected, ann=ann.name), path=video or expected)
    return ann, video


# ----------------------------------------------------------------------------------------------
# UCF101
# ----------------------------------------------------------------------------------------------


def _is_ucf101_ann(d: Path) -> bool:
    """A UCF101 annotation folder: ``classInd.txt`` and ``trainlist0N.txt``/``testlist0N.txt`` files
    (a folder written by :func:`build_lists` has a ``classInd.txt`` too, but no split files)."""
    return (d / "classInd.txt").is_file() and bool(_ucf101_splits(d))


_UCF101 = _Folders(
    is_ann=_is_ucf101_ann, ann_dirs=_UCF_ANN_DIRS, video_dirs=_UCF_VIDEO_DIRS,
    not_a_root="not a UCF101 root: no classInd.txt and trainlist0N.txt in ucfTrainTestlist/ (or annotations/)",
    no_videos="UCF101 videos folder not found: expected {expected} (or videos/) beside {ann}/, or pass videos_root",
)


def _ucf101_dirs(root, videos_root=None, require_videos: bool = True) -> tuple[Path, Path]:
    """``(annotation_dir, video_dir)`` of a UCF101 root, its annotation folder, or one of its list files."""
    return _official_dirs(_UCF101, root, videos_root, require_videos)


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

    Used by :func:`tsnlib.annotations.load_annotations`, which notebooks/01_data_preparation.ipynb calls.
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


_HMDB51 = _Folders(
    is_ann=_has_hmdb_splits, ann_dirs=_HMDB_ANN_DIRS, video_dirs=_HMDB_VIDEO_DIRS,
    not_a_root="not an HMDB51 root: no <class>_test_split<N>.txt files in testTrainMulti_7030_splits/ "
               "(or annotations/)",
    no_videos="HMDB51 videos folder not found: expected {expected}/<class>/*.avi (or hmdb51/, videos/), "
              "or pass videos_root",
)


def _hmdb51_dirs(root, videos_root=None, require_videos: bool = True) -> tuple[Path, Path]:
    """``(annotation_dir, video_dir)`` of an HMDB51 root, its split folder, or one of its split files."""
    return _official_dirs(_HMDB51, root, videos_root, require_videos)


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

    Used by :func:`tsnlib.annotations.load_annotations`, which notebooks/01_data_preparation.ipynb calls.
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

