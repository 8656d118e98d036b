"""The course runner (``make demo``) re-runs only what changed, and prints what notebooks recorded."""

from __future__ import annotations

import json

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
    out = tmp_path / "out"

    records = course.run_course(out=out, quick=True)
    assert len(calls) == 1 and calls[0][1] == {"QUICK_RUN": True}
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
