"""The repository keeps its promises: one source of dependencies, clean notebooks, true README."""

from __future__ import annotations

import argparse
import ast
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_environment_yml_delegates_to_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = env["dependencies"]
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert pip_sections == [["-e .[dev]"]], "environment.yml must install exactly this package with pip"
    # No conda package may duplicate (and so contradict) a pyproject dependency.
    conda_names = {re.split(r"[=<>]", d)[0] for d in deps if isinstance(d, str)}
    assert conda_names <= {"python", "pip"}, conda_names
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    major, minor = map(int, python.split("=")[1].split(".")[:2])
    lower = tuple(map(int, re.search(r">=\s*(\d+)\.(\d+)", project["requires-python"]).groups()))
    assert (major, minor) >= lower
    assert "dev" in project["optional-dependencies"]


def test_torch_and_torchvision_pinned_exactly():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.14.1" in deps and "torchvision==0.29.1" in deps
    assert not any(d.startswith("opencv-python") and "headless" not in d for d in deps), \
        "only the headless OpenCV build: two OpenCV wheels in one environment break cv2"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make demo" in readme
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[-1] == "make test"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test:", makefile, re.M) and re.search(r"^demo:", makefile, re.M)


def test_there_are_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == sorted({p.name[:2] for p in NOTEBOOKS})
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_clean_with_one_parameters_cell(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code:
        assert not cell.get("outputs"), f"{path.name}: commit notebooks without outputs"
        assert cell.get("execution_count") is None, f"{path.name}: execution counts left in"
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
    tree = ast.parse("".join(params[0]["source"]))
    names = []
    for node in tree.body:
        assert isinstance(node, ast.Assign), f"{path.name}: the parameters cell holds only assignments"
        target = node.targets[0].id
        assert target.isupper(), f"{path.name}: parameter {target} is not ALL_CAPS"
        ast.literal_eval(node.value)  # literals only, so papermill can override them
        names.append(target)
    assert "QUICK_RUN" in names
    assert "SEED" in names  # python -m tsnlib.course passes {"QUICK_RUN": ..., "SEED": ...} to every notebook
    # every parameter carries a one-line comment on its trade-off
    for line in "".join(params[0]["source"]).splitlines():
        if "=" in line:
            assert "#" in line, f"{path.name}: parameter line without a comment: {line!r}"


def test_info_marks_absent_optional_parts_apart_from_failures(monkeypatch, capsys):
    """`tsnlib info` (Makefile setup, notebook 01): FAIL only for required parts; absent optional ones read '--'."""
    from tsnlib import info

    rows = [("python", True, "3.11"), ("flow tvl1", False, "pip install opencv-contrib-python-headless"),
            ("flow raft", False, "no RAFT weights"), ("decoder decord", False, "not installed")]
    text = info.format_info(rows)
    lines = text.splitlines()
    assert lines[0].startswith("OK    python")
    assert lines[1].startswith("--    flow tvl1") and "optional, not available: pip install opencv-contrib" in lines[1]
    assert lines[2].startswith("--    flow raft") and lines[3].startswith("--    decoder decord")
    assert "FAIL" not in text
    monkeypatch.setattr(info, "collect_info", lambda: rows)
    assert info.cli_info(argparse.Namespace(strict=False)) == 0  # absent optional parts never fail setup
    assert info.cli_info(argparse.Namespace(strict=True)) == 1
    capsys.readouterr()

    broken = rows + [("torch", False, "not importable (ImportError: boom)")]
    assert "FAIL  torch" in info.format_info(broken)
    monkeypatch.setattr(info, "collect_info", lambda: broken)
    assert info.cli_info(argparse.Namespace(strict=False)) == 1
    assert "Missing required components: torch" in capsys.readouterr().out


@pytest.mark.slow  # probes every decoder and flow method: 3-7 s here
def test_info_on_this_machine_has_no_fail_line():
    from tsnlib.info import collect_info, format_info

    text = format_info(collect_info())
    assert not [line for line in text.splitlines() if line.startswith("FAIL")], text


def test_progress_bar_never_warns_in_a_kernel_without_ipywidgets(monkeypatch):
    """tqdm.auto prints 'TqdmWarning: IProgress not found' into every executed notebook without ipywidgets."""
    import importlib.util
    import sys
    import types
    import warnings

    from tqdm.std import tqdm as console_tqdm

    from tsnlib import utils

    real_find_spec = importlib.util.find_spec
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "ipywidgets" else real_find_spec(name, *a, **k))
    for mode in ("bar", "off"):
        monkeypatch.setenv("TSN_PROGRESS", mode)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert utils._tqdm_class() is console_tqdm
            assert list(utils.progress(range(3), disable=True)) == [0, 1, 2]


#: The layers of tsnlib, bottom first, as README.md draws them: a module may import its own layer and those below.
LAYERS = {
    "foundations": ["errors", "utils", "plotting", "sampling"],
    "files": ["decoding", "frame_folders", "flow", "camera_motion", "annotations", "synthetic", "synthetic_tags"],
    "config": ["config"],
    "samples": ["datasets", "transforms"],
    "model": ["backbones", "models"],
    "engine": ["training", "experiment", "inference", "fusion", "evaluation", "checkpoints", "distributed",
               "precision"],
    "course": ["course", "lessons", "paper_tables", "streams", "pretraining", "checks", "info", "records",
               "visualization"],
    "command line": ["cli", "commands", "__main__", "__init__"],
}


def _tsnlib_imports(path: Path) -> list[tuple[str, bool]]:
    """(imported tsnlib top-level module, imported inside a function) for every tsnlib import of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f)}
    out = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tsnlib":
            names = [node.module] if node.module != "tsnlib" else [f"tsnlib.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.split(".")[0] == "tsnlib"]
        out += [(n.split(".")[1], id(node) in inner) for n in names if "." in n]
    return out


def test_the_library_is_layered_with_imports_at_the_top():
    rank = {m: i for i, mods in enumerate(LAYERS.values()) for m in mods}
    names = list(LAYERS)
    files = sorted((ROOT / "tsnlib").rglob("*.py"))
    tops = {p.relative_to(ROOT / "tsnlib").parts[0].removesuffix(".py") for p in files}
    assert tops == set(rank), f"modules missing from LAYERS (or gone): {sorted(tops ^ set(rank))}"
    upward, lazy = [], []
    for path in files:
        own = path.relative_to(ROOT / "tsnlib").parts[0].removesuffix(".py")
        for target, in_function in _tsnlib_imports(path):
            if rank[target] > rank[own]:
                upward.append(f"{path.relative_to(ROOT)} ({names[rank[own]]}) imports {target} ({names[rank[target]]})")
            if in_function and own != "info":  # tsnlib info must run with parts of the stack missing
                lazy.append(f"{path.relative_to(ROOT)} imports {target} inside a function")
    assert upward == [] and lazy == []
