"""``tsnlib info``: what this machine offers the course, one line per component.

Each line starts with a status word: ``OK`` (works), ``--`` (an optional part that is not
available here, with how to get it; the course runs without it) or ``FAIL`` (a part the course
needs is missing or broken). Introduced in notebooks/01_data_preparation.ipynb (setup). Run it
first when something fails: it names the missing piece (a decoder, a flow method, the GPU)
instead of a traceback.
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

    ``ok`` is False for anything that cannot be used here; :func:`status` tells a missing
    optional component (:data:`OPTIONAL`: decord on machines without wheels, TV-L1 flow, RAFT
    weights) from a broken required one; see :func:`cli_info`.
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

        for name, state in available_backends().items():
            rows.append((f"decoder {name}", state is True, "available" if state is True else str(state)))
    except Exception as exc:
        rows.append(("decoders", False, f"tsnlib.decoding: {exc}"))

    try:
        from tsnlib.flow import available_flow_methods

        for name, state in available_flow_methods().items():
            rows.append((f"flow {name}", state is True, "available" if state is True else str(state)))
    except Exception as exc:
        rows.append(("flow methods", False, f"tsnlib.flow: {exc}"))
    return rows


#: Optional components: when absent, their line says so (status ``--``) with how to get them;
#: the course runs without them. Every other component is required (``FAIL`` when not usable).
OPTIONAL = {"decord", "decoder decord", "flow tvl1", "flow raft"}

#: Status words of :func:`format_info`, all of the same width.
OK, ABSENT, FAIL = "OK  ", "--  ", "FAIL"


def status(name: str, ok: bool) -> str:
    """``"OK  "`` when usable, ``"--  "`` for an absent optional part, ``"FAIL"`` for a required one."""
    if ok:
        return OK
    return ABSENT if name in OPTIONAL else FAIL


def format_info(rows) -> str:
    """The table of :func:`collect_info`'s rows, one ``STATUS  component  detail`` line each.

    Absent optional parts read ``--    flow tvl1   optional, not available: <how to get it>``,
    followed by one line that says what ``--`` means.
    """
    width = max(len(r[0]) for r in rows)
    lines = []
    for name, ok, detail in rows:
        word = status(name, ok)
        if word == ABSENT:
            detail = f"optional, not available: {detail}"
        lines.append(f"{word}  {name:<{width}}  {detail}")
    if any(status(name, ok) == ABSENT for name, ok, _ in rows):
        lines.append("(--: an optional part that is not available here; the course runs without it)")
    return "\n".join(lines)


def add_info_arguments(parser) -> None:
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if any component is not usable, absent optional ones (--) included")


def cli_info(args) -> int:
    rows = collect_info()
    print(format_info(rows))
    failed_required = [name for name, ok, _ in rows if status(name, ok) == FAIL]
    failed_any = [name for name, ok, _ in rows if not ok]
    if failed_required:
        print(f"\nMissing required components: {', '.join(failed_required)}")
        return 1
    return 1 if (args.strict and failed_any) else 0
