"""Camera motion: a hand-held camera's sway on a share of a dataset's clips, and the opt-in panning,
zooming camera that films single clips.

Warped flow (notebooks/04_optical_flow_stream.ipynb) exists to take the camera's motion out of optical
flow. A dataset generated with ``camera_share > 0`` has some: :func:`dataset_camera` gives about that
share of its clips a :class:`SwayingCamera`, drawn from the clip's own random stream, so that the other
clips are the same whatever the share. The course's dataset has none (``camera_share=0``): at a quarter
of the clips the sway cost the plain flow stream its lesson on some seeds (notebook 08).
:class:`CameraMotion` (constant pan and zoom) films any clip on request. Both give the camera's
homography per frame (``views``); :func:`_with_camera` turns a clip's ground truth into what that camera
sees, and :func:`_filmed` is a clip's scene as the dataset films it.

Part of :mod:`tsnlib.synthetic` (both cameras are introduced in notebooks/04_optical_flow_stream.ipynb).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tsnlib.synthetic.plan import VideoSpec, _rng
from tsnlib.synthetic.scene import _actor_boxes, _scene

# ----------------------------------------------------------------------------------------------
# Cameras: a homography per frame, world pixel -> clip pixel
# ----------------------------------------------------------------------------------------------


def _pan_zoom_views(offset: np.ndarray, log_zoom: np.ndarray, width: int, height: int) -> np.ndarray:
    """``view_t = T(c) S(exp(log_zoom_t)) T(-c - offset_t)``, float64 ``(T, 3, 3)``: the camera's
    centre looks at world point ``c + offset_t`` and scales the world about it."""
    z = np.exp(log_zoom)
    c = np.array([(width - 1) / 2, (height - 1) / 2])
    shift = c[None] + offset  # what the centre looks at
    views = np.zeros((len(z), 3, 3))
    views[:, 0, 0] = views[:, 1, 1] = z
    views[:, :2, 2] = c[None] - z[:, None] * shift
    views[:, 2, 2] = 1.0
    return views


def _frame_offsets(num_frames: int) -> np.ndarray:
    """``s = t - (T - 1) / 2``: frame times from the middle frame, which sees the world as it is."""
    return np.arange(num_frames, dtype=np.float64) - (num_frames - 1) / 2


@dataclass(frozen=True)
class CameraMotion:
    """A camera that pans and zooms at constant rates, for :func:`render_video` and :func:`make_truth`.

    ``pan`` ``(px, py)``: how far the camera's view moves over the scene per frame, in pixels of the
    clip as the dataset has it (the *world*): a pan to the right, ``px > 0``, moves the scene to the
    left in the picture. ``zoom``: the scale factor per frame about the frame's centre, ``> 1`` zooms
    in. The middle frame sees the world as the dataset's clip does; frame ``t`` sees it through

    ``view_t = T(c) S(zoom^s) T(-c - s pan)``, ``s = t - (T - 1) / 2``, ``c = ((W - 1) / 2, (H - 1) / 2)``,

    a pan and zoom only (no rotation, no perspective), so the actor stays a similarity transform of
    its template and the distractors stay discs. On a clip the dataset films with a
    :class:`SwayingCamera`, this camera films what that one shows (the two compose).

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """

    pan: tuple[float, float] = (0.0, 0.0)
    zoom: float = 1.0

    def views(self, num_frames: int, width: int, height: int) -> np.ndarray:
        """The camera's homography per frame, float64 ``(T, 3, 3)``: world pixel ``(x, y, 1)`` -> clip pixel."""
        if self.zoom <= 0:
            raise ValueError(f"zoom must be positive, got {self.zoom}")
        s = _frame_offsets(num_frames)
        offset = s[:, None] * np.asarray(self.pan, dtype=np.float64)[None]
        return _pan_zoom_views(offset, s * math.log(self.zoom), width, height)


