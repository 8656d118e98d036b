"""A synthetic video's ground truth: made, saved, loaded, and turned into exact optical flow and masks.

:func:`make_truth` (from a spec, optionally through a :class:`~tsnlib.synthetic.camera.CameraMotion`),
the ``<video stem>.truth.npz`` files (:func:`truth_path`, :func:`load_truth`, written byte for byte
the same from the same seed), and what they answer: :func:`true_flow`, :func:`true_flow_mask`,
:func:`actor_mask`, :func:`background_mask`, :func:`background_homography`.

Part of :mod:`tsnlib.synthetic`: the truth files are read in notebooks/01_data_preparation.ipynb, the rest in notebooks/04_optical_flow_stream.ipynb
(true flow, masks, the background's homography).
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import cv2
import numpy as np

from tsnlib.camera_motion import homography_flow
from tsnlib.errors import DataError
from tsnlib.synthetic.camera import CameraMotion, _filmed
from tsnlib.synthetic.plan import VideoSpec
from tsnlib.synthetic.scene import _affine

def make_truth(spec: VideoSpec, camera: CameraMotion | None = None) -> dict:
    """The ground truth of one video, as :func:`load_truth` would return it once written.

    ``camera``: the truth of the clip filmed by that moving camera (see :class:`CameraMotion`; on a
    clip the dataset films with a swaying camera, this one films the swaying picture), with its
    ``view`` homographies; ``None``: the clip as :func:`generate_dataset` writes it (with ``view``
    where :func:`~tsnlib.synthetic.camera.dataset_camera` gives it a sway).

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    truth, _ = _filmed(spec, camera)
    return _truth_to_python(truth)



