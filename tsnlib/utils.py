"""Small shared helpers: device choice, seeding, progress bars and the course's folders.

Introduced in notebooks/01_data_preparation.ipynb (setup cell).
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tsnlib.errors import DataError, UsageError

_DEVICE_PRINTED = False


def get_device(prefer: str | None = None, verbose: bool = True):
    """The device to compute on: ``cuda`` → ``mps`` → ``cpu``, decided once here, never in a notebook.

    ``prefer`` (or the environment variable ``TSN_DEVICE``) forces one, e.g. ``"cpu"``; a device
    that is not there (``cuda`` without a GPU, ``cuda:3`` on a one-GPU machine, an unknown name)
    raises :class:`tsnlib.errors.UsageError`. The choice is printed once per process.
    """
    import torch  # here, not at the top: the torch-free modules (config, lessons, course) import utils too

    global _DEVICE_PRINTED
    name = prefer or os.environ.get("TSN_DEVICE")
    if name:
        _check_device(str(name), "TSN_DEVICE" if not prefer else "--device")
    else:
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


def _check_device(name, where: str) -> None:
    """Raise :class:`tsnlib.errors.UsageError` when the device ``name`` does not exist on this machine."""
    import torch  # as in get_device

    if isinstance(name, torch.device):
        name = str(name)
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UsageError(f"unknown device {name!r} ({where}): use cpu, cuda, cuda:N or mps") from None
    todo = "use cpu, or leave the device unset to pick the best one available"
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {name!r} ({where}): no CUDA GPU is available on this machine; {todo}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"device {name!r} ({where}): this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                             f"numbered from 0; {todo}")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UsageError(f"device {name!r} ({where}): Apple's MPS is not available on this machine; {todo}")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) with one number."""
    import torch  # as in get_device

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


def _tqdm_class():
    """The console ``tqdm`` unless a notebook bar can really be drawn (Jupyter with ipywidgets).

    ``tqdm.auto`` in a Jupyter kernel without ipywidgets warns ``TqdmWarning: IProgress not
    found`` (into every executed notebook) and falls back to the console bar anyway; with
    ``TSN_PROGRESS=off`` no bar is drawn, so no widget is needed either.
    """
    import importlib.util
    import sys
    import warnings

    if progress_mode() == "off" or "ipykernel" not in sys.modules or importlib.util.find_spec("ipywidgets") is None:
        from tqdm.std import tqdm

        return tqdm
    from tqdm.std import TqdmWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmWarning)  # TqdmExperimentalWarning is a TqdmWarning too
        from tqdm.auto import tqdm
    return tqdm


def progress(iterable=None, **kwargs):
    """A progress bar (``tqdm``; the widget bar in Jupyter when ipywidgets is installed).

    Quiet with ``TSN_PROGRESS=off``, as under papermill (see :func:`progress_mode`), and never
    prints tqdm's "IProgress not found" warning into a notebook.
    """
    tqdm = _tqdm_class()
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


def folder_conflicts(paths: Sequence, targets: Sequence) -> dict[int, str]:
    """Which videos share an output folder with another one: ``{position: message}``, empty when none.

    ``clip.mp4`` and ``clip.avi`` in one class folder both map to ``<class>/clip``: neither can be
    extracted without overwriting the other, so each is reported, naming the folder and the other
    videos, and the rest of the dataset goes on (frame and flow extraction).

    Used by :func:`tsnlib.frame_folders.extract_videos`.
    """
    by_target: dict[str, list[int]] = {}
    for i, t in enumerate(targets):
        by_target.setdefault(os.path.normcase(os.path.abspath(t)), []).append(i)
    out: dict[int, str] = {}
    for group in by_target.values():
        if len(group) < 2:
            continue
        for i in group:
            others = ", ".join(str(paths[j]) for j in group if j != i)
            out[i] = (f"another video maps to the same output folder {targets[i]} ({others}); not extracted: "
                      "rename one of them")
    return out


def read_stamp(path: str | os.PathLike) -> dict | None:
    """The settings stamp (JSON) at ``path``: a dict, ``{}`` when unreadable, None when there is none.

    Used by :func:`tsnlib.flow.extraction.prepare_flow_dataset`, :func:`tsnlib.pretraining.pretrain_backbone`,
    :func:`guard_settings`.
    """
    import json

    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def write_stamp(path: str | os.PathLike, stamp: dict) -> None:
    """Write a settings stamp as JSON, atomically (a temporary file renamed into place).

    Used by :func:`tsnlib.flow.extraction.prepare_flow_dataset`, :func:`tsnlib.pretraining.pretrain_backbone`,
    :func:`tsnlib.synthetic_tags.generate_tags`.
    """
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def stamp_changes(old: dict, new: dict, keys: Sequence[str] | None = None) -> str:
    """``"short_side: 256 there, 320 asked, ..."`` for the keys (default: all) whose values differ; ``""`` when none.

    Used by :func:`tsnlib.flow.extraction.prepare_flow_dataset`, :func:`tsnlib.pretraining.pretrain_backbone`,
    :func:`guard_settings`.
    """
    keys = sorted(set(old) | set(new)) if keys is None else sorted(keys)
    return ", ".join(f"{k}: {old.get(k)!r} there, {new.get(k)!r} asked" for k in keys if old.get(k) != new.get(k))


