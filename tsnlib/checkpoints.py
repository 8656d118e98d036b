"""Checkpoint files: written atomically, read as plain data only, and how weights go from one into a model.

Introduced in notebooks/04_optical_flow_stream.ipynb (reading the RGB network's weights);
:class:`tsnlib.training.Trainer` writes one every epoch. A tsnlib checkpoint is a dict saved by ``torch.save``
that holds only tensors, numbers, strings, None, lists and dicts (:func:`save_checkpoint` refuses
anything else), so that it loads with ``torch.load(weights_only=True)`` (:func:`load_checkpoint`): a
checkpoint file can never run code. What :class:`tsnlib.training.Trainer` puts in it: ``format``
(:data:`CHECKPOINT_FORMAT`), ``model``, ``optimizer``, ``scaler``, ``epoch``, ``global_step``,
``best_metric``, ``best_epoch``, ``history``, the RNG states (:func:`rng_state`), ``sampler``,
``config`` and ``class_names``.

* :func:`atomic_write` — every file here is written under a temporary name in its folder and
  renamed when complete: a crash never leaves half a checkpoint;
* :func:`model_state` — the model's state dict inside any checkpoint (tsnlib's, a ``state_dict`` /
  ``model_state_dict`` wrapper, DDP's ``module.`` or ``torch.compile``'s ``_orig_mod.`` names);
* :func:`init_from_checkpoint` — fine-tuning's start: the weights only, a classifier of another
  size dropped;
* :func:`rng_state` / :func:`set_rng_state` — the generators' states, saved so that a resumed run
  continues exactly.
"""

from __future__ import annotations

import os
import pickle
import random
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tsnlib.errors import CheckpointError
from tsnlib.models import unwrap_model

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "atomic_write",
    "save_checkpoint",
    "load_checkpoint",
    "model_state",
    "shape_mismatches",
    "init_from_checkpoint",
    "rng_state",
    "set_rng_state",
]

#: Written into every checkpoint; :func:`load_checkpoint` checks it.
CHECKPOINT_FORMAT = "tsnlib-checkpoint-1"


