"""The course runner (``make demo``) re-runs only what changed, and prints what notebooks recorded."""

from __future__ import annotations

import json
import time

import pytest

from tsnlib import course
from tsnlib.records import Recorder


def test_second_run_skips_unchanged_notebooks(tmp_path, monkeypatch):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nb = nb_dir / "01_demo.ipynb"
    nb.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    calls = []

    def fake_execute(path, out, params, timeout=None):
        calls.append((path.name, dict(params)))
        (out / "notebooks").mkdir(parents=True, exist_ok=True)
        (out / "html").mkdir(parents=True, exist_ok=True)
        (out / "notebooks" / path.name).write_text("{}")
        (out / "html" / f"{path.stem}.html").write_text("<html/>")
        Recorder(path.stem, out)["answer"] = 42
        return out / "notebooks" / path.name

    monkeypatch.setattr(course, "execute_notebook", fake_execute)
    monkeypatch.setattr(course, "notebook_paths", lambda folder=None, only=None: [nb])
    monkeypatch.setattr("tsnlib.synthetic.generate_dataset", lambda root, **kw: root)
    monkeypatch.setenv("TSN_OUTPUT", str(tmp_path / "env_out"))  # run_course sets it: restored after the test
    out = tmp_path / "out"

    records = course.run_course(out=out, quick=True)
    assert len(calls) == 1 and calls[0][1] == {"QUICK_RUN": True, "SEED": 0}
    assert records == {"01_demo": {"answer": 42}}
    course.run_course(out=out, quick=True)
    assert len(calls) == 1, "an unchanged notebook must not run again"
    course.run_course(out=out, quick=True, parameters={"EPOCHS": 1})
    assert len(calls) == 2, "new parameters must run it again"
    nb.write_text(nb.read_text() + " ")
    course.run_course(out=out, quick=True, parameters={"EPOCHS": 1})
    assert len(calls) == 3, "an edited notebook must run again"
    course.run_course(out=out, quick=True, parameters={"EPOCHS": 1}, force=True)
    assert len(calls) == 4


def test_parameter_values_are_typed_like_papermill():
    assert course._parse_value("1") == 1
    assert course._parse_value("0.5") == 0.5
    assert course._parse_value("True") is True and course._parse_value("false") is False
    assert course._parse_value("resnet18") == "resnet18"


def test_results_table_lists_scalars_only():
    table = course.format_results({"03_train_rgb": {"test_top1": 0.81234, "per_class": [0.1, 0.2], "epochs": 8}})
    assert "03_train_rgb" in table and "0.8123" in table and "epochs" in table
    assert "per_class" not in table


def test_a_rerun_notebook_reruns_the_ones_after_it(tmp_path, monkeypatch):
    """Notebooks 04-06 reuse 03's checkpoint: when 03 runs again, so do they; an edit of 04 leaves 03 alone."""
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nbs = [nb_dir / f"0{i}_demo.ipynb" for i in (1, 2)]
    for nb in nbs:
        nb.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    calls = []

    def fake_execute(path, out, params, timeout=None):
        calls.append(path.name)
        for sub, name in (("notebooks", path.name), ("html", f"{path.stem}.html")):
            (out / sub).mkdir(parents=True, exist_ok=True)
            (out / sub / name).write_text("x")
        return out / "notebooks" / path.name

    def paths(folder=None, only=None):
        return [p for p in nbs if not only or any(o in p.stem for o in only)]

    monkeypatch.setattr(course, "execute_notebook", fake_execute)
    monkeypatch.setattr(course, "notebook_paths", paths)
    monkeypatch.setattr("tsnlib.synthetic.generate_dataset", lambda root, **kw: root)
    monkeypatch.setenv("TSN_OUTPUT", str(tmp_path / "env_out"))  # run_course sets it: restored after the test
    out = tmp_path / "out"
    course.run_course(out=out)
    assert calls == ["01_demo.ipynb", "02_demo.ipynb"]
    nbs[1].write_text(nbs[1].read_text() + " ")
    course.run_course(out=out)
    assert calls[2:] == ["02_demo.ipynb"]
    nbs[0].write_text(nbs[0].read_text() + " ")
    course.run_course(out=out, only=["02"])  # the first changed: the second's inputs changed with it
    assert calls[3:] == ["02_demo.ipynb"]
    course.run_course(out=out)
    assert calls[4:] == ["01_demo.ipynb"]  # the second already ran against the edited first


