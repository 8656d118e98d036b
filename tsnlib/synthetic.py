"""The built-in synthetic action dataset: real encoded videos in the exact UCF101 / HMDB51 layouts,
with the generator's ground truth (actor boxes, true motion, event spans) saved beside each video.

UCF101 and HMDB51 cannot be downloaded everywhere, so the course ships this stand-in. It is small
(13 classes x 60 videos of 2-4 s at about 128 x 96, generated in about 15 s on two cores) but built so
that a small network trained from scratch on a CPU learns TSN's lessons from it in minutes:

* ``appearance`` classes share one motion distribution and differ only in the actor's look: each
  has its own colour family (:data:`_ACTOR_HUES`), shape and texture. One RGB frame is enough;
  optical flow sees none of the colour and little of the rest;
* ``motion`` classes share one actor appearance distribution and differ only in how it moves
  (left/right translation, clockwise/counter-clockwise rotation, zoom in/out). The marginal
  distribution of a single frame (actor position, size, angle, colours) is the same for all of
  them by construction (but for the Move actors being seen partly outside the frame as they
  wrap round): one RGB frame cannot tell them apart, optical flow can (the motion is
  fast enough to see: 1.5-2.7 px per frame for Move (at 128 px), 7-12 degrees per frame for Rotate,
  a 2.5x zoom every 0.8-1.2 s for Zoom);
* ``event`` classes show the same grey actor wandering and differ by an event filling 25-32 % of the
  video at a random moment: the actor turns red (``FlashRed``) or blue (``FlashBlue``), or nothing
  happens (``NoEvent``). One frame of the event tells the class; any other frame tells only the group.
  Sparse sampling of three segments catches the event in at least three samples in four; one
  snippet catches it in fewer than one in three.

Every video has a textured, slowly drifting background in saturated colours, camera shake, two to
four distractor discs (a tenth to a fifth of the frame's height, slow, in any colour but the
flashes') and per-frame noise, so that no single pixel statistic separates the classes and the actor
is not the only salient thing in the frame: a network with random weights looks at whatever stands
out, a trained one must learn to look at the actor (the Grad-CAM control of notebook 06; with the
small, dull scenes of generator version 6 a random network's heatmap already fell on the actor). Unlike UCF101, where
the clips of a group are cut from one longer video and share its scene, the clips of a synthetic
group share nothing but their group number: every look (texture, colours) is drawn per clip, so
that a network has to learn the actor rather than the backgrounds of the training groups (the
test split holds other groups).

Videos are MPEG-4 Part 2 (codec tag ``XVID``) ``.avi`` files with a GOP of 12, like UCF101's, or
H.264 ``.mp4`` (``codec="h264"``, GOP 50), 25 fps, 2-4 s, frame sizes around 128x96 (``size="tiny"``: 1-2 s
around 160x120).

Ground truth (``<video stem>.truth.npz`` beside each video, read with :func:`load_truth`):

* ``boxes`` int16 ``(T, 4)``: the actor's box per frame, ``x0, y0, x1, y1`` in pixels, clipped to
  the frame, ``x1``/``y1`` exclusive (``frame[y0:y1, x0:x1]`` holds the actor); empty
  (``x1 == x0``) in the frame or two a Move actor spends wholly outside the frame as it wraps;
* ``actor`` float32 ``(T, 4)``: the actor's similarity transform per frame, ``cx, cy, angle, scale``:
  a template pixel ``u`` (relative to the template centre) is drawn at
  ``(cx, cy) + scale * R(angle) u`` where ``angle`` is in degrees, positive = clockwise on screen
  (image ``y`` points down), and ``R(a) = [[cos a, -sin a], [sin a, cos a]]``;
* ``actor_alpha`` uint8 ``(S, S)``: the actor's template mask (255 = actor), to draw its silhouette;
* ``bg_shift`` float32 ``(T, 2)``: the background's global translation (drift + camera) in pixels;
  the background pixel at ``p`` in frame ``t`` shows texture point ``p - bg_shift[t]``;
* ``camera`` float32 ``(T, 2)``: the camera-shake part alone (already included in ``actor``,
  ``bg_shift`` and ``distractors``, which are all in image coordinates);
* ``distractors`` float32 ``(T, D, 3)``: ``cx, cy, radius`` of each distractor disc;
* ``tint`` float32 ``(T,)``: how much the actor is tinted (the flash events), 0 otherwise, and
  ``tint_colour`` float32 ``(3,)``: the RGB colour it is tinted towards (zeros without an event);
* ``frame_size`` ``(H, W)``, ``fps``, ``class_name``, ``group``, ``video_id`` and ``event_span``
  ``(start, end)``, inclusive 0-based frame indices, ``(-1, -1)`` when the video has no event.

:func:`true_flow` turns these into the exact forward optical flow between two frames, and
:func:`true_flow_mask` says where that flow can be checked (both ends visible, away from edges).

Camera motion, opt-in and for single clips only (the dataset never has it): ``render_video(spec,
camera=CameraMotion(pan=..., zoom=...))`` films the same clip with a camera that pans and zooms, and
``make_truth(spec, camera=...)`` gives its truth. The clip as the dataset has it becomes the *world*;
its truth gains ``view`` float32 ``(T, 3, 3)``, the camera's homography per frame from world pixels to
the clip's pixels, and ``actor``, ``boxes`` and ``distractors`` are in the clip's pixels (``bg_shift``
and ``camera`` stay the world's: the background pixel at ``p`` shows texture point
``view[t]^-1 p - bg_shift[t]``). :func:`background_homography` is the background's motion from one
frame to the next (what warped flow removes) and ``true_flow(truth, t, relative=True)`` the motion
relative to it (what warped flow keeps). Introduced in notebooks/04_optical_flow_stream.ipynb.

Introduced in notebooks/01_data_preparation.ipynb.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import shutil
import time
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tsnlib.errors import DataError

#: bump when the generator's output changes: an existing dataset with another version is regenerated
GENERATOR_VERSION = "7"

#: the classes, grouped by the lesson they teach (CamelCase names, as in the UCF101 layout)
CLASS_GROUPS: dict[str, list[str]] = {
    "appearance": ["PlainDisc", "StripedDisc", "DottedDisc", "PlainSquare"],
    "motion": ["MoveLeft", "MoveRight", "RotateCW", "RotateCCW", "ZoomIn", "ZoomOut"],
    "event": ["FlashRed", "FlashBlue", "NoEvent"],
}

#: every class, in a fixed canonical order (the seeds of the generator depend on it)
CLASSES: list[str] = [name for names in CLASS_GROUPS.values() for name in names]

FPS = 25

#: the size presets of :func:`generate_dataset`
SIZES: dict[str, dict] = {
    "default": {
        "videos_per_class": 60,
        "widths": (128, 120, 136, 112),
        "heights": (96, 88, 104),
        "duration_s": (2.0, 4.0),
    },
    "tiny": {
        "videos_per_class": 6,
        "widths": (160, 176, 144),
        "heights": (120, 128, 112),
        "duration_s": (1.0, 2.0),
    },
}

#: codec name → (encoder candidates, container format, file extension, GOP, codec tag)
CODECS: dict[str, tuple[tuple[str, ...], str, str, int, str | None]] = {
    "xvid": (("mpeg4",), "avi", ".avi", 12, "XVID"),
    "h264": (("libx264", "h264"), "mp4", ".mp4", 50, None),
}

LAYOUTS = ("ucf101", "hmdb51")

#: characters that real HMDB51 file names contain (spaces there became ``_``)
HMDB_SPECIAL_CHARS = "&()!#'"

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
# Names
# ----------------------------------------------------------------------------------------------


def hmdb_class_name(name: str) -> str:
    """The HMDB51-style ``lower_case`` name of a CamelCase class: ``"RotateCW"`` -> ``"rotate_cw"``."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s)
    return s.lower()


