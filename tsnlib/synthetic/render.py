"""Rendering a synthetic video: its frames, layer by layer, exactly as they are encoded.

Background (a window of the periodic texture, moved by drift and shake, or warped by a moving
camera: :class:`~tsnlib.synthetic.camera.SwayingCamera`, :class:`~tsnlib.synthetic.camera.CameraMotion`),
distractor discs, the actor (its template warped by its similarity transform, low-passed when shrunk,
tinted during a flash) and sensor noise.

What :func:`tsnlib.synthetic.generate_dataset` encodes (notebooks/01_data_preparation.ipynb);
:func:`render_video` is introduced in notebooks/04_optical_flow_stream.ipynb.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from tsnlib.synthetic.camera import CameraMotion, _filmed
from tsnlib.synthetic.plan import VideoSpec
from tsnlib.synthetic.scene import _NOISE_PAD, _TEXTURE, _affine, _noise_bank, _texture_bank

# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------


def _background_texture(spec: VideoSpec, truth: dict, scene: dict) -> tuple[np.ndarray, int, int]:
    """The coloured background texture over the region the video's camera visits.

    Returns uint8 ``(h, w, 3)`` and the integer texture coordinates ``(x, y)`` of its top-left pixel
    (the texture is periodic with period 512, so the region may wrap around).
    """
    H, W = (int(v) for v in truth["frame_size"])
    if "view" in truth:  # a moving camera: the texture points the frame's corners show, a pixel to spare
        corners = np.array([[0, 0, 1], [W, 0, 1], [0, H, 1], [W, H, 1]], dtype=np.float64)
        seen = np.einsum("tij,cj->tci", np.linalg.inv(truth["view"].astype(np.float64)), corners)
        seen = seen[..., :2] / seen[..., 2:] - truth["bg_shift"].astype(np.float64)[:, None]
        x_min, y_min = np.floor(seen.min((0, 1))).astype(np.int64) - 1
        x_end, y_end = np.ceil(seen.max((0, 1))).astype(np.int64) + 2
    else:
        origin = np.floor(-truth["bg_shift"].astype(np.float64)).astype(np.int64)  # (T, 2) integer x, y
        x_min, y_min = origin.min(0)
        x_end, y_end = origin.max(0) + (W + 1, H + 1)
    rows = np.arange(y_min, y_end) % _TEXTURE
    cols = np.arange(x_min, x_end) % _TEXTURE
    bank = _texture_bank(spec.seed)
    n1 = bank[scene["tex_ids"][0]][np.ix_(rows, cols)]
    n2 = bank[scene["tex_ids"][1]][np.ix_(rows, cols)]
    c0, c1 = scene["bg_colours"]
    mix = (0.5 + scene["bg_contrast"] * (n1 - 0.5))[..., None]
    tex = (c0 + (c1 - c0) * mix) * (0.75 + 0.5 * n2)[..., None]
    return np.clip(tex, 0, 255).astype(np.uint8), int(x_min), int(y_min)


def _iter_frames(spec: VideoSpec, truth: dict, scene: dict, actor: bool = True, distractors: bool = True,
                 noise: bool = True):
    """Yield the frames of one video, uint8 ``(H, W, 3)`` RGB, one by one."""
    H, W = int(truth["frame_size"][0]), int(truth["frame_size"][1])
    tex, tex_x, tex_y = _background_texture(spec, truth, scene)
    template = scene["template"]
    noise_pos, noise_neg = _noise_bank(spec.seed)
    yy_cache: dict = {}
    blurred: dict = {}
    for t in range(spec.num_frames):
        sx, sy = (float(v) for v in truth["bg_shift"][t])
        if "view" in truth:
            # a moving camera (sway, CameraMotion): pixel p shows texture point view^-1 p - bg_shift, a bilinear warp
            to_frame = truth["view"][t].astype(np.float64) @ np.array([[1, 0, tex_x + sx], [0, 1, tex_y + sy], [0, 0, 1]])
            frame = cv2.warpAffine(tex, to_frame[:2], (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        else:
            # background: pixel p shows texture point p - bg_shift[t]; the integer part of that offset
            # by cropping, the fractional part by bilinear interpolation (a 2x2 filter, faster than a warp)
            ox, oy = math.floor(-sx), math.floor(-sy)
            fx, fy = -sx - ox, -sy - oy
            crop = tex[oy - tex_y:oy - tex_y + H + 1, ox - tex_x:ox - tex_x + W + 1]
            kernel = np.array([[(1 - fx) * (1 - fy), fx * (1 - fy)], [(1 - fx) * fy, fx * fy]], dtype=np.float32)
            frame = cv2.filter2D(crop, -1, kernel, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)[:H, :W].copy()

        if distractors:
            for (dcx, dcy, rad), colour in zip(truth["distractors"][t], scene["distractor_colours"]):
                x0, x1 = max(0, int(dcx - rad - 2)), min(W, int(dcx + rad + 3))
                y0, y1 = max(0, int(dcy - rad - 2)), min(H, int(dcy + rad + 3))
                if x1 <= x0 or y1 <= y0:
                    continue
                key = (y1 - y0, x1 - x0)
                if key not in yy_cache:
                    yy_cache[key] = np.mgrid[0:key[0], 0:key[1]].astype(np.float32)
                gy, gx = yy_cache[key]
                dist = np.sqrt((gx + (x0 - dcx)) ** 2 + (gy + (y0 - dcy)) ** 2)
                a = np.clip(rad + 0.5 - dist, 0, 1)[..., None]
                roi = frame[y0:y1, x0:x1].astype(np.float32)
                frame[y0:y1, x0:x1] = (roi + (colour - roi) * a + 0.5).astype(np.uint8)

        if actor:
            bx0, by0, bx1, by1 = (int(v) for v in truth["boxes"][t])
            if bx1 > bx0 and by1 > by0:
                m = _affine(truth["actor"][t])
                m[:, 2] -= (bx0, by0)
                # shrinking: low-pass the template first (anti-aliasing), like a camera's optics would
                sigma = round(0.6 * math.sqrt(max(0.0, 1.0 / float(truth["actor"][t, 3]) ** 2 - 1.0)), 1)
                if sigma not in blurred:
                    blurred[sigma] = template if sigma < 0.3 else cv2.GaussianBlur(template, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
                warped = cv2.warpAffine(blurred[sigma], m, (bx1 - bx0, by1 - by0), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
                prgb, a = warped[..., :3], warped[..., 3:]
                tint = float(truth["tint"][t])
                if tint > 0:
                    prgb = prgb * (1 - tint) + truth["tint_colour"].astype(np.float32) * a * tint
                roi = frame[by0:by1, bx0:bx1].astype(np.float32)
                frame[by0:by1, bx0:bx1] = np.clip(roi * (1 - a) + prgb + 0.5, 0, 255).astype(np.uint8)

        if noise:
            k, ox, oy = scene["noise_ids"][t]
            k = int(k) % len(noise_pos)
            ox, oy = int(ox) % _NOISE_PAD, int(oy) % _NOISE_PAD
            frame = cv2.subtract(cv2.add(frame, noise_pos[k, oy:oy + H, ox:ox + W]), noise_neg[k, oy:oy + H, ox:ox + W])
        yield frame


def render_video(spec: VideoSpec, actor: bool = True, distractors: bool = True, noise: bool = True,
                 camera: CameraMotion | None = None) -> np.ndarray:
    """The uncompressed frames of one video, uint8 ``(T, H, W, 3)`` RGB, exactly as they are encoded.

    ``actor=False`` / ``distractors=False`` / ``noise=False`` leave those layers out (the background
    and camera stay the same), e.g. to compare a frame with its background, or to check the true flow
    without noise. ``camera``: the same clip filmed by a panning, zooming camera (:class:`CameraMotion`;
    its truth is ``make_truth(spec, camera)``), which films the dataset's picture (its sway included,
    where :func:`dataset_camera` gives the clip one); ``None``: the frames the dataset encodes.
    Deterministic: the same spec gives the same frames.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    truth, scene = _filmed(spec, camera)
    return np.stack(list(_iter_frames(spec, truth, scene, actor=actor, distractors=distractors, noise=noise)))

