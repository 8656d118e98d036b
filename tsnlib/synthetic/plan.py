"""The synthetic dataset's classes and its plan: which videos, in which groups and splits.

The 13 classes in three groups that each teach a lesson (:data:`CLASS_GROUPS`), their names in the
UCF101 and HMDB51 layouts, the size presets, codecs and layouts of :func:`tsnlib.synthetic.generate_dataset`,
and :func:`plan_dataset`: the :class:`VideoSpec` of every video (class, group, clip, file name, frame
size, length, seed), with whole groups held out for test and validation. Cheap and deterministic;
nothing is rendered here.

Part of :mod:`tsnlib.synthetic` (notebooks/01_data_preparation.ipynb).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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

    Introduced in notebooks/06_model_visualization.ipynb (mistakes and Grad-CAM by class group).
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
    ``camera_share``: the chance that the clip is filmed by a swaying camera
    (:func:`~tsnlib.synthetic.camera.dataset_camera`); 0, the course's dataset, films none.
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
    camera_share: float = 0.0

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
                 codec: str = "xvid", seed: int = 0, camera_share: float = 0.0) -> list[VideoSpec]:
    """The videos :func:`generate_dataset` writes, in order, without writing anything.

    Cheap and deterministic; :func:`render_video` and :func:`make_truth` turn one spec into
    frames and ground truth. ``camera_share`` (0 to 1): about that share of the clips is filmed by
    a swaying hand-held camera (:func:`~tsnlib.synthetic.camera.dataset_camera`); the others are
    the same whatever the share.

    Introduced in notebooks/04_optical_flow_stream.ipynb (single clips rendered with their truth).
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
    if not 0.0 <= float(camera_share) <= 1.0:
        raise ValueError(f"camera_share must be between 0 and 1, got {camera_share}")
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
                specs.append(VideoSpec(cls, ci, g, c, rel, width, height, num_frames, FPS, int(seed), codec,
                                       float(camera_share)))
    return specs

