"""Shared fixtures: one tiny synthetic dataset per test session, an isolated output folder."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_data_root(tmp_path_factory):
    """A ``$TSN_DATA``-style folder holding the tiny synthetic dataset at ``synthetic/ucf101``, with the frame
    folders the course's presets read (``synthetic/ucf101/rawframes``, extracted as notebook 03 does)."""
    from tsnlib.flow import prepare_flow_dataset
    from tsnlib.streams import COURSE_SHORT_SIDE
    from tsnlib.synthetic import generate_dataset

    root = tmp_path_factory.mktemp("tsn_data")
    generate_dataset(root / "synthetic" / "ucf101", size="tiny", seed=0, progress=False)
    prepare_flow_dataset(root / "synthetic" / "ucf101", short_side=COURSE_SHORT_SIDE, workers=0, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_ucf101(tiny_data_root):
    """The root of the tiny synthetic dataset in the UCF101 layout (``UCF-101/``, ``ucfTrainTestlist/``)."""
    return tiny_data_root / "synthetic" / "ucf101"


@pytest.fixture(autouse=True)
def _quiet_progress(monkeypatch):
    monkeypatch.setenv("TSN_PROGRESS", os.environ.get("TSN_PROGRESS", "off"))
    monkeypatch.setenv("MPLBACKEND", "Agg")


def _execute_notebook(name: str, env: dict, mp: pytest.MonkeyPatch, **parameters) -> dict:
    """Execute ``notebooks/<name>`` with papermill in quick mode, its environment set through ``mp``."""
    import papermill as pm

    root = Path(__file__).resolve().parents[1]
    mp.setenv("TSN_DATA", str(env["data"]))
    mp.setenv("TSN_OUTPUT", str(env["out"]))
    mp.setenv("TSN_PROGRESS", "off")
    mp.setenv("MPLBACKEND", "Agg")
    params = {"QUICK_RUN": True, "SYNTH_SIZE": "tiny", **parameters}
    out_nb = env["out"] / "notebooks" / name
    out_nb.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    pm.execute_notebook(str(root / "notebooks" / name), str(out_nb), parameters=params,
                        cwd=str(root / "notebooks"), progress_bar=False, kernel_name="python3")
    if "seconds" in env:
        env["seconds"][name] = time.perf_counter() - start
    results = env["out"] / "results" / f"{Path(name).stem}.json"
    assert results.exists(), f"{name} recorded no results"
    assert (env["out"] / "figures").is_dir()
    return json.loads(results.read_text())


@pytest.fixture
def run_notebook(monkeypatch):
    """Execute ``notebooks/<name>`` with papermill in quick mode on the tiny set; returns what it recorded.

    ``env``: ``{"data": $TSN_DATA, "out": $TSN_OUTPUT}`` (a shared ``out`` lets later notebooks reuse
    earlier runs, as in ``make demo``), optionally ``"seconds"``, a dict that gets each run's time.
    """

    def run(name: str, env: dict, **parameters) -> dict:
        return _execute_notebook(name, env, monkeypatch, **parameters)

    return run


@pytest.fixture(scope="session")
def run_notebook_for_fixture():
    """:func:`run_notebook` for module- and session-scoped fixtures (a notebook that several tests need, run
    once): the environment it sets is restored when the notebook has run."""

    def run(name: str, env: dict, **parameters) -> dict:
        with pytest.MonkeyPatch.context() as mp:
            return _execute_notebook(name, env, mp, **parameters)

    return run
