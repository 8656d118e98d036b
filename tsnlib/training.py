"""The training loop: SGD with TSN's parameter groups, schedules, one step at a time, validation, exact resume.

Introduced in notebooks/03_train_rgb.ipynb (``tsnlib train`` runs the same code from a config).

What one epoch does, and what makes it trustworthy over days of GPU time:

* **One step** (:func:`train_step`): forward, loss, backward, gradient clipping, optimiser step;
  the loop around it (:class:`Trainer`) adds gradient accumulation, DDP's ``no_sync``, the fp16
  loss scaler, logging and the progress bar.
* **Optimiser**: SGD with momentum on :func:`tsnlib.models.get_param_groups` (per-group
  ``lr_mult`` / ``decay_mult``: first conv, weights, biases, BN). The learning rate of *every
  iteration* is :func:`lr_at` ``(optim_cfg, epoch_float)`` — a pure function (constant, step,
  multistep or cosine, each with a linear warm-up) — times the group's ``lr_mult``.
* **Gradient clipping** of the global L2 norm (40 RGB, 20 flow), optional label smoothing,
  optional gradient accumulation (Caffe's ``iter_size``), an optional loss weight
  (``optim.loss_weight``: the loss is scaled before backward, the logged loss is not) and
  MMAction2's ``fc_lr5`` classifier multipliers (``optim.fc_lr5``).
* **Multi-label** runs (``model.multi_label``): the same network, consensus, precision and
  accumulation, with :func:`multi_label_loss` (sigmoid + binary cross-entropy on the consensus
  logits) instead of the softmax cross-entropy, and the validation mAP instead of accuracies.
* **Speed**: mixed precision and channels-last memory as :mod:`tsnlib.precision` decides for
  training and testing alike (fp16 + ``GradScaler`` on CUDA, bf16 on CPUs with native bf16),
  optional ``torch.compile``, DataLoader workers with pinned memory and persistent workers.
* **Validation** after each epoch: K segments, one centre crop (``val_top1``, ``val_top5``,
  ``val_mean_class_accuracy``). This is *not* the paper's test protocol (25 snippets × 10
  crops, ``tsnlib test``, :mod:`tsnlib.inference`); the two are logged under different names.
* **Checkpoints** (:mod:`tsnlib.checkpoints`) written atomically every epoch (``last.pth``,
  ``best.pth``, optionally ``epoch_XXX.pth``) with model, optimiser, GradScaler, epoch, best
  metric, RNG states, the config and the class names — plain data only, so that they load with
  ``torch.load(weights_only=True)``; a checkpoint file can never run code.
* **Exact resume**: data order is a function of ``(seed, epoch)``
  (:class:`tsnlib.distributed.EpochSampler`), augmentation a function of ``(seed, epoch, index)``
  (``TSNDataset(seed=...)``, told the epoch through the sampler, which works with persistent
  workers), the DataLoader never draws from the global generator, and the global RNG states are
  saved at each epoch's end. A run killed mid-training and resumed from ``last.pth`` ends with the
  same weights as an uninterrupted run (bitwise on CPU in fp32).
* **Distributed**: PyTorch DDP launched by ``torchrun`` (:mod:`tsnlib.distributed`: NCCL on CUDA,
  Gloo on CPU), one :class:`~tsnlib.distributed.EpochSampler` shard per process, logging and
  checkpoints on rank 0. Batch-norm statistics are per process unless ``model.sync_bn`` (CUDA) —
  or ``partial_bn`` / ``norm_eval`` freezes them.
* **Logs**: progress bars (loss, accuracy, clips/s), ``metrics.jsonl`` (one JSON line per
  epoch), TensorBoard when installed, :func:`plot_curves`.

:func:`train` builds the data, the model and the trainer from a config
(:mod:`tsnlib.experiment`) and trains.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from tsnlib.checkpoints import (
    CHECKPOINT_FORMAT,
    atomic_write,
    init_from_checkpoint,
    load_checkpoint,
    model_state,
    rng_state,
    set_rng_state,
    save_checkpoint,
    shape_mismatches,
)
from tsnlib.config import _plain, load_config, save_config
from tsnlib.distributed import DistInfo, EpochSampler, all_gather, all_reduce_sum, barrier, setup_distributed
from tsnlib.errors import CheckpointError, ConfigError, DataError, UsageError
from tsnlib.evaluation import evaluate_scores, format_map, mean_average_precision
from tsnlib.experiment import build_datasets, build_loaders, build_model_from_config
from tsnlib.models import get_param_groups, unwrap_model
from tsnlib.plotting import STREAM_COLORS, setup_style
from tsnlib.precision import (
    autocast,
    autocast_dtype,
    channels_last_views,
    grad_scaler,
    precision_name,
    use_channels_last,
)
from tsnlib.utils import _check_device, get_device, output_dir, progress, seed_everything

__all__ = [
    "lr_at",
    "scaled_lr",
    "multi_label_loss",
    "train_step",
    "Trainer",
    "default_work_dir",
    "run_files",
    "read_metrics",
    "plot_curves",
    "train",
]

# ---------------------------------------------------------------------------------------------
# learning rate
# ---------------------------------------------------------------------------------------------


def lr_at(optim_cfg: Mapping, epoch: float) -> float:
    """The base learning rate at ``epoch`` (a float: ``epoch_index + step / steps_per_epoch``).

    Introduced in notebooks/03_train_rgb.ipynb. A pure function of the ``optim`` section:

    * ``constant``: ``lr``;
    * ``step``: ``lr * gamma ** floor(epoch / step_size)``;
    * ``multistep``: ``lr * gamma ** (number of steps s with epoch >= s)`` (decays when epoch
      ``s`` starts, i.e. after ``s`` complete epochs, as MMAction2's ``step=[20, 40]``);
    * ``cosine``: ``min_lr + (lr - min_lr) * (1 + cos(pi * epoch / epochs)) / 2``.

    Linear warm-up multiplies that value by ``f + (1 - f) * epoch / warmup_epochs`` while
    ``epoch < warmup_epochs`` (``f = warmup_start_factor``), so the warm-up starts at ``f * lr``
    and joins the schedule at ``warmup_epochs``. Every parameter group then uses
    ``lr_at(...) * lr_mult``.
    """
    base = float(optim_cfg["lr"])
    schedule = optim_cfg.get("schedule", "constant")
    gamma = float(optim_cfg.get("gamma", 0.1))
    e = float(epoch)
    if schedule == "constant":
        lr = base
    elif schedule == "step":
        size = float(optim_cfg["step_size"])
        lr = base * gamma ** math.floor(e / size + 1e-9)
    elif schedule == "multistep":
        passed = sum(1 for s in optim_cfg.get("steps") or [] if e >= float(s) - 1e-9)
        lr = base * gamma**passed
    elif schedule == "cosine":
        total = float(optim_cfg["epochs"])
        lo = float(optim_cfg.get("min_lr", 0.0))
        t = min(max(e / total, 0.0), 1.0)
        lr = lo + (base - lo) * 0.5 * (1.0 + math.cos(math.pi * t))
    else:
        raise ValueError(f"unknown schedule {schedule!r}: constant | step | multistep | cosine")
    warm = float(optim_cfg.get("warmup_epochs", 0.0) or 0.0)
    if warm > 0 and e < warm:
        f = float(optim_cfg.get("warmup_start_factor", 0.1))
        lr *= f + (1.0 - f) * e / warm
    return lr


def scaled_lr(optim_cfg: Mapping, total_batch: int) -> float:
    """The base lr after the linear scaling rule: ``lr * total_batch / base_batch_size`` if ``auto_scale_lr``.

    ``total_batch`` = processes × ``train.batch_size`` × ``train.accumulate_steps``. Without
    ``auto_scale_lr`` the configured ``lr`` is returned unchanged.

    Used by :class:`Trainer` (``optim.auto_scale_lr``).
    """
    lr = float(optim_cfg["lr"])
    if optim_cfg.get("auto_scale_lr"):
        lr *= float(total_batch) / float(optim_cfg.get("base_batch_size") or total_batch)
    return lr


# ---------------------------------------------------------------------------------------------
# the multi-label loss
# ---------------------------------------------------------------------------------------------


def multi_label_loss(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Binary cross-entropy of a multi-label run, on the consensus logits: the mean over videos and classes.

    ``logits``: ``(N, num_classes)``, the TSN's output (the segmental consensus of the views'
    logits, unchanged); ``targets``: multi-hot float ``(N, num_classes)``. Every class is its own
    yes-or-no question, answered by the sigmoid :math:`\\sigma` of its logit:

    $$ \\ell = -\\frac{1}{N C} \\sum_{n=1}^{N} \\sum_{c=1}^{C} \\Big( y_{nc} \\log \\sigma(s_{nc})
       + (1 - y_{nc}) \\log\\big(1 - \\sigma(s_{nc})\\big) \\Big) $$

    computed from the logits (``binary_cross_entropy_with_logits``, stable for large logits).
    ``label_smoothing`` ``eps`` replaces ``y`` by ``(1 - eps) y + eps / C``, as MMAction2's heads do
    with ``label_smooth_eps`` and as the softmax cross-entropy does for a one-hot ``y``.
    MMAction2's multi-label configs also multiply this mean by a ``loss_weight`` (160 for
    Multi-Moments in Time); here the learning rate is the only scale. Logits and targets of
    different shapes (a model built for another number of classes than the dataset has) raise a
    :class:`~tsnlib.errors.DataError`. Introduced in notebooks/07_multi_label.ipynb.
    """
    if logits.ndim != 2 or tuple(targets.shape) != tuple(logits.shape):
        raise DataError(f"multi-label targets {tuple(targets.shape)} do not match the model's logits "
                        f"{tuple(logits.shape)}", hint="build the model with num_classes = the dataset's number of "
                        "classes (len(label_map)) and the dataset with the same num_classes")
    eps = float(label_smoothing)
    if eps:
        targets = (1.0 - eps) * targets + eps / logits.shape[1]
    return nn.functional.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))


