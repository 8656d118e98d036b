"""One synthetic video's scene and ground truth, drawn from its seed: actor, motion, event, background.

:func:`_scene` draws everything about a video from its :class:`~tsnlib.synthetic.plan.VideoSpec`:
the actor's template (shape, texture, colour: the appearance classes), its trajectory (the motion
classes), the flash events, the drifting textured background, camera shake, distractors and noise
seeds. It returns the ground truth that is saved beside the video and the scene that rendering
needs besides it. The random banks (background textures, sensor noise) are shared by all videos
of a seed.

Part of :mod:`tsnlib.synthetic` (notebooks/01_data_preparation.ipynb).
"""

from __future__ import annotations

import colorsys
import math
from functools import lru_cache

import cv2
import numpy as np

from tsnlib.synthetic.plan import FPS, SIZES, VideoSpec, _rng, class_group

_TEMPLATE = 64  # actor template side in pixels
_TEXTURE = 512  # background texture side (periodic)
_NOISE_PAD = 32  # random offset range into the noise bank
#: the colour each flash event tints the grey actor towards; no other actor takes these hues
_FLASH_COLOURS = {"FlashRed": (235.0, 30.0, 30.0), "FlashBlue": (40.0, 40.0, 235.0)}
_FLASH_STRENGTH = 0.8
#: hues (0..1) that only the flashes use: red wraps round 0, blue is about 0.67
_FLASH_HUES = ((0.9, 1.1), (0.6, 0.74))
#: each appearance class has its own colour family (hue in 0..1, none of them red): colour is what a
#: network trained from scratch on a few hundred clips picks up first, and what optical flow cannot see
_ACTOR_HUES = {"PlainDisc": 0.15, "StripedDisc": 0.5, "DottedDisc": 0.33, "PlainSquare": 0.82}


# ----------------------------------------------------------------------------------------------
# Random banks shared by all videos of a seed (cached per process)
# ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _texture_bank(seed: int, count: int = 8) -> np.ndarray:
    """``count`` periodic smooth noise textures, float32 ``(count, 512, 512)`` in [0, 1]."""
    rng = _rng(seed, 7)
    fy = np.fft.fftfreq(_TEXTURE)[:, None]
    fx = np.fft.rfftfreq(_TEXTURE)[None, :]
    radius = np.sqrt(fx**2 + fy**2)
    radius[0, 0] = 1.0
    out = np.empty((count, _TEXTURE, _TEXTURE), dtype=np.float32)
    for i in range(count):
        beta = rng.uniform(1.6, 2.6)
        spectrum = np.fft.rfft2(rng.standard_normal((_TEXTURE, _TEXTURE)))
        filt = radius ** -beta * np.exp(-((radius / 0.12) ** 2))
        filt[0, 0] = 0.0
        tex = np.fft.irfft2(spectrum * filt, s=(_TEXTURE, _TEXTURE))
        lo, hi = np.percentile(tex, [1, 99])
        out[i] = np.clip((tex - lo) / (hi - lo), 0, 1)
    return out


