"""Optical flow for a whole dataset: frame folders of RGB and flow JPEGs, list files, a settings stamp.

The temporal stream of TSN does not see videos: it reads *flow frames*. This module writes them
in the layout every TSN codebase reads (original Caffe TSN, tsn-pytorch, TSM, MMAction2 with
``start_index=1``; :mod:`tsnlib.frame_folders`):

    <out>/<video_id>/img_00001.jpg ... img_<N>.jpg            N RGB frames
    <out>/<video_id>/flow_x_00001.jpg ... flow_x_<N-1>.jpg    N-1 flow frames (x component)
    <out>/<video_id>/flow_y_00001.jpg ... flow_y_<N-1>.jpg    N-1 flow frames (y component)

Flow frame ``i`` (1-based) is the forward flow from RGB frame ``i`` to frame ``i + 1``. These are
the counts of open-mmlab ``denseflow`` (N RGB, N-1 flow) with the 1-based names of the original
``dense_flow`` tool (open-mmlab ``denseflow`` itself names files from 0, which breaks loaders that
default to ``start_index=1``; the original ``dense_flow`` writes N-1 RGB images, dropping the
first frame). List files therefore carry two counts: the RGB list the RGB count N, the flow list
the flow count N-1 (tsn-pytorch issue #84 is what happens otherwise). For a UCF101 / HMDB51
root (the synthetic set included), :func:`prepare_flow_dataset` (``tsnlib flow ROOT --out DIR``)
does all of it: frame folders of a split's videos, both lists, and a ``flow.json`` stamp of the
settings, so that a folder never mixes two kinds of flow.

Part of :mod:`tsnlib.flow`, which notebooks/04_optical_flow_stream.ipynb introduces
(``flow.prepare_flow_dataset``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from tsnlib.annotations import available_subsets, build_lists, detect_layout, load_annotations, write_list_file
from tsnlib.decoding import iter_frames
from tsnlib.errors import DataError
from tsnlib.flow.estimation import FlowEstimator
from tsnlib.flow.quantization import DEFAULT_BOUND, quantize_flow
from tsnlib.frame_folders import (
    atomic_folder,
    extract_videos,
    extraction_settings,
    frame_folder_of,
    frame_path,
    is_complete_flow_folder,
    resized_size,
    write_jpeg,
)
from tsnlib.synthetic import MANIFEST
from tsnlib.utils import read_stamp, stamp_changes, write_stamp

#: The stamp :func:`prepare_flow_dataset` and :func:`extract_dataset_flow` keep in a frames folder: how its
#: flow was made, from what.
FLOW_STAMP = "flow.json"


def write_flow_folder(
    frames: Iterable[np.ndarray],
    out_dir: str | os.PathLike,
    method: str = "dis",
    bound: float = DEFAULT_BOUND,
    short_side: int | None = None,
    size: tuple[int, int] | None = None,
    jpeg_quality: int = 95,
    estimator: FlowEstimator | None = None,
    source: str | os.PathLike | None = None,
) -> dict:
    """Write one frame folder from RGB frames (an iterable of uint8 ``(H, W, 3)``), atomically.

    Files go to the temporary sibling ``<out_dir>.tmp-<pid>``; only when every file is written is it
    renamed to ``out_dir`` (replacing an older folder there). An interruption leaves at worst a
    ``*.tmp-*`` folder, which the next run deletes, never a half-written ``out_dir``.
    Frames are resized first when ``short_side`` or ``size=(W, H)`` is given, RGB and flow alike,
    with ``cv2.INTER_LINEAR`` (sizes as :func:`tsnlib.frame_folders.resized_size`).
    Returns ``{"num_frames": N, "num_flow": N - 1, "height": h, "width": w}``.

    Used by :func:`extract_video_flow`.
    """
    out_dir = Path(out_dir)
    where = source if source is not None else out_dir
    estimator = estimator or FlowEstimator(method)
    prev = None
    n = 0
    h = w = None
    with atomic_folder(out_dir) as tmp:
        for frame in frames:
            frame = np.asarray(frame)
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise DataError(f"frame {n} is not uint8 (H, W, 3) RGB: {frame.dtype} {frame.shape}", path=where)
            if h is None:
                h, w = resized_size(frame.shape[0], frame.shape[1], short_side, size)
            if frame.shape[:2] != (h, w):
                frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)
            write_jpeg(frame_path(tmp, n, "img"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), jpeg_quality)
            if prev is not None:  # flow frame n - 1 (0-based): the motion from frame n - 1 to frame n
                q = quantize_flow(estimator(prev, frame), bound)
                write_jpeg(frame_path(tmp, n - 1, "flow_x"), q[..., 0], jpeg_quality)
                write_jpeg(frame_path(tmp, n - 1, "flow_y"), q[..., 1], jpeg_quality)
            prev = frame
            n += 1
        if n < 2:
            raise DataError(f"optical flow needs at least 2 frames, got {n}", path=where)
    return {"num_frames": n, "num_flow": n - 1, "height": h, "width": w}


def extract_video_flow(
    video_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    method: str = "dis",
    bound: float = DEFAULT_BOUND,
    short_side: int | None = None,
    size: tuple[int, int] | None = None,
    jpeg_quality: int = 95,
    estimator: FlowEstimator | None = None,
    backend: str = "auto",
) -> dict:
    """Decode one video and write its frame folder: N ``img_*.jpg`` and N-1 ``flow_{x,y}_*.jpg``.

    Names are 1-based (``img_00001.jpg``); flow frame ``i`` is the flow from RGB frame ``i`` to
    ``i + 1``, quantised with ``bound`` (:func:`quantize_flow`). Frames come from the exact sequential
    decode :func:`tsnlib.decoding.iter_frames` (``backend``; streamed, never the whole video in
    memory; turned upright by the file's rotation flag); a
    truncated or unreadable video raises :class:`~tsnlib.errors.DecodeError` naming it. The folder appears atomically (see
    :func:`write_flow_folder`). Returns ``{"num_frames": N, "num_flow": N - 1, "height", "width"}``.

    Used by :func:`extract_dataset_flow` (one call per video, in the workers).
    """
    video_path = Path(video_path)
    return write_flow_folder(
        iter_frames(video_path, backend=backend), out_dir, method=method, bound=bound, short_side=short_side, size=size,
        jpeg_quality=jpeg_quality, estimator=estimator, source=video_path,
    )


# -- dataset-level extraction (worker processes) ----------------------------------------------

_WORKER_ESTIMATOR: FlowEstimator | None = None


def _init_worker(method: str, options: dict) -> None:
    """Process-pool initialiser: one OpenCV thread per process, one estimator per process."""
    global _WORKER_ESTIMATOR
    cv2.setNumThreads(1)
    _WORKER_ESTIMATOR = FlowEstimator(method, **options)


def _extract_one(video_path: str, out_dir: str, options: dict) -> dict:
    return extract_video_flow(video_path, out_dir, estimator=_WORKER_ESTIMATOR, **options)


def _flow_settings(method: str, method_options: dict, bound: float, short_side: int | None,
                   size: tuple[int, int] | None, jpeg_quality: int) -> dict:
    """How flow is extracted, checked, as :data:`FLOW_STAMP` records it: the resize
    (:func:`tsnlib.frame_folders.extraction_settings`), ``method``, its ``options``, ``bound``, ``jpeg_quality``."""
    return extraction_settings(short_side, size, method=str(method).lower(), bound=float(bound),
                               options={k: method_options[k] for k in sorted(method_options)},
                               jpeg_quality=int(jpeg_quality))


def extract_dataset_flow(
    records: Sequence,
    out_root: str | os.PathLike,
    method: str = "dis",
    workers: int | None = None,
    bound: float = DEFAULT_BOUND,
    short_side: int | None = None,
    size: tuple[int, int] | None = None,
    jpeg_quality: int = 95,
    progress: bool = True,
    resume: bool = True,
    level: int = 2,
    backend: str = "auto",
    **method_options,
):
    """Extract frame folders for many videos in parallel, resumably; never stop at the first failure.

    ``records``: :class:`tsnlib.annotations.VideoRecord` objects (or plain video paths). Each video
    goes to ``<out_root>/<class folder>/<video_id>`` (``level=2``, the default: MMAction2's
    layout, the one ``tsnlib frames`` writes and ``tsnlib lists --kind frames`` reads; the class
    folder is the name of the folder holding the video) or ``<out_root>/<video_id>`` (``level=1``,
    the flat layout of the original Caffe TSN).

    * Parallel across videos with worker processes (``workers=None``: one per CPU core, at most one
      per video; ``workers`` 0 or 1: in this process), each with ``cv2.setNumThreads(1)`` and one
      :class:`FlowEstimator`.
    * Resumable (``resume=True``): a finished folder (:func:`is_complete_flow_folder`) is kept as
      it is; half-written ``*.tmp-*`` folders are deleted and those videos redone. ``resume=False``
      redoes everything. Two extractions into the same ``out_root`` at once are not supported.
    * A video that fails is listed and the others go on; at the end a summary of the failures is
      printed. Videos that would share a folder (``clip.mp4`` and ``clip.avi`` in one class
      folder) are failures too, each naming the other (:func:`tsnlib.utils.folder_conflicts`).
    * ``backend``: the video decoder (:func:`tsnlib.decoding.iter_frames`).
    * The method, its options, the bound, the sizes and the JPEG quality are kept in
      ``out_root/flow.json`` (:data:`FLOW_STAMP`, :func:`tsnlib.utils.guard_settings`, the check
      ``tsnlib frames`` makes too): a later run with other ones raises
      :class:`~tsnlib.errors.DataError` naming them, unless ``resume=False`` (everything again).

    Workers are started with the ``spawn`` method (safe after torch, CUDA or OpenCV threads
    started in this process), which re-imports the main module: a *script* that calls this with
    ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard (notebooks do not).

    Returns ``(frame_records, failures)``: ``frame_records`` in input order without the failed
    videos, each a copy of its record with ``path`` = the frame folder, ``num_frames`` = N RGB
    frames and ``num_flow_frames`` = N-1; ``failures`` a list of ``(video path, error message)``.
    Write list files from them with :func:`write_flow_lists`. The loop is
    :func:`tsnlib.frame_folders.extract_videos`, the one ``tsnlib frames`` runs too.

    Used by :func:`prepare_flow_dataset` and ``tsnlib flow``.
    """
    # fail early, in this process, on a method that cannot run (missing contrib build, weights)
    FlowEstimator(method, **method_options)
    settings = _flow_settings(method, method_options, bound, short_side, size, jpeg_quality)
    return extract_videos(
        records, out_root, _extract_one,
        {"bound": bound, "short_side": short_side, "size": size, "jpeg_quality": jpeg_quality, "backend": backend},
        is_complete=is_complete_flow_folder, stamp=FLOW_STAMP, settings=settings,
        hint="keep the old settings, choose another output folder, or pass resume=False (tsnlib flow --no-resume) "
             "to extract everything again",
        name="flow", desc=f"flow ({method})", level=level, workers=workers, progress=progress, resume=resume,
        initializer=_init_worker, initargs=(method, dict(method_options)))


def write_flow_lists(
    frame_records: Sequence,
    rgb_list: str | os.PathLike,
    flow_list: str | os.PathLike,
    root: str | os.PathLike | None = None,
) -> tuple[Path, Path]:
    """Write the rawframe list and the flow list: lines ``<frame_dir> <count> <label>``.

    The RGB list uses each record's ``num_frames`` (N), the flow list its ``num_flow_frames``
    (N-1): one list with the RGB count would make a flow loader read one frame past the end
    (tsn-pytorch issue #84). Written by :func:`tsnlib.annotations.write_list_file`
    (``kind="frames"`` and ``kind="flow"``): ``frame_dir`` relative to ``root`` (default: each
    list's own folder), ``/`` separators; a record without a label or count raises
    :class:`~tsnlib.errors.DataError`. Returns the two paths.

    Used by ``tsnlib flow`` on a dataset without official splits.
    """
    frame_records = list(frame_records)
    rgb = write_list_file(frame_records, rgb_list, kind="frames", root=root)
    flow = write_list_file(frame_records, flow_list, kind="flow", root=root)
    return Path(rgb), Path(flow)


# -- a whole dataset, ready for the temporal stream ------------------------------------------


def _source_identity(root: Path) -> dict:
    """What the frame folders were made from: a synthetic dataset's generator key, else the root's path."""
    manifest = root / MANIFEST
    if manifest.is_file():
        try:
            m = json.loads(manifest.read_text(encoding="utf-8"))
        except ValueError:
            m = {}
        keys = ("generator", "version", "layout", "size", "seed", "codec", "videos_per_class", "num_videos")
        return {"synthetic": {k: m.get(k) for k in keys}}
    return {"root": str(root.resolve())}


def prepare_flow_dataset(
    root: str | os.PathLike,
    frames_root: str | os.PathLike | None = None,
    split: int = 1,
    method: str = "dis",
    short_side: int | None = None,
    size: tuple[int, int] | None = None,
    bound: float = DEFAULT_BOUND,
    jpeg_quality: int = 95,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    backend: str = "auto",
    **method_options,
) -> dict:
    """Everything the temporal stream needs from a UCF101 / HMDB51 root: frame folders, flow, lists.

    ``root``: a dataset in the UCF101 or HMDB51 layout (the synthetic set included). Every video of
    the train and test lists of ``split`` (and of the val list, where the root has one: the synthetic
    UCF101 layout's ``vallist0N.txt``) is extracted by :func:`extract_dataset_flow` into
    ``frames_root/<class folder>/<video_id>/`` (default ``frames_root = root/rawframes``, MMAction2's
    place; ``img_*.jpg``, ``flow_x_*.jpg``, ``flow_y_*.jpg``, 1-based), resumably and in parallel
    (``workers``); then :func:`tsnlib.annotations.build_lists` writes into ``frames_root``
    ``classInd.txt`` and, per subset (train, test, and val with a val list),
    ``<dataset>_<subset>_split_<split>_rawframes.txt`` (RGB counts) and ``..._flow.txt`` (flow
    counts). A config then reads them with ``data.dataset=list``, ``data.root=<frames_root>``,
    ``data.source=frames`` (the ``tsn_*_flow`` presets). ``backend``: the video decoder
    (:func:`tsnlib.decoding.iter_frames`; not part of the stamp below).

    ``frames_root/flow.json`` records how the flow was made (method, bound, sizes, quality, method
    options) and from what (a synthetic dataset's generator version, size and seed; else the root's
    path). On the next call:

    * same stamp: finished videos are skipped (a second call costs only the folder checks);
    * the synthetic dataset was regenerated (another generator version, size or seed): the frame
      folders belong to videos that no longer exist and are deleted, then extracted again;
    * other extraction settings: :class:`~tsnlib.errors.DataError`, so that hours of extracted flow
      are never replaced by accident; pass another ``frames_root``, or ``overwrite=True`` (CLI:
      ``--no-resume``), which extracts every video again.

    A folder without a stamp (frames from elsewhere, e.g. denseflow) is resumed as it is. A video that
    fails does not stop the others; the failures are then raised together as one
    :class:`~tsnlib.errors.DataError` (the finished videos are kept: fix and call again).

    Returns ``{"frames_root", "lists" (paths written), "videos", "extracted", "reused", "seconds",
    "stamp"}``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    root = Path(root)
    layout = detect_layout(root)
    if layout not in ("ucf101", "hmdb51"):
        raise DataError(f"prepare_flow_dataset needs a UCF101 or HMDB51 root with official splits, found layout "
                        f"{layout!r}; for other datasets use extract_dataset_flow and write_flow_lists", path=root)
    frames_root = Path(frames_root) if frames_root is not None else root / "rawframes"
    FlowEstimator(method, **method_options)  # fail early on a method that cannot run here
    stamp = {**_flow_settings(method, method_options, bound, short_side, size, jpeg_quality),
             "source": _source_identity(root), "layout": layout}
    old = read_stamp(frames_root / FLOW_STAMP)
    if old is not None and old != stamp:
        settings = {k: v for k, v in stamp.items() if k != "source"}
        old_settings = {k: v for k, v in old.items() if k != "source"}
        regenerated = "synthetic" in old.get("source", {}) and old.get("source") != stamp["source"]
        if overwrite or (regenerated and settings == old_settings):
            why = "overwrite=True" if overwrite else (
                f"the synthetic dataset changed ({old['source']['synthetic']} -> {stamp['source'].get('synthetic')})")
            if progress:
                print(f"flow: removing the frame folders in {frames_root}: {why}")
            shutil.rmtree(frames_root)
        else:
            raise DataError(
                f"these frame folders were extracted with other settings ({stamp_changes(old, stamp)}); keep the old "
                "settings, choose another frames_root, or pass overwrite=True (tsnlib flow --no-resume) to extract "
                "everything again", path=frames_root / FLOW_STAMP)
    start = time.perf_counter()
    records: dict[Path, object] = {}
    for subset in available_subsets(root, split, layout):
        for r in load_annotations(root, split=split, subset=subset, kind=layout)[0]:
            records.setdefault(Path(r.path), r)
    recs = list(records.values())
    done = 0 if overwrite else sum(is_complete_flow_folder(frame_folder_of(r, frames_root, 2)) for r in recs)
    write_stamp(frames_root / FLOW_STAMP, stamp)
    _, failures = extract_dataset_flow(recs, frames_root, method=method, workers=workers, bound=bound,
                                       short_side=short_side, size=size, jpeg_quality=jpeg_quality,
                                       progress=progress, resume=not overwrite, level=2, backend=backend,
                                       **method_options)
    if failures:
        listed = "; ".join(f"{p}: {m}" for p, m in failures[:5])
        raise DataError(f"flow extraction failed for {len(failures)} of {len(recs)} videos ({listed}); the others "
                        "are done and kept: fix or remove those videos, then call again", path=root)
    lists = build_lists(root, frames_root, kind="frames", splits=[int(split)], dataset=layout, frames_root=frames_root)
    return {"frames_root": frames_root, "lists": lists, "videos": len(recs), "extracted": len(recs) - done,
            "reused": done, "seconds": time.perf_counter() - start, "stamp": stamp}

