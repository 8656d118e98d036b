"""Small shared helpers: device choice, seeding, progress bars and the course's folders.

Introduced in notebooks/01_data_preparation.ipynb (setup cell).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

_DEVICE_PRINTED = False


def get_device(prefer: str | None = None, verbose: bool = True):
    """The device to compute on: ``cuda`` → ``mps`` → ``cpu``, decided once here, never in a notebook.

    ``prefer`` (or the environment variable ``TSN_DEVICE``) forces one, e.g. ``"cpu"``.
    The choice is printed once per process.
    """
    import torch

    global _DEVICE_PRINTED
    name = prefer or os.environ.get("TSN_DEVICE")
    if not name:
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    device = torch.device(name)
    if verbose and not _DEVICE_PRINTED:
        extra = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
        print(f"tsnlib: computing on {device}{extra}")
        _DEVICE_PRINTED = True
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) with one number."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def progress_mode() -> str:
    """How progress bars behave: ``"bar"`` (interactive), ``"off"`` (no bars).

    Set ``TSN_PROGRESS=off`` to silence them; the course runner does so for papermill,
    which would otherwise log every bar update as a line of the executed notebook.
    """
    mode = os.environ.get("TSN_PROGRESS", "bar").lower()
    return "off" if mode in {"off", "0", "false", "no", "quiet"} else "bar"


def progress(iterable=None, **kwargs):
    """A ``tqdm.auto`` progress bar that stays quiet under papermill (see :func:`progress_mode`)."""
    from tqdm.auto import tqdm

    kwargs.setdefault("disable", progress_mode() == "off")
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, **kwargs)


def repo_root() -> Path:
    """The checkout that holds ``tsnlib`` (editable install), else the current folder."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def data_root(path: str | os.PathLike | None = None) -> Path:
    """Where datasets live: ``path`` if given, else ``$TSN_DATA``, else ``<repo>/data``."""
    if path:
        return Path(path).expanduser()
    env = os.environ.get("TSN_DATA")
    return Path(env).expanduser() if env else repo_root() / "data"


def synthetic_root(path: str | os.PathLike | None = None, layout: str = "ucf101") -> Path:
    """The default folder of the built-in synthetic dataset, ``<data>/synthetic/<layout>``."""
    if path:
        return Path(path).expanduser()
    return data_root() / "synthetic" / layout


def output_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder shared by all notebooks for figures, checkpoints, scores and recorded numbers.

    ``path`` if given, else ``$TSN_OUTPUT``, else ``<repo>/outputs``. Created if missing.
    """
    if path:
        out = Path(path).expanduser()
    elif os.environ.get("TSN_OUTPUT"):
        out = Path(os.environ["TSN_OUTPUT"]).expanduser()
    else:
        out = repo_root() / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    return out