@lru_cache(maxsize=2)
def _noise_bank(seed: int, count: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame sensor noise, split into its positive and negative parts (uint8, for saturating adds)."""
    rng = _rng(seed, 8)
    h = max(max(p["heights"]) for p in SIZES.values()) + _NOISE_PAD
    w = max(max(p["widths"]) for p in SIZES.values()) + _NOISE_PAD
    noise = np.rint(rng.normal(0.0, 2.5, size=(count, h, w, 3)))
    pos = np.clip(noise, 0, 255).astype(np.uint8)
    neg = np.clip(-noise, 0, 255).astype(np.uint8)
    return pos, neg


# ----------------------------------------------------------------------------------------------
# One video: ground truth and scene
# ----------------------------------------------------------------------------------------------


def _random_colour(rng: np.random.Generator, avoid_flash: bool = False, hue: float | None = None,
                   saturation: tuple[float, float] = (0.35, 1.0), value: tuple[float, float] = (0.45, 1.0)) -> np.ndarray:
    """An RGB colour, float32 ``(3,)`` in 0..255; ``avoid_flash`` keeps the hue away from the red and
    blue that the flash events tint the actor with (:data:`_FLASH_HUES`); ``saturation`` and ``value``
    are the ranges of the HSV colour's S and V; ``hue`` draws a saturated colour within 0.04 of that
    hue (0..1) instead (an appearance class's own colour family)."""
    if hue is not None:
        h = (hue + rng.uniform(-0.04, 0.04)) % 1.0
        s, v = rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0)
        return np.array(colorsys.hsv_to_rgb(h, s, v), dtype=np.float32) * 255
    # the hues left once the flashes' are taken out: [0.1, 0.6) and (0.74, 0.9), drawn uniformly
    h = rng.uniform(0.1, 0.6 + (0.9 - 0.74)) if avoid_flash else rng.uniform(0, 1)
    if avoid_flash and h >= 0.6:
        h += 0.74 - 0.6
    s, v = rng.uniform(*saturation), rng.uniform(*value)
    return np.array(colorsys.hsv_to_rgb(h, s, v), dtype=np.float32) * 255


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    n = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    n -= n.min()
    return n / max(float(n.max()), 1e-6)


def _actor_template(kind: str, rng: np.random.Generator, c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    """The actor's RGBA template, float32 ``(S, S, 4)``: RGB premultiplied by alpha in [0, 1]."""
    s = _TEMPLATE
    centre = (s - 1) / 2
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    x, y = xx - centre, yy - centre
    r = np.sqrt(x**2 + y**2)
    radius = s / 2 - 2
    shade = (1.0 - 0.25 * (r / radius) ** 2)[..., None]  # a little shading, the same for all
    if kind in ("PlainDisc", "StripedDisc", "DottedDisc"):
        alpha = np.clip(radius + 0.5 - r, 0, 1)
        if kind == "PlainDisc":
            rgb = np.broadcast_to(c1, (s, s, 3)).copy()
        elif kind == "StripedDisc":
            period = rng.uniform(14, 20)
            phi = rng.uniform(0, np.pi)
            coord = x * np.cos(phi) + y * np.sin(phi) + rng.uniform(0, period)
            w = np.clip(0.5 + 2.5 * np.sin(2 * np.pi * coord / period), 0, 1)[..., None]
            rgb = c1 * (1 - w) + c2 * w
        else:
            spacing = rng.uniform(15, 19)
            dot_r = rng.uniform(4.5, 5.5)
            ox, oy = rng.uniform(0, spacing, 2)
            gx = (x + ox) / spacing
            gy = (y + oy) / spacing
            dx = (gx - np.round(gx)) * spacing
            dy = (gy - np.round(gy)) * spacing
            w = np.clip(dot_r + 0.5 - np.sqrt(dx**2 + dy**2), 0, 1)[..., None]
            rgb = c1 * (1 - w) + c2 * w
    elif kind == "PlainSquare":
        half = radius * 0.86
        alpha = np.clip(half + 0.5 - np.maximum(np.abs(x), np.abs(y)), 0, 1)
        rgb = np.broadcast_to(c1, (s, s, 3)).copy()
        shade = np.ones_like(shade) * (1.0 - 0.12 * ((x**2 + y**2) / (2 * half**2)))[..., None]
    elif kind == "egg":
        # non-symmetric textured actor: rotation is visible, no rotational symmetry
        phi = np.arctan2(y, x)
        rr = radius * (0.75 + 0.25 * np.cos(phi)) / np.sqrt(np.cos(phi) ** 2 + (np.sin(phi) / 0.8) ** 2)
        alpha = np.clip((rr - r) * 1.0 + 0.5, 0, 1)
        n = _smooth_noise(rng, (s, s), 1.5)[..., None]  # fine texture: something for optical flow to track
        rgb = c1 * (1 - n) + c2 * n
        # a dark "eye" off the centre line makes the actor chiral
        ex, ey = radius * 0.45, -radius * 0.2
        eye = np.clip(4.5 - np.sqrt((x - ex) ** 2 + (y - ey) ** 2), 0, 1)[..., None]
        rgb = rgb * (1 - 0.8 * eye)
    else:
        raise ValueError(kind)
    rgb = np.clip(rgb * shade, 0, 255).astype(np.float32)
    alpha = alpha.astype(np.float32)
    return np.concatenate([rgb * alpha[..., None], alpha[..., None]], axis=-1)


def _reflect(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Bounce ``x`` between ``lo`` and ``hi`` (a triangle wave)."""
    span = hi - lo
    if span <= 0:
        return np.full_like(x, (lo + hi) / 2)
    m = np.mod(x - lo, 2 * span)
    return lo + np.where(m > span, 2 * span - m, m)


def _wander(rng: np.random.Generator, T: int, lo: float, hi: float) -> np.ndarray:
    """A smooth random 1-D trajectory inside ``[lo, hi]``: a centre plus two sinusoids."""
    t = np.arange(T, dtype=np.float64) / FPS
    half = (hi - lo) / 2
    amps = rng.uniform(0.1, 0.5, 2) * half
    amps *= min(1.0, 0.9 * half / amps.sum())
    c0 = rng.uniform(lo + amps.sum(), hi - amps.sum())
    freqs = rng.uniform(0.08, 0.35, 2)
    phases = rng.uniform(0, 2 * np.pi, 2)
    return c0 + sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in zip(amps, freqs, phases))


def _scene(spec: VideoSpec) -> tuple[dict, dict]:
    """Ground truth (saved) and the scene (what rendering needs besides it) of one video."""
    W, H, T = spec.width, spec.height, spec.num_frames
    cls = spec.class_name
    group = class_group(cls)
    rng = _rng(spec.seed, 4, spec.class_index, spec.group, spec.clip)
    t = np.arange(T, dtype=np.float64)

    # --- look: drawn per clip, background texture and colours alike. A group-level scene (UCF101's
    # clips of one group share one) is the first thing a network trained from scratch on a few
    # hundred clips memorises: the background fills ~95 % of the frame, the actor ~5 %. With
    # shared scenes a ResNet-18 learned the training groups' backgrounds and stayed at chance on
    # the held-out groups; per-clip looks leave the actor as the only thing that carries the class.
    tex_ids = rng.choice(8, size=2, replace=False)
    bg_contrast = rng.uniform(0.25, 0.5)
    hue = _ACTOR_HUES.get(cls)
    for _ in range(200):  # keep the actor visible: its main and mean colours differ from the background's,
        # and its two colours from each other (stripes and dots must show)
        # saturated backgrounds, away from the flashes' hues (a red or blue scene would hide a flash)
        bg_colours = np.stack([_random_colour(rng, avoid_flash=True, saturation=(0.6, 1.0), value=(0.6, 1.0))
                               for _ in range(2)])
        if group == "event":  # a grey actor: the event group is visible in every frame, the class only in the event
            actor_c1 = np.full(3, rng.uniform(150, 235), dtype=np.float32)
            actor_c2 = np.full(3, rng.uniform(20, 90), dtype=np.float32)
        else:
            actor_c1 = _random_colour(rng, avoid_flash=True) if hue is None else _random_colour(rng, hue=hue)
            actor_c2 = _random_colour(rng, avoid_flash=True)
        if (min(np.abs(a - c).sum() for a in (actor_c1, (actor_c1 + actor_c2) / 2) for c in bg_colours) > 150
                and np.abs(actor_c1 - actor_c2).sum() > 200):
            break

    # --- camera: slow background drift plus shake (a smoothed random walk)
    shake_sigma = rng.uniform(0.05, 0.25)
    camera = np.zeros((T, 2))
    steps = rng.normal(0, shake_sigma, size=(T, 2))
    for i in range(1, T):
        camera[i] = 0.6 * camera[i - 1] + steps[i]
    speed = rng.uniform(0.02, 0.2)
    heading = rng.uniform(0, 2 * np.pi)
    drift = np.array([np.cos(heading), np.sin(heading)]) * speed
    bg_offset = rng.uniform(0, _TEXTURE, 2)
    bg_shift = bg_offset[None] + drift[None] * t[:, None] + camera

    # --- actor template and trajectory (world coordinates; camera added below)
    kind = cls if group == "appearance" else "egg"
    template = _actor_template(kind, rng, actor_c1, actor_c2)
    angle = np.zeros(T)
    tint = np.zeros(T)
    tint_colour = np.zeros(3)
    event_span = (-1, -1)
    if group == "motion":
        # One actor-size/position/angle distribution for all motion classes: the moving parameter
        # runs a saw-tooth (uniform over its range, so a single frame's marginal is that of a frozen
        # parameter drawn uniformly) and is fast enough for optical flow to see it clearly:
        # 1.6-3.2 px per frame for Move (at 320 px), 4-10 degrees per frame for Rotate, a 2.5x zoom
        # every 1.0-1.6 s for Zoom.
        d_mid = rng.uniform(0.38, 0.48) * H  # actor diameter at the middle of its zoom range
        zoom = math.log(2.5)  # log of the zoom ratio over one saw-tooth period
        u_static = rng.uniform(-0.5, 0.5, 2)  # a frozen point of the sweep for non-moving parameters
        log_scale = np.full(T, math.log(d_mid / _TEMPLATE) + zoom * u_static[0])
        margin = 0.5 * d_mid * math.exp(zoom / 2) + 2
        cx = np.full(T, margin + (W - 2 * margin) * (u_static[1] + 0.5))
        cy = np.full(T, rng.uniform(margin, H - margin))
        angle0 = rng.uniform(0, 360)
        angle = np.full(T, angle0)
        if cls in ("MoveLeft", "MoveRight"):
            # a conveyor: the actor crosses the frame and re-enters on the other side (its box is
            # empty for the frame or two it spends fully outside)
            reach = 0.5 * _TEMPLATE * float(np.exp(log_scale[0])) + 1  # the template's radius on screen
            span = W + 2 * reach
            speed = rng.uniform(0.012, 0.02) * W * (1 if cls == "MoveRight" else -1)
            cx = np.mod(rng.uniform(0, span) + speed * t, span) - reach
        elif cls in ("RotateCW", "RotateCCW"):
            omega = rng.uniform(7.0, 12.0)  # degrees per frame
            angle = angle0 + omega * t * (1 if cls == "RotateCW" else -1)
        elif cls in ("ZoomIn", "ZoomOut"):
            period = rng.uniform(0.8, 1.2) * FPS  # frames per saw-tooth
            u = np.mod(t / period + rng.uniform(0, 1), 1.0) - 0.5
            log_scale = math.log(d_mid / _TEMPLATE) + zoom * u * (1 if cls == "ZoomIn" else -1)
        scale = np.exp(log_scale)
    else:
        # appearance and event classes: one "wander" behaviour (smooth random path, slight wobble)
        d = rng.uniform(0.45, 0.6) * H if group == "appearance" else rng.uniform(0.32, 0.42) * H
        scale = np.full(T, d / _TEMPLATE)
        margin = 0.5 * d + 2
        cx = _wander(rng, T, margin, W - margin)
        cy = _wander(rng, T, 0.4 * H, H - margin)
        angle = rng.uniform(0, 360) + rng.uniform(8, 25) * np.sin(
            2 * np.pi * rng.uniform(0.1, 0.4) * t / FPS + rng.uniform(0, 2 * np.pi))
        if group == "event" and cls != "NoEvent":
            # shorter than a third of the video: one of K = 3 segments can hold all of it, and a
            # single snippet misses it more than two times in three
            dur = max(2, int(round(rng.uniform(0.25, 0.32) * T)))
            start = int(rng.integers(0, T - dur + 1))
            event_span = (start, start + dur - 1)
            tint[start:start + dur] = _FLASH_STRENGTH
            tint_colour = np.array(_FLASH_COLOURS[cls])
    cx = cx + camera[:, 0]
    cy = cy + camera[:, 1]
    actor = np.stack([cx, cy, angle, scale], axis=1).astype(np.float32)

    # --- distractors: discs drifting slowly across the frame (bouncing off its edges); big enough to
    # draw a random network's attention, slow enough not to compete with the motion classes' actor
    num_d = int(rng.integers(2, 5))
    radius = rng.uniform(0.06, 0.10, num_d) * H
    pos0 = rng.uniform(0, 1, (num_d, 2)) * [W, H]
    vel_speed = rng.uniform(0.1, 0.6, num_d)
    vel_dir = rng.uniform(0, 2 * np.pi, num_d)
    vel = np.stack([np.cos(vel_dir), np.sin(vel_dir)], axis=1) * vel_speed[:, None]
    dx = _reflect(pos0[None, :, 0] + vel[None, :, 0] * t[:, None], 0, W)
    dy = _reflect(pos0[None, :, 1] + vel[None, :, 1] * t[:, None], 0, H)
    distractors = np.stack([dx + camera[:, :1], dy + camera[:, 1:], np.broadcast_to(radius, (T, num_d))],
                           axis=2).astype(np.float32)
    distractor_colours = np.stack([_random_colour(rng, avoid_flash=True) for _ in range(num_d)])

    alpha_u8 = np.rint(template[..., 3] * 255).astype(np.uint8)
    truth = {
        "boxes": _actor_boxes(alpha_u8, actor, W, H),
        "actor": actor,
        "actor_alpha": alpha_u8,
        "bg_shift": bg_shift.astype(np.float32),
        "camera": camera.astype(np.float32),
        "distractors": distractors,
        "tint": tint.astype(np.float32),
        "tint_colour": tint_colour.astype(np.float32),
        "frame_size": np.array([H, W], dtype=np.int32),
        "fps": np.array(spec.fps, dtype=np.int32),
        "class_name": np.array(cls),
        "group": np.array(group),
        "video_id": np.array(spec.video_id),
        "event_span": np.array(event_span, dtype=np.int32),
    }
    scene = {
        "template": template,
        "tex_ids": tex_ids,
        "bg_colours": bg_colours,
        "bg_contrast": bg_contrast,
        "distractor_colours": distractor_colours,
        "noise_ids": rng.integers(0, 1 << 30, size=(T, 3)),
    }
    return truth, scene


def _affine(actor_row: np.ndarray) -> np.ndarray:
    """The 2x3 forward matrix template pixel -> image pixel of one frame's ``cx, cy, angle, scale``."""
    cx, cy, angle, scale = (float(v) for v in actor_row)
    a = math.radians(angle)
    c, s = math.cos(a) * scale, math.sin(a) * scale
    uc = (_TEMPLATE - 1) / 2
    return np.array([[c, -s, cx - (c * uc - s * uc)], [s, c, cy - (s * uc + c * uc)]], dtype=np.float64)


def _actor_boxes(alpha: np.ndarray, actor: np.ndarray, W: int, H: int) -> np.ndarray:
    """Per-frame boxes ``(T, 4)`` int16 ``x0, y0, x1, y1`` (exclusive ends) of the warped template mask."""
    ys, xs = np.nonzero(alpha > 0)
    pts = np.stack([xs, ys], axis=1).astype(np.float32)
    hull = cv2.convexHull(pts).reshape(-1, 2).astype(np.float64)
    corners = (hull[:, None, :] + np.array([[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]])).reshape(-1, 2)
    uc = (_TEMPLATE - 1) / 2
    u = corners - uc
    a = np.radians(actor[:, 2].astype(np.float64))
    sc = actor[:, 3].astype(np.float64)
    cos, sin = np.cos(a) * sc, np.sin(a) * sc
    px = actor[:, 0, None] + cos[:, None] * u[None, :, 0] - sin[:, None] * u[None, :, 1]
    py = actor[:, 1, None] + sin[:, None] * u[None, :, 0] + cos[:, None] * u[None, :, 1]
    x0 = np.clip(np.floor(px.min(1) + 0.5), 0, W)
    y0 = np.clip(np.floor(py.min(1) + 0.5), 0, H)
    x1 = np.clip(np.floor(px.max(1) + 0.5) + 1, 0, W)
    y1 = np.clip(np.floor(py.max(1) + 0.5) + 1, 0, H)
    return np.stack([x0, y0, np.maximum(x1, x0), np.maximum(y1, y0)], axis=1).astype(np.int16)

