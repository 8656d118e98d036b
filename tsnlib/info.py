"""``tsnlib info``: what this machine offers the course, one OK/FAIL line per component.

Introduced in notebooks/01_data_preparation.ipynb (setup). Run it first when something fails:
it names the missing piece (a decoder, a flow method, the GPU) instead of a traceback.
"""

from __future__ import annotations

import importlib
import platform
import sys


def _version(module: str) -> tuple[bool, str]:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # any import failure is a FAIL line, never a crash
        return False, f"not importable ({type(exc).__name__}: {exc})"
    return True, str(getattr(mod, "__version__", "installed"))


def collect_info() -> list[tuple[str, bool, str]]:
    """Rows ``(component, ok, detail)`` describing the environment.

    Optional components (decord on machines without wheels, TV-L1, timm, tensorboard) report
    FAIL with the reason but do not make the whole environment unusable; see :func:`cli_info`.
    """
    rows: list[tuple[str, bool, str]] = [("python", sys.version_info >= (3, 10), platform.python_version())]
    for name in ["torch", "torchvision", "numpy", "cv2", "av", "decord", "pytorch_grad_cam", "papermill", "matplotlib"]:
        ok, detail = _version(name)
        rows.append((name, ok, detail))

    try:
        import torch

        if torch.cuda.is_available():
            rows.append(("device", True, f"cuda: {torch.cuda.get_device_name(0)} (x{torch.cuda.device_count()})"))
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            rows.append(("device", True, "mps"))
        else:
            cap = torch.backends.cpu.get_cpu_capability()
            rows.append(("device", True, f"cpu ({torch.get_num_threads()} threads, {cap})"))
    except Exception as exc:
        rows.append(("device", False, str(exc)))

    try:
        from tsnlib.decoding import available_backends

        for name, status in available_backends().items():
            rows.append((f"decoder {name}", status is True, "available" if status is True else str(status)))
    except Exception as exc:
        rows.append(("decoders", False, f"tsnlib.decoding: {exc}"))

    try:
        from tsnlib.flow import available_flow_methods

        for name, status in available_flow_methods().items():
            rows.append((f"flow {name}", status is True, "available" if status is True else str(status)))
    except Exception as exc:
        rows.append(("flow methods", False, f"tsnlib.flow: {exc}"))
    return rows


#: Components without which the course cannot run; the others are optional.
REQUIRED = {"python", "torch", "torchvision", "numpy", "cv2", "av", "papermill", "matplotlib", "device"}


def format_info(rows) -> str:
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{'OK  ' if ok else 'FAIL'}  {name:<{width}}  {detail}" for name, ok, detail in rows)


def add_info_arguments(parser) -> None:
    parser.add_argument("--strict", action="store_true", help="exit 1 if any component fails, optional ones included")


def cli_info(args) -> int:
    rows = collect_info()
    print(format_info(rows))
    failed_required = [name for name, ok, _ in rows if not ok and name in REQUIRED]
    failed_any = [name for name, ok, _ in rows if not ok]
    if failed_required:
        print(f"\nMissing required components: {', '.join(failed_required)}")
        return 1
    return 1 if (args.strict and failed_any) else 0
