"""The synthetic *tag* dataset: clips with several labels each, for multi-label TSN.

Real multi-label benchmarks (HVU, Multi-Moments in Time) give each clip a set of tags from several
categories: HVU's action, scene, object, attribute, concept and event. This generator is their
stand-in: every clip carries one tag of each of five categories (:data:`TAG_CATEGORIES`),

* ``shape`` of the actor: ``disc``, ``square``, ``egg``;
* ``texture`` of the actor: ``plain``, ``striped``, ``dotted`` (stripes and dots in dark grey);
* ``colour`` of the actor: a hue family, ``yellow``, ``green``, ``cyan``, ``magenta``;
* ``motion`` of the actor: ``still``, ``left`` (it crosses the frame leftwards and wraps round),
  ``right``, ``rotate`` (clockwise or counter-clockwise);
* ``background`` kind: ``smooth`` (nearly one colour) or ``patchy`` (blotches of two colours);

drawn independently and uniformly, so that any tag co-occurs with any other (16 tags,
3 x 3 x 4 x 4 x 2 = 288 combinations). A clip's label is the set of its five tags.

The clips are made by :mod:`tsnlib.synthetic`'s renderer: the camera shake, background drift,
distractor discs and noise of one of its scenes, the masks of its actor templates (disc, square,
egg), its background textures and its truth files. Drawn here are the actor's dress (colour,
texture, a dark mark off its centre that makes a plain disc's rotation visible), its track (one
size and position distribution for every motion tag, so that one frame tells no motion apart, but
for ``left`` and ``right`` actors being partly outside the frame as they wrap round) and the
background's colours and contrast.

The dataset is written as the course reads its other data: RGB frame folders at the course's short
side (54 px; no video files, so no encoding and decoding before training), with the generator's
ground truth beside each folder (``<video_id>.truth.npz``, :func:`tsnlib.synthetic.load_truth`;
boxes and actor in the rendered frame's pixels, ``frame_size``, about 128 x 96), and

* ``tags_{train,val,test}_split_1_rawframes.txt``: MMAction2-style multi-label lists,
  ``"rawframes/<video_id> <total_frames> <tag id> <tag id> ..."`` (0-based ids; the ``tags`` prefix
  makes :func:`tsnlib.annotations.read_list_file` read them as multi-label);
* ``classInd.txt``: the label map, ``"1 disc"``, ..., one tag per line, category by category;
* ``tag_categories.csv``: ``tag,category`` per line, as HVU's ``hvu_categories.csv``;
* ``tags.json``: the manifest (:func:`load_tags_manifest`).

Clips come in groups of four; whole groups go to train, validation (about 15 %) and test (about
30 %), as in :mod:`tsnlib.synthetic` (groups share nothing but their number, so that the split is one
of clips never seen). Deterministic from ``seed``: the same seed gives the same tags, truth files and
frames.

Introduced in notebooks/07_multi_label.ipynb.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tsnlib import synthetic
from tsnlib.annotations import LabelMap, VideoRecord, write_list_file
from tsnlib.errors import DataError
from tsnlib.frame_folders import atomic_folder, frame_path, resized_size, write_jpeg
from tsnlib.synthetic.plan import _rng, _test_groups, _val_groups
from tsnlib.synthetic.render import _iter_frames
from tsnlib.synthetic import scene as action_scene
from tsnlib.synthetic.scene import _TEMPLATE, _actor_boxes, _random_colour, _scene
from tsnlib.synthetic.truth import _truth_to_python, _write_npz_deterministic
from tsnlib.utils import run_per_video, synthetic_root, write_stamp

#: bump when the generator's output changes: an existing dataset with another version is regenerated
GENERATOR_VERSION = "1"

#: the tag categories and their tags, in label order (a clip has exactly one tag of each category)
TAG_CATEGORIES: dict[str, list[str]] = {
    "shape": ["disc", "square", "egg"],
    "texture": ["plain", "striped", "dotted"],
    "colour": ["yellow", "green", "cyan", "magenta"],
    "motion": ["still", "left", "right", "rotate"],
    "background": ["smooth", "patchy"],
}

#: every tag in label order: tag id ``i`` is ``TAGS[i]``
TAGS: list[str] = [tag for tags in TAG_CATEGORIES.values() for tag in tags]

#: the hue (0..1) at the centre of each colour family; a clip's actor takes a hue within 0.04 of it
COLOUR_HUES = {"yellow": 0.15, "green": 0.33, "cyan": 0.5, "magenta": 0.82}

#: the :mod:`tsnlib.synthetic` actor whose mask gives each shape
_SHAPE_KINDS = {"disc": "PlainDisc", "square": "PlainSquare", "egg": "egg"}

#: the :mod:`tsnlib.synthetic` class whose scene a clip takes: its camera shake, background drift, distractors
#: and noise (drawn alike for every class); the actor and the background's look are replaced
_SCENE_CLASS = "RotateCW"

#: the background's contrast (:mod:`tsnlib.synthetic`'s ``bg_contrast``) of each background kind
_CONTRAST = {"smooth": (0.0, 0.1), "patchy": (2.5, 3.5)}

#: a namespace for the random streams of :func:`tsnlib.synthetic.scene._scene`, apart from its own classes'
_STREAM = 1000

#: the size presets of :func:`generate_tags`
SIZES: dict[str, dict] = {
    "default": {"num_videos": 480, "duration_s": (1.2, 2.0)},
    "tiny": {"num_videos": 48, "duration_s": (1.0, 1.4)},
}

#: clips per group; whole groups go to one subset
CLIPS_PER_GROUP = 4

#: what the list files are called: ``tags_<subset>_split_1_rawframes.txt``
LIST_PREFIX = "tags"

MANIFEST = "tags.json"
CATEGORY_FILE = "tag_categories.csv"
FRAMES_DIR = "rawframes"
_PARTIAL_MANIFEST = "tags.partial.json"


@dataclass(frozen=True)
class TagClip:
    """Everything that determines one clip of the tag dataset (all its randomness derives from these).

    ``tags``: one tag per category, in :data:`TAG_CATEGORIES` order; ``group`` and ``clip`` are
    1-based.
    """

    video_id: str
    group: int
    clip: int
    tags: tuple[str, ...]
    width: int
    height: int
    num_frames: int
    seed: int

    @property
    def labels(self) -> tuple[int, ...]:
        """The tag ids of the clip, 0-based, in category order (one per category)."""
        return tuple(TAGS.index(t) for t in self.tags)

    def spec(self) -> synthetic.VideoSpec:
        """The :class:`tsnlib.synthetic.VideoSpec` whose scene (camera, background drift, distractors, noise) the
        clip takes."""
        return synthetic.VideoSpec(_SCENE_CLASS, _STREAM, self.group, self.clip, f"{self.video_id}.avi",
                                   self.width, self.height, self.num_frames, synthetic.FPS, self.seed, "xvid")


def tag_category(tag: str) -> str:
    """The category of a tag: ``tag_category("striped") == "texture"``.

    Used by :func:`generate_tags` (notebooks/07_multi_label.ipynb calls it).
    """
    for category, tags in TAG_CATEGORIES.items():
        if tag in tags:
            return category
    raise KeyError(f"unknown tag {tag!r}; the tags are {', '.join(TAGS)}")


def group_subset(group: int, num_groups: int, split: int = 1) -> str:
    """``"train"``, ``"val"`` or ``"test"``: where the 1-based ``group`` goes, as :mod:`tsnlib.synthetic`
    splits its groups (a contiguous block of about 30 % for test, the next 15 % for validation)."""
    if group in _test_groups(num_groups, split):
        return "test"
    if group in _val_groups(num_groups, split):
        return "val"
    return "train"


def plan_tags(size: str = "default", num_videos: int | None = None, seed: int = 0) -> list[TagClip]:
    """The clips :func:`generate_tags` writes, in order, without writing anything.

    Each clip's tags are drawn independently and uniformly per category from ``(seed, group, clip)``,
    so that they co-occur freely. ``num_videos`` (default: the ``size`` preset's) is rounded up to
    whole groups of :data:`CLIPS_PER_GROUP` clips, at least 3 groups (train, validation, test).

    Used by :func:`generate_tags` (notebooks/07_multi_label.ipynb calls it).
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {tuple(SIZES)}, got {size!r}")
    preset = SIZES[size]
    n = preset["num_videos"] if num_videos is None else int(num_videos)
    num_groups = max(3, -(-n // CLIPS_PER_GROUP))
    frame_sizes = synthetic.SIZES["default"]
    clips = []
    for g in range(1, num_groups + 1):
        for c in range(1, CLIPS_PER_GROUP + 1):
            rng = _rng(seed, 21, g, c)
            tags = tuple(str(rng.choice(tags)) for tags in TAG_CATEGORIES.values())
            width, height = int(rng.choice(frame_sizes["widths"])), int(rng.choice(frame_sizes["heights"]))
            num_frames = int(round(rng.uniform(*preset["duration_s"]) * synthetic.FPS))
            clips.append(TagClip(f"tags_g{g:03d}_c{c:02d}", g, c, tags, width, height, num_frames,
                                 int(seed)))
    return clips


# ----------------------------------------------------------------------------------------------
# One clip: its actor, its scene, its frames
# ----------------------------------------------------------------------------------------------


def _actor_template(shape: str, texture: str, c1: np.ndarray, c2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The actor's RGBA template, float32 ``(S, S, 4)``, RGB premultiplied by alpha (as :mod:`tsnlib.synthetic`'s).

    The mask is that of :mod:`tsnlib.synthetic`'s actor of the shape; the dress is drawn here: colour
    ``c1`` with a pattern ``w`` (0: ``c1``, 1: ``c2``) of stripes or dots, and a dark mark off the centre.
    """
    alpha = action_scene._actor_template(_SHAPE_KINDS[shape], rng, c1, c1)[..., 3]
    s = alpha.shape[0]
    y, x = np.mgrid[0:s, 0:s].astype(np.float32) - (s - 1) / 2
    if texture == "striped":  # soft-edged stripes 14-20 px apart, at any angle
        period, angle, phase = rng.uniform(14, 20), rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
        w = np.clip(0.5 + 2.5 * np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period + phase), 0, 1)
    elif texture == "dotted":  # dots of radius ~5 px on a square grid 15-19 px apart
        spacing, radius = rng.uniform(15, 19), rng.uniform(4.5, 5.5)
        gx, gy = (x + rng.uniform(0, spacing)) % spacing - spacing / 2, (y + rng.uniform(0, spacing)) % spacing - spacing / 2
        w = np.clip(radius + 0.5 - np.hypot(gx, gy), 0, 1)
    else:
        w = np.zeros_like(x)
    rgb = c1 * (1 - w[..., None]) + c2 * w[..., None]
    mark = np.clip(7.5 - np.hypot(x - 0.3 * s, y + 0.1 * s), 0, 1)[..., None]  # rotation shows on every shape
    rgb = rgb * (1 - 0.8 * mark)
    return np.concatenate([rgb * alpha[..., None], alpha[..., None]], axis=-1).astype(np.float32)


def _actor_track(motion: str, W: int, H: int, T: int, camera: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The actor's ``cx, cy, angle, scale`` per frame, float32 ``(T, 4)`` (:func:`tsnlib.synthetic.load_truth`'s
    ``actor``), camera shake included.

    One size and position distribution for every motion tag (a diameter of 0.45-0.6 x H, the
    appearance classes' of :mod:`tsnlib.synthetic`; a uniform angle), so that a single frame tells
    no motion apart, but for ``left`` and ``right`` actors being partly outside the frame as they
    wrap round: a conveyor at 1.2-2 % of the width per frame; ``rotate`` turns 7-12 degrees per frame,
    either way.
    """
    t = np.arange(T, dtype=np.float64)
    diameter = rng.uniform(0.45, 0.6) * H
    margin = diameter / 2 + 2
    cx = np.full(T, rng.uniform(margin, W - margin))
    cy = np.full(T, rng.uniform(margin, H - margin))
    angle = np.full(T, rng.uniform(0, 360))
    if motion in ("left", "right"):
        reach = diameter * 0.75 + 1  # the template's half-diagonal on screen: wholly outside beyond it
        span = W + 2 * reach
        speed = rng.uniform(0.012, 0.02) * W * (1 if motion == "right" else -1)
        cx = np.mod(rng.uniform(0, span) + speed * t, span) - reach
    elif motion == "rotate":
        angle = angle + rng.uniform(7.0, 12.0) * rng.choice([-1.0, 1.0]) * t
    scale = np.full(T, diameter / _TEMPLATE)
    return np.stack([cx + camera[:, 0], cy + camera[:, 1], angle, scale], axis=1).astype(np.float32)


def _clip_scene(clip: TagClip) -> tuple[dict, dict]:
    """Ground truth and scene of one clip, in :func:`tsnlib.synthetic.scene._scene`'s format: the camera,
    background drift, distractors and noise of a :mod:`tsnlib.synthetic` scene, with the actor, its
    motion and the background's colours and contrast drawn from the clip's tags."""
    truth, scene = _scene(clip.spec())
    shape, texture, colour, motion, background = clip.tags
    rng = _rng(clip.seed, 22, clip.group, clip.clip)
    for _ in range(200):  # keep the actor visible: its colour differs from the background's colours and their mean
        bg = np.stack([_random_colour(rng, saturation=(0.5, 1.0), value=(0.5, 1.0)) for _ in range(2)])
        c1 = _random_colour(rng, hue=COLOUR_HUES[colour])
        far = min(np.abs(c1 - b).sum() for b in (*bg, bg.mean(0))) > 150
        if far and (background == "smooth" or np.abs(bg[0] - bg[1]).sum() > 150):  # patches must show
            break
    c2 = np.full(3, rng.uniform(15, 60), dtype=np.float32)  # stripes and dots in dark grey: the colour tag is c1's
    template = _actor_template(shape, texture, c1.astype(np.float32), c2, rng)
    H, W = (int(v) for v in truth["frame_size"])
    actor = _actor_track(motion, W, H, clip.num_frames, truth["camera"].astype(np.float64), rng)
    alpha = np.rint(template[..., 3] * 255).astype(np.uint8)
    truth.update(actor=actor, actor_alpha=alpha, boxes=_actor_boxes(alpha, actor, W, H),
                 class_name=np.array(" ".join(clip.tags)), group=np.array("tags"), video_id=np.array(clip.video_id))
    scene.update(template=template, bg_colours=bg.astype(np.float32), bg_contrast=rng.uniform(*_CONTRAST[background]))
    return truth, scene


def render_clip(clip: TagClip) -> np.ndarray:
    """The frames of one clip as rendered (before resizing), uint8 ``(T, H, W, 3)`` RGB.

    Used by :func:`generate_tags` (notebooks/07_multi_label.ipynb calls it).
    """
    truth, scene = _clip_scene(clip)
    return np.stack(list(_iter_frames(clip.spec(), truth, scene)))


def make_clip_truth(clip: TagClip) -> dict:
    """The ground truth of one clip, as :func:`tsnlib.synthetic.load_truth` returns it once written;
    ``class_name`` holds the clip's tags, space-separated, and ``group`` is ``"tags"``."""
    truth, _ = _clip_scene(clip)
    return _truth_to_python(truth)


def _write_clip(clip: TagClip, folder: str, short_side: int) -> int:
    """Render one clip into the frame folder ``folder`` (written beside, renamed when complete) and its
    truth file beside it; returns the number of frames."""
    folder = Path(folder)
    truth, scene = _clip_scene(clip)
    with atomic_folder(folder) as tmp:
        h, w = resized_size(clip.height, clip.width, short_side=short_side)
        for i, frame in enumerate(_iter_frames(clip.spec(), truth, scene)):
            small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
            write_jpeg(frame_path(tmp, i), cv2.cvtColor(small, cv2.COLOR_RGB2BGR), 95)
        _write_npz_deterministic(synthetic.truth_path(folder), truth)
    return clip.num_frames


def _init_worker() -> None:
    cv2.setNumThreads(1)


# ----------------------------------------------------------------------------------------------
# The dataset
# ----------------------------------------------------------------------------------------------


def tags_root(path=None) -> Path:
    """The default folder of the tag dataset, ``<data>/synthetic/tags`` (``path`` when given)."""
    return synthetic_root(path, layout="tags")


def load_tags_manifest(root) -> dict:
    """The ``tags.json`` of a generated tag dataset.

    Keys: ``generator``, ``version``, ``size``, ``seed``, ``short_side``, ``num_videos``, ``tags``
    (label order), ``categories`` (category -> its tags), ``videos`` (``video_id -> {"tags",
    "subset", "group"}``), ``subsets`` (subset -> number of clips), ``list_files``.

    Introduced in notebooks/07_multi_label.ipynb.
    """
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DataError("not a tag dataset: no tags.json (generate it with tsnlib.synthetic_tags.generate_tags)",
                        path=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"unreadable tag manifest: {exc}", path=path) from exc


def read_tag_categories(path) -> dict[str, str]:
    """``{tag: category}`` from a ``tag_categories.csv`` (a ``tag,category`` header, then one tag per line),
    or from the dataset folder holding it; in file order.

    Introduced in notebooks/07_multi_label.ipynb.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CATEGORY_FILE
    if not path.is_file():
        raise DataError("no tag category file", path=path, hint="generate_tags writes tag_categories.csv")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines or lines[0].replace(" ", "").lower() != "tag,category":
        raise DataError("expected the header 'tag,category'", path=path, source=f"{path.name}:1")
    out: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2 or not all(parts) or parts[0] in out:
            raise DataError(f"expected '<tag>,<category>' with a new tag, got {line!r}", path=path,
                            source=f"{path.name}:{number}")
        out[parts[0]] = parts[1]
    return out


def _manifest_key(size: str, seed: int, short_side: int, clips: list[TagClip]) -> dict:
    return {"generator": "tsnlib.synthetic_tags", "version": GENERATOR_VERSION, "size": size, "seed": int(seed),
            "short_side": int(short_side), "num_videos": len(clips), "tags": TAGS}


def _complete(root: Path, manifest: dict) -> bool:
    return (all((root / FRAMES_DIR / v).is_dir() and synthetic.truth_path(root / FRAMES_DIR / v).is_file()
                for v in manifest.get("videos", {}))
            and all((root / rel).is_file() for rel in manifest.get("list_files", [])))


def _start(root: Path, key: dict) -> None:
    """Remove an earlier tag dataset under ``root`` (never anybody else's data) and mark the folder as
    one being written (``tags.partial.json``, until ``tags.json`` replaces it)."""
    ours = (root / MANIFEST).is_file() or (root / _PARTIAL_MANIFEST).is_file()
    if (root / FRAMES_DIR).exists() and not ours:
        raise DataError(f"{root} already holds {FRAMES_DIR}/ but no {MANIFEST}: refusing to overwrite what may be "
                        "another dataset; choose another root", path=root)
    shutil.rmtree(root / FRAMES_DIR, ignore_errors=True)
    (root / MANIFEST).unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    (root / _PARTIAL_MANIFEST).write_text(json.dumps(key), encoding="utf-8")


def _write_lists(root: Path, clips: list[TagClip]) -> list[str]:
    """Write the label map, the category map and one multi-label frame list per subset; returns their paths."""
    LabelMap(TAGS).to_file(root / "classInd.txt")
    (root / CATEGORY_FILE).write_text("tag,category\n" + "".join(f"{t},{tag_category(t)}\n" for t in TAGS),
                                      encoding="utf-8")
    num_groups = max(c.group for c in clips)
    written = ["classInd.txt", CATEGORY_FILE]
    for subset in ("train", "val", "test"):
        records = [VideoRecord(path=root / FRAMES_DIR / c.video_id, label=c.labels[0], num_frames=c.num_frames,
                               video_id=c.video_id, labels=c.labels)
                   for c in clips if group_subset(c.group, num_groups) == subset]
        name = f"{LIST_PREFIX}_{subset}_split_1_rawframes.txt"
        write_list_file(records, root / name, kind="frames")
        written.append(name)
    return written


def generate_tags(root=None, size: str = "default", num_videos: int | None = None, seed: int = 0,
                  short_side: int = 54, workers: int | None = None, progress: bool = True, force: bool = False) -> Path:
    """Write the synthetic tag dataset under ``root`` (default ``<data>/synthetic/tags``); returns ``root``.

    ``root/rawframes/<video_id>/img_00001.jpg ...`` (frames resized to ``short_side``, the course's
    54 px) with ``root/rawframes/<video_id>.truth.npz`` beside each folder, the multi-label lists
    ``root/tags_{train,val,test}_split_1_rawframes.txt`` (``"rawframes/<video_id> <total_frames>
    <tag id> ..."``), ``root/classInd.txt``, ``root/tag_categories.csv`` and ``root/tags.json``
    (see the module docstring). ``size="default"``: 480 clips of 1.2-2 s (5-7 s on two cores);
    ``"tiny"``: 48 clips of 1-1.4 s (tests). ``num_videos`` overrides the preset's count.

    Idempotent: when ``tags.json`` matches the parameters and every file exists, returns at once;
    ``force=True`` regenerates; so does any other case (a run that stopped half-way is redone: it
    takes seconds).
    ``workers``: processes (default: one per CPU core for the default size, none for small jobs).

    Introduced in notebooks/07_multi_label.ipynb.
    """
    root = tags_root(root)
    clips = plan_tags(size, num_videos, seed)
    key = _manifest_key(size, seed, short_side, clips)
    manifest_path = root / MANIFEST
    if not force and manifest_path.is_file():
        try:
            existing = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            existing = {}
        if {k: existing.get(k) for k in key} == key and _complete(root, existing):
            return root
    _start(root, key)

    if workers is None:  # starting processes (about a second each) costs more than it saves on small jobs
        workers = (os.cpu_count() or 1) if sum(c.num_frames for c in clips) >= 4000 else 0
    jobs = {c.video_id: (c, str(root / FRAMES_DIR / c.video_id), int(short_side)) for c in clips}
    _, failures = run_per_video(_write_clip, jobs, {c.video_id: c.video_id for c in clips}, workers=workers,
                                desc="tag clips", show_progress=progress, initializer=_init_worker)
    if failures:
        raise DataError(f"{len(failures)} clip(s) could not be written, e.g. {failures[0][0]}: {failures[0][1]}",
                        path=root)

    list_files = _write_lists(root, clips)
    num_groups = max(c.group for c in clips)
    subsets = {c.video_id: group_subset(c.group, num_groups) for c in clips}
    manifest = {**key, "categories": TAG_CATEGORIES,
                "subsets": {s: sum(v == s for v in subsets.values()) for s in ("train", "val", "test")},
                "videos": {c.video_id: {"tags": list(c.tags), "subset": subsets[c.video_id], "group": c.group}
                           for c in clips},
                "list_files": list_files}
    write_stamp(manifest_path, manifest)  # atomically: a manifest is there only when the set is complete
    (root / _PARTIAL_MANIFEST).unlink(missing_ok=True)
    return root
