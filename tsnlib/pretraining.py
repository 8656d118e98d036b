"""Pre-training without a download: a generated image-classification set stands in for ImageNet.

Introduced in notebooks/08_paper_tables.ipynb (Table 1: the pre-trained rows), through
:mod:`tsnlib.paper_tables`.

The paper's largest single gain is ImageNet pre-training (Table 1: the spatial stream goes from
48.7 % trained from scratch to 84.1 % pre-trained on UCF101 split 1). The course's ``resnet8`` has no
ImageNet weights and the course runs offline, so this module makes a stand-in: a large, generic
image set drawn in memory, disjoint from the action classes of :mod:`tsnlib.synthetic`, on which the
backbone learns shapes, textures and colours for a few minutes before it ever sees a video.

* :data:`SHAPES` x :data:`TEXTURES` x :data:`COLOURS`: 5 x 4 x 4 = 80 classes, named
  ``<Colour><Texture><Shape>`` (``LimeCheckedStar``). None of the shapes is an actor of the action set
  (discs, a square, the egg), none of the textures its stripes or dots, and every colour family lies
  in a hue range that no appearance class (:data:`tsnlib.synthetic.scene._ACTOR_HUES`, within 0.04) and
  no flash (:data:`tsnlib.synthetic.scene._FLASH_HUES`) uses.
* Images are uint8 ``(N, 54, 54, 3)`` RGB: one object (three to seven tenths of the frame across, any
  angle, anywhere) on the action set's own kind of background (its textures, :func:`tsnlib.synthetic.scene._texture_bank`,
  in two random colours) with sensor noise; the network sees random 48-px crops (validation: the
  centre crop), as the course's snippets are 48-px crops of frames with a short side of 54.
  Deterministic from a seed; image ``i`` of a class depends only on ``(seed, split, class, i)``.
* :func:`pretrain_backbone` trains a :class:`tsnlib.models.TSN` with the course backbone and one
  view per sample (``num_segments=1``: a plain image classifier with its own 80-way head), reports
  its top-1 on a validation split of the image set, and caches the *backbone* state dict under
  ``<output>/pretrained/<name>.pth`` with a JSON stamp beside it; ``model.pretrained=<that path>``
  loads it like any other weight file.
* :func:`course_pretrained` is what a notebook asks: the ``model.pretrained`` value to use and
  where it came from (a real ImageNet file when there is one, else the stand-in).
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tsnlib.checkpoints import load_checkpoint, save_checkpoint
from tsnlib.errors import CheckpointError, ConfigError, UsageError
from tsnlib.evaluation import wilson_interval
from tsnlib.backbones import COURSE_BACKBONES, imagenet_weights_path
from tsnlib.models import TSN, get_param_groups
from tsnlib.synthetic import plan, scene
from tsnlib.training import lr_at
from tsnlib.utils import get_device, output_dir, progress, read_stamp, seed_everything, stamp_changes, write_stamp

__all__ = [
    "IMAGESET_VERSION",
    "SHAPES",
    "TEXTURES",
    "COLOURS",
    "IMAGE_CLASSES",
    "IMAGE_SIZE",
    "CROP_SIZE",
    "StandInSettings",
    "SMOKE_SETTINGS",
    "make_images",
    "pretrain_backbone",
    "cache_paths",
    "course_pretrained",
]

#: bump when the images change: a cached backbone made with another version is not reused
IMAGESET_VERSION = "1"

#: object shapes; the action set's actors are discs, a square and an egg
SHAPES = ("Triangle", "Star", "Ring", "Cross", "Hexagon")
#: surface patterns; the action set's are plain, straight stripes and dots
TEXTURES = ("Checked", "Wavy", "Gradient", "Marbled")
#: colour families, hue in 0..1 (a colour is drawn within :data:`HUE_JITTER` of it). The hues that are left
#: once the appearance classes (0.15, 0.33, 0.5, 0.82, each within 0.04) and the flashes (red 0.9..0.1,
#: blue 0.6..0.74) are taken out: 0.19-0.29, 0.37-0.46, 0.54-0.6, 0.74-0.78, 0.86-0.9
COLOURS = {"Lime": 0.24, "Jade": 0.415, "Azure": 0.57, "Violet": 0.76}
HUE_JITTER = 0.015

#: every class, in a fixed order (its index is the label; the seeds depend on it)
IMAGE_CLASSES: list[str] = [f"{c}{t}{s}" for c in COLOURS for t in TEXTURES for s in SHAPES]

IMAGE_SIZE = 54  # the course's frames have a short side of 54 ...
CROP_SIZE = 48   # ... and the network sees 48-px crops of them
_TEMPLATE = 64   # objects are drawn at this size, then warped into the image
_SPLITS = {"train": 0, "val": 1}


# ----------------------------------------------------------------------------------------------
# The image set
# ----------------------------------------------------------------------------------------------


def _family_colour(rng: np.random.Generator, hue: float) -> np.ndarray:
    """A saturated colour of one family, float32 ``(3,)`` in 0..255: hue within :data:`HUE_JITTER`."""
    h = (hue + rng.uniform(-HUE_JITTER, HUE_JITTER)) % 1.0
    return np.array(colorsys.hsv_to_rgb(h, rng.uniform(0.6, 1.0), rng.uniform(0.65, 1.0)), dtype=np.float32) * 255


def _polygon(points: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a polygon ``(P, 2)`` (template pixels), float32 ``(S, S)``."""
    import cv2

    mask = np.zeros((_TEMPLATE, _TEMPLATE), np.uint8)
    cv2.fillPoly(mask, [np.rint(points * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255


def _shape_alpha(shape: str, rng: np.random.Generator, r: np.ndarray) -> np.ndarray:
    """The coverage ``(S, S)`` of a shape centred in the template; ``r``: each pixel's distance to the centre."""
    c = (_TEMPLATE - 1) / 2
    radius = _TEMPLATE / 2 - 2

    def ring_of(n: int, radii) -> np.ndarray:
        a = -np.pi / 2 + np.arange(n) * 2 * np.pi / n
        return np.stack([c + np.asarray(radii) * np.cos(a), c + np.asarray(radii) * np.sin(a)], axis=1)

    if shape == "Triangle":
        return _polygon(ring_of(3, radius))
    if shape == "Hexagon":
        return _polygon(ring_of(6, radius * 0.95))
    if shape == "Star":
        inner = rng.uniform(0.4, 0.5)
        return _polygon(ring_of(10, np.tile([radius, radius * inner], 5)))
    if shape == "Cross":
        arm = radius * rng.uniform(0.3, 0.4)
        xs = [-arm, arm, arm, radius, radius, arm, arm, -arm, -arm, -radius, -radius, -arm]
        ys = [-radius, -radius, -arm, -arm, arm, arm, radius, radius, arm, arm, -arm, -arm]
        return _polygon(np.stack([c + np.array(xs), c + np.array(ys)], axis=1))
    if shape == "Ring":
        hole = radius * rng.uniform(0.45, 0.6)
        return np.clip(radius + 0.5 - r, 0, 1) * np.clip(r - hole + 0.5, 0, 1)
    raise ValueError(f"unknown shape {shape!r}: one of {SHAPES}")


def _texture_weight(texture: str, rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """How much of the second colour each template pixel shows, float32 ``(S, S)`` in [0, 1]."""
    phi = rng.uniform(0, np.pi)
    u = x * np.cos(phi) + y * np.sin(phi)
    v = -x * np.sin(phi) + y * np.cos(phi)
    if texture == "Checked":
        p = rng.uniform(9, 14)
        ou, ov = rng.uniform(0, p, 2)
        return ((np.floor((u + ou) / p) + np.floor((v + ov) / p)) % 2).astype(np.float32)
    if texture == "Wavy":
        p = rng.uniform(10, 15)
        bend = rng.uniform(3, 6) * np.sin(2 * np.pi * v / rng.uniform(16, 26) + rng.uniform(0, 2 * np.pi))
        return np.clip(0.5 + 2.0 * np.sin(2 * np.pi * (u + bend) / p + rng.uniform(0, 2 * np.pi)), 0, 1)
    if texture == "Gradient":
        return np.clip(0.5 + u / _TEMPLATE * rng.uniform(1.3, 1.8), 0, 1).astype(np.float32)
    if texture == "Marbled":
        return scene._smooth_noise(rng, (_TEMPLATE, _TEMPLATE), rng.uniform(2.0, 3.0))
    raise ValueError(f"unknown texture {texture!r}: one of {TEXTURES}")


def _object_template(class_index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The object of one image: premultiplied RGBA float32 ``(S, S, 4)`` and its main colour ``(3,)``."""
    colour, texture, shape = _class_parts(class_index)
    yy, xx = np.mgrid[0:_TEMPLATE, 0:_TEMPLATE].astype(np.float32)
    x, y = xx - (_TEMPLATE - 1) / 2, yy - (_TEMPLATE - 1) / 2
    alpha = _shape_alpha(shape, rng, np.sqrt(x**2 + y**2))
    c1 = _family_colour(rng, COLOURS[colour])
    c2 = c1 * rng.uniform(0.25, 0.45)  # the same hue, darker: the family stays the class's
    w = _texture_weight(texture, rng, x, y)[..., None]
    rgb = c1 * (1 - w) + c2 * w
    return np.concatenate([rgb * alpha[..., None], alpha[..., None]], axis=-1).astype(np.float32), c1


def _class_parts(class_index: int) -> tuple[str, str, str]:
    """``(colour, texture, shape)`` of a class index (the order of :data:`IMAGE_CLASSES`)."""
    n_s, n_t = len(SHAPES), len(TEXTURES)
    return list(COLOURS)[class_index // (n_s * n_t)], TEXTURES[class_index // n_s % n_t], SHAPES[class_index % n_s]


def _render_image(seed: int, split: int, class_index: int, i: int) -> np.ndarray:
    """One image, uint8 ``(IMAGE_SIZE, IMAGE_SIZE, 3)`` RGB, from ``(seed, split, class, i)`` alone."""
    import cv2

    rng = plan._rng(seed, 100, split, class_index, i)
    template, c1 = _object_template(class_index, rng)
    n = IMAGE_SIZE
    for _ in range(50):  # a background the object stands out from (as the action set keeps its actor visible)
        bg = np.stack([scene._random_colour(rng, saturation=(0.3, 1.0), value=(0.3, 1.0)) for _ in range(2)])
        if min(np.abs(c1 - c).sum() for c in bg) > 150:
            break
    bank = scene._texture_bank(seed)
    ids = rng.choice(len(bank), size=2, replace=False)
    oy, ox = rng.integers(0, bank.shape[1] - n, 2)
    n1, n2 = bank[ids[0], oy:oy + n, ox:ox + n], bank[ids[1], oy:oy + n, ox:ox + n]
    mix = (0.5 + rng.uniform(0.25, 0.5) * (n1 - 0.5))[..., None]
    image = (bg[0] + (bg[1] - bg[0]) * mix) * (0.75 + 0.5 * n2)[..., None]

    # the object: a similarity transform of the template (any angle, a fifth to two thirds of the frame)
    d = rng.uniform(0.3, 0.7) * n
    scale = d / _TEMPLATE
    cx, cy = rng.uniform(d / 3, n - d / 3, 2)  # may be cut by the edge, never mostly outside
    m = cv2.getRotationMatrix2D(((_TEMPLATE - 1) / 2, (_TEMPLATE - 1) / 2), rng.uniform(0, 360), scale)
    m[:, 2] += (cx - (_TEMPLATE - 1) / 2, cy - (_TEMPLATE - 1) / 2)
    if scale < 0.8:  # shrinking: low-pass first, as the action set's renderer does
        template = cv2.GaussianBlur(template, (0, 0), 0.6 * math.sqrt(1 / scale**2 - 1))
    warped = cv2.warpAffine(template, m, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    image = image * (1 - warped[..., 3:]) + warped[..., :3]
    image += rng.normal(0, 2.5, image.shape)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def make_images(per_class: int, seed: int = 0, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` images of every class of :data:`IMAGE_CLASSES`: uint8 ``(N, 54, 54, 3)`` RGB and int64 labels ``(N,)``.

    ``N = per_class * 80``, class by class (class ``k`` holds rows ``k * per_class`` to
    ``(k + 1) * per_class - 1``). ``split``: ``"train"`` or ``"val"``, drawn from separate random
    streams, so the validation images are other images than the training ones. Deterministic: the same
    ``(per_class, seed, split)`` gives the same bytes; a larger ``per_class`` adds images and keeps the
    first ones. About 2 ms an image on one (busy) CPU core.

    Used by :mod:`tsnlib.paper_tables` (notebooks/08_paper_tables.ipynb, Table 1).
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {tuple(_SPLITS)}, got {split!r}")
    if int(per_class) < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}")
    k = len(IMAGE_CLASSES)
    images = np.empty((k * per_class, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    for c in range(k):
        for i in range(per_class):
            images[c * per_class + i] = _render_image(seed, _SPLITS[split], c, i)
    return images, np.repeat(np.arange(k, dtype=np.int64), per_class)


# ----------------------------------------------------------------------------------------------
# Pre-training and its cache
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StandInSettings:
    """Everything that determines a stand-in backbone (the cache's key: another value trains another one).

    The defaults are the course's: 80 x 100 training images, 6 epochs (about 3.5 minutes on one busy CPU core,
    see :func:`pretrain_backbone`). ``max_steps`` (None: every batch) stops each epoch early, as smoke
    runs do.
    """

    backbone: str = "resnet8"
    seed: int = 0
    train_per_class: int = 100
    val_per_class: int = 25
    epochs: int = 6
    batch_size: int = 64
    lr: float = 0.1
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    max_steps: int | None = None


#: the tests' and smoke mode's settings: seconds, not minutes (the backbone learns next to nothing)
SMOKE_SETTINGS = StandInSettings(train_per_class=2, val_per_class=1, epochs=1, batch_size=16, max_steps=3)


def cache_paths(name: str, out=None) -> tuple[Path, Path]:
    """``(<output>/pretrained/<name>.pth, <output>/pretrained/<name>.json)``: the weights and their stamp."""

    folder = output_dir(out) / "pretrained"
    return folder / f"{name}.pth", folder / f"{name}.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _wanted_stamp(settings: StandInSettings) -> dict:
    """The part of the stamp that must match for a cached backbone to be reused."""
    return {"imageset_version": IMAGESET_VERSION, "num_classes": len(IMAGE_CLASSES), "image_size": IMAGE_SIZE,
            "crop_size": CROP_SIZE, **asdict(settings)}


def _crop_batch(images: torch.Tensor, rng: np.random.Generator | None) -> torch.Tensor:
    """``(B, 3, 54, 54)`` uint8 → ``(B, 3, 48, 48)``: random crops and horizontal flips, or the centre (``rng`` None)."""
    n, c = images.shape[-1], CROP_SIZE
    if rng is None:
        o = (n - c) // 2
        return images[..., o:o + c, o:o + c]
    offsets = rng.integers(0, n - c + 1, (len(images), 2))
    flips = rng.random(len(images)) < 0.5
    out = torch.stack([images[j, :, y:y + c, x:x + c] for j, (y, x) in enumerate(offsets)])
    out[torch.from_numpy(flips)] = out[torch.from_numpy(flips)].flip(-1)
    return out


@torch.no_grad()
def _top1(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, device, batch: int = 256) -> int:
    model.eval()
    correct = 0
    for i in range(0, len(images), batch):
        x = _crop_batch(images[i:i + batch], None).to(device)
        correct += int((model.forward_views(x).argmax(1).cpu() == labels[i:i + batch]).sum())
    return correct


def _train(settings: StandInSettings, device, verbose: bool) -> tuple[dict, dict]:
    """Train on the image set; returns the backbone state dict and what the stamp records of the run."""

    s = settings
    start = time.perf_counter()
    x_train, y_train = make_images(s.train_per_class, s.seed, "train")
    x_val, y_val = make_images(s.val_per_class, s.seed, "val")
    generate_s = time.perf_counter() - start
    to_tensor = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()  # noqa: E731 (N, 3, H, W) uint8
    x_train, x_val = to_tensor(x_train), to_tensor(x_val)
    y_train, y_val = torch.from_numpy(y_train), torch.from_numpy(y_val)

    seed_everything(s.seed)
    # one view per sample: TSN with K = 1 is a plain image classifier, and normalises uint8 input as in fine-tuning
    model = TSN(len(IMAGE_CLASSES), backbone=s.backbone, num_segments=1, dropout=0.0, partial_bn=False,
                fc_init_std=0.01).to(device)
    optim_cfg = {"lr": s.lr, "schedule": "cosine", "epochs": s.epochs, "warmup_epochs": min(1.0, s.epochs / 4)}
    groups = get_param_groups(model, s.lr, s.weight_decay)
    optimizer = torch.optim.SGD(groups, lr=s.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=s.label_smoothing)
    rng = np.random.default_rng(np.random.SeedSequence([s.seed, 101]))
    steps = math.ceil(len(x_train) / s.batch_size)
    if s.max_steps is not None:
        steps = min(steps, int(s.max_steps))
    history = []
    for epoch in range(s.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(x_train)))
        total = 0.0
        bar = progress(range(steps), desc=f"stand-in pre-training, epoch {epoch + 1}/{s.epochs}", unit="batch",
                       **({} if verbose else {"disable": True}))  # verbose: a bar unless TSN_PROGRESS=off
        for step in bar:
            for g in optimizer.param_groups:
                g["lr"] = lr_at(optim_cfg, epoch + step / steps) * g["lr_mult"]
            idx = order[step * s.batch_size:(step + 1) * s.batch_size]
            x = _crop_batch(x_train[idx], rng).to(device)
            loss = loss_fn(model.forward_views(x), y_train[idx].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
        correct = _top1(model, x_val, y_val, device)
        history.append({"epoch": epoch + 1, "train_loss": total / steps, "val_top1": correct / len(x_val)})
        if verbose:
            print(f"tsnlib: stand-in pre-training epoch {epoch + 1}/{s.epochs}: loss {total / steps:.3f}, "
                  f"val top-1 {correct / len(x_val):.3f} ({len(x_val)} images, chance {1 / len(IMAGE_CLASSES):.3f})")
    lo, hi = wilson_interval(correct, len(x_val))
    record = {"val_top1": correct / len(x_val), "val_correct": correct, "val_images": len(x_val),
              "val_interval": [lo, hi], "chance": 1 / len(IMAGE_CLASSES), "train_images": len(x_train),
              "generate_seconds": round(generate_s, 2), "seconds": round(time.perf_counter() - start, 2),
              "history": history, "device": str(device)}
    state = {k[len("backbone."):]: v.detach().cpu().clone() for k, v in model.state_dict().items()
             if k.startswith("backbone.")}
    return state, record


def _check_cached(pth: Path, stamp: dict) -> None:
    """Raise :class:`CheckpointError` when the cached weights are not the file the stamp describes."""

    if not pth.is_file():
        raise CheckpointError(f"the stamp '{pth.with_suffix('.json')}' describes '{pth}', which is missing: "
                              "pretrain again with overwrite=True")
    if _sha256(pth) != stamp.get("sha256"):
        raise CheckpointError(f"the cached stand-in backbone '{pth}' is corrupted (its sha256 differs from its "
                              "stamp's): delete it, or pretrain again with overwrite=True")
    load_checkpoint(pth)  # a file torch cannot read: CheckpointError naming it


def pretrain_backbone(settings: StandInSettings | None = None, out=None, name: str | None = None,
                      overwrite: bool = False, device=None, verbose: bool = True) -> dict:
    """Pre-train the course backbone on the generated image set, or reuse the cached one; returns what it did.

    The network is :class:`tsnlib.models.TSN` with ``settings.backbone`` (default ``resnet8``,
    :class:`tsnlib.backbones.CourseResNet`), ``num_segments=1``, no dropout and its own head of 80
    classes: views ``(B, 3, 48, 48)`` uint8 (random crops and flips of the 54-px images; the
    validation images' centre crops) → scores ``(B, 80)``. SGD with momentum 0.9, the TSN
    optimiser groups (:func:`tsnlib.models.get_param_groups`), a one-epoch warm-up then a cosine
    schedule (:func:`tsnlib.training.lr_at`), cross-entropy with label smoothing. The course's
    default settings take about 3.5 minutes on one busy CPU core (8,000 images x 6 epochs at about 270
    a second); :data:`SMOKE_SETTINGS` a few seconds.

    The cache: ``<output>/pretrained/<name>.pth`` holds the *backbone's* state dict (the keys of
    ``TSN.backbone``: ``conv1.weight``, ``bn1.*``, ``layer1.0.*``, ..., ``neck.*``; no ``fc``), written
    atomically (:func:`tsnlib.checkpoints.save_checkpoint`), so ``model.pretrained=<that path>`` loads it
    strictly. ``<name>.json`` beside it, written after it (atomically too), records the settings, the
    image set's version, the validation top-1 with its 95 % Wilson interval, the time and the file's
    sha256. Default ``name``: ``stand-in_<backbone>`` (``..._smoke`` when ``settings.max_steps`` is set).

    * a stamp with the same settings: the file is checked against the stamp's sha256 and reused, no
      training (a corrupted or unreadable file raises :class:`~tsnlib.errors.CheckpointError`);
    * a stamp with other settings: :class:`~tsnlib.errors.UsageError` naming each change, unless
      ``overwrite`` (trained again; the old stamp is deleted first, so an interrupted run never leaves
      a stamp that describes another file);
    * no stamp (nothing there, or a run interrupted before its stamp): trained.

    Returns ``{"path", "stamp_path", "trained" (bool), "pretrained" (the model.pretrained value: the
    path as a string), "stamp" (the stamp's dict)}``.

    Used by :mod:`tsnlib.paper_tables` (notebooks/08_paper_tables.ipynb, Table 1).
    """

    settings = settings or StandInSettings()
    if name is None:
        name = f"stand-in_{settings.backbone}" + ("_smoke" if settings.max_steps is not None else "")
    pth, stamp_path = cache_paths(name, out)
    wanted = _wanted_stamp(settings)
    old = read_stamp(stamp_path)
    if old:
        changes = stamp_changes({k: old.get(k) for k in wanted}, wanted)
        if not changes:
            _check_cached(pth, old)
            if verbose:
                print(f"tsnlib: reusing the stand-in backbone {pth} (val top-1 {old['val_top1']:.3f}, "
                      f"pre-trained in {old['seconds']:.0f} s)")
            return {"path": pth, "stamp_path": stamp_path, "trained": False, "pretrained": str(pth), "stamp": old}
        if not overwrite:
            raise UsageError(f"'{pth}' was pre-trained with other settings ({changes}): pass overwrite=True to "
                             "train it again, or another name to keep both")
    stamp_path.unlink(missing_ok=True)
    device = get_device(device, verbose=verbose) if not isinstance(device, torch.device) else device
    state, record = _train(settings, device, verbose)
    save_checkpoint(state, pth)
    stamp = {**wanted, **record, "sha256": _sha256(pth), "torch": str(torch.__version__)}
    write_stamp(stamp_path, stamp)
    if verbose:
        lo, hi = record["val_interval"]
        print(f"tsnlib: stand-in backbone saved to {pth}: val top-1 {record['val_top1']:.3f} [{lo:.2f}, {hi:.2f}] "
              f"on {record['val_images']} images (chance {record['chance']:.4f}), {record['seconds']:.0f} s")
    return {"path": pth, "stamp_path": stamp_path, "trained": True, "pretrained": str(pth), "stamp": stamp}


def course_pretrained(backbone: str = "resnet8", out=None, settings: StandInSettings | None = None,
                      weights: str | os.PathLike | None = None, **kwargs) -> dict:
    """The ``model.pretrained`` value of the pre-trained rows of the Table 1 experiment, and where it came from.

    In this order:

    1. ``weights`` (or the environment variable ``TSN_PRETRAINED``): a real weight file given by hand,
       e.g. an ImageNet state dict of the backbone: ``source="file"``;
    2. a torchvision backbone whose ImageNet file is already in the torch hub cache
       (:func:`tsnlib.backbones.imagenet_weights_path`; never downloaded here): ``"imagenet"``,
       ``source="imagenet"``. The course's ``resnet8`` has no ImageNet weights, so this applies only when
       the experiment runs with a torchvision backbone (``resnet18``, ...);
    3. otherwise the stand-in, pre-trained or reused by :func:`pretrain_backbone` (``settings`` and
       ``kwargs`` go to it): ``source="stand-in"``.

    Returns ``{"pretrained": value for model.pretrained, "source": "file" | "imagenet" | "stand-in",
    "label": a row label for the table, "stand_in": pretrain_backbone's dict or None}``. A table built
    from it prints ``label`` beside the pre-trained row, so a reader sees which weights were used.

    Used by :mod:`tsnlib.paper_tables` (notebooks/08_paper_tables.ipynb, Table 1).
    """

    given = weights or os.environ.get("TSN_PRETRAINED")
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise UsageError(f"pre-trained weights not found: '{path}' (weights= or TSN_PRETRAINED)")
        return {"pretrained": str(path), "source": "file", "label": f"pre-trained ({path.name})", "stand_in": None}
    if backbone not in COURSE_BACKBONES and not backbone.startswith("timm:"):
        try:
            if imagenet_weights_path(backbone).is_file():
                return {"pretrained": "imagenet", "source": "imagenet", "label": "ImageNet pre-trained",
                        "stand_in": None}
        except ConfigError:
            pass  # no ImageNet weights in torchvision for this backbone: the stand-in
    settings = replace(settings or StandInSettings(), backbone=backbone)
    result = pretrain_backbone(settings, out=out, **kwargs)
    return {"pretrained": result["pretrained"], "source": "stand-in",
            "label": f"stand-in pre-trained ({len(IMAGE_CLASSES)} generated image classes)", "stand_in": result}

