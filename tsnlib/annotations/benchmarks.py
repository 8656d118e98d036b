"""The other benchmarks of the TSN model zoo, read from their official annotation files.

No notebook uses them (each needs a large download); what they return, records, label maps and
list files, is what notebooks/01_data_preparation.ipynb introduces for UCF101 and HMDB51.

Every reader returns ``(records, label_map)`` like :func:`tsnlib.annotations.read_ucf101`: a list
of :class:`~tsnlib.annotations.VideoRecord` (``source`` names the annotation file and its line or
entry) and the :class:`~tsnlib.annotations.LabelMap`. Each benchmark has one official split
(``split=1``); subsets are ``"train"``, ``"val"`` and, where the benchmark publishes one,
``"test"`` (unlabelled test sets give ``label=-1``). Folders are found under the dataset root,
in ``annotations/`` (MMAction2's place) or directly in the root.

==============  =====================================================  ==========================================
layout          annotations (official names; MMAction2's also read)    videos / frames
==============  =====================================================  ==========================================
kinetics400/    ``train.csv``, ``validate.csv``, ``test.csv``:         ``videos_{train,val,test}/[<class>/]``
600/700         ``label,youtube_id,time_start,time_end,split[,is_cc]``  ``<youtube_id>_<start:06d>_<end:06d>.mp4``
                (``kinetics_{train,val,test}.csv``)                    (trimmed), or the untrimmed
                                                                       ``<youtube_id>.mp4`` (a segment)
sthv1           ``something-something-v1-labels.csv`` (a name per      ``20bn-something-something-v1/<id>/``
                line), ``-train.csv``/``-validation.csv``              ``00001.jpg`` ... (frame folders)
                (``id;label``), ``-test.csv`` (``id``)
sthv2           ``something-something-v2-labels.json`` (name → index), ``20bn-something-something-v2/<id>.webm``
                ``-train.json``/``-validation.json`` (``{id, label,
                template, placeholders}``), ``-test.json``; or
                ``labels.json``, ``train.json``, ... (newer download)
diving48        ``Diving48_V2_train.json``/``_test.json`` (``{vid_name,  ``rgb/<vid_name>.mp4`` (or ``videos/``)
                label, start_frame, end_frame}``), ``Diving48_vocab.json``
mit             ``moments_categories.txt`` (``name,index``),           ``training/<class>/<file>.mp4``,
                ``trainingSet.csv``/``validationSet.csv``              ``validation/...`` (or under ``videos/``)
                (``class/file.mp4,class,agree,disagree``)
mmit            ``moments_categories.txt``, ``trainingSet.csv``/        ``videos/<class>/<file>.mp4``
                ``validationSet.csv`` (``path,index,index,...``;
                ``.txt`` also read)
activitynet     ``activity_net.v1-3.min.json``: ``database[id] =        ``videos/v_<id>.mp4`` (any extension,
                {subset, duration, annotations: [{segment, label}]}``   ``v_`` optional)
hvu             ``hvu_categories.csv`` (``Tag,Category``),              ``videos_{train,val}/<youtube_id>_``
                ``hvu_train.csv``/``hvu_val.csv``                       ``<start*10:06d>_<end*10:06d>.mp4``
                (``Tags,youtube_id,time_start,time_end``, tags          (MMAction2's trimming), or untrimmed
                ``|``-separated); or ``HVU_*_V1.0.csv``                 ``<youtube_id>.mp4``
==============  =====================================================  ==========================================

Sources checked: the datasets' own releases (the Kinetics CSV columns; Something-Something's
label files; ``activity_net.v1-3.min.json``; the HVU-Dataset repository's CSVs) and MMAction2's
``tools/data/<dataset>/`` preparation scripts, whose trimmed-file names, folder layout and class
orders are the ones a MMAction2 user has on disk (Kinetics classes sorted by name; HVU tags sorted
per category; Something-Something's classes in file order; Moments' as numbered).

Multi-label benchmarks (``mmit``, ``hvu``) fill ``VideoRecord.labels`` (every class, 0-based) and
set ``label`` to the first. HVU has one label map per tag category (``category``: ``"action"``,
``"attribute"``, ``"concept"``, ``"event"``, ``"object"``, ``"scene"``, or ``"all"``: every
tag, category after category); a clip without a tag of the chosen category is left out, as
MMAction2's per-category lists leave it.

Segments of untrimmed videos (ActivityNet at ``level="clip"``: one record per labelled segment;
Kinetics and HVU when only the whole YouTube video is on disk) are records with ``start`` and
``end`` in seconds; :class:`tsnlib.datasets.TSNDataset` samples inside them. Their frame lists
(:func:`tsnlib.annotations.build_lists` with ``kind="frames"``) carry offsets, as MMAction2's
ActivityNet clip lists do (``frame_dir offset total_frames label``; the frame of second ``t`` is
``int(t * fps)``, ``fps = frames in the folder / duration``). ActivityNet at ``level="video"``
reads the whole video with the class of its first segment, as MMAction2's video lists do.

A video that is not on disk keeps its expected path (``tsnlib check-data`` reports it, as for
UCF101; ``tsnlib lists --skip-missing`` leaves it out). Bad annotations raise
:class:`~tsnlib.errors.AnnotationError` naming the file and the line or entry: a malformed row,
an unknown class, a duplicate id, a segment outside its video, an empty tag set.

This module recognises a benchmark (:func:`detect_benchmark`), says which subsets it has
(:func:`benchmark_subsets`), reads one with its options (:func:`read_benchmark`, what
:func:`tsnlib.annotations.load_annotations` calls) and turns its records into frame-folder records
for lists (:func:`segment_frame_records`). The readers themselves, one per benchmark, are in
:mod:`tsnlib.annotations.benchmark_readers` (``read_kinetics`` ... ``read_hvu`` are re-exported
here); what they share to read the files, in :mod:`tsnlib.annotations.benchmark_files`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from tsnlib.annotations.benchmark_files import _base, _find, _Read
from tsnlib.annotations.benchmark_readers import (
    _ANET_FILES,
    _ANET_SUBSETS,
    _DIVING_FILES,
    _HVU_FILES,
    _KINETICS_FILES,
    _MOMENTS_FILES,
    _STHV1,
    _STHV1_FILES,
    _STHV2_FILES,
    ACTIVITYNET_LEVELS,
    HVU_CATEGORIES,
    HVU_CHOICES,
    KINETICS_LAYOUTS,
    _is_kinetics_csv,
    _is_mmit_csv,
    _read_activitynet,
    _read_diving48,
    _read_hvu,
    _read_kinetics,
    _read_mit,
    _read_mmit,
    _read_sthv1,
    _read_sthv2,
    hvu_clip_id,
    kinetics_clip_id,
    read_activitynet,
    read_diving48,
    read_hvu,
    read_kinetics,
    read_mit,
    read_mmit,
    read_sthv1,
    read_sthv2,
)
from tsnlib.annotations.folders import _frame_record
from tsnlib.annotations.records import BENCHMARK_LAYOUTS, SUBSETS, LabelMap, Report, VideoRecord, _raise, _Resolver
from tsnlib.decoding import probe_video
from tsnlib.errors import DataError
from tsnlib.sampling import segment_frames

__all__ = [
    "KINETICS_LAYOUTS",
    "ACTIVITYNET_LEVELS",
    "HVU_CATEGORIES",
    "HVU_CHOICES",
    "read_kinetics",
    "read_sthv1",
    "read_sthv2",
    "read_diving48",
    "read_mit",
    "read_mmit",
    "read_activitynet",
    "read_hvu",
    "read_benchmark",
    "detect_benchmark",
    "benchmark_subsets",
    "kinetics_clip_id",
    "hvu_clip_id",
]


# ----------------------------------------------------------------------------------------------
# Dispatch: layouts, subsets, reading with options
# ----------------------------------------------------------------------------------------------


def _kinetics_version(ann: Path) -> str:
    """kinetics400/600/700 from the folder names (``kinetics600``, ``k700_2020``), else kinetics400."""
    for part in reversed(ann.parent.parts[-3:]):
        m = re.search(r"(?:kinetics|k)[-_]?(400|600|700)", part.casefold())
        if m:
            return f"kinetics{m.group(1)}"
    return "kinetics400"


def detect_benchmark(path) -> str | None:
    """The benchmark layout of a dataset root (or of one of its annotation files), or None.

    Recognised by their annotation files (see the module's table): ``something-something-v1-labels.csv``
    → ``"sthv1"``; ``something-something-v2-labels.json`` or ``labels.json`` beside ``train.json``
    → ``"sthv2"``; ``Diving48_V2_train.json`` → ``"diving48"``; ``activity_net*.json`` →
    ``"activitynet"``; ``hvu_categories.csv`` → ``"hvu"``; ``moments_categories.txt`` with
    ``trainingSet.csv`` → ``"mit"``, or ``"mmit"`` when its rows hold class indices; a CSV with
    ``youtube_id`` and ``time_start`` columns (``train.csv``, ``kinetics_train.csv``) →
    ``"kinetics400"``, ``"kinetics600"`` or ``"kinetics700"`` after the folder's name (e.g.
    ``data/kinetics600``), ``"kinetics400"`` when the name does not say.
    """
    if _find(path, [_STHV1.format("labels")]):
        return "sthv1"
    if _find(path, _STHV2_FILES["labels"][:1]) or (_find(path, ["labels.json"]) and _find(path, ["train.json"])):
        return "sthv2"
    if _find(path, [n for names in _DIVING_FILES.values() for n in names]):
        return "diving48"
    if _find(path, _ANET_FILES):
        return "activitynet"
    if _find(path, _HVU_FILES["categories"]):
        return "hvu"
    moments = _find(path, [n for names in _MOMENTS_FILES.values() for n in names])
    if moments is not None and _find(path, ["moments_categories.txt"]):
        return "mmit" if _is_mmit_csv(moments) else "mit"
    kinetics = _find(path, [n for names in _KINETICS_FILES.values() for n in names])
    if kinetics is not None and _is_kinetics_csv(kinetics):
        return _kinetics_version(kinetics)
    return None


def benchmark_subsets(path, layout: str) -> tuple[str, ...]:
    """The subsets whose annotation file a benchmark root has, in ``("train", "val", "test")`` order.
    """
    files = _subset_files(layout)
    return tuple(s for s in SUBSETS if s in files and _find(path, files[s]) is not None)


def _subset_files(layout: str) -> dict[str, Sequence[str]]:
    if layout in KINETICS_LAYOUTS:
        return _KINETICS_FILES
    return {
        "sthv1": {s: [_STHV1.format(w)] for s, w in _STHV1_FILES.items()},
        "sthv2": _STHV2_FILES,
        "diving48": _DIVING_FILES,
        "mit": _MOMENTS_FILES,
        "mmit": _MOMENTS_FILES,
        "activitynet": {s: _ANET_FILES for s in _ANET_SUBSETS},
        "hvu": _HVU_FILES,
    }[layout]


def _reader(layout: str, activitynet_level: str = "clip", hvu_category: str = "action") -> Callable[..., _Read]:
    if layout not in BENCHMARK_LAYOUTS:
        raise ValueError(f"layout must be one of {BENCHMARK_LAYOUTS}, got {layout!r}")
    if layout in KINETICS_LAYOUTS:
        return _read_kinetics
    if layout == "activitynet":
        return lambda root, subset, report: _read_activitynet(root, subset, report, activitynet_level)
    if layout == "hvu":
        return lambda root, subset, report: _read_hvu(root, subset, report, hvu_category)
    return {"sthv1": _read_sthv1, "sthv2": _read_sthv2, "diving48": _read_diving48, "mit": _read_mit,
            "mmit": _read_mmit}[layout]


def _read(path, layout: str, subset: str, report: Report = _raise, split: int = 1, activitynet_level: str = "clip",
          hvu_category: str = "action") -> _Read:
    if int(split) != 1:
        raise DataError(f"{layout} has one official split: use split 1 (data.split: 1), got {split}", path=path)
    return _reader(layout, activitynet_level, hvu_category)(path, subset, report)


def read_benchmark(path, layout: str, subset: str = "train", split: int = 1, activitynet_level: str = "clip",
                   hvu_category: str = "action") -> tuple[list[VideoRecord], LabelMap]:
    """``(records, label_map)`` of one subset of a benchmark layout (:data:`tsnlib.annotations.BENCHMARK_LAYOUTS`).

    What :func:`tsnlib.annotations.load_annotations` calls for these layouts. ``split`` must be 1
    (each benchmark has one official split); ``activitynet_level`` (``"clip"``/``"video"``) and
    ``hvu_category`` are the readers' options, ``data.activitynet_level`` and ``data.hvu_category``
    in a config.
    """
    r = _read(path, layout, subset, _raise, split, activitynet_level, hvu_category)
    return r.records, r.label_map


def gather(path, layout: str, report: Report) -> tuple[list[tuple[VideoRecord, str]], list[Path]]:
    """Every record of every subset, each with what it is (``"video"`` or ``"frames"``), and the
    videos folders read, for :mod:`tsnlib.checks` (``report`` collects the problems). ActivityNet
    is read at clip level (its segments are checked too), HVU with every tag category."""
    items: list[tuple[VideoRecord, str]] = []
    dirs: list[Path] = []
    for subset in benchmark_subsets(path, layout):
        r = _read(path, layout, subset, report, activitynet_level="clip", hvu_category="all")
        items += [(rec, "frames" if layout == "sthv1" else "video") for rec in r.records]
        dirs += [d for d in r.video_dirs if d not in dirs]
    if not items:
        report("missing-file", f"no {layout} annotation file with samples found", _base(path), error=DataError)
    return items, dirs


# ----------------------------------------------------------------------------------------------
# Lists: what tsnlib.annotations.build_lists needs
# ----------------------------------------------------------------------------------------------


def list_stem(layout: str, activitynet_level: str = "clip", hvu_category: str = "action") -> str:
    """The first words of a benchmark's list names: ``kinetics400``, ``activitynet_clip``, ``hvu_action``.

    ``clip`` in a name tells :func:`tsnlib.annotations.read_list_file` that frame lines carry
    offsets; a name starting with ``mmit`` or ``hvu`` that lines carry every label.
    """
    if layout == "activitynet":
        return f"activitynet_{activitynet_level}"
    if layout == "hvu":
        return f"hvu_{hvu_category}"
    return layout


def _video_fps(video: Path, duration: float | None, num_frames: int) -> float:
    """Frames per second of a frame folder made from ``video``: ``num_frames / duration`` when the
    annotation gives the duration (as MMAction2's ActivityNet lists), else the video's own rate."""
    if duration:
        return num_frames / duration
    probe = probe_video(video) if video.is_file() else None
    if probe is None or not probe.fps:
        raise DataError("cannot tell the frame rate of this untrimmed video, needed to place its segments in "
                        "its frame folder", path=video, hint="keep the video beside its frames, or use trimmed clips")
    return float(probe.fps)


def segment_frame_records(records: Sequence[VideoRecord], frames_root: Path, durations: dict[Path, float],
                          skip_missing: bool = False) -> list[VideoRecord]:
    """Frame-folder records of a benchmark's records, for frame lists.

    A whole video's folder is ``frames_root/<class folder>/<video_id>`` (what ``tsnlib frames``
    writes); a frame folder record (Something-Something v1) is counted where it is; a segment
    (``start``/``end`` seconds) becomes ``offset`` and counts in the folder of its whole video,
    the frame of second ``t`` being ``int(t * fps)`` (:func:`tsnlib.sampling.segment_frames`).
    A missing folder raises :class:`~tsnlib.errors.DataError` (or is left out with ``skip_missing``).
    """
    out = []
    counted: dict[Path, VideoRecord] = {}
    resolve = _Resolver(frames_root)
    for r in records:
        folder = r.path if r.path.is_dir() else resolve(f"{r.path.parent.name}/{r.folder_name}")
        if folder not in counted:
            if not folder.is_dir():
                if skip_missing:
                    continue
                raise DataError("frame folder not found (extract it with `tsnlib frames` / `tsnlib flow`)",
                                path=folder, source=r.source)
            counted[folder] = _frame_record(folder, r.label, r.source)
        whole = counted[folder]
        if not whole.num_frames:
            raise DataError("frame folder holds no frames", path=folder, source=r.source)
        extra = {"label": r.label, "labels": r.labels, "source": r.source, "video_id": r.video_id}
        if not r.is_segment:
            out.append(VideoRecord(path=folder, num_frames=whole.num_frames, num_flow_frames=whole.num_flow_frames,
                                   **extra))
            continue
        fps = _video_fps(r.path, durations.get(r.path), whole.num_frames)
        try:
            first, count = segment_frames(r.start or 0.0, r.end, fps, whole.num_frames)
        except ValueError as exc:
            raise DataError(f"segment outside the frame folder: {exc}", path=folder, source=r.source) from exc
        flow = None if not whole.num_flow_frames else max(0, min(count, whole.num_flow_frames - first)) or None
        out.append(VideoRecord(path=folder, num_frames=count, num_flow_frames=flow, offset=first, **extra))
    return out
