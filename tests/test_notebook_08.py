"""Notebook 08 runs top to bottom with papermill in quick mode, first in full mode (it trains every run of the
scoreboard for a few batches), then in course mode, which must find every run and train nothing."""

from __future__ import annotations

import json

import pytest


@pytest.mark.notebook
def test_08_paper_tables(run_notebook, tmp_path):
    """On the tiny set with a quarter of its clips swaying (CAMERA_SHARE 0.25, its own data folder), so that the
    motion classes are split by camera too; notebook 08 generates it and extracts its frames."""
    from tsnlib import paper_tables
    from tsnlib.evaluation import ScoreSet
    from tsnlib.lessons import group_top1

    env = {"data": tmp_path / "data", "out": tmp_path / "out"}
    cells = sum(c is not None for r in paper_tables.ROWS for c in r.cells().values())
    r = run_notebook("08_paper_tables.ipynb", env, NUM_WORKERS=0, MODE="full", CAMERA_SHARE=0.25)
    assert r["mode"] == "full" and r["num_runs"] == len(paper_tables.RUNS)
    assert r["flow_k3_config_as_notebook_04"] is True
    assert sorted(r["runs_trained"]) == sorted(paper_tables.RUNS) == r["runs_available"]
    assert r["cells"] == r["cells_measured"] == cells and r["rows_needing_make_paper"] == 0
    assert r["num_test_videos"] == 26 and r["minutes_to_complete"] == 0
    board = json.loads((env["out"] / "results" / "paper_tables.json").read_text())
    items = paper_tables.orderings(board)
    assert r["orderings"] == len(items) and r["orderings_same"] == sum(o["same"] for o in items)
    # a cell as saved is the top-1 of its run's score file
    rgb = board["rows"][0]["rgb"]
    scores = ScoreSet.load(env["out"] / "runs" / rgb["runs"][0] / "scores_test.npz")
    assert (rgb["correct"], rgb["n"]) == (group_top1(scores).correct, group_top1(scores).n)
    assert (env["out"] / "figures" / "08_paper_tables.png").is_file()
    # the motion classes by camera: 3 of the 12 motion test videos of the tiny set (seed 0, share 0.25) sway
    # (v_MoveLeft_g01_c01, v_RotateCW_g01_c02, v_RotateCCW_g01_c01); each count is that of the run's score file
    assert sorted(r["motion_by_camera"]) == ["flow_k3", "warpflow_k3"]
    for name, by_camera in r["motion_by_camera"].items():
        scores = ScoreSet.load(env["out"] / "runs" / name / "scores_test.npz")
        right = scores.scores.argmax(axis=1) == scores.labels
        swaying = {"v_MoveLeft_g01_c01", "v_RotateCW_g01_c02", "v_RotateCCW_g01_c01"}
        motion = [i for i, c in enumerate(scores.labels) if scores.class_names[c].startswith(("Move", "Rotate", "Zoom"))]
        for camera, keep in (("swaying", [i for i in motion if scores.video_ids[i] in swaying]),
                             ("still", [i for i in motion if scores.video_ids[i] not in swaying])):
            assert by_camera[camera] == [int(right[keep].sum()), len(keep)], (name, camera)
        assert by_camera["swaying"][1] == 3 and by_camera["still"][1] == 9

    # course mode (what make demo runs) on the same output: every run found, nothing trained, the same cells
    again = run_notebook("08_paper_tables.ipynb", env, NUM_WORKERS=0, CAMERA_SHARE=0.25)
    assert again["mode"] == "course" and again["runs_trained"] == []
    assert again["cells_measured"] == cells and again["runs_available"] == r["runs_available"]
    assert json.loads((env["out"] / "results" / "paper_tables.json").read_text())["rows"] == board["rows"]
    assert again["motion_by_camera"] == r["motion_by_camera"]