# ---------------------------------------------------------------------------------------------
# one training step
# ---------------------------------------------------------------------------------------------


def train_step(model: nn.Module, batch, optimizer: torch.optim.Optimizer, criterion: Callable, *,
               scaler: torch.amp.GradScaler | None = None, dtype: torch.dtype | None = None, clip_grad: float = 0.0,
               loss_weight: float = 1.0, accumulate_steps: int = 1,
               step: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step of a TSN: forward, loss, backward, gradient clipping, optimiser step.

    Introduced in notebooks/03_train_rgb.ipynb. ``batch``: ``(imgs, labels)`` on the model's device,
    ``imgs`` ``(N, K, C, H, W)`` (the K snippets of N videos; uint8 views are normalised by the
    model), ``labels`` ``(N,)`` class indices (or ``(N, num_classes)`` multi-hot targets for
    :func:`multi_label_loss`). The model's output ``(N, num_classes)`` is the segmental consensus of
    the snippets' scores, and ``criterion(logits, labels)`` its loss, computed in fp32 even under
    autocast (``dtype``, :func:`tsnlib.precision.autocast_dtype`).

    Backward sees ``loss * loss_weight / accumulate_steps`` (``optim.loss_weight``; the mean over the
    ``accumulate_steps`` batches whose gradients add up to one step); the returned loss is unscaled.
    With ``step=False`` the gradients are only accumulated; with ``step=True`` they are unscaled
    (fp16's ``scaler``, :func:`tsnlib.precision.grad_scaler`), clipped to a global L2 norm of
    ``clip_grad`` (0: no clipping), applied by the optimiser and cleared. Returns
    ``(loss, logits)``, both detached.
    """
    imgs, labels = batch
    with autocast(imgs.device, dtype):
        logits = model(imgs)
    loss = criterion(logits.float(), labels)
    scaled = loss * loss_weight / accumulate_steps  # x 1.0 / 1 leaves the loss bit for bit
    (scaler.scale(scaled) if scaler is not None else scaled).backward()
    if step:
        if clip_grad and clip_grad > 0:
            if scaler is not None:
                scaler.unscale_(optimizer)
            params = [p for g in optimizer.param_groups for p in g["params"]]
            nn.utils.clip_grad_norm_(params, float(clip_grad))
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return loss.detach(), logits.detach()


def _config_changes(old: Mapping, new: Mapping, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two configs (``train.work_dir`` ignored)."""
    out = []
    for key in sorted(set(old) | set(new)):
        dotted = f"{prefix}{key}"
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out.extend(_config_changes(a, b, dotted + "."))
        elif a != b and dotted != "train.work_dir":
            out.append(f"{dotted} ({a!r} -> {b!r})")
    return out


# ---------------------------------------------------------------------------------------------
# metrics log and curves
# ---------------------------------------------------------------------------------------------


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """The epoch records of a ``metrics.jsonl`` file (or of the ``metrics.jsonl`` inside a work folder).

    Introduced in notebooks/03_train_rgb.ipynb.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_curves(metrics_path: str | os.PathLike):
    """Loss and accuracy per epoch from ``metrics.jsonl``: two panels (loss; top-1 and mean class accuracy).

    Introduced in notebooks/03_train_rgb.ipynb. Returns the matplotlib ``Figure``. A multi-label
    run's log has no accuracies: its second panel shows the validation mAP, its first the binary
    cross-entropy (notebooks/07_multi_label.ipynb).
    """
    import matplotlib.pyplot as plt  # matplotlib only when a figure is drawn

    setup_style()
    rows = read_metrics(metrics_path)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    ep = [r["epoch"] for r in rows]

    def series(key):
        pts = [(r["epoch"], r[key]) for r in rows if r.get(key) is not None]
        return [p[0] for p in pts], [p[1] for p in pts]

    color = STREAM_COLORS["rgb"]
    ax_loss.plot(ep, [r["train_loss"] for r in rows], "-o", color=color, label="train")
    if any(r.get("val_loss") is not None for r in rows):
        ax_loss.plot(*series("val_loss"), "--s", color=color, alpha=0.7, label="validation")
    multi = any(r.get("val_mAP") is not None for r in rows)
    ax_loss.set(xlabel="epoch", ylabel="binary cross-entropy loss" if multi else "cross-entropy loss", title="loss")
    ax_loss.legend()
    if any(r.get("train_top1") is not None for r in rows):
        ax_acc.plot(*series("train_top1"), "-o", color=color, label="train top-1")
    if any(r.get("val_top1") is not None for r in rows):
        ax_acc.plot(*series("val_top1"), "--s", color=color, alpha=0.7, label="val top-1 (K seg, 1 crop)")
        ax_acc.plot(*series("val_mean_class_accuracy"), ":^", color="0.4", label="val mean class acc.")
    if multi:
        ax_acc.plot(*series("val_mAP"), "--s", color=color, alpha=0.7, label="val mAP (K seg, 1 crop)")
    ax_acc.set(xlabel="epoch", ylabel="mAP" if multi else "accuracy", ylim=(0, 1.02), title="mAP" if multi else "accuracy")
    ax_acc.legend()
    fig.tight_layout()
    return fig


_TB_WARNED = False


def _tensorboard_writer(folder: Path, quiet: bool = False):
    global _TB_WARNED
    try:
        from torch.utils.tensorboard import SummaryWriter  # optional: needs the tensorboard package
    except Exception:  # tensorboard not installed
        if not _TB_WARNED and not quiet:
            print("tsnlib: tensorboard is not installed; TensorBoard logging is off (metrics.jsonl has every number)")
            _TB_WARNED = True
        return None
    return SummaryWriter(log_dir=str(folder))


# ---------------------------------------------------------------------------------------------
# the trainer
# ---------------------------------------------------------------------------------------------


class Trainer:
    """Train a TSN from a config: ``Trainer(cfg, model, loaders, work_dir).fit()``.

    Introduced in notebooks/03_train_rgb.ipynb.

    * ``cfg``: a full config (:func:`tsnlib.config.load_config`); reads ``optim`` and ``train``.
    * ``model``: a :class:`tsnlib.models.TSN` (any module with the TSN interface and
      ``get_param_groups`` support): input ``(N, K, C, H, W)``, output ``(N, num_classes)``.
    * ``loaders``: ``{"train": DataLoader, "val": DataLoader | None}`` yielding dicts
      ``{"imgs": (N, K, C, H, W) uint8 (normalised by the model on its device) or float, "label": (N,) int64}`` (see
      :func:`tsnlib.experiment.build_loaders`; the train loader's sampler should be an
      :class:`~tsnlib.distributed.EpochSampler` for exact resume); with ``model.multi_label`` also
      ``"target": (N, num_classes)`` multi-hot float, which the loss reads instead of ``label``.
    * ``work_dir``: where ``config.yaml``, ``last.pth``, ``best.pth``, ``metrics.jsonl`` and
      ``tb/`` go (created).
    * ``device``: default :func:`tsnlib.utils.get_device` (``cuda:<LOCAL_RANK>`` under DDP).
    * ``class_names``: stored in checkpoints so that ``tsnlib predict`` needs no dataset.
    * ``dist``: a :class:`~tsnlib.distributed.DistInfo` (default: :func:`~tsnlib.distributed.setup_distributed`).
    * ``hooks``: callables ``hook(trainer, record)`` run on every process after each epoch's
      checkpoint is written (``record`` is the epoch's metrics dict).

    After :meth:`fit`: ``history`` (list of epoch records), ``best_metric``, ``best_epoch``,
    ``epoch`` (completed epochs).
    """

    def __init__(self, cfg: Mapping, model: nn.Module, loaders: Mapping, work_dir: str | os.PathLike,
                 device=None, class_names: Sequence[str] | None = None, dist: DistInfo | None = None,
                 hooks: Sequence[Callable] = ()):
        self.cfg = _plain(cfg)
        self.optim_cfg = dict(self.cfg["optim"])
        self.train_cfg = self.cfg["train"]
        self.dist = dist if dist is not None else setup_distributed(device)
        if device is None:
            device = f"cuda:{self.dist.local_rank}" if (self.dist.backend == "nccl") else get_device(verbose=self.dist.is_main)
        self.device = torch.device(device)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", self.dist.local_rank if self.dist.distributed else torch.cuda.current_device())
        self.work_dir = Path(work_dir)
        self.loaders = dict(loaders)
        self.class_names = list(class_names) if class_names is not None else None
        self.hooks = list(hooks)
        seed = int(self.train_cfg["seed"])
        seed_everything(seed + self.dist.rank)
        if self.train_cfg.get("deterministic"):
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

        self.amp_dtype = autocast_dtype(self.device, self.train_cfg["amp"])
        self.channels_last = use_channels_last(self.device, self.amp_dtype, self.train_cfg["channels_last"])
        raw = model
        if self.dist.distributed and self.cfg["model"].get("sync_bn"):
            raw = nn.SyncBatchNorm.convert_sync_batchnorm(raw)
        raw = raw.to(self.device)
        if self.channels_last:
            raw = raw.to(memory_format=torch.channels_last)
        self.raw_model = raw
        self.norm_eval = bool(self.cfg["model"].get("norm_eval"))

        accum = int(self.train_cfg.get("accumulate_steps") or 1)
        self.accumulate_steps = max(1, accum)
        self.total_batch = self.dist.world_size * int(self.train_cfg["batch_size"]) * self.accumulate_steps
        self.base_lr = scaled_lr(self.optim_cfg, self.total_batch)
        self.optim_cfg["lr"] = self.base_lr
        groups = get_param_groups(raw, self.base_lr, float(self.optim_cfg["weight_decay"]),
                                  fc_lr5=bool(self.optim_cfg.get("fc_lr5")))
        self.optimizer = torch.optim.SGD(groups, lr=self.base_lr, momentum=float(self.optim_cfg["momentum"]),
                                         nesterov=bool(self.optim_cfg.get("nesterov")))
        self.scaler = grad_scaler(self.device, self.amp_dtype)
        smoothing = float(self.optim_cfg.get("label_smoothing") or 0.0)
        self.multi_label = bool(self.cfg["model"].get("multi_label"))
        if getattr(raw, "multi_label", self.multi_label) != self.multi_label:
            raise ConfigError(f"the model was built with multi_label={raw.multi_label} but the config has "
                              f"model.multi_label={self.multi_label}: build it from the same config "
                              "(tsnlib.experiment.build_model_from_config)")
        if self.multi_label:
            self.criterion = functools.partial(multi_label_loss, label_smoothing=smoothing)
        else:
            self.criterion = nn.CrossEntropyLoss(label_smoothing=smoothing)
        self.clip_grad = self.optim_cfg.get("clip_grad") or 0.0
        self.loss_weight = float(self.optim_cfg.get("loss_weight", 1.0))

        model_run = raw
        if self.dist.distributed:
            model_run = nn.parallel.DistributedDataParallel(
                raw, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        compile_opt = self.train_cfg.get("compile")
        if compile_opt:
            mode = compile_opt if isinstance(compile_opt, str) and compile_opt not in ("true", "True") else None
            model_run = torch.compile(model_run, mode=mode)
        self.model = model_run

        self.epoch = 0  # completed epochs
        self.global_step = 0
        self.best_metric = None
        self.best_epoch = None
        self.history: list[dict] = []
        self.val_map: dict | None = None  # the last multi-label validation (tsnlib.evaluation.mean_average_precision)
        self._writer = None
        self._announced = False

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    def _inputs(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """``(imgs (N, V, C, H, W), labels (N,) int64)``, or ``(imgs, targets (N, num_classes) float)`` when multi-label."""
        imgs = batch["imgs"] if isinstance(batch, Mapping) else batch[0]
        if self.multi_label:
            if not isinstance(batch, Mapping) or "target" not in batch:
                raise DataError("model.multi_label is set but the loader's batches carry no multi-hot 'target'",
                                hint="build the datasets with TSNDataset(multi_label=True, num_classes=...) "
                                     "(tsnlib.experiment.build_datasets does it from the config)")
            labels = torch.as_tensor(batch["target"]).float()
        else:
            labels = batch["label"] if isinstance(batch, Mapping) else batch[1]
        imgs = imgs.to(self.device, non_blocking=True)
        labels = torch.as_tensor(labels).to(self.device, non_blocking=True)
        if imgs.ndim == 4:  # (N, C, H, W): one view per video
            imgs = imgs.unsqueeze(1)
        if self.channels_last:
            imgs = channels_last_views(imgs)
        return imgs, labels

    def _set_lr(self, epoch_float: float) -> float:
        lr = lr_at(self.optim_cfg, epoch_float)
        for g in self.optimizer.param_groups:
            g["lr"] = lr * g.get("lr_mult", 1.0)
        return lr

    def _steps_per_epoch(self) -> int:
        n = math.ceil(len(self.loaders["train"]) / self.accumulate_steps)
        cap = self.train_cfg.get("max_steps_per_epoch")
        return max(1, min(n, int(cap))) if cap else max(1, n)

    def _announce(self) -> None:
        if self._announced:
            return
        self._announced = True
        if not self.is_main:
            return
        self.work_dir.mkdir(parents=True, exist_ok=True)
        save_config(self.cfg, self.work_dir / "config.yaml")
        prec = precision_name(self.amp_dtype)
        m, d, o = self.cfg["model"], self.cfg["data"], self.cfg["optim"]
        print(f"tsnlib: effective config saved to {self.work_dir / 'config.yaml'} (tsnlib.config.format_config prints "
              f"it): {self.cfg.get('name')}, {m['backbone']} {d['modality']} K={d['num_segments']} {d['input_size']} px, "
              f"{o['epochs']} epochs, lr {o['lr']:g} {o['schedule']}, train on '{d['train_subset']}', "
              f"validate on '{d['val_subset']}'")
        if d["val_subset"] == d["test_subset"] and self.train_cfg.get("save_best"):
            print(f"tsnlib: note: validation reads the subset the test reports on ('{d['test_subset']}'; UCF101 and "
                  "HMDB51 have no validation split, Kinetics and most other benchmarks report on theirs), so best.pth "
                  "is chosen on the test set and its test accuracy is optimistic: report last.pth, as notebook 03 does")
        loader = self.loaders["train"]
        print(f"tsnlib: training on {self.device} ({prec}, channels_last={self.channels_last}, "
              f"compile={bool(self.train_cfg.get('compile'))}), {self.dist.world_size} process(es), "
              f"{getattr(loader, 'num_workers', 0)} loader workers per process")
        print(f"tsnlib: total batch {self.total_batch} = {self.dist.world_size} x {self.train_cfg['batch_size']} x "
              f"{self.accumulate_steps} (accumulation); base lr {self.base_lr:g}"
              + (f" (scaled from {self.cfg['optim']['lr']:g} for base batch {self.optim_cfg['base_batch_size']})"
                 if self.optim_cfg.get("auto_scale_lr") else ""))
        base = self.optim_cfg.get("base_batch_size")
        if base and not self.optim_cfg.get("auto_scale_lr") and int(base) != self.total_batch:
            print(f"tsnlib: note: the preset's lr was tuned for a total batch of {base}; with {self.total_batch} "
                  f"consider optim.auto_scale_lr=true (linear scaling: lr x {self.total_batch}/{base})")
        if self.train_cfg.get("tensorboard"):  # "auto" or True
            self._writer = _tensorboard_writer(self.work_dir / "tb", quiet=self.train_cfg["tensorboard"] == "auto")

    # -- one epoch -------------------------------------------------------------------------------
    def _set_train_mode(self) -> None:
        self.model.train()
        if self.norm_eval:
            for m in self.raw_model.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()

    def train_one_epoch(self, epoch: int) -> dict:
        """Train epoch ``epoch`` (0-based); returns ``{"lr", "train_loss", "train_top1", "clips", "time_s", ...}``.

        A multi-label run logs no ``train_top1`` (one class per video does not exist there); its
        ``train_loss`` is the binary cross-entropy (:func:`multi_label_loss`).
        """
        loader = self.loaders["train"]
        sampler = getattr(loader, "sampler", None)
        for s in (sampler, getattr(loader, "batch_sampler", None)):
            if hasattr(s, "set_epoch"):
                s.set_epoch(epoch)
        ds = getattr(loader, "dataset", None)
        if hasattr(ds, "set_epoch") and not isinstance(sampler, EpochSampler):
            ds.set_epoch(epoch)  # effective without persistent workers only; EpochSampler handles the rest
        self._set_train_mode()
        steps = self._steps_per_epoch()
        accum = self.accumulate_steps
        total_micro = min(len(loader), steps * accum)
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        correct = torch.zeros((), dtype=torch.float64, device=self.device)
        seen = 0
        clips = 0
        lr = self._set_lr(epoch)
        bar = progress(total=steps, desc=f"epoch {epoch + 1}/{self.optim_cfg['epochs']}", leave=False) if self.is_main else None
        t0 = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        step_in_epoch = 0
        interval = max(1, int(self.train_cfg.get("log_interval") or 20))
        for i, batch in enumerate(loader):
            if i >= total_micro:
                break
            imgs, labels = self._inputs(batch)
            last_micro = (i + 1) % accum == 0 or i + 1 == total_micro
            if last_micro:
                lr = self._set_lr(epoch + step_in_epoch / steps)  # this step's learning rate
            sync = contextlib.nullcontext()
            if self.dist.distributed and not last_micro and hasattr(self.model, "no_sync"):
                sync = self.model.no_sync()  # gradients are all-reduced once, on the step's last batch
            with sync:
                loss, logits = train_step(self.model, (imgs, labels), self.optimizer, self.criterion,
                                          scaler=self.scaler, dtype=self.amp_dtype, clip_grad=self.clip_grad,
                                          loss_weight=self.loss_weight, accumulate_steps=accum, step=last_micro)
            n = labels.shape[0]
            loss_sum += loss.double() * n
            if not self.multi_label:
                correct += (logits.argmax(1) == labels).sum().double()
            seen += n
            clips += int(imgs.shape[0] * imgs.shape[1])
            if last_micro:
                step_in_epoch += 1
                self.global_step += 1
                if bar is not None:
                    bar.update(1)
                    if step_in_epoch % interval == 0 or step_in_epoch == steps:
                        el = time.perf_counter() - t0
                        acc = {} if self.multi_label else {"acc": f"{correct.item() / max(seen, 1):.3f}"}
                        bar.set_postfix(loss=f"{loss_sum.item() / max(seen, 1):.3f}", **acc,
                                        clips_s=f"{clips / max(el, 1e-9):.1f}", lr=f"{lr:.2e}")
                if step_in_epoch >= steps:
                    break
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elapsed = time.perf_counter() - t0
        if bar is not None:
            bar.close()
        tot_loss, tot_correct, tot_seen, tot_clips = all_reduce_sum([loss_sum.item(), correct.item(), seen, clips],
                                                                    self.dist, self.device)
        rec = {
            "lr": lr,
            "train_loss": tot_loss / max(tot_seen, 1),
            "train_top1": tot_correct / max(tot_seen, 1),
            "train_videos": int(tot_seen),
            "train_time_s": elapsed,
            "clips_per_s": tot_clips / max(elapsed, 1e-9),
            "steps": step_in_epoch,
        }
        if self.multi_label:
            del rec["train_top1"]
        return rec

    @torch.no_grad()
    def validate(self, loader=None) -> dict:
        """Validation (K segments, one centre crop per video): ``val_loss``, ``val_top1``, ``val_top5``, ``val_mean_class_accuracy``.

        Called by :meth:`fit` after each epoch (on rank 0). Runs on this process with the unwrapped
        model, over the whole loader (the trainer calls it on rank 0 only). Scores are the
        consensus logits ``(num_videos, num_classes)``.

        A multi-label run returns ``val_loss`` (binary cross-entropy, no smoothing), ``val_mAP``
        (:func:`tsnlib.evaluation.mean_average_precision` of the logits and the multi-hot targets)
        and ``val_classes_without_positives`` (how many classes no validation video has: they are
        left out of the mean, and :meth:`fit` prints their names) instead of the accuracies.
        """
        loader = loader if loader is not None else self.loaders.get("val")
        model = self.raw_model
        was_training = model.training
        model.eval()
        scores, labels = [], []
        loss_sum, n = 0.0, 0
        t0 = time.perf_counter()
        try:
            for batch in loader:
                imgs, y = self._inputs(batch)
                with autocast(self.device, self.amp_dtype):
                    logits = model(imgs)
                logits = logits.float()
                if self.multi_label:
                    loss_sum += float(multi_label_loss(logits, y)) * logits.shape[0]
                else:
                    loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
                n += int(y.shape[0])
                scores.append(logits.cpu())
                labels.append(y.cpu())
        finally:
            model.train(was_training)
        s = torch.cat(scores).numpy()
        y = torch.cat(labels).numpy()
        names = self.class_names or [str(i) for i in range(s.shape[1])]
        if self.multi_label:
            m = mean_average_precision(s, y, names)
            self.val_map = m
            return {
                "val_loss": loss_sum / max(n, 1),
                "val_mAP": float(m["mAP"]),
                "val_classes_without_positives": len(m["classes_without_positives"]),
                "val_videos": n,
                "val_time_s": time.perf_counter() - t0,
            }
        m = evaluate_scores(s, y, names)
        return {
            "val_loss": loss_sum / max(n, 1),
            "val_top1": float(m["top1"]),
            "val_top5": float(m["top5"]),
            "val_mean_class_accuracy": float(m["mean_class_accuracy"]),
            "val_videos": n,
            "val_time_s": time.perf_counter() - t0,
        }

    # -- checkpoints -----------------------------------------------------------------------------
    def state_dict(self, rng_per_rank: list | None = None) -> dict:
        """Everything needed to continue exactly: model, optimiser, scaler, counters, RNG, config, class names.

        ``rng_per_rank``: the RNG states of every process of a distributed run (see ``fit``).
        """
        return {
            "format": CHECKPOINT_FORMAT,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "model": {k: v.detach().cpu() for k, v in self.raw_model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "lr": lr_at(self.optim_cfg, self.epoch),
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "metric_name": self.train_cfg.get("save_best") or "val_top1",
            "history": self.history,
            "rng": rng_state(),
            "rng_per_rank": rng_per_rank,
            "sampler": {"seed": int(self.train_cfg["seed"]), "epoch": self.epoch},
            "config": self.cfg,
            "class_names": self.class_names,
            "world_size": self.dist.world_size,
            "torch_version": str(torch.__version__),
        }

    def save(self, is_best: bool, rng_per_rank: list | None = None) -> Path:
        """Write ``last.pth`` (and ``best.pth``, ``epoch_XXX.pth``) atomically; rank 0 only."""
        last = self.work_dir / "last.pth"
        save_checkpoint(self.state_dict(rng_per_rank), last)
        if is_best:
            atomic_write(lambda tmp: shutil.copyfile(last, tmp), self.work_dir / "best.pth")
        keep = int(self.train_cfg.get("max_keep") or 0)
        if keep > 0:
            atomic_write(lambda tmp: shutil.copyfile(last, tmp), self.work_dir / f"epoch_{self.epoch:03d}.pth")
            olds = sorted(self.work_dir.glob("epoch_[0-9][0-9][0-9]*.pth"))
            for old in olds[:-keep]:
                old.unlink(missing_ok=True)
        return last

    def load_state_dict(self, ckpt: Mapping) -> None:
        """Restore a :meth:`state_dict` (read by :func:`tsnlib.checkpoints.load_checkpoint`) to continue exactly."""
        self.raw_model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if ckpt.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch = int(ckpt["epoch"])
        self.global_step = int(ckpt["global_step"])
        self.best_metric = ckpt.get("best_metric")
        self.best_epoch = ckpt.get("best_epoch")
        self.history = [dict(r) for r in ckpt.get("history") or []]
        if ckpt.get("class_names") is not None and self.class_names is None:
            self.class_names = list(ckpt["class_names"])
        per_rank = ckpt.get("rng_per_rank")
        if per_rank and len(per_rank) == self.dist.world_size:
            set_rng_state(per_rank[self.dist.rank])
        elif ckpt.get("rng") is not None:
            set_rng_state(ckpt["rng"])
            if self.dist.rank != 0:
                # other world size: rank 0's states, and fresh dropout streams for the other ranks
                torch.manual_seed(int(self.train_cfg["seed"]) + self.dist.rank + 1000003 * self.epoch)

    def resume(self, path: str | os.PathLike | bool = True) -> None:
        """Continue from a checkpoint (``True``: ``<work_dir>/last.pth``): weights, optimiser, epoch, RNG."""
        path = self.work_dir / "last.pth" if path is True or path in ("", None) else Path(path)
        if path == self.work_dir / "last.pth" and not path.is_file():
            raise CheckpointError(f"nothing to resume in '{self.work_dir}': it has no last.pth; start the run "
                                  "without --resume (resume=), or name the checkpoint: --resume CKPT")
        ckpt = load_checkpoint(path)
        if "optimizer" not in ckpt or "epoch" not in ckpt:
            raise CheckpointError(f"'{path}' holds weights only (no optimiser/epoch): use init_from to fine-tune from it")
        names, own = ckpt.get("class_names"), self.class_names
        if names is not None and own is not None and list(names) != list(own):
            raise CheckpointError(
                f"'{path}' was trained on {len(names)} classes ({', '.join(map(str, names[:4]))}, ...), this "
                f"config's dataset has {len(own)} ({', '.join(own[:4])}, ...): resuming continues a run on the "
                "same classes; to start from its weights on these classes use --init-from (init_from=) instead")
        mismatch = shape_mismatches(model_state(ckpt), unwrap_model(self.raw_model).state_dict())
        if mismatch:
            raise CheckpointError(
                f"'{path}' does not fit this config's model ({self.cfg['model']['backbone']}, "
                f"{self.cfg['data']['modality']}, clip_len {self.cfg['data']['clip_len']}): {'; '.join(mismatch[:3])}; "
                "resume with the config the run was trained with (its config.yaml)")
        saved_world = int(ckpt.get("world_size") or 1)
        self.load_state_dict(ckpt)
        if self.is_main:
            print(f"tsnlib: resumed from '{path}' after epoch {self.epoch} (step {self.global_step})"
                  + (f"; it was written by {saved_world} process(es), this run has {self.dist.world_size}: "
                     "data order will differ" if saved_world != self.dist.world_size else ""))
            changed = _config_changes(ckpt.get("config") or {}, self.cfg)
            if changed:
                print("tsnlib: note: the config differs from the checkpoint's in " + ", ".join(changed[:12])
                      + " (the run continues with the new values)")
            self._rewrite_metrics()

    def _rewrite_metrics(self) -> None:
        """Make ``metrics.jsonl`` hold exactly the epochs of the checkpoint (drop epochs after it)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(r) + "\n" for r in self.history)
        atomic_write(lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), self.work_dir / "metrics.jsonl")

    def _log(self, record: dict) -> None:
        with open(self.work_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self._writer is not None:
            for k, v in record.items():
                if k != "epoch" and isinstance(v, (int, float)) and v is not None:
                    self._writer.add_scalar(k.replace("_", "/", 1), v, record["epoch"])
            self._writer.flush()

    # -- the loop --------------------------------------------------------------------------------
    def fit(self) -> dict:
        """Train from ``self.epoch`` to ``optim.epochs``: train, validate, log, checkpoint every epoch.

        Returns ``{"best_metric", "best_epoch", "metric_name", "history", "work_dir"}``.
        """
        self._announce()
        total = int(self.optim_cfg["epochs"])
        metric_name = self.train_cfg.get("save_best") or "val_top1"
        val_every = int(self.train_cfg.get("val_interval") or 0)
        if self.is_main and self.epoch == 0 and not self.history:
            self._rewrite_metrics()  # a fresh run in a used folder: start its log empty, not after the old run's
        while self.epoch < total:
            e = self.epoch
            t0 = time.perf_counter()
            rec = {"epoch": e + 1}
            rec.update(self.train_one_epoch(e))
            do_val = self.loaders.get("val") is not None and val_every > 0 and ((e + 1) % val_every == 0 or e + 1 == total)
            if do_val and self.is_main:
                rec.update(self.validate())
            barrier(self.dist)
            rec["epoch_time_s"] = time.perf_counter() - t0
            self.epoch = e + 1
            is_best = False
            value = rec.get(metric_name)
            if value is not None and (self.best_metric is None or value > self.best_metric):
                self.best_metric, self.best_epoch, is_best = float(value), self.epoch, True
            rec["best_" + metric_name] = self.best_metric
            self.history.append(rec)
            rng_all = all_gather(rng_state(), self.dist)  # every process's RNG states (None in one process)
            if self.is_main:
                self._log(rec)
                self.save(is_best, rng_all)
                msg = f"epoch {self.epoch}/{total}: lr {rec['lr']:.3g}, train loss {rec['train_loss']:.4f}"
                if "train_top1" in rec:
                    msg += f", train top-1 {rec['train_top1']:.3f}"
                if "val_top1" in rec:
                    msg += (f", val top-1 {rec['val_top1']:.3f}, val top-5 {rec['val_top5']:.3f}, "
                            f"val mean class acc {rec['val_mean_class_accuracy']:.3f}")
                if "val_mAP" in rec:
                    msg += f", val {format_map(self.val_map)}"
                msg += f", {rec['clips_per_s']:.1f} clips/s, {rec['epoch_time_s']:.1f} s"
                print(msg, flush=True)
            barrier(self.dist)
            for hook in self.hooks:
                hook(self, rec)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return {"best_metric": self.best_metric, "best_epoch": self.best_epoch, "metric_name": metric_name,
                "history": self.history, "work_dir": str(self.work_dir)}


# ---------------------------------------------------------------------------------------------
# from a config to a trained model
# ---------------------------------------------------------------------------------------------


def default_work_dir(cfg: Mapping) -> Path:
    """``train.work_dir`` or ``<outputs>/runs/<name>``.

    Used by :func:`train`.
    """
    wd = cfg["train"].get("work_dir")
    return Path(wd).expanduser() if wd else output_dir() / "runs" / str(cfg.get("name") or "run")


def run_files(work_dir: str | os.PathLike) -> list[Path]:
    """The files of a training run in ``work_dir`` (sorted; empty when there is no run).

    Used by :func:`train` (a folder holding a run needs ``overwrite`` or ``resume``). A folder
    holds a run when it has a checkpoint (``last.pth``, ``best.pth``, ``epoch_XXX.pth``) or a
    non-empty ``metrics.jsonl``; the run's files are then those, plus ``config.yaml``, the score
    files ``scores_*.npz`` of ``tsnlib test`` and the TensorBoard folder ``tb/``.
    """
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return []
    checkpoints = [work_dir / n for n in ("last.pth", "best.pth") if (work_dir / n).is_file()]
    checkpoints += list(work_dir.glob("epoch_[0-9][0-9][0-9]*.pth"))
    metrics = work_dir / "metrics.jsonl"
    if not checkpoints and not (metrics.is_file() and metrics.stat().st_size > 0):
        return []
    others = [work_dir / n for n in ("metrics.jsonl", "config.yaml", "tb") if (work_dir / n).exists()]
    return sorted(set(checkpoints + others + list(work_dir.glob("scores_*.npz"))))


def _clear_run(files: Sequence[Path]) -> None:
    for f in files:
        if f.is_dir():
            shutil.rmtree(f)
        else:
            f.unlink(missing_ok=True)


def train(cfg: Mapping | str, work_dir: str | os.PathLike | None = None, device=None,
          resume: str | os.PathLike | bool | None = None, init_from: str | os.PathLike | None = None,
          hooks: Sequence[Callable] = (), overwrite: bool = False) -> Trainer:
    """Build data, model and :class:`Trainer` from a config and train; returns the trainer.

    Introduced in notebooks/03_train_rgb.ipynb (what ``tsnlib train`` calls).

    * ``cfg``: a config dict or a preset name / YAML path (:func:`tsnlib.config.load_config`).
    * ``resume``: ``True`` (``<work_dir>/last.pth``) or a checkpoint path: continue exactly.
    * ``init_from``: a checkpoint whose weights start the model (fine-tuning; a classifier with
      another class count is dropped and reported). Exclusive with ``resume``.
    * ``overwrite``: a fresh run in a ``work_dir`` that already holds one (:func:`run_files`)
      first deletes the old run's files. Without it (and without ``resume``) such a folder raises
      :class:`tsnlib.errors.UsageError`, so that two runs never mix in one folder.
    """
    if not isinstance(cfg, Mapping):
        cfg = load_config(cfg)
    if resume and init_from:
        raise UsageError("give resume (continue a run) or init_from (fine-tune from weights), not both")
    if resume and overwrite:
        raise UsageError("give resume (continue the run in the work folder) or overwrite (replace it), not both")
    if device is not None:
        _check_device(device, "--device")
    cfg = _plain(cfg)
    dist_info = setup_distributed(device)
    work_dir = Path(work_dir) if work_dir is not None else default_work_dir(cfg)
    cfg["train"]["work_dir"] = str(work_dir)
    old = [] if resume else run_files(work_dir)
    if old and not overwrite:
        raise UsageError(
            f"'{work_dir}' already holds a run ({', '.join(f.name for f in old[:5])}): continue it with --resume "
            "(resume=True), replace it with --overwrite (overwrite=True; its files are deleted first), or give "
            "another --work-dir")
    if old and dist_info.is_main:
        print(f"tsnlib: --overwrite: deleting the old run in {work_dir} ({', '.join(f.name for f in old)})")
        _clear_run(old)
    seed_everything(int(cfg["train"]["seed"]))  # same model init on every process
    datasets = build_datasets(cfg, subsets=("train", "val"))
    loaders = build_loaders(cfg, datasets, distributed=dist_info.distributed, dist=dist_info)
    names = list(datasets["label_map"].names)
    model = build_model_from_config(cfg, num_classes=len(names))
    if init_from:
        init_from_checkpoint(model, init_from, verbose=dist_info.is_main)
    trainer = Trainer(cfg, model, loaders, work_dir, device=device, class_names=names, dist=dist_info, hooks=hooks)
    if resume:
        trainer.resume(resume)
    trainer.fit()
    return trainer
