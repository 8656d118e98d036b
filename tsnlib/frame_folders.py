"""Frame folders: the JPEG layout TSN trains from, read and written whole or not at all.

Introduced in notebooks/03_train_rgb.ipynb (``frame_folders.read_rgb_frames``).

A *frame folder* holds one video as numbered JPEGs, the layout of the original TSN, tsn-pytorch
and MMAction2 "rawframes"::

    <out>/<class folder>/<video_id>/img_00001.jpg ... img_<N>.jpg          N RGB frames
    <out>/<class folder>/<video_id>/flow_x_00001.jpg ... flow_x_<N-1>.jpg  flow frames, x component
    <out>/<class folder>/<video_id>/flow_y_00001.jpg ... flow_y_<N-1>.jpg  flow frames, y component

This module is everything about that layout, for ``tsnlib frames``, ``tsnlib flow``
(:mod:`tsnlib.flow.extraction`), the datasets and the synthetic tag set:

* **names**: :data:`FRAME_TMPL` (``{kind}_{index:05d}.jpg``, ``kind`` ``img``, ``flow_x`` or
  ``flow_y``), :data:`BARE_FRAME_TMPL` (``00001.jpg``) and :func:`frame_path`; ``start_index``
  (1 for ``img_00001.jpg``, 0 for folders written by open-mmlab ``denseflow``) is added only to
  name files, indices are 0-based everywhere else;
* **counting and checking**: :func:`count_frames`, :func:`detect_start_index`,
  :func:`detect_frame_template`, :func:`is_complete_frame_folder`, :func:`is_complete_flow_folder`;
* **reading**: :func:`read_rgb_frames` ``(N, H, W, 3)`` and :func:`read_flow_frames` ``(N, H, W, 2)``,
  numpy ``uint8``;
* **writing**: :func:`write_jpeg` and :func:`atomic_folder` (a folder appears complete or not at
  all), with the resize of an extraction (:func:`resized_size`, :func:`parse_size`,
  :func:`extraction_settings`);
* **extracting a dataset**: :func:`extract_videos`, the one resumable loop over videos that
  ``tsnlib frames`` and ``tsnlib flow`` run (skip finished folders, extract the rest in worker
  processes, keep the settings in a stamp), and RGB extraction on top of it,
  :func:`extract_frames` (one video) and :func:`extract_dataset_frames` (a dataset).

Bad input raises :class:`tsnlib.errors.DataError` naming the file (a missing or unreadable frame)
or :class:`tsnlib.errors.DecodeError` naming the video (extraction).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from tsnlib.annotations import VideoRecord, scan_frame_folder
from tsnlib.decoding import iter_frames
from tsnlib.errors import DataError, UsageError
from tsnlib.utils import folder_conflicts, guard_settings, run_per_video

#: The default frame-folder file name template; ``kind`` is ``img``, ``flow_x`` or ``flow_y``.
FRAME_TMPL = "{kind}_{index:05d}.jpg"
#: RGB frames named by their number alone, ``00001.jpg`` (Something-Something v1 as distributed).
BARE_FRAME_TMPL = "{index:05d}.jpg"
#: The settings stamp :func:`extract_dataset_frames` keeps in its output folder.
FRAMES_STAMP = "frames.json"


# ----------------------------------------------------------------------------------------------
# Names, counts, completeness
# ----------------------------------------------------------------------------------------------


def frame_path(folder, index: int, kind: str = "img", start_index: int = 1, tmpl: str = FRAME_TMPL) -> Path:
    """The file of 0-based frame ``index`` in a frame folder: ``folder / tmpl(kind, index + start_index)``.

    ``kind``: ``"img"`` (RGB), ``"flow_x"`` or ``"flow_y"``. ``frame_path(f, 0)`` is
    ``f/img_00001.jpg`` with the usual ``start_index=1``, ``f/img_00000.jpg`` with ``start_index=0``.

    Used by the readers and writers of this module, :mod:`tsnlib.flow.extraction` and the synthetic tag set.
    """
    return Path(folder) / tmpl.format(kind=kind, index=int(index) + int(start_index))


def count_frames(folder) -> dict[str, int]:
    """How many ``img_*.jpg``, ``flow_x_*.jpg`` and ``flow_y_*.jpg`` a frame folder holds.

    Returns ``{"img": N, "flow_x": M, "flow_y": M}`` (flow counts are often ``N - 1``); bare
    ``00001.jpg`` names count as ``img`` (:data:`BARE_FRAME_TMPL`): the lengths of
    :func:`tsnlib.annotations.scan_frame_folder`, the one reader of a folder's names.
    A missing folder raises :class:`~tsnlib.errors.DataError`.

    Used by :class:`tsnlib.datasets.TSNDataset`, the completeness checks and the extractors.
    """
    return {kind: len(numbers) for kind, numbers in scan_frame_folder(folder).items()}


def detect_start_index(folder) -> int:
    """The number of a frame folder's first file: 0 if ``img_00000.jpg`` (or ``flow_x_00000.jpg``) exists, else 1.

    Folders written by open-mmlab ``denseflow`` start at 0; the original TSN tools, tsn-pytorch and
    :func:`extract_frames` start at 1.

    Used by :class:`tsnlib.datasets.TSNDataset` and Grad-CAM on frame folders (:mod:`tsnlib.visualization`).
    """
    folder = Path(folder)
    if (frame_path(folder, 0, "img", 0).is_file() or frame_path(folder, 0, "flow_x", 0).is_file()
            or frame_path(folder, 0, "img", 0, BARE_FRAME_TMPL).is_file()):
        return 0
    return 1


def detect_frame_template(folder) -> str:
    """The RGB file names of a frame folder: :data:`FRAME_TMPL` (``img_00001.jpg``), or
    :data:`BARE_FRAME_TMPL` (``00001.jpg``) when the folder has bare numbered files and no ``img_``
    start file (Something-Something v1 as distributed, read as MMAction2 reads it with
    ``filename_tmpl='{:05}.jpg'``).

    Used by :class:`tsnlib.datasets.TSNDataset`.
    """
    folder = Path(folder)
    if any(frame_path(folder, 0, "img", s).is_file() for s in (1, 0)):
        return FRAME_TMPL
    if any(frame_path(folder, 0, "img", s, BARE_FRAME_TMPL).is_file() for s in (1, 0)):
        return BARE_FRAME_TMPL
    return FRAME_TMPL


def is_complete_frame_folder(folder) -> bool:
    """True when a folder holds ``img_00001.jpg`` … ``img_<N>.jpg`` (N ≥ 1) without a gap at the end.

    :func:`extract_frames` creates a folder only once all its frames are written (it writes into a
    ``<name>.tmp-<pid>`` sibling and renames), so an existing folder is a finished one; half-written
    ``*.tmp-*`` folders never count.

    Used by :func:`extract_dataset_frames` (``tsnlib frames``) to skip finished videos.
    """
    folder = Path(folder)
    if not folder.is_dir() or re.search(r"\.tmp-\w+$", folder.name):
        return False
    n = count_frames(folder)["img"]
    start = detect_start_index(folder)
    return n > 0 and frame_path(folder, 0, "img", start).is_file() and frame_path(folder, n - 1, "img", start).is_file()


def is_complete_flow_folder(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a finished flow frame folder: ``img_00001..N``, ``flow_x/y_00001..N-1``, N >= 2.

    Only the rename at the end of :func:`tsnlib.flow.extraction.write_flow_folder` creates the final
    folder, so a folder that fails this check came from elsewhere (or was damaged later) and is redone
    on resume.

    Used by :func:`tsnlib.flow.extraction.extract_dataset_flow` (``tsnlib flow``) to skip finished videos.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return False
    c = count_frames(folder)
    n = c["img"]
    if n < 2 or c["flow_x"] != n - 1 or c["flow_y"] != n - 1:
        return False
    # the counts could match with a gap in the numbering: check the last names exist
    return (frame_path(folder, n - 1, "img").is_file() and frame_path(folder, n - 2, "flow_x").is_file()
            and frame_path(folder, n - 2, "flow_y").is_file())


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


#: ``cv2.imread``'s flag that decodes a JPEG straight to RGB (OpenCV >= 4.11); None on older OpenCV,
#: whose BGR images are converted after reading.
_IMREAD_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)


def _imread(path: Path, kind: str, source: str | None) -> np.ndarray:
    """One frame file: ``uint8 (H, W, 3)`` RGB for ``kind`` ``"img"``, ``(H, W)`` grey for a flow component.

    A missing or unreadable file raises :class:`~tsnlib.errors.DataError` naming it (and ``source``, the
    list line); files are checked only after ``cv2.imread`` failed.
    """
    if kind != "img":
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    elif _IMREAD_RGB is not None:
        img = cv2.imread(str(path), _IMREAD_RGB)
    else:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        img = None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if img is None:
        if not path.is_file():
            raise DataError("frame file not found", path=path, source=source)
        raise DataError("frame file cannot be read as an image", path=path, source=source)
    return img


def _stack(frames: list[np.ndarray], folder, source: str | None) -> np.ndarray:
    """``frames`` stacked along a new first axis; frames of different sizes raise DataError naming the folder."""
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise DataError(f"frames of one folder have different sizes: {sorted(shapes)}", path=folder, source=source)
    return np.stack(frames)


def read_rgb_frames(folder, indices, start_index: int = 1, tmpl: str = FRAME_TMPL, source: str | None = None) -> np.ndarray:
    """RGB JPEGs of 0-based ``indices`` from a frame folder: ``uint8 (N, H, W, 3)``, in the order asked.

    Each file is read with ``cv2.imread`` (libjpeg-turbo), decoded straight to RGB where OpenCV >=
    4.11 offers it. A missing or unreadable file raises :class:`~tsnlib.errors.DataError` naming that
    exact file (and ``source``, the list line, when given).

    Introduced in notebooks/03_train_rgb.ipynb.
    """
    frames = [_imread(frame_path(folder, i, "img", start_index, tmpl), "img", source) for i in np.ravel(indices)]
    if not frames:
        return np.zeros((0, 0, 0, 3), np.uint8)
    return _stack(frames, folder, source)


def read_flow_frames(folder, indices, start_index: int = 1, tmpl: str = FRAME_TMPL, source: str | None = None) -> np.ndarray:
    """Flow JPEGs (``flow_x``, ``flow_y``, grayscale) of 0-based ``indices``: ``uint8 (N, H, W, 2)``, channels (x, y).

    Values are the quantised flow (128 = no motion, bound 20 px ↔ 0/255, §3.6 of the reference
    notes). Missing file → :class:`~tsnlib.errors.DataError` naming it.

    Used by :class:`tsnlib.datasets.TSNDataset` (the flow stream).
    """
    frames = []
    for i in np.ravel(indices):
        fx, fy = (frame_path(folder, i, kind, start_index, tmpl) for kind in ("flow_x", "flow_y"))
        x, y = _imread(fx, "flow_x", source), _imread(fy, "flow_y", source)
        if x.shape != y.shape:
            raise DataError(f"flow_x and flow_y of frame {i} differ in size: {x.shape} vs {y.shape}", path=fx,
                            source=source)
        frames.append(cv2.merge((x, y)))
    if not frames:
        return np.zeros((0, 0, 0, 2), np.uint8)
    return _stack(frames, folder, source)


# ----------------------------------------------------------------------------------------------
# Writing: the resize of an extraction, JPEGs, whole folders
# ----------------------------------------------------------------------------------------------


def resized_size(height: int, width: int, short_side: int | None = None, size: tuple[int, int] | None = None) -> tuple[int, int]:
    """``(new_height, new_width)``: unchanged, short side set to ``short_side``, or ``size=(W, H)``.

    ``short_side=256`` keeps the aspect ratio (other side rounded to the nearest pixel);
    ``size=(340, 256)`` is the fixed width × height of the original TSN extraction script.

    Used by :func:`extract_frames`, :func:`tsnlib.flow.extraction.write_flow_folder` and the synthetic tag set.
    """
    if short_side is not None and size is not None:
        raise ValueError("give short_side or size, not both")
    if size is not None:
        new_w, new_h = int(size[0]), int(size[1])
    elif short_side is not None:
        s = float(short_side) / min(height, width)
        if height <= width:
            new_h, new_w = int(short_side), max(1, int(round(width * s)))
        else:
            new_h, new_w = max(1, int(round(height * s))), int(short_side)
    else:
        return int(height), int(width)
    if new_w <= 0 or new_h <= 0:
        raise ValueError(f"invalid output size {(new_w, new_h)}")
    return new_h, new_w


def parse_size(value) -> tuple[int, int] | None:
    """``(W, H)`` from ``"340x256"``, ``["340x256"]``, ``["340", "256"]`` or ``(340, 256)``; None stays None.

    The fixed size of the original TSN extraction (``340x256``, MMAction2's ``--new-width 340
    --new-height 256``), as ``--size`` takes it. Anything else raises :class:`~tsnlib.errors.UsageError`.
    """
    if value is None:
        return None
    parts = [value] if isinstance(value, str) else [str(v) for v in value]
    if len(parts) == 1:
        parts = re.split(r"[x×X*,]", parts[0].strip())
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"a size is W x H in pixels, e.g. 340x256 or '340 256'; got {value!r}") from None
    if w < 1 or h < 1:
        raise UsageError(f"a size needs a positive width and height, got {w}x{h}")
    return w, h


def extraction_settings(short_side: int | None = None, size=None, **more) -> dict:
    """The resize of a frame or flow extraction, checked, as its settings stamp records it:
    ``{"short_side": 256 or None, "size": [340, 256] or None, **more}``.

    ``short_side`` (keep the aspect ratio: 256 or 320, the presets' "320p") and ``size`` (a fixed
    ``W x H``, the presets' "340x256"; any form :func:`parse_size` reads) exclude each other: both
    raise :class:`~tsnlib.errors.UsageError`, as does a short side below 1.
    """
    size = parse_size(size)
    if short_side is not None and size is not None:
        raise UsageError("give a short side or a fixed size, not both (--short-side 256 or --size 340x256)")
    if short_side is not None and int(short_side) < 1:
        raise UsageError(f"the short side must be >= 1 pixel, got {short_side}")
    return {"short_side": None if short_side is None else int(short_side), "size": None if size is None else list(size),
            **more}


def write_jpeg(path, img: np.ndarray, quality: int = 95) -> None:
    """Write a uint8 image, BGR ``(H, W, 3)`` or grey ``(H, W)``, as a JPEG of ``quality``; raises ``OSError`` on failure."""
    if not cv2.imwrite(str(path), np.ascontiguousarray(img), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]):
        raise OSError(f"could not write {path}")


def remove_stale_tmp(out_dir) -> list[Path]:
    """Delete the half-written ``<name>.tmp-<pid>`` siblings of ``out_dir`` that an interrupted run left; returns them."""
    out_dir, removed = Path(out_dir), []
    if out_dir.parent.is_dir():
        pattern = re.compile(re.escape(out_dir.name) + r"\.tmp-\w+")
        for p in out_dir.parent.iterdir():
            if pattern.fullmatch(p.name) and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_folder(out_dir):
    """Write a frame folder whole or not at all: ``with atomic_folder(out) as tmp:`` write into ``tmp``.

    ``tmp`` is the sibling ``<out_dir>.tmp-<pid>`` (stale ones from interrupted runs are deleted first);
    when the block ends without an error it is renamed to ``out_dir`` (replacing an older folder there),
    on any error it is deleted. An interruption leaves at worst a ``*.tmp-*`` folder, never a half-written
    ``out_dir``: an existing frame folder is a finished one. Used by ``tsnlib frames``, ``tsnlib flow`` and
    the synthetic tag set.
    """
    out_dir = Path(out_dir)
    remove_stale_tmp(out_dir)
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    tmp.mkdir(parents=True)
    try:
        yield tmp
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ----------------------------------------------------------------------------------------------
# Extracting a dataset: the one resumable loop over videos
# ----------------------------------------------------------------------------------------------


def as_record(item):
    """A record for a video: ``item`` itself, or a :class:`~tsnlib.annotations.VideoRecord` of a bare path (label -1).

    Used by :func:`extract_videos` and ``tsnlib frames`` / ``tsnlib flow`` on a plain folder of videos.
    """
    if not isinstance(item, (str, os.PathLike)):
        return item
    p = Path(item)
    return VideoRecord(path=p, label=-1, num_frames=None, video_id=p.stem, source=None, num_flow_frames=None)


def frame_folder_of(record, out_root, level: int = 2) -> Path:
    """The frame folder of a video: ``out_root/<class folder>/<name>`` (``level=2``) or ``out_root/<name>``
    (``level=1``).

    ``<class folder>`` is the name of the folder holding the video; ``<name>`` its ``video_id``, or for a
    segment of a video the folder of the whole video (``VideoRecord.folder_name``).

    Used by :func:`extract_videos` and :func:`tsnlib.flow.extraction.prepare_flow_dataset`.
    """
    out_root = Path(out_root)
    name = getattr(record, "folder_name", None) or getattr(record, "video_id", None) or Path(record.path).stem
    if level == 1:
        return out_root / name
    if level == 2:
        return out_root / Path(record.path).parent.name / name
    raise ValueError(f"level must be 1 (out/<video>) or 2 (out/<class folder>/<video>), got {level}")


def _folder_record(record, folder: Path):
    """A copy of ``record`` for its frame folder: ``path`` = the folder, ``num_frames`` = its RGB frames,
    ``num_flow_frames`` = its flow frames (None when it has none)."""
    counts = count_frames(folder)
    flow = counts["flow_x"] if counts["flow_x"] and counts["flow_x"] == counts["flow_y"] else None
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        fields = {f.name for f in dataclasses.fields(record)}
        changes = {"path": folder, "num_frames": counts["img"]}
        if "num_flow_frames" in fields:
            changes["num_flow_frames"] = flow
        return dataclasses.replace(record, **changes)
    return VideoRecord(path=folder, label=getattr(record, "label", -1), num_frames=counts["img"],
                       video_id=getattr(record, "video_id", Path(record.path).stem),
                       source=getattr(record, "source", None), num_flow_frames=flow)


def extract_videos(records: Sequence, out_root, job: Callable, job_options: dict, *, is_complete: Callable,
                   stamp: str, settings: dict, hint: str, name: str, desc: str | None = None, level: int = 2,
                   workers: int | None = None, progress: bool = True, resume: bool = True,
                   initializer: Callable | None = None, initargs: tuple = ()):
    """Extract one frame folder per video, resumably and in parallel: the loop of ``tsnlib frames`` and ``tsnlib flow``.

    ``records``: :class:`tsnlib.annotations.VideoRecord` objects of video files (or bare paths).

    1. Each video's folder is ``out_root/<class folder>/<video_id>`` (``level=2``, MMAction2's layout)
       or ``out_root/<video_id>`` (``level=1``, the original Caffe TSN's). Videos that would share a
       folder (``clip.mp4`` and ``clip.avi`` in one class folder) are failures, each naming the
       other (:func:`tsnlib.utils.folder_conflicts`); the rest goes on.
    2. The settings are kept in ``out_root/<stamp>``: a later run with other ones raises
       :class:`~tsnlib.errors.DataError` naming them (``hint`` says what to do), so a folder never
       mixes two settings, unless ``resume=False``, which extracts every video again
       (:func:`tsnlib.utils.guard_settings`).
    3. With ``resume``, a folder for which ``is_complete(folder)`` holds is kept (and its stale
       ``*.tmp-*`` siblings deleted); every other video is extracted by ``job(video, folder,
       job_options)`` (a module-level function: it is sent to the workers), in worker processes
       (``workers``: None one per CPU core, 0 or 1 in this process; ``initializer(*initargs)`` runs
       once in each) by :func:`tsnlib.utils.run_per_video`, with a progress bar (``desc``).
    4. A failing video is recorded and the others continue; a summary line (``name: N videos, ...``)
       and the failures are printed at the end.

    Returns ``(folder_records, failures)``: copies of the input records, in input order, without the
    failed videos, with ``path`` = the frame folder, ``num_frames`` = its RGB frames and
    ``num_flow_frames`` = its flow frames (None without); ``failures`` a list of ``(video path, message)``.
    """
    out_root = Path(out_root)
    recs = [as_record(r) for r in records]
    targets = [frame_folder_of(r, out_root, level) for r in recs]
    conflicts = folder_conflicts([r.path for r in recs], targets)
    guard_settings(out_root, stamp, settings, redo=not resume, hint=hint)
    done: set[int] = set()
    todo: list[int] = []
    for i, t in enumerate(targets):
        if i in conflicts:
            continue
        if resume and is_complete(t):
            done.add(i)
            remove_stale_tmp(t)
        else:
            todo.append(i)
    jobs = {i: (str(recs[i].path), str(targets[i]), job_options) for i in todo}
    finished, failures = run_per_video(job, jobs, {i: recs[i].path for i in todo}, workers=workers,
                                       desc=desc or name, show_progress=progress, initializer=initializer,
                                       initargs=initargs)
    failures = [(str(recs[i].path), message) for i, message in conflicts.items()] + failures
    done.update(finished)

    out = [_folder_record(recs[i], targets[i]) for i in range(len(recs)) if i in done]
    if progress or failures:
        print(f"{name}: {len(recs)} videos, {len(finished)} extracted, "
              f"{len(recs) - len(todo) - len(conflicts)} already done, {len(failures)} failed")
    for path, message in failures:
        print(f"  FAILED {path}: {message}")
    return out, failures


# ----------------------------------------------------------------------------------------------
# RGB frames: tsnlib frames
# ----------------------------------------------------------------------------------------------


def extract_frames(video, out_dir, short_side: int | None = None, size: tuple[int, int] | None = None,
                   quality: int = 95, backend: str = "auto") -> int:
    """Write every frame of ``video`` as ``out_dir/img_00001.jpg`` … (1-based, RGB JPEG), atomically.

    Frames come from a sequential decode (:func:`tsnlib.decoding.iter_frames` with ``backend``: PyAV
    by default, exact, turned upright by the file's rotation flag), optionally resized with
    ``cv2.INTER_LINEAR`` so the short side is ``short_side`` or to ``size=(W, H)`` (e.g.
    ``(340, 256)``). Files are written into the sibling ``<out_dir>.tmp-<pid>``, renamed to
    ``out_dir`` only when complete (replacing an older ``out_dir``); a failure leaves no
    ``out_dir`` behind (:func:`atomic_folder`). Returns the number of frames written. Raises
    DecodeError naming the video.

    Used by :func:`extract_dataset_frames`.
    """
    n = 0
    with atomic_folder(out_dir) as tmp:
        shape = None
        for frame in iter_frames(video, backend=backend):
            if shape is None:
                shape = resized_size(frame.shape[0], frame.shape[1], short_side, size)
            if frame.shape[:2] != shape:
                frame = cv2.resize(frame, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
            write_jpeg(frame_path(tmp, n, "img", 1), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), quality)
            n += 1
    return n


def _init_extract_worker() -> None:
    cv2.setNumThreads(1)  # one thread per worker process: the pool provides the parallelism


def _extract_job(video: str, out_dir: str, options: dict) -> int:
    return extract_frames(video, out_dir, **options)


def extract_dataset_frames(records: Sequence, out_root, short_side: int | None = None, workers: int | None = None,
                           progress: bool = True, size: tuple[int, int] | None = None, quality: int = 95,
                           resume: bool = True, return_failures: bool = False, backend: str = "auto"):
    """Extract RGB frame folders for a whole dataset: parallel, resumable, failures summarised at the end.

    ``records``: :class:`tsnlib.annotations.VideoRecord` objects of video files (or bare paths).
    Each video goes to ``out_root/<class folder>/<video_id>/img_00001.jpg …`` (the class
    sub-folder is the video's parent folder name, as in UCF101/HMDB51 layouts), by
    :func:`extract_videos`:

    * ``workers``: processes (None: one per CPU core, at most one per video; 0 or 1: in this
      process), each using one OpenCV thread.
    * ``resume=True``: folders already complete (:func:`is_complete_frame_folder`) are kept;
      half-written ``*.tmp-*`` folders are not counted as done and are redone.
    * A failing video is recorded and the others continue; the failures are printed at the end
      (and returned with ``return_failures=True``). Videos that would share a folder (``clip.mp4``
      and ``clip.avi`` in one class folder) are failures too, each naming the other; the rest is
      extracted.
    * ``backend``: the decoder of :func:`extract_frames`.
    * The sizes and quality are kept in ``out_root/frames.json`` (:data:`FRAMES_STAMP`): a later
      run with other ones raises :class:`~tsnlib.errors.DataError` naming them (so a folder never
      mixes two sizes), unless ``resume=False``, which extracts every video again.

    Returns frame-folder records, in input order, without the failed videos: copies of the input
    records with ``path`` = the frame folder and ``num_frames`` = the number of JPEGs (plus
    ``(records, failures)`` with ``failures`` a list of ``(video path, message)`` when asked).

    Used by ``tsnlib frames`` (:mod:`tsnlib.commands.extract`).
    """
    out, failures = extract_videos(
        records, out_root, _extract_job,
        {"short_side": short_side, "size": size, "quality": quality, "backend": backend},
        is_complete=is_complete_frame_folder, stamp=FRAMES_STAMP,
        settings=extraction_settings(short_side, size, quality=int(quality)),
        hint="keep the old settings, choose another output folder, or pass resume=False (tsnlib frames --no-resume) "
             "to extract every video again",
        name="frames", workers=workers, progress=progress, resume=resume, initializer=_init_extract_worker)
    return (out, failures) if return_failures else out
