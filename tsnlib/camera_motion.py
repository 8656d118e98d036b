"""Camera motion between two frames, and the warped optical flow that removes it.

Wang et al.'s fourth input modality (TSN, Table 2) is *warped* optical flow, taken from improved
dense trajectories (iDT; Wang & Schmid, 2013): the camera's motion between two frames is modelled as
one homography, the second frame is warped back by it, and the flow is computed again. What remains
is the motion of things relative to the scene (the actor), not the pan, zoom or shake of the camera.

iDT fits the homography with RANSAC to feature matches (SURF) and to matches from the optical flow
itself, leaving out the matches on people found by a detector; the original TSN's
``extract_warp_gpu`` (dense_flow) does the same on a GPU. Here the matches come from the first flow
field alone: a grid of points ``p`` and their flow ``p + flow(p)``, fitted by OpenCV's
``findHomography`` with RANSAC, which treats the minority of points that move on their own (the
actor) as outliers; a ``mask`` can leave out a known actor region, as iDT's human detector does.

Layouts: frames are uint8 ``(H, W, 3)`` RGB (or ``(H, W)`` grey); flow fields float32 ``(H, W, 2)``
with ``(dx, dy)`` in pixels, forward (``prev[y, x]`` moves to ``next[y + dy, x + dx]``), as
:class:`tsnlib.flow.estimation.FlowEstimator` returns them; homographies float64 ``(3, 3)`` mapping a pixel
``(x, y, 1)`` of the first frame to the second.

Introduced in notebooks/04_optical_flow_stream.ipynb.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["homography_from_flow", "homography_flow", "warp_back", "warped_flow"]


def homography_from_flow(flow: np.ndarray, mask: np.ndarray | None = None, step: int = 4,
                         threshold: float = 1.0) -> tuple[np.ndarray, float]:
    """The camera's homography fitted to a flow field: ``(H (3, 3) float64, inlier share)``.

    Step 2 of :func:`warped_flow`.

    Points on a grid every ``step`` pixels (where ``mask`` ``(H, W)`` bool is True, if given: e.g.
    outside a known actor box) are matched to ``p + flow(p)``; OpenCV's ``findHomography`` with
    RANSAC (reprojection threshold ``threshold`` pixels) keeps the motion that most points share,
    the camera's. The inlier share is the fraction of those points that agree with it. With fewer
    than 8 points, or when RANSAC finds nothing, the identity is returned with share 0 (no camera
    motion removed).
    """
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow must be (H, W, 2), got {flow.shape}")
    h, w = flow.shape[:2]
    step = max(1, int(step))
    ys, xs = np.mgrid[step // 2:h:step, step // 2:w:step]
    keep = np.ones(xs.shape, bool) if mask is None else np.asarray(mask, bool)[ys, xs]
    xs, ys = xs[keep], ys[keep]
    if len(xs) < 8:
        return np.eye(3), 0.0
    src = np.stack([xs, ys], axis=1).astype(np.float32)
    dst = src + flow[ys, xs]
    H, inliers = cv2.findHomography(src, dst, cv2.RANSAC, float(threshold))
    if H is None or inliers is None:
        return np.eye(3), 0.0
    return H.astype(np.float64), float(inliers.mean())


def homography_flow(H: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The flow field a homography induces on a frame of ``shape`` ``(H, W)``: float32 ``(H, W, 2)``.

    Introduced in notebooks/04_optical_flow_stream.ipynb. ``flow(p) = H(p) - p``: the camera's share of
    the motion at every pixel (e.g. to subtract it from a true flow, or to draw it).
    """
    h, w = (int(v) for v in shape)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    pts = np.stack([xs, ys, np.ones_like(xs)], axis=-1) @ np.asarray(H, np.float64).T
    moved = pts[..., :2] / pts[..., 2:3]
    return (moved - np.stack([xs, ys], axis=-1)).astype(np.float32)


def warp_back(next_frame: np.ndarray, H: np.ndarray) -> np.ndarray:
    """The second frame seen from the first frame's camera: ``out(p) = next(H p)``, same shape and dtype.

    Bilinear, borders repeated (the strip the camera brought into view has no counterpart in the first
    frame). Step 3 of :func:`warped_flow`.
    """
    next_frame = np.asarray(next_frame)
    h, w = next_frame.shape[:2]
    return cv2.warpPerspective(next_frame, np.asarray(H, np.float64), (w, h),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def warped_flow(prev_rgb: np.ndarray, next_rgb: np.ndarray, estimator, mask: np.ndarray | None = None,
                step: int = 4, threshold: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """iDT's warped flow: ``(flow after removing the camera (H, W, 2) float32, homography (3, 3))``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.

    ``estimator(prev, next) -> (H, W, 2)`` is any flow method (a :class:`tsnlib.flow.estimation.FlowEstimator`).
    Three steps: the flow of the pair; the camera's homography fitted to it
    (:func:`homography_from_flow`, ``mask``, ``step``, ``threshold``); the flow again between the first
    frame and the second warped back by that homography (:func:`warp_back`). On a pan, the background's
    flow drops to about zero and the actor keeps its motion relative to the scene.
    """
    first = estimator(prev_rgb, next_rgb)
    H, _ = homography_from_flow(first, mask=mask, step=step, threshold=threshold)
    return np.asarray(estimator(prev_rgb, warp_back(next_rgb, H)), dtype=np.float32), H
