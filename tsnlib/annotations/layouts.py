"""Any supported dataset path: recognise its layout, read one split and subset, write its lists.

:func:`detect_layout` recognises a UCF101 or HMDB51 root, a list file or a folder of lists, a folder
per class, or a benchmark root (:mod:`tsnlib.annotations.benchmarks`); :func:`load_annotations`
reads it with the right reader, :func:`available_subsets` says which subsets it has, and
:func:`build_lists` writes the MMAction2 lists of every split of a dataset with official splits.

Part of :mod:`tsnlib.annotations`, whose functions here notebooks/01_data_preparation.ipynb calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tsnlib.annotations import benchmarks
from tsnlib.annotations.folders import _class_dirs, _folder_kind, _frame_record, _read_folders, _subset_folder
from tsnlib.annotations.lists import _LIST_SUFFIX, _guess_with_offset, _list_files_in, _list_text, read_list_file
from tsnlib.annotations.official import (
    _HMDB_ANN_DIRS,
    _HMDB_SPLIT_FILE,
    _UCF_ANN_DIRS,
    _UCF_LIST_FILE,
    _has_hmdb_splits,
    _is_ucf101_ann,
    _ucf101_dirs,
    _ucf101_list_path,
    read_hmdb51,
    read_ucf101,
)
from tsnlib.annotations.records import (
    BENCHMARK_LAYOUTS,
    LAYOUTS,
    LIST_KINDS,
    SUBSETS,
    VIDEO_EXTENSIONS,
    LabelMap,
    VideoRecord,
    _check_subset,
    _is_int,
    _Resolver,
    _write_atomic,
    write_label_map,
)
from tsnlib.errors import DataError

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
      files (:func:`tsnlib.annotations.benchmarks.detect_benchmark`).

    Anything else raises :class:`~tsnlib.errors.DataError` saying what was expected.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("dataset path not found", path=path,
                        hint="give an existing dataset folder, list file or folder of videos")
    bench = benchmarks.detect_benchmark(path)
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
    :func:`tsnlib.annotations.benchmarks.read_benchmark` (one split, ``split=1``), with
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
        return benchmarks.read_benchmark(path, layout, subset, split=split, activitynet_level=activitynet_level,
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
        return benchmarks.benchmark_subsets(path, layout)
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
    :func:`tsnlib.annotations.benchmarks.list_stem` (``kinetics400_train_split_1_videos.txt``,
    ``activitynet_clip_val_split_1_rawframes.txt``, ``hvu_action_train_split_1_videos.txt``) for
    their labelled subsets (an unlabelled test set has no list); multi-label lines hold every label
    id after the path; segments of untrimmed videos (ActivityNet clips, Kinetics or HVU clips kept in
    their whole video) need ``kind="frames"`` and get offset lines ``"frame_dir offset total_frames
    label"`` in the folder of their whole video
    (:func:`tsnlib.annotations.benchmarks.segment_frame_records`), in lists whose name says ``clip``
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
        stem_name = benchmarks.list_stem(layout, activitynet_level, hvu_category)
        jobs = [(1, subset) for subset in benchmarks.benchmark_subsets(root, layout)]

        def read(split: int, subset: str):
            return benchmarks._read(root, layout, subset, split=split, activitynet_level=activitynet_level,
                                    hvu_category=hvu_category)

        def frames_of(read_result):
            return benchmarks.segment_frame_records(read_result.records, frames_root, read_result.durations,
                                                    skip_missing)
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