def guard_settings(folder: str | os.PathLike, name: str, settings: dict, redo: bool = False, hint: str = "") -> bool:
    """Keep how an output folder was made in ``folder/name`` and refuse to mix two settings in it.

    The one check of ``tsnlib frames`` (``frames.json``) and ``tsnlib flow`` (``flow.json``), so
    that a folder never holds frames of two sizes: no stamp yet (or one from a folder made
    elsewhere): ``settings`` is written; the same value for every key of ``settings``: nothing to
    do; another value: :class:`~tsnlib.errors.DataError` naming each change (``hint`` says what
    to do), unless ``redo`` (everything is extracted again), when the stamp is updated. Keys of an
    existing stamp that ``settings`` does not name are kept. Returns True when the settings changed.

    Used by :func:`tsnlib.frame_folders.extract_videos`.
    """

    path = Path(folder) / name
    old = read_stamp(path)
    changes = stamp_changes(old, settings, settings.keys()) if old is not None else ""
    if changes and not redo:
        raise DataError(f"these frame folders were extracted with other settings ({changes})", path=path,
                        hint=hint or None)
    changed = bool(changes)
    if old is None or changed:
        write_stamp(path, {**(old or {}), **settings})
    return changed


def _watch_parent() -> None:
    """In a worker process: exit at once when the process that started it dies (even by ``kill -9``).

    A daemon thread waits on the parent's sentinel (:func:`multiprocessing.parent_process`); without
    it, a worker whose parent was killed would finish its video and only then notice.
    """
    import multiprocessing
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="tsnlib-parent-watch", daemon=True).start()


def _init_worker_process(initializer, initargs: tuple) -> None:
    """Worker-process initialiser of :func:`run_per_video`: watch the parent, then the caller's initialiser."""
    _watch_parent()
    if initializer is not None:
        initializer(*initargs)


def run_per_video(job, jobs: dict, names: dict, workers: int | None = None, desc: str = "videos",
                  show_progress: bool = True, initializer=None, initargs: tuple = ()):
    """Run ``job(*jobs[i])`` for every key ``i``: in worker processes, or here when ``workers`` ≤ 1.

    The shared engine of dataset-wide extraction (frame folders, optical flow): a progress bar,
    one failing video never stops the others, and failures come back for a summary at the end.
    ``job`` and ``initializer`` must be module-level functions (they are sent to the workers);
    in-process runs call ``initializer(*initargs)`` here first. Workers use the ``spawn`` start
    method (safe after torch, CUDA or OpenCV threads started in this process), so a *script* that
    uses ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard; notebooks do not.
    A worker exits as soon as this process dies, even when it is killed (``kill -9``): no orphan
    goes on extracting (half-written folders are ``*.tmp-*`` ones, redone by the next run).

    Returns ``(results, failures)``: ``results[i]`` = what ``job`` returned; ``failures`` =
    ``[(names[i], "ErrorType: message"), ...]``. Used by :func:`tsnlib.frame_folders.extract_videos`,
    :func:`tsnlib.synthetic_tags.generate_tags`.
    """
    results: dict = {}
    failures: list[tuple[str, str]] = []
    n_workers = (os.cpu_count() or 1) if workers is None else int(workers)
    n_workers = max(0, min(n_workers, len(jobs)))
    bar = progress(total=len(jobs), desc=desc, unit="video", **({} if show_progress else {"disable": True}))

    def finish(i, get_result) -> None:
        try:
            results[i] = get_result()
        except Exception as exc:  # noqa: BLE001 - collected and reported at the end
            failures.append((str(names[i]), f"{type(exc).__name__}: {exc}"))
        bar.update(1)
        bar.set_postfix(failed=len(failures))

    try:
        if n_workers <= 1:
            if initializer is not None:
                initializer(*initargs)
            for i, args in jobs.items():
                finish(i, lambda: job(*args))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker_process,
                                     initargs=(initializer, tuple(initargs))) as pool:
                futures = {pool.submit(job, *args): i for i, args in jobs.items()}
                for fut in as_completed(futures):
                    finish(futures[fut], fut.result)
    finally:
        bar.close()
    return results, failures