def test_seed_moves_data_and_output_and_writes_the_summary(tmp_path, monkeypatch):
    """--seed N: the synthetic set of generator seed N under <data>/seed-N, the runs in <out>/seed-N, the seed
    passed to every notebook; the lessons' summary.json at the end; a second call of the same process (which
    finds $TSN_DATA and $TSN_OUTPUT already moved) uses the same folders and skips the unchanged notebook."""
    from tsnlib.lessons import SUMMARY_KEYS

    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nb = nb_dir / "01_demo.ipynb"
    nb.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    calls, generated = [], []

    def fake_execute(path, out, params, timeout=None):
        calls.append((out, dict(params)))
        for sub, name in (("notebooks", path.name), ("html", f"{path.stem}.html")):
            (out / sub).mkdir(parents=True, exist_ok=True)
            (out / sub / name).write_text("x")
        return out / "notebooks" / path.name

    monkeypatch.setattr(course, "execute_notebook", fake_execute)
    monkeypatch.setattr(course, "notebook_paths", lambda folder=None, only=None: [nb])
    monkeypatch.setattr("tsnlib.synthetic.generate_dataset", lambda root, **kw: generated.append((root, kw)) or root)
    # run_course moves both variables for the notebooks it starts: monkeypatch restores them afterwards
    monkeypatch.setenv("TSN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TSN_OUTPUT", str(tmp_path / "unused"))
    out = tmp_path / "out"

    before = time.time()
    course.run_course(out=out, quick=True, seed=3)
    took = time.time() - before
    data3 = (tmp_path / "data" / "seed-3" / "synthetic" / "ucf101").resolve()
    assert generated == [(data3, {"seed": 3, "camera_share": 0.0})]
    assert calls == [((out / "seed-3").resolve(), {"QUICK_RUN": True, "SEED": 3})]
    summary = json.loads((out / "seed-3" / "results" / "summary.json").read_text())
    assert list(summary) == list(SUMMARY_KEYS) and summary["seed"] == 3
    # no notebook left a score file or a record: every lesson's number is None, not an error
    assert all(summary[k] is None for k in SUMMARY_KEYS if k not in ("seed", "demo_seconds"))
    assert isinstance(summary["demo_seconds"], float) and 0 <= summary["demo_seconds"] <= took  # this call's time

    course.run_course(quick=True, seed=3)  # out from $TSN_OUTPUT, data from $TSN_DATA, both set by the first call
    assert generated[1] == (data3, {"seed": 3, "camera_share": 0.0}), "the data folder must not nest seed-3/seed-3"
    assert len(calls) == 1, "the same seed, folders and notebook: skipped"

    # a swaying camera on a quarter of the clips: its own data and output folders, CAMERA_SHARE passed on
    monkeypatch.setenv("TSN_DATA", str(tmp_path / "data"))
    course.run_course(out=out, quick=True, seed=3, camera_share=0.25)
    data_sway = (tmp_path / "data" / "seed-3-camera-25" / "synthetic" / "ucf101").resolve()
    assert generated[2] == (data_sway, {"seed": 3, "camera_share": 0.25})
    assert calls[1] == ((out / "seed-3-camera-25").resolve(), {"QUICK_RUN": True, "SEED": 3, "CAMERA_SHARE": 0.25})


def test_seed_folder_names_the_seed_and_the_camera_share(tmp_path):
    assert course.seed_folder(tmp_path, 0) == tmp_path
    assert course.seed_folder(tmp_path, 2) == tmp_path / "seed-2"
    assert course.seed_folder(tmp_path, 0, 0.25) == tmp_path / "camera-25"
    assert course.seed_folder(tmp_path, 2, 0.25) == tmp_path / "seed-2-camera-25"
    assert course.seed_folder(tmp_path / "seed-2-camera-25", 2, 0.25) == tmp_path / "seed-2-camera-25"


def test_main_maps_smoke_and_seed(monkeypatch):
    got = []
    monkeypatch.setattr(course, "run_course", lambda **kw: got.append(kw) or {})
    assert course.main(["--smoke", "--seed", "2", "--started", "100.5", "-p", "EPOCHS", "1"]) == 0
    assert got[-1]["quick"] is True and got[-1]["seed"] == 2 and got[-1]["started"] == 100.5
    assert got[-1]["parameters"] == {"EPOCHS": 1}
    assert course.main([]) == 0
    assert got[-1]["quick"] is False and got[-1]["seed"] == 0  # course mode and seed 0 by default
    assert got[-1]["camera_share"] == 0.0  # the course's dataset: no swaying camera
    assert course.main(["--camera-share", "0.25"]) == 0 and got[-1]["camera_share"] == 0.25
    with pytest.raises(SystemExit):
        course.main(["--camera-share", "1.5"])