@dataclass(frozen=True)
class SwayingCamera:
    """A hand-held camera's sway: the view goes back and forth along one direction and breathes in
    and out of a slight zoom, in one rhythm (what :func:`dataset_camera` gives a share of the clips).

    ``direction``: of the sway, degrees (0 = right, 90 = down, image axes). ``speed``: its peak, in
    pixels of the world per frame. ``period``: of one back-and-forth, in frames. ``zoom_rate``: the
    peak change of the log-scale per frame (0.004: 0.4 % per frame; its sign says in or out first).
    ``phase``: radians, where in its rhythm the middle frame is. With
    ``w(s) = period / (2 pi) (sin(2 pi s / period + phase) - sin(phase))``, ``s = t - (T - 1) / 2``,
    frame ``t`` looks at the world through

    ``view_t = T(c) S(exp(zoom_rate w(s))) T(-c - speed w(s) (cos direction, sin direction))``,

    so the middle frame sees the world as it is, the camera's velocity is ``speed cos(2 pi s / period
    + phase)`` (at most ``speed``), and it never drifts further than ``speed period / pi`` pixels.
    A pan and zoom only, like :class:`CameraMotion`.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """

    direction: float
    speed: float
    period: float
    zoom_rate: float = 0.0
    phase: float = 0.0

    def views(self, num_frames: int, width: int, height: int) -> np.ndarray:
        """The camera's homography per frame, float64 ``(T, 3, 3)``: world pixel ``(x, y, 1)`` -> clip pixel."""
        if self.period <= 0:
            raise ValueError(f"period must be positive, got {self.period}")
        s = _frame_offsets(num_frames)
        w = self.period / (2 * math.pi) * (np.sin(2 * math.pi * s / self.period + self.phase) - math.sin(self.phase))
        a = math.radians(self.direction)
        offset = self.speed * w[:, None] * np.array([math.cos(a), math.sin(a)])[None]
        return _pan_zoom_views(offset, self.zoom_rate * w, width, height)


# ----------------------------------------------------------------------------------------------
# The dataset's cameras (a dataset generated with camera_share > 0)
# ----------------------------------------------------------------------------------------------

#: the sway's peak speed, px/frame at a frame width of 128 (scaled with the width); the Move actors
#: move 1.5-2.7 px/frame at that width
SWAY_SPEED = (0.5, 1.0)
#: one back-and-forth of the sway, in seconds
SWAY_PERIOD_S = (1.5, 3.0)
#: the zoom's peak rate, change of the log-scale per frame
SWAY_ZOOM_RATE = 0.004


def dataset_camera(spec: VideoSpec) -> SwayingCamera | None:
    """The camera the dataset films a clip with: a :class:`SwayingCamera` with chance
    ``spec.camera_share`` (see :func:`plan_dataset`), else ``None`` (still: only the world's shake).

    Drawn from the clip's own random stream, independent of everything else about it: the clips
    without a sway are exactly what they are in a dataset without cameras, a clip that sways at one
    share sways the same way at any larger share, and a sway's direction, speed, period, zoom and
    phase say nothing about the class.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    rng = _rng(spec.seed, 13, spec.class_index, spec.group, spec.clip)
    if rng.random() >= spec.camera_share:
        return None
    return SwayingCamera(
        direction=float(rng.uniform(0.0, 360.0)),
        speed=float(rng.uniform(*SWAY_SPEED) * spec.width / 128),
        period=float(rng.uniform(*SWAY_PERIOD_S) * spec.fps),
        zoom_rate=float(rng.uniform(-SWAY_ZOOM_RATE, SWAY_ZOOM_RATE)),
        phase=float(rng.uniform(0.0, 2 * math.pi)),
    )


def _filmed(spec: VideoSpec, camera: CameraMotion | None = None) -> tuple[dict, dict]:
    """:func:`_scene` of a clip as the dataset films it, through its :func:`dataset_camera` if any,
    then (``camera``) filmed again by that camera, as :func:`render_video` and :func:`make_truth` ask."""
    truth, scene = _scene(spec)
    for cam in (dataset_camera(spec), camera):
        if cam is not None:
            truth = _with_camera(truth, cam)
    return truth, scene


def _with_camera(truth: dict, camera: CameraMotion | SwayingCamera) -> dict:
    """The truth of :func:`_scene` (or of :func:`_filmed`) seen through ``camera``: actor, boxes and
    distractors in the clip's pixels, and the ``view`` homographies (composed with the clip's own
    camera where it has one); everything else (the world's background) as it was."""
    H, W = (int(v) for v in truth["frame_size"])
    views = camera.views(len(truth["actor"]), W, H)
    z = views[:, 0, 0]

    def to_clip(xy):  # (T, ..., 2) pixels -> clip pixels, frame by frame
        xy = xy.astype(np.float64)
        z_ = z.reshape((-1,) + (1,) * (xy.ndim - 1))
        return z_ * xy + views[:, :2, 2].reshape((-1,) + (1,) * (xy.ndim - 2) + (2,))

    actor = truth["actor"].astype(np.float64)
    actor[:, :2] = to_clip(actor[:, :2])
    actor[:, 3] *= z
    distractors = truth["distractors"].astype(np.float64)
    distractors[..., :2] = to_clip(distractors[..., :2])
    distractors[..., 2] *= z[:, None]
    if "view" in truth:  # filmed already: this camera films that camera's picture
        views = views @ truth["view"].astype(np.float64)
    out = dict(truth)
    out["actor"] = actor.astype(np.float32)
    out["boxes"] = _actor_boxes(truth["actor_alpha"], out["actor"], W, H)
    out["distractors"] = distractors.astype(np.float32)
    out["view"] = views.astype(np.float32)
    return out