def background_homography(truth, t: int) -> np.ndarray:
    """The background's motion from frame ``t`` to ``t + 1``, float64 ``(3, 3)``: a background pixel
    ``(x, y, 1)`` of frame ``t`` -> where it is in frame ``t + 1``.

    ``truth`` is a dict of :func:`load_truth` or :func:`make_truth` (or a video path). The camera's
    ``view`` (a swaying or a :class:`CameraMotion` camera) composed with the world's drift and shake
    (``bg_shift``): ``B_{t+1} B_t^{-1}`` with ``B_t = view_t T(bg_shift_t)``, a translation by
    ``bg_shift[t + 1] - bg_shift[t]`` for the dataset's clips. Warped flow fits this homography to the
    flow (:func:`tsnlib.camera_motion.homography_from_flow`) and removes it.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    truth = _as_truth(truth)
    t = _check_t(truth, t)

    def texture_to_frame(i):
        shift = np.eye(3)
        shift[:2, 2] = truth["bg_shift"][i].astype(np.float64)
        view = truth["view"][i].astype(np.float64) if "view" in truth else np.eye(3)
        return view @ shift

    return texture_to_frame(t + 1) @ np.linalg.inv(texture_to_frame(t))



# ----------------------------------------------------------------------------------------------
# True optical flow
# ----------------------------------------------------------------------------------------------


def _as_truth(truth) -> dict:
    if isinstance(truth, (str, os.PathLike)):
        return load_truth(truth)
    return truth


def _layers(truth: dict, t: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Label map of frame ``t``: 0 background, 1..D distractors, D+1 actor (hard, alpha >= 0.5),
    and the per-layer soft coverage (for edge bands)."""
    H, W = truth["frame_size"]
    labels = np.zeros((H, W), dtype=np.int16)
    soft = []
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    for i, (dcx, dcy, rad) in enumerate(truth["distractors"][t], start=1):
        cov = np.clip(rad + 0.5 - np.sqrt((xs - dcx) ** 2 + (ys - dcy) ** 2), 0, 1)
        labels[cov >= 0.5] = i
        soft.append(cov)
    m = _affine(truth["actor"][t])
    cov = cv2.warpAffine(truth["actor_alpha"].astype(np.float32) / 255, m, (int(W), int(H)), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    labels[cov >= 0.5] = len(soft) + 1
    soft.append(cov)
    return labels, soft


def actor_mask(truth, t: int) -> np.ndarray:
    """The actor's pixels in frame ``t`` (template coverage >= 0.5), bool ``(H, W)``.

    ``truth`` is a dict of :func:`load_truth` (or a video path). Finer than the box: e.g. to measure
    flow errors on the actor alone.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    truth = _as_truth(truth)
    labels, _ = _layers(truth, int(t))
    return labels == truth["distractors"].shape[1] + 1


def background_mask(truth, t: int) -> np.ndarray:
    """The background's pixels in frame ``t`` (neither the actor's nor a distractor's), bool ``(H, W)``.

    ``truth`` is a dict of :func:`load_truth` or :func:`make_truth` (or a video path). There the true
    flow is the background's motion alone (:func:`background_homography`), e.g. the camera's on a clip
    filmed with a :class:`CameraMotion`.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    truth = _as_truth(truth)
    labels, _ = _layers(truth, int(t))
    return labels == 0


def _check_t(truth: dict, t: int) -> int:
    T = len(truth["boxes"])
    t = int(t)
    if not 0 <= t < T - 1:
        raise ValueError(f"frame index t={t} out of range: true flow goes from t to t+1, 0 <= t < {T - 1}")
    return t


def true_flow(truth, t: int, relative: bool = False) -> np.ndarray:
    """The exact forward optical flow from frame ``t`` to ``t + 1``, float32 ``(H, W, 2)``, ``(dx, dy)`` pixels.

    ``truth`` is a dict of :func:`load_truth` or :func:`make_truth` (or a video path). Every pixel of
    frame ``t`` gets the motion of the layer it shows (front-most where coverage >= 0.5): the actor's
    pixels follow its similarity transform ``A_{t+1} A_t^{-1}``, a distractor's pixels its
    translation, everything else the background's motion :func:`background_homography`: the global
    translation ``bg_shift[t+1] - bg_shift[t]`` (drift + camera shake) of the still clips, a pan
    and zoom as well for a clip filmed by a swaying camera or a :class:`CameraMotion`.
    The flow is defined everywhere, also where the point leaves the frame or gets covered at
    ``t + 1``; :func:`true_flow_mask` marks where it can be checked against the images.

    ``relative=True``: the motion relative to the background instead, what warped flow should find:
    a pixel ``p`` that moves to ``q`` gets ``B^-1 q - p``, with ``B`` the background's homography, so
    the background gets zero and the actor its own motion in the scene.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    truth = _as_truth(truth)
    t = _check_t(truth, t)
    H, W = (int(v) for v in truth["frame_size"])
    labels, _ = _layers(truth, t)
    flow = np.empty((H, W, 2), dtype=np.float32)
    if "view" in truth:
        flow[...] = homography_flow(background_homography(truth, t), (H, W))
    else:
        flow[...] = (truth["bg_shift"][t + 1] - truth["bg_shift"][t]).astype(np.float32)
    d = truth["distractors"]
    for i in range(d.shape[1]):
        flow[labels == i + 1] = d[t + 1, i, :2] - d[t, i, :2]
    sel = labels == d.shape[1] + 1
    if sel.any():
        a0, a1 = _affine(truth["actor"][t]), _affine(truth["actor"][t + 1])
        ys, xs = np.nonzero(sel)
        p = np.stack([xs, ys], axis=0).astype(np.float64)
        u = np.linalg.solve(a0[:, :2], p - a0[:, 2:])  # template coordinates
        q = a1[:, :2] @ u + a1[:, 2:]
        flow[ys, xs] = (q - p).T.astype(np.float32)
    if relative:
        ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
        moved = np.stack([xs + flow[..., 0], ys + flow[..., 1], np.ones_like(xs)], axis=-1)
        back = moved @ np.linalg.inv(background_homography(truth, t)).T
        flow = (back[..., :2] / back[..., 2:] - np.stack([xs, ys], axis=-1)).astype(np.float32)
    return flow


def true_flow_mask(truth, t: int, margin: int = 1) -> np.ndarray:
    """Where :func:`true_flow` can be checked against the frames, bool ``(H, W)``.

    True where the pixel of frame ``t`` is inside a layer (not within ``margin`` pixels of a layer
    edge, where colours are blends of two layers), its destination ``p + flow`` lies inside frame
    ``t + 1`` and there shows the same layer, again away from an edge (so it is neither covered nor
    uncovered by another layer). Geometry only: brightness changes (the flash events' tint,
    noise, compression) are not accounted for.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    truth = _as_truth(truth)
    t = _check_t(truth, t)
    H, W = (int(v) for v in truth["frame_size"])
    flow = true_flow(truth, t)
    k = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)

    def interior(labels, soft):
        lab = labels.astype(np.float32)
        same = cv2.erode(lab, k) == cv2.dilate(lab, k)
        for cov in soft:  # soft edges of each layer count as edges too
            band = (cov > 0.02) & (cov < 0.98)
            same &= ~(cv2.dilate(band.astype(np.uint8), k) > 0)
        return same

    lab0, soft0 = _layers(truth, t)
    lab1, soft1 = _layers(truth, t + 1)
    ok0, ok1 = interior(lab0, soft0), interior(lab1, soft1)
    ys, xs = np.mgrid[0:H, 0:W]
    qx = np.rint(xs + flow[..., 0]).astype(np.int64)
    qy = np.rint(ys + flow[..., 1]).astype(np.int64)
    inside = (qx >= 0) & (qx < W) & (qy >= 0) & (qy < H)
    qxc, qyc = np.clip(qx, 0, W - 1), np.clip(qy, 0, H - 1)
    return ok0 & inside & (lab1[qyc, qxc] == lab0) & ok1[qyc, qxc]


