"""Camera motion (opt-in, single clips): the dataset's clip filmed by a panning, zooming camera.

The dataset never has it; notebooks/04_optical_flow_stream.ipynb films single clips with it to show
warped flow. :class:`CameraMotion` gives the camera's homography per frame; :func:`_with_camera`
turns a clip's ground truth into what that camera sees.

Part of :mod:`tsnlib.synthetic` (:class:`CameraMotion` is introduced in notebooks/04_optical_flow_stream.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsnlib.synthetic.scene import _actor_boxes

# ----------------------------------------------------------------------------------------------
# Camera motion (opt-in, single clips): the dataset's clip filmed by a panning, zooming camera
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraMotion:
    """A camera that pans and zooms at constant rates, for :func:`render_video` and :func:`make_truth`.

    ``pan`` ``(px, py)``: how far the camera's view moves over the scene per frame, in pixels of the
    clip as the dataset has it (the *world*): a pan to the right, ``px > 0``, moves the scene to the
    left in the picture. ``zoom``: the scale factor per frame about the frame's centre, ``> 1`` zooms
    in. The middle frame sees the world as the dataset's clip does; frame ``t`` sees it through

    ``view_t = T(c) S(zoom^s) T(-c - s pan)``, ``s = t - (T - 1) / 2``, ``c = ((W - 1) / 2, (H - 1) / 2)``,

    a pan and zoom only (no rotation, no perspective), so the actor stays a similarity transform of
    its template and the distractors stay discs.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """

    pan: tuple[float, float] = (0.0, 0.0)
    zoom: float = 1.0

    def views(self, num_frames: int, width: int, height: int) -> np.ndarray:
        """The camera's homography per frame, float64 ``(T, 3, 3)``: world pixel ``(x, y, 1)`` -> clip pixel."""
        if self.zoom <= 0:
            raise ValueError(f"zoom must be positive, got {self.zoom}")
        s = np.arange(num_frames, dtype=np.float64) - (num_frames - 1) / 2
        z = float(self.zoom) ** s
        c = np.array([(width - 1) / 2, (height - 1) / 2])
        shift = c[None] + s[:, None] * np.asarray(self.pan, dtype=np.float64)[None]  # what the centre looks at
        views = np.zeros((num_frames, 3, 3))
        views[:, 0, 0] = views[:, 1, 1] = z
        views[:, :2, 2] = c[None] - z[:, None] * shift
        views[:, 2, 2] = 1.0
        return views


def _with_camera(truth: dict, camera: CameraMotion) -> dict:
    """The truth of :func:`_scene` seen through ``camera``: actor, boxes and distractors in the clip's
    pixels, and the ``view`` homographies; everything else (the world's background) as it was."""
    H, W = (int(v) for v in truth["frame_size"])
    views = camera.views(len(truth["actor"]), W, H)
    z = views[:, 0, 0]

    def to_clip(xy):  # (T, ..., 2) world pixels -> clip pixels, frame by frame
        xy = xy.astype(np.float64)
        z_ = z.reshape((-1,) + (1,) * (xy.ndim - 1))
        return z_ * xy + views[:, :2, 2].reshape((-1,) + (1,) * (xy.ndim - 2) + (2,))

    actor = truth["actor"].astype(np.float64)
    actor[:, :2] = to_clip(actor[:, :2])
    actor[:, 3] *= z
    distractors = truth["distractors"].astype(np.float64)
    distractors[..., :2] = to_clip(distractors[..., :2])
    distractors[..., 2] *= z[:, None]
    out = dict(truth)
    out["actor"] = actor.astype(np.float32)
    out["boxes"] = _actor_boxes(truth["actor_alpha"], out["actor"], W, H)
    out["distractors"] = distractors.astype(np.float32)
    out["view"] = views.astype(np.float32)
    return out