def atomic_write(write: Callable[[Path], None], path: str | os.PathLike) -> Path:
    """Write ``path`` through ``write(tmp)`` on a temporary file in the same folder, then ``os.replace``.

    The temporary file is flushed to disk (``fsync``) before the rename and deleted when ``write``
    fails, so ``path`` is either its old content or the complete new one, never half a file.
    Returns ``path``. Used by :func:`save_checkpoint` and the trainer.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(state: Mapping, path: str | os.PathLike) -> Path:
    """Save a checkpoint dict atomically (temporary file in the same folder, then ``os.replace``).

    Used by the trainer, :mod:`tsnlib.streams` and :mod:`tsnlib.pretraining`. ``state`` must hold only tensors, numbers,
    strings, None, lists, tuples and dicts (what ``torch.load(weights_only=True)`` accepts);
    anything else raises ``TypeError`` before a byte is written.
    """
    _check_plain(state, "checkpoint")
    return atomic_write(lambda tmp: torch.save(dict(state), tmp), Path(path))


def _check_plain(node, where: str) -> None:
    # exact types: a str or float subclass (torch.__version__, numpy.float64) pickles as a class reference
    if node is None or type(node) in (bool, int, float, str) or isinstance(node, (torch.Tensor, torch.dtype, torch.device)):
        return
    if type(node) in (dict, OrderedDict):
        for k, v in node.items():
            if type(k) not in (str, int):
                raise TypeError(f"{where}: key {k!r} is not a str/int")
            _check_plain(v, f"{where}[{k!r}]")
        return
    if type(node) in (list, tuple):
        for i, v in enumerate(node):
            _check_plain(v, f"{where}[{i}]")
        return
    raise TypeError(f"{where} is a {type(node).__name__}: a checkpoint holds only tensors, numbers, strings, lists "
                    "and dicts, so that it loads with torch.load(weights_only=True)")


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint with ``torch.load(weights_only=True)``: plain data only, never code.

    Introduced in notebooks/04_optical_flow_stream.ipynb. A file whose unpickling would construct arbitrary
    Python objects (and could run code) is refused with :class:`CheckpointError` *before*
    anything in it runs. Returns the dict; a tsnlib checkpoint has the keys ``format``,
    ``model``, ``optimizer``, ``scaler``, ``epoch``, ``global_step``, ``best_metric``,
    ``best_epoch``, ``history``, ``rng``, ``sampler``, ``config``, ``class_names``.
    A plain state dict (e.g. torchvision weights) is returned as is.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: '{path}' (no such file)")
    with open(path, "rb") as f:
        head = f.read(2)
    if not head.startswith((b"PK", b"\x80")):  # torch.save writes a zip archive (legacy: a pickle)
        raise CheckpointError(f"'{path}' is not a checkpoint (not a file written by torch.save): give a last.pth "
                              "or best.pth written by tsnlib train, or a state dict saved with torch.save")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        first = next((ln for ln in lines if "Unsupported" in ln or "WeightsUnpickler" in ln), lines[0] if lines else
                     type(err).__name__)
        raise CheckpointError(
            f"refusing to load '{path}': it is not a plain-data checkpoint (torch.load with weights_only=True "
            f"rejected it: {first}). Loading it fully could run arbitrary code; tsnlib never does. "
            "Re-save the weights from a trusted source as a state dict."
        ) from None
    except Exception as err:  # truncated file, not a torch file, ...
        raise CheckpointError(f"'{path}' is not a checkpoint torch can read (truncated? torch.load: "
                              f"{type(err).__name__}: {' '.join(str(err).split())[:200]}): give a last.pth or best.pth written by tsnlib "
                              "train, or a state dict saved with torch.save") from err
    if not isinstance(obj, dict):
        raise CheckpointError(f"'{path}' holds a {type(obj).__name__}, not a checkpoint dict: give a last.pth or "
                              "best.pth written by tsnlib train")
    if "format" in obj and obj["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"'{path}' has checkpoint format {obj['format']!r}; this tsnlib reads {CHECKPOINT_FORMAT!r}")
    return obj


def model_state(obj: Mapping) -> dict:
    """The model's state dict (names → tensors) inside a checkpoint dict, or the dict itself when it is one.

    Looks under ``model``, ``state_dict`` or ``model_state_dict``, and drops the ``module.`` prefix
    of DDP / DataParallel and the ``_orig_mod.`` of ``torch.compile``; raises
    :class:`CheckpointError` when no mapping of names to tensors is found.
    Used by :func:`init_from_checkpoint`, the trainer's resume,
    :func:`tsnlib.experiment.load_model_from_checkpoint` and :mod:`tsnlib.streams`.
    """
    for key in ("model", "state_dict", "model_state_dict"):
        if isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    state = {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}
    state = {k.replace("_orig_mod.", ""): v for k, v in state.items()}
    if not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("the checkpoint holds no model state dict (a mapping of names to tensors)")
    return state


def shape_mismatches(state: Mapping, own: Mapping) -> list[str]:
    """``"name: checkpoint (shape) vs model (shape)"`` for the tensors whose shapes differ, and missing names.

    ``state``: a checkpoint's :func:`model_state`; ``own``: the model's ``state_dict()``. Empty when
    the checkpoint fits the model. Used by the trainer's resume.
    """
    out = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
           for k, v in state.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        out.append(f"{len(missing)} model tensors missing from the checkpoint ({', '.join(missing[:3])})")
    return out


def init_from_checkpoint(model: nn.Module, source, verbose: bool = True) -> dict:
    """Fine-tuning start: load a checkpoint's weights into ``model``, dropping a classifier of another size.

    Used by :func:`tsnlib.training.train` (``init_from``, ``tsnlib train --init-from``). ``source`` is a path (read by
    :func:`load_checkpoint`, so ``weights_only=True``) or a loaded checkpoint / state dict. Unlike
    resuming, nothing but weights is taken (no optimiser, epoch or RNG). Tensors whose shape
    differs from the model's are dropped when they belong to the classifier (``fc.*``: another
    number of classes), and raise otherwise. Returns (and prints) the report ``{"source",
    "loaded", "dropped_classifier", "missing", "unexpected"}``.
    """
    label = f"'{source}'" if isinstance(source, (str, os.PathLike)) else "the given checkpoint"
    obj = load_checkpoint(source) if isinstance(source, (str, os.PathLike)) else source
    state = model_state(obj)
    raw = unwrap_model(model)
    own = raw.state_dict()
    dropped, bad = [], []
    for k, v in list(state.items()):
        if k in own and tuple(v.shape) != tuple(own[k].shape):
            if k.startswith("fc."):
                dropped.append(f"{k} {tuple(v.shape)} -> {tuple(own[k].shape)}")
                del state[k]
            else:
                bad.append(f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}")
    if bad:
        raise CheckpointError(f"{label} does not fit the model ({len(bad)} shape mismatches): " + "; ".join(bad[:8]))
    missing = sorted(k for k in own if k not in state and not k.endswith("num_batches_tracked"))
    unexpected = sorted(k for k in state if k not in own)
    raw.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    report = {
        "source": label,
        "loaded": sum(1 for k in state if k in own),
        "dropped_classifier": dropped,
        "missing": missing,
        "unexpected": unexpected,
    }
    if verbose:
        msg = f"tsnlib: initialised from {label}: {report['loaded']} tensors loaded"
        if dropped:
            msg += f"; classifier dropped (another number of classes): {', '.join(dropped)}"
        if missing:
            msg += f"; {len(missing)} missing (kept fresh): {missing[:6]}"
        if unexpected:
            msg += f"; {len(unexpected)} unexpected (ignored): {unexpected[:6]}"
        print(msg)
    return report


def rng_state() -> dict:
    """Python, NumPy, torch CPU and CUDA generator states as plain data (lists, ints, tensors).

    Used by the trainer (saved in every checkpoint).
    """
    version, internal, gauss = random.getstate()
    key, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [int(version), [int(v) for v in internal], gauss],
        "numpy": {"key": str(key), "state": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
    }
    return state


def set_rng_state(state: Mapping) -> None:
    """Restore what :func:`rng_state` returned.

    Used by the trainer's resume.
    """
    version, internal, gauss = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["key"], n["state"].numpy().astype(np.uint32), int(n["pos"]), int(n["has_gauss"]),
                         float(n["cached_gaussian"])))
    torch.set_rng_state(state["torch"].cpu() if state["torch"].device.type != "cpu" else state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        cuda_states = list(state["cuda"])[: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])