# ----------------------------------------------------------------------------------------------
# Truth files
# ----------------------------------------------------------------------------------------------


def truth_path(video_path) -> Path:
    """``<video stem>.truth.npz`` beside the video."""
    p = Path(video_path)
    return p.with_name(p.stem + ".truth.npz")


def _write_npz_deterministic(path: Path, arrays: dict) -> None:
    """Like ``np.savez_compressed``, but with fixed zip timestamps: same arrays -> same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            arr_buf = io.BytesIO()
            np.lib.format.write_array(arr_buf, np.asarray(arrays[name]), allow_pickle=False)
            zf.writestr(info, arr_buf.getvalue())
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)


def _truth_to_python(arrays) -> dict:
    out = {k: np.asarray(arrays[k]) for k in arrays}
    H, W = (int(v) for v in out["frame_size"])
    out["frame_size"] = (H, W)
    out["fps"] = int(out["fps"])
    out["class_name"] = str(out["class_name"])
    out["group"] = str(out["group"])
    out["video_id"] = str(out["video_id"])
    out["event_span"] = tuple(int(v) for v in out["event_span"])
    out["num_frames"] = int(len(out["boxes"]))
    return out


def load_truth(video_path) -> dict:
    """The generator's ground truth of a synthetic video (read from ``<video stem>.truth.npz`` beside it).

    Returns a dict: ``boxes`` int16 ``(T, 4)`` (``x0, y0, x1, y1``, exclusive ends, clipped to the
    frame), ``actor`` float32 ``(T, 4)`` (``cx, cy, angle`` in degrees clockwise, ``scale``),
    ``actor_alpha`` uint8 ``(S, S)``, ``bg_shift`` and ``camera`` float32 ``(T, 2)``,
    ``distractors`` float32 ``(T, D, 3)`` (``cx, cy, radius``), ``tint`` float32 ``(T,)``,
    ``tint_colour`` float32 ``(3,)``, ``frame_size`` ``(H, W)``, ``fps``, ``num_frames`` ``T``, ``class_name``, ``group``,
    ``video_id`` and ``event_span`` ``(start, end)`` inclusive, ``(-1, -1)`` without an event; on a
    clip filmed by a swaying camera (:func:`~tsnlib.synthetic.camera.dataset_camera`, ``camera_share``)
    also ``view`` float32 ``(T, 3, 3)``, the camera's homography per frame (world -> clip pixels).
    See the module docstring for the conventions. Raises :class:`~tsnlib.errors.DataError` naming
    the file when it is missing or unreadable.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    path = truth_path(video_path)
    if not path.is_file():
        raise DataError("no ground truth beside this video (only synthetic videos have one)", path=path)
    try:
        with np.load(path, allow_pickle=False) as z:
            return _truth_to_python({k: z[k] for k in z.files})
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"unreadable ground truth file: {exc}", path=path) from exc