def _canonical_class(name: str) -> str:
    if name in CLASSES:
        return name
    for c in CLASSES:
        if hmdb_class_name(c) == name:
            return c
    raise KeyError(f"unknown synthetic class {name!r}; known: {', '.join(CLASSES)}")


def class_group(name: str) -> str:
    """The group (``"appearance"``, ``"motion"`` or ``"event"``) of a class, CamelCase or lower_case name.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    canonical = _canonical_class(name)
    for group, names in CLASS_GROUPS.items():
        if canonical in names:
            return group
    raise KeyError(name)  # unreachable


def class_names(layout: str = "ucf101") -> list[str]:
    """The class names as the layout spells them, sorted like its class index (alphabetically)."""
    _check_layout(layout)
    names = CLASSES if layout == "ucf101" else [hmdb_class_name(c) for c in CLASSES]
    return sorted(names)


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


# ----------------------------------------------------------------------------------------------
# Planning: which videos, in which groups and splits
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoSpec:
    """Everything that determines one synthetic video (all its randomness derives from these fields).

    ``rel_path`` is relative to the dataset root, e.g. ``UCF-101/MoveLeft/v_MoveLeft_g01_c02.avi``.
    ``group`` and ``clip`` are 1-based; ``class_name`` is the CamelCase canonical name.
    """

    class_name: str
    class_index: int
    group: int
    clip: int
    rel_path: str
    width: int
    height: int
    num_frames: int
    fps: int
    seed: int
    codec: str

    @property
    def video_id(self) -> str:
        return Path(self.rel_path).stem


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, *[int(k) for k in keys]]))


def _group_sizes(n: int, seed: int, class_index: int) -> list[int]:
    """Clips per group: about 4-5 each, like UCF101's 4-7 clips per group, at least 3 groups."""
    num_groups = max(3, round(n / 4.5))
    sizes = [n // num_groups] * num_groups
    extra = _rng(seed, 11, class_index).permutation(num_groups)[: n % num_groups]
    for g in extra:
        sizes[g] += 1
    return sizes


def _test_groups(num_groups: int, split: int) -> set[int]:
    """1-based groups held out for testing in ``split`` (1..3): a contiguous block of about 30 %."""
    block = max(1, round(0.3 * num_groups))
    start = ((split - 1) * block) % num_groups
    return {(start + i) % num_groups + 1 for i in range(block)}


def _val_groups(num_groups: int, split: int) -> set[int]:
    """1-based groups held out for validation in ``split`` (1..3); returns them as a set.

    The contiguous block of ``max(1, round(0.15 * num_groups))`` groups right after the test block
    of :func:`_test_groups` (wrapping around), so it never overlaps it. Empty when the two blocks
    would leave no training group (at least one training group always remains).
    """
    test_block = max(1, round(0.3 * num_groups))
    block = max(1, round(0.15 * num_groups))
    if test_block + block >= num_groups:
        return set()
    start = ((split - 1) * test_block + test_block) % num_groups
    return {(start + i) % num_groups + 1 for i in range(block)}


_HMDB_WORDS_A = ("Sunny", "Garden", "Morning", "Studio", "Lazy", "City", "Beach", "Winter", "Happy", "Old",
                 "Family", "School")
_HMDB_WORDS_B = ("Park", "Practice", "Session", "Clip", "Show", "Fun", "Training", "Party", "Demo", "Day",
                 "Trip", "Game")
_HMDB_PATTERNS = (
    "{a}_{b}",
    "{a}_&_{b}",
    "({a})_{b}",
    "{a}_{b}!",
    "#{n}_{a}_{b}",
    "{a}'s_{b}",
    "{a}_{b}_(take_{n})!",
)


def _hmdb_title(class_index: int, group: int) -> str:
    """The source-video title of a group, with HMDB51's odd characters in some of them."""
    pattern = _HMDB_PATTERNS[(class_index + group) % len(_HMDB_PATTERNS)]
    a = _HMDB_WORDS_A[(3 * class_index + group) % len(_HMDB_WORDS_A)]
    b = _HMDB_WORDS_B[group % len(_HMDB_WORDS_B)]
    return pattern.format(a=a, b=b, n=10 + 7 * group + class_index) + (f"_{group}" if group >= len(_HMDB_WORDS_B) else "")


def _hmdb_file_name(class_index: int, group: int, clip: int, hmdb_class: str, rng: np.random.Generator) -> str:
    """``<title>_<class>_<body>_<camera>_<people>_<view>_<quality>_<clip>.avi`` like HMDB51's names."""
    body = rng.choice(["f", "u", "h", "l"])
    cam = rng.choice(["cm", "nm"])
    people = rng.choice(["np1", "np1", "np2"])
    view = rng.choice(["fr", "ba", "le", "ri"])
    quality = rng.choice(["goo", "med", "bad"])
    return f"{_hmdb_title(class_index, group)}_{hmdb_class}_{body}_{cam}_{people}_{view}_{quality}_{clip - 1}"


def plan_dataset(layout: str = "ucf101", size: str = "default", videos_per_class: int | None = None,
                 codec: str = "xvid", seed: int = 0) -> list[VideoSpec]:
    """The videos :func:`generate_dataset` writes, in order, without writing anything.

    Cheap and deterministic; :func:`render_video` and :func:`make_truth` turn one spec into
    frames and ground truth.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    _check_layout(layout)
    if size not in SIZES:
        raise ValueError(f"size must be one of {tuple(SIZES)}, got {size!r}")
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {tuple(CODECS)}, got {codec!r}")
    preset = SIZES[size]
    n = preset["videos_per_class"] if videos_per_class is None else int(videos_per_class)
    if n < 3:
        raise ValueError(f"videos_per_class must be at least 3 (3 groups, so every split has train and test), got {n}")
    ext = CODECS[codec][2]
    specs = []
    for ci, cls in enumerate(CLASSES):
        sizes = _group_sizes(n, seed, ci)
        for g, count in enumerate(sizes, start=1):
            grng = _rng(seed, 1, ci, g)
            width = int(grng.choice(preset["widths"]))
            height = int(grng.choice(preset["heights"]))
            for c in range(1, count + 1):
                crng = _rng(seed, 2, ci, g, c)
                lo, hi = preset["duration_s"]
                num_frames = int(round(crng.uniform(lo, hi) * FPS))
                if layout == "ucf101":
                    rel = f"UCF-101/{cls}/v_{cls}_g{g:02d}_c{c:02d}{ext}"
                else:
                    hc = hmdb_class_name(cls)
                    rel = f"hmdb51_org/{hc}/{_hmdb_file_name(ci, g, c, hc, crng)}{ext}"
                specs.append(VideoSpec(cls, ci, g, c, rel, width, height, num_frames, FPS, int(seed), codec))
    return specs


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
    import colorsys

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
    import cv2

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
    import cv2

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


def make_truth(spec: VideoSpec, camera: CameraMotion | None = None) -> dict:
    """The ground truth of one video, as :func:`load_truth` would return it once written.

    ``camera``: the truth of the clip filmed by that moving camera (see :class:`CameraMotion`), with
    its ``view`` homographies; ``None`` (the dataset's clips): the clip as :func:`generate_dataset`
    writes it.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    truth, _ = _scene(spec)
    if camera is not None:
        truth = _with_camera(truth, camera)
    return _truth_to_python(truth)


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


def background_homography(truth, t: int) -> np.ndarray:
    """The background's motion from frame ``t`` to ``t + 1``, float64 ``(3, 3)``: a background pixel
    ``(x, y, 1)`` of frame ``t`` -> where it is in frame ``t + 1``.

    ``truth`` is a dict of :func:`load_truth` or :func:`make_truth` (or a video path). The camera's
    ``view`` (when filmed with a :class:`CameraMotion`) composed with the world's drift and shake
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
    import cv2

    H, W = int(truth["frame_size"][0]), int(truth["frame_size"][1])
    tex, tex_x, tex_y = _background_texture(spec, truth, scene)
    template = scene["template"]
    noise_pos, noise_neg = _noise_bank(spec.seed)
    yy_cache: dict = {}
    blurred: dict = {}
    for t in range(spec.num_frames):
        sx, sy = (float(v) for v in truth["bg_shift"][t])
        if "view" in truth:
            # a moving camera (CameraMotion): pixel p shows texture point view^-1 p - bg_shift, a bilinear warp
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
    its truth is ``make_truth(spec, camera)``); ``None``: the frames the dataset encodes.
    Deterministic: the same spec gives the same frames.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    truth, scene = _scene(spec)
    if camera is not None:
        truth = _with_camera(truth, camera)
    return np.stack(list(_iter_frames(spec, truth, scene, actor=actor, distractors=distractors, noise=noise)))


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
    import cv2

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
    translation ``bg_shift[t+1] - bg_shift[t]`` (drift + camera shake) of the dataset's clips, a pan
    and zoom as well for a clip filmed with a :class:`CameraMotion`.
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
        from tsnlib.camera_motion import homography_flow

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
    import cv2

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
    ``video_id`` and ``event_span`` ``(start, end)`` inclusive, ``(-1, -1)`` without an event.
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


# ----------------------------------------------------------------------------------------------
# Encoding and writing
# ----------------------------------------------------------------------------------------------


def _encoder_name(codec: str) -> str:
    import av

    candidates = CODECS[codec][0]
    for name in candidates:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 - PyAV raises different errors for unknown codecs across versions
            continue
    raise RuntimeError(
        f"codec {codec!r} needs one of the encoders {', '.join(candidates)}, which this PyAV build "
        f"(av {av.__version__}) lacks; install a PyAV wheel built with them (the PyPI wheels include "
        f"mpeg4 and libx264) or use codec='xvid'")


def _write_video(spec: VideoSpec, root: Path) -> None:
    """Render, encode and write one video and its truth file (each to a temporary name, then renamed)."""
    import av
    import cv2

    path = root / spec.rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    truth, scene = _scene(spec)
    _write_npz_deterministic(truth_path(path), truth)

    _, fmt, _, gop, tag = CODECS[spec.codec]
    tmp = path.with_name(path.name + ".partial")
    container = av.open(str(tmp), "w", format=fmt)
    try:
        stream = container.add_stream(_encoder_name(spec.codec), rate=spec.fps)
        stream.width, stream.height = spec.width, spec.height
        stream.pix_fmt = "yuv420p"
        stream.gop_size = gop
        stream.codec_context.thread_count = 1
        if spec.codec == "xvid":
            stream.codec_tag = tag
            stream.bit_rate = int(3.5 * spec.width * spec.height)  # ~270 kb/s at 320x240, like UCF101
        else:
            stream.options = {"preset": "veryfast", "crf": "23", "threads": "1"}
        for frame in _iter_frames(spec, truth, scene):
            # BT.601 limited-range YUV 4:2:0 (what swscale would make, and what decoders assume), 20x faster
            yuv = cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)
            for packet in stream.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    os.replace(tmp, path)


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)


def _worker(job: tuple[VideoSpec, str]) -> str:
    spec, root = job
    _write_video(spec, Path(root))
    return spec.rel_path


def _write_lists(root: Path, layout: str, specs: list[VideoSpec]) -> list[str]:
    """Write the split files of the layout; returns their paths relative to ``root``.

    UCF101 layout: ``ucfTrainTestlist/classInd.txt`` and, per split N in 1..3, ``trainlist0N.txt``
    (``"Class/v_Class_gGG_cCC.avi <1-based label>"``), ``testlist0N.txt`` (the :func:`_test_groups`)
    and ``vallist0N.txt`` (the :func:`_val_groups`; no label, like the test list), CRLF line ends as
    in the official files. Train, val and test hold disjoint groups and every video is in exactly
    one of them. The official UCF101 has no ``vallist0N.txt``: only the synthetic set gives a
    validation subset that never reads the test split.

    HMDB51 layout: ``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`` with tags 1 (train),
    2 (test) and 0 (unused). HMDB51's official tags have no validation subset, so this layout keeps
    the val groups in train.
    """
    names = class_names(layout)
    by_class: dict[str, list[VideoSpec]] = {}
    for s in specs:
        by_class.setdefault(s.class_name, []).append(s)
    written = []
    if layout == "ucf101":
        d = root / "ucfTrainTestlist"
        d.mkdir(parents=True, exist_ok=True)
        nl = "\r\n"  # the official lists have Windows line ends
        (d / "classInd.txt").write_bytes("".join(f"{i} {n}{nl}" for i, n in enumerate(names, 1)).encode())
        written.append("ucfTrainTestlist/classInd.txt")
        for split in (1, 2, 3):
            train, val, test = [], [], []
            for cls in names:
                vids = by_class[cls]
                num_groups = max(v.group for v in vids)
                held = _test_groups(num_groups, split)
                held_val = _val_groups(num_groups, split)
                for v in sorted(vids, key=lambda v: v.rel_path):
                    rel = v.rel_path.split("/", 1)[1]
                    if v.group in held:
                        test.append(rel)
                    elif v.group in held_val:
                        val.append(rel)
                    else:
                        train.append(f"{rel} {names.index(cls) + 1}")
            (d / f"trainlist0{split}.txt").write_bytes("".join(line + nl for line in train).encode())
            (d / f"vallist0{split}.txt").write_bytes("".join(line + nl for line in val).encode())
            (d / f"testlist0{split}.txt").write_bytes("".join(line + nl for line in test).encode())
            written += [f"ucfTrainTestlist/trainlist0{split}.txt", f"ucfTrainTestlist/vallist0{split}.txt",
                        f"ucfTrainTestlist/testlist0{split}.txt"]
    else:
        d = root / "testTrainMulti_7030_splits"
        d.mkdir(parents=True, exist_ok=True)
        for cls in CLASSES:
            hc = hmdb_class_name(cls)
            vids = by_class[cls]
            num_groups = max(v.group for v in vids)
            for split in (1, 2, 3):
                held = _test_groups(num_groups, split)
                train = [v for v in vids if v.group not in held]
                rng = _rng(vids[0].seed, 12, vids[0].class_index, split)
                num_unused = max(1, round(0.07 * len(vids))) if len(train) > 1 else 0
                unused = {train[i].rel_path for i in rng.choice(len(train), size=num_unused, replace=False)}
                lines = []
                for v in sorted(vids, key=lambda v: Path(v.rel_path).name):
                    tag = 2 if v.group in held else (0 if v.rel_path in unused else 1)
                    lines.append(f"{Path(v.rel_path).name} {tag} \n")  # the official files end lines with " "
                (d / f"{hc}_test_split{split}.txt").write_text("".join(lines), encoding="utf-8")
                written.append(f"testTrainMulti_7030_splits/{hc}_test_split{split}.txt")
    return written


# ----------------------------------------------------------------------------------------------
# The dataset
# ----------------------------------------------------------------------------------------------

MANIFEST = "synthetic.json"
_PARTIAL_MANIFEST = "synthetic.partial.json"
_OWNED = {"ucf101": ("UCF-101", "ucfTrainTestlist"), "hmdb51": ("hmdb51_org", "testTrainMulti_7030_splits")}


def load_manifest(root) -> dict:
    """The ``synthetic.json`` of a generated dataset: its parameters, classes, groups and videos.

    Keys: ``generator``, ``version``, ``layout``, ``size``, ``seed``, ``codec``, ``videos_per_class``,
    ``fps``, ``classes`` (class index order), ``class_groups`` (names as the layout spells them),
    ``num_videos``, ``videos`` (paths relative to the root), ``list_files``.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DataError("not a synthetic dataset: no synthetic.json (generate it with tsnlib synth)", path=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"unreadable synthetic manifest: {exc}", path=path) from exc


def _manifest(layout, size, seed, codec, specs, list_files) -> dict:
    rename = (lambda n: n) if layout == "ucf101" else hmdb_class_name
    return {
        "generator": "tsnlib.synthetic",
        "version": GENERATOR_VERSION,
        "layout": layout,
        "size": size,
        "seed": int(seed),
        "codec": codec,
        "videos_per_class": len(specs) // len(CLASSES),
        "fps": FPS,
        "classes": class_names(layout),
        "class_groups": {g: [rename(n) for n in names] for g, names in CLASS_GROUPS.items()},
        "num_videos": len(specs),
        "videos": [s.rel_path for s in specs],
        "list_files": list_files,
    }


_MATCH_KEYS = ("generator", "version", "layout", "size", "seed", "codec", "videos_per_class", "classes",
               "num_videos", "videos")


def _complete(root: Path, manifest: dict) -> bool:
    for rel in manifest.get("videos", []):
        p = root / rel
        if not p.is_file() or not truth_path(p).is_file():
            return False
    return all((root / rel).is_file() for rel in manifest.get("list_files", []))


def generate_dataset(root=None, layout: str = "ucf101", size: str = "default", videos_per_class: int | None = None,
                     codec: str = "xvid", seed: int = 0, workers: int | None = None, progress: bool = True,
                     force: bool = False) -> Path:
    """Write the synthetic action dataset under ``root`` in the UCF101 or HMDB51 layout; returns ``root``.

    ``layout="ucf101"``: ``root/UCF-101/<Class>/v_<Class>_gGG_cCC.avi`` and ``root/ucfTrainTestlist/``
    (``classInd.txt``, ``trainlist0{1,2,3}.txt``, ``vallist0{1,2,3}.txt``, ``testlist0{1,2,3}.txt``:
    whole groups held out, about 30 % for test and 15 % for validation, disjoint; the official UCF101
    has no ``vallist``). ``layout="hmdb51"``: ``root/hmdb51_org/<class>/<name>.avi`` and
    ``root/testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`` (train/test tags only, as
    HMDB51's: no validation subset, the val groups stay in train).
    A ``<video stem>.truth.npz`` lies beside every video (see :func:`load_truth`), a ``synthetic.json``
    manifest at the root (see :func:`load_manifest`).

    ``size="default"``: 13 classes x 60 videos of 2-4 s around 128x96 (about 15 s on two cores);
    ``"tiny"``: 13 x 6 videos of 1-2 s around 160x120 (seconds, for tests). ``videos_per_class``
    overrides the preset's count (at least 3). ``codec``: ``"xvid"`` (MPEG-4 Part 2 in ``.avi``, like
    UCF101) or ``"h264"`` (``.mp4``). Deterministic from ``seed``: the same seed gives byte-identical
    truth files and the same frames.

    Idempotent: when ``synthetic.json`` matches the parameters and every file exists, returns at once;
    ``force=True`` regenerates. Each file is written under a temporary ``.partial`` name and renamed
    when complete; an interrupted run is resumed by the next call with the same parameters.
    ``workers`` processes (default: one per CPU core; small jobs run in this process).

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    from tsnlib.utils import progress as progress_bar
    from tsnlib.utils import synthetic_root

    root = Path(synthetic_root(root, layout=layout)).expanduser()
    specs = plan_dataset(layout, size, videos_per_class, codec, seed)
    _encoder_name(codec)  # fail early and clearly when the encoder is missing
    wanted = _manifest(layout, size, seed, codec, specs, [])
    key = {k: wanted[k] for k in _MATCH_KEYS}

    manifest_path = root / MANIFEST
    partial_path = root / _PARTIAL_MANIFEST
    resume = False  # True: the files there were made with these parameters; keep the complete ones
    if manifest_path.is_file() and not force:
        try:
            existing = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            existing = {}
        if {k: existing.get(k) for k in _MATCH_KEYS} == key:
            if _complete(root, existing):
                return root
            resume = True
    if not force and not resume and partial_path.is_file():
        try:
            resume = json.loads(partial_path.read_text(encoding="utf-8")) == key
        except ValueError:
            resume = False
    if not resume:
        _clear(root)
    root.mkdir(parents=True, exist_ok=True)
    manifest_path.unlink(missing_ok=True)
    partial_path.write_text(json.dumps(key), encoding="utf-8")

    todo = [s for s in specs
            if not (resume and (root / s.rel_path).is_file() and truth_path(root / s.rel_path).is_file())]
    total_frames = sum(s.num_frames for s in todo)
    if workers is None:
        # starting processes (about a second each) costs more than it saves on small jobs
        workers = (os.cpu_count() or 1) if total_frames >= 6000 else 1
    workers = max(1, min(int(workers), len(todo)))
    bar_options = {} if progress else {"disable": True}
    bar = progress_bar(total=len(todo), desc=f"synthetic {layout} ({size})", unit="video", **bar_options)
    try:
        if workers <= 1:
            for s in todo:
                _write_video(s, root)
                bar.update(1)
        else:
            import multiprocessing as mp

            # longest first: better load balance
            jobs = [(s, str(root)) for s in sorted(todo, key=lambda s: -s.num_frames * s.width * s.height)]
            # the platform default start method (fork on Linux: no re-import of the caller's script)
            with mp.get_context().Pool(workers, initializer=_worker_init) as pool:
                for _ in pool.imap_unordered(_worker, jobs, chunksize=1):
                    bar.update(1)
    finally:
        bar.close()

    list_files = _write_lists(root, layout, specs)
    manifest = _manifest(layout, size, seed, codec, specs, list_files)
    tmp = manifest_path.with_name(MANIFEST + ".partial")
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, manifest_path)
    partial_path.unlink(missing_ok=True)
    return root


def _clear(root: Path) -> None:
    """Remove an earlier synthetic dataset's folders under ``root``, never anybody else's data."""
    ours = (root / MANIFEST).is_file() or (root / _PARTIAL_MANIFEST).is_file()
    present = [root / d for ds in _OWNED.values() for d in ds if (root / d).exists()]
    if present and not ours:
        raise DataError(
            f"{root} already holds {', '.join(p.name for p in present)} but no synthetic.json: refusing to "
            "overwrite what may be a real dataset; choose another root", path=root)
    for p in present:
        shutil.rmtree(p)


# ----------------------------------------------------------------------------------------------
# Command line: tsnlib synth
# ----------------------------------------------------------------------------------------------


def add_synth_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``tsnlib synth [--root R] [--layout ucf101|hmdb51] [--size default|tiny] ...``."""
    parser.add_argument("--root", default=None, help="output folder (default: <data>/synthetic/<layout>)")
    parser.add_argument("--layout", default="ucf101", choices=LAYOUTS, help="folder and split-file layout")
    parser.add_argument("--size", default="default", choices=tuple(SIZES), help="default: 13x60 videos; tiny: 13x6")
    parser.add_argument("--videos-per-class", type=int, default=None, help="override the preset's count (>= 3)")
    parser.add_argument("--codec", default="xvid", choices=tuple(CODECS), help="xvid (.avi, like UCF101) or h264 (.mp4)")
    parser.add_argument("--seed", type=int, default=0, help="the dataset is deterministic from this seed")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per CPU core)")
    parser.add_argument("--force", action="store_true", help="regenerate even when the dataset is complete")


def cli_synth(args: argparse.Namespace) -> int:
    """Run ``tsnlib synth``: generate the dataset and print a one-line summary."""
    start = time.perf_counter()
    root = generate_dataset(args.root, layout=args.layout, size=args.size, videos_per_class=args.videos_per_class,
                            codec=args.codec, seed=args.seed, workers=args.workers, force=args.force)
    m = load_manifest(root)
    nbytes = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(f"synthetic {m['layout']} dataset at {root}: {len(m['classes'])} classes, {m['num_videos']} videos, "
          f"{nbytes / 1e6:.1f} MB ({time.perf_counter() - start:.1f} s)")
    return 0
