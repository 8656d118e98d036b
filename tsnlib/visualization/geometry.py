"""From the network input back to the frame: what part of a frame a view shows, heatmaps pasted there.

A heatmap is computed over the network input, a resized (and maybe cropped) frame; to compare it
with a box in frame pixels, or to draw it over the frame, it has to be put back where that input
came from. :data:`GEOMETRIES` names the two ways a frame becomes the network input here
(:func:`views_transform`), :func:`input_region` gives the part of the frame each one shows,
:func:`cam_to_frame` pastes a heatmap there, :func:`scale_region` moves a region to another size of
the same picture, and :func:`box_is_empty` tells a box that holds no pixel.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torchvision.transforms import v2

from tsnlib import transforms as T

#: How a frame becomes the network input for explanations:
#: ``"center"``: the test transform's centre crop (short side ``scale_size``, then an
#: ``input_size`` square from its middle; the sides of a wide frame are not seen);
#: ``"full"``: the whole frame, short side resized to ``scale_size`` (or ``input_size``), aspect kept:
#: objects have the size they have in the test crops, and every pixel is seen (the network is
#: convolutional, the input need not be square).
GEOMETRIES = ("center", "full")


def input_region(frame_size: tuple[int, int], input_size: int, scale_size: int | None = None,
                 geometry: str = "center") -> tuple[int, int, int, int]:
    """The part of a frame the network input shows: ``(top, left, height, width)`` in frame pixels.

    Introduced in notebooks/06_model_visualization.ipynb. ``frame_size`` is ``(H, W)``.

    * ``geometry="center"``: the box of :class:`tsnlib.transforms.ResizedCenterCrop`
      ``(input_size, scale_size)`` — the test transform's own computation, so it cannot drift from
      it: a 160x120 frame with ``scale_size=128``, ``input_size=112`` (resized to 170x128, crop at
      ``x = 29, y = 8``) is seen through ``(top 8, left 27, height 104, width 106)``;
    * ``geometry="full"``: the whole frame ``(0, 0, H, W)``.
    """
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
    h, w = (int(v) for v in frame_size)
    if geometry == "full":
        return 0, 0, h, w
    p = T.ResizedCenterCrop(int(input_size), scale_size).make_params([torch.empty((1, h, w), dtype=torch.uint8)])
    return int(p["top"]), int(p["left"]), int(p["height"]), int(p["width"])


def views_transform(modality: str, num_clips: int, clip_len: int, input_size: int, scale_size: int | None = None,
                    geometry: str = "center"):
    """The transform that turns sampled uint8 frames into the views that :func:`explain_video` explains.

    Introduced in notebooks/06_model_visualization.ipynb. ``"center"``:
    :func:`tsnlib.transforms.val_transform` (= the 1-crop test transform); ``"full"``:
    :class:`tsnlib.transforms.ResizeShortSide` to ``scale_size`` (or ``input_size``) then the same
    normalisation (RGB: ImageNet statistics; Flow: ``(q - 128) / 128``; RGBDiff: differences) and
    :class:`~tsnlib.transforms.FormatShape`. Output float32 ``(num_clips, clip_len * C, h, w)``.
    """
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
    if geometry == "center":
        return T.val_transform(modality, num_clips, clip_len, input_size=int(input_size), scale_size=scale_size)
    steps = [T.ResizeShortSide(int(scale_size or input_size))]
    if modality == "RGB":
        steps += [T.NormalizeRGB(), T.FormatShape(num_clips, clip_len)]
    elif modality == "Flow":
        steps += [T.NormalizeFlow(), T.FormatShape(num_clips, clip_len)]
    elif modality == "RGBDiff":
        steps += [T.RGBDiff(num_clips, clip_len), T.FormatShape(num_clips, clip_len)]
    else:
        raise ValueError(f"modality must be RGB, Flow or RGBDiff, got {modality!r}")
    return v2.Compose(steps)


def cam_to_frame(cam: np.ndarray, region: tuple[int, int, int, int], frame_size: tuple[int, int]) -> np.ndarray:
    """Put a heatmap of the network input back on the frame: float32 ``(H, W)``, 0 where unseen.

    Introduced in notebooks/06_model_visualization.ipynb. ``cam``: ``(h, w)`` over the network
    input; ``region``: ``(top, left, height, width)`` of the frame that input shows
    (:func:`input_region`); ``frame_size``: ``(H, W)``. The heatmap is resized (bilinear) to the
    region and pasted there; pixels outside the region get 0 (the network never saw them).
    """
    cam = np.asarray(cam, dtype=np.float32)
    if cam.ndim != 2:
        raise ValueError(f"cam must be (h, w), got {cam.shape}")
    top, left, h, w = (int(v) for v in region)
    H, W = (int(v) for v in frame_size)
    if h < 1 or w < 1 or top < 0 or left < 0 or top + h > H or left + w > W:
        raise ValueError(f"region {region} is not inside a {H}x{W} frame")
    out = np.zeros((H, W), np.float32)
    out[top:top + h, left:left + w] = cv2.resize(cam, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def scale_region(region, src_size, dst_size) -> tuple[int, int, int, int]:
    """A region of a ``src_size`` frame mapped to the same picture at ``dst_size`` (both ``(H, W)``).

    ``region`` and the result are ``(top, left, height, width)``: the edges are mapped and rounded,
    then the sizes follow; the result keeps at least one pixel inside the frame. Used by
    :func:`~tsnlib.visualization.explain.explain_video` to draw a flow heatmap on a larger RGB frame.
    """
    top, left, h, w = region
    sy, sx = dst_size[0] / src_size[0], dst_size[1] / src_size[1]
    t, l_ = int(round(top * sy)), int(round(left * sx))
    b, r = int(round((top + h) * sy)), int(round((left + w) * sx))
    t, l_ = min(max(t, 0), dst_size[0] - 1), min(max(l_, 0), dst_size[1] - 1)
    b, r = min(max(b, t + 1), dst_size[0]), min(max(r, l_ + 1), dst_size[1])
    return t, l_, b - t, r - l_


def box_is_empty(box) -> bool:
    """Whether an ``(x0, y0, x1, y1)`` box (exclusive ends) holds no pixel (e.g. actor off-screen).

    Used by :func:`~tsnlib.visualization.box_metric.cam_box_scores` and
    :func:`~tsnlib.visualization.explain.plot_segment_cams`.
    """
    x0, y0, x1, y1 = (int(v) for v in box)
    return x1 <= x0 or y1 <= y0
