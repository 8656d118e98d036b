"""The paper's tables (tsnlib.paper_tables): cells defined by runs, the course's runs reused, values from score files.

The slow tests build the whole scoreboard once in smoke mode (every run one short epoch on the tiny synthetic set)
and check each cell against its score files by hand; the fast ones check the configs, the orderings and the
estimate without training anything.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tsnlib import config, paper_tables, streams
from tsnlib.evaluation import ScoreSet, wilson_interval

ALL_CELLS = [(r.table, r.setting, col, cell) for r in paper_tables.ROWS for col, cell in r.cells().items() if cell]


def _cells(board):
    return [(row["table"], row["setting"], col, row[col]) for row in board["rows"] for col in paper_tables.COLUMNS
            if row[col] is not None]


def _run_files(out: Path) -> dict[str, float]:
    """Every file under ``<out>/runs`` with its modification time."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted((out / "runs").rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------------------------
# fast: configs, orderings, the estimate


@pytest.mark.parametrize("quick", [False, True])
def test_the_course_runs_have_the_configs_notebooks_03_to_05_build(tmp_path, quick):
    """Reuse depends on it: each course run's config equals the one its notebook builds (cells copied from them)."""
    out, root, seed, workers = tmp_path / "out", tmp_path / "ucf101", 3, 2
    frames = root / "rawframes"
    rgb_best = out / "runs" / "rgb_k3" / "best.pth"
    # notebook 03: load_config with its override list (+ data.num_segments=1 for the K = 1 ablation)
    o = ["data.num_segments=3", f"train.seed={seed}", f"train.workers={workers}", f"test.workers={workers}",
         "test.num_clips=25", "test.num_crops=1", f"data.root={frames}"]
    if quick:
        o += ["optim.epochs=1", "train.max_steps_per_epoch=3", "test.num_clips=5", "test.num_crops=1"]
    expected = {"rgb_k3": config.load_config("tsn_r8_synthetic_rgb", o),
                "rgb_k1": config.load_config("tsn_r8_synthetic_rgb", o + ["data.num_segments=1"])}
    # notebooks 04 and 05: streams.stream_config with their arguments
    common = dict(num_segments=3, seed=seed, workers=workers, test_clips=25, test_crops=1, epochs=None, batch_size=None,
                  quick=quick)
    xmod = [f"model.rgb_weights={rgb_best}", "model.pretrained=null"]
    expected["flow_k3"] = streams.stream_config("flow", "tsn_r8_synthetic_flow", data_root=frames, **common,
                                                overrides=xmod)
    expected["flow_k3_random_conv1"] = streams.stream_config(
        "flow", "tsn_r8_synthetic_flow", data_root=frames, **common, overrides=["model.rgb_weights=null",
                                                                                "model.pretrained=null"])
    expected["rgbdiff_k3"] = streams.stream_config("rgbdiff", "tsn_r8_synthetic_rgbdiff", data_root=None,
                                                   frames_root=frames, **common, overrides=xmod)
    assert set(expected) == set(paper_tables.COURSE_RUNS)
    for name, cfg in expected.items():
        assert paper_tables.run_config(paper_tables.RUNS[name], out, root, seed=seed, workers=workers,
                                       quick=quick) == cfg, name


def test_every_run_has_its_own_config_and_folder(tmp_path):
    """Two runs that shared a config would be one run under two names; each override lands where it should."""
    cfgs = {name: paper_tables.run_config(spec, tmp_path, tmp_path / "ucf101", pretrained="/w/stand-in.pth")
            for name, spec in paper_tables.RUNS.items()}
    keys = streams.MATCH_KEYS + paper_tables.REUSE_KEYS + streams.FULL_RUN_KEYS
    identities = {name: tuple(str(config.get_value(c, k)) for k in keys) for name, c in cfgs.items()}
    assert len(set(identities.values())) == len(identities)
    assert cfgs["rgb_k1_pretrained"]["model"]["pretrained"] == "/w/stand-in.pth"
    assert cfgs["flow_k1_pretrained"]["model"]["pretrained"] == "/w/stand-in.pth"  # inflated: cross-modality
    assert cfgs["warpflow_k3"]["data"]["root"] == str(tmp_path / "ucf101" / "warpframes")
    assert cfgs["flow_k3_max"]["model"]["rgb_weights"] == str(tmp_path / "runs" / "rgb_k3" / "best.pth")
    assert (cfgs["rgb_k1_pretrained_pbn"]["model"]["partial_bn"], cfgs["rgb_k1_pretrained_pbn"]["model"]["dropout"]) \
        == (True, 0.8)
    assert cfgs["flow_k3_pretrained_pbn"]["model"]["dropout"] == 0.7
    # fine-tuning from the stand-in at a tenth of the from-scratch rate (RGB preset 0.05, flow 0.02); the rest at the preset's
    assert [cfgs[n]["optim"]["lr"] for n in ("rgb_k1_pretrained", "rgb_k3_pretrained_pbn", "flow_k1_pretrained",
                                             "flow_k3_pretrained_pbn", "rgb_k1", "flow_k1_scratch", "flow_k3_max")] \
        == pytest.approx([0.005, 0.005, 0.002, 0.002, 0.05, 0.02, 0.02])
    dense = paper_tables.RUNS["rgb_k3_dense"]
    assert cfgs["rgb_k3_dense"]["data"]["dense_sampling"] is True
    test_cfg = paper_tables.run_config(dense, tmp_path, tmp_path / "ucf101", crops=10)
    assert test_cfg["data"]["dense_sampling"] is False and test_cfg["test"]["num_crops"] == 10
    with pytest.raises(ValueError, match="pretrained"):
        paper_tables.run_config(paper_tables.RUNS["rgb_k1_pretrained"], tmp_path, tmp_path / "ucf101")


def test_cells_read_only_known_runs_and_fuse_with_the_papers_weights():
    for table, setting, col, cell in ALL_CELLS:
        assert all(run in paper_tables.RUNS for run, _ in cell.parts), (table, setting)
    two = paper_tables.ROWS[0].two_stream
    assert two.weights == [1.0, 1.5] and two.label == "RGB + flow (1 : 1.5)"
    four = next(r for r in paper_tables.ROWS if r.setting == "all four").two_stream
    assert four.weights == [1.0, 1.0, 1.5, 1.5] and four.paper == 0.917
    # the paper's figures of §4.1, as fractions
    t3 = {r.setting: (r.rgb.paper, r.flow.paper, r.two_stream.paper) for r in paper_tables.ROWS if r.table == "3"}
    assert t3 == {"max": (0.850, 0.860, 0.916), "average": (0.857, 0.879, 0.935),
                  "weighted average": (0.862, 0.877, 0.924)}


def test_estimate_minutes_adds_the_measured_run_times():
    minutes = paper_tables.estimate_minutes(["rgb_k3", "flow_k1_scratch", "rgbdiff_k3"], warp_frames=True,
                                            stand_in=True, views=[("rgb_k3", 10), ("flow_k3", 1)])
    assert minutes == round(2.2 + 2.8 / 2 + 1.1 + 2.5 + 3.5 + 10 * 10 / 60, 1) == 12.4


def test_course_mode_on_an_empty_output_trains_nothing_and_lists_every_run(tmp_path):
    board = paper_tables.scoreboard(tmp_path / "out", tmp_path / "ucf101", mode="course", quick=True)
    assert not (tmp_path / "out" / "runs").exists()
    assert set(board["runs"]) == set(paper_tables.RUNS) and not any(r["available"] for r in board["runs"].values())
    cells = _cells(board)
    assert len(cells) == len(ALL_CELLS)
    assert all(c["value"] is None and c["status"] == "needs make paper" for *_, c in cells)
    assert all(c["missing"] == sorted(set(c["runs"])) for *_, c in cells)
    assert board["minutes_to_complete"] == paper_tables.estimate_minutes(
        list(paper_tables.RUNS), warp_frames=True, stand_in=True, views=[("rgb_k3", 10), ("flow_k3", 3)])
    text = paper_tables.format_scoreboard(board)
    assert f"{len(paper_tables.RUNS)} runs are missing" in text and "- (48.7)" in text
    assert paper_tables.orderings(board) == []
    with pytest.raises(ValueError, match="mode"):
        paper_tables.scoreboard(tmp_path / "out", tmp_path / "ucf101", mode="paper")


def _board(values):
    """A two-row board of one column: ``values`` = ((ours, correct, n, paper), ...)."""
    rows = []
    for i, (value, correct, n, paper) in enumerate(values):
        cell = {"label": "RGB", "runs": [f"r{i}"], "views": ["25x1"], "value": value, "correct": correct, "n": n,
                "interval": list(wilson_interval(correct, n)), "paper": paper}
        rows.append({"table": "3", "setting": f"s{i}", "rgb": cell, "flow": None, "two_stream": None})
    return {"rows": rows}


def test_orderings_compare_signs_and_intervals():
    # paper: s0 < s1 (+0.7 points); ours 60/100 -> 90/100: same order, Wilson intervals [0.50, 0.69] and [0.83, 0.95]
    (o,) = paper_tables.orderings(_board([(0.6, 60, 100, 0.850), (0.9, 90, 100, 0.857)]))
    assert (o["first"], o["second"], o["column"]) == ("s0", "s1", "rgb")
    assert o["paper"] == pytest.approx(0.007) and o["ours"] == pytest.approx(0.3)
    assert o["same"] and o["resolved"]
    # ours 62/100 -> 60/100: the opposite order, intervals overlapping
    (o,) = paper_tables.orderings(_board([(0.62, 62, 100, 0.850), (0.60, 60, 100, 0.857)]))
    assert not o["same"] and not o["resolved"]
    assert "OPPOSITE order, within our intervals" in paper_tables.format_orderings([o])
    # a cell without the paper's figure is skipped; so is a pair of the same run
    assert paper_tables.orderings(_board([(0.6, 60, 100, None), (0.9, 90, 100, 0.857)])) == []
    same_run = _board([(0.6, 60, 100, 0.841), (0.6, 60, 100, 0.841)])
    same_run["rows"][1]["rgb"]["runs"] = ["r0"]
    assert paper_tables.orderings(same_run) == []


def test_make_paper_runs_notebook_08_alone_in_full_mode_and_prints_the_scoreboard(tmp_path, monkeypatch, capsys):
    """``python -m tsnlib.course --paper`` (make paper): notebook 08 with MODE "full", in the seed's folder, no lesson
    table (its summary.json keeps the demo's time), then the scoreboard the notebook saved."""
    from tsnlib import course

    board = paper_tables.scoreboard(tmp_path / "empty", tmp_path / "ucf101", mode="course")
    calls = []

    def fake_execute(path, out, params, timeout=None):
        calls.append((path.name, out, dict(params)))
        paper_tables.save_scoreboard(board, out)  # what the notebook does
        for sub, name in (("notebooks", path.name), ("html", f"{path.stem}.html")):
            (out / sub).mkdir(parents=True, exist_ok=True)
            (out / sub / name).write_text("x")
        return out / "notebooks" / path.name

    monkeypatch.setattr(course, "execute_notebook", fake_execute)
    monkeypatch.setattr("tsnlib.synthetic.generate_dataset", lambda root, **kw: root)
    monkeypatch.setenv("TSN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TSN_OUTPUT", str(tmp_path / "unused"))
    out = tmp_path / "out"
    assert course.main(["--out", str(out), "--seed", "2", "--paper"]) == 0
    params = {"QUICK_RUN": False, "SEED": 2, "MODE": "full"}
    assert calls == [("08_paper_tables.ipynb", (out / "seed-2").resolve(), params)]
    assert not (out / "seed-2" / "results" / "summary.json").exists()
    assert paper_tables.format_scoreboard(board) in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------------
# slow: the whole scoreboard in smoke mode


@pytest.fixture(scope="module")
def full(tiny_ucf101, tmp_path_factory):
    """The full scoreboard in smoke mode: every run trained for one short epoch and tested with 5 snippets."""
    out = tmp_path_factory.mktemp("paper_out")
    board = paper_tables.scoreboard(out, tiny_ucf101, mode="full", quick=True, workers=0)
    return out, board


def _scores(out: Path, run: str, view: str) -> ScoreSet:
    crops = int(view.split("x")[1])
    return ScoreSet.load(out / "runs" / run / paper_tables.scores_name(crops))


@pytest.mark.slow
def test_full_mode_trains_every_run_and_measures_every_cell(full, tiny_ucf101):
    out, board = full
    assert board["mode"] == "full" and board["quick"] is True
    assert all(r["trained"] and r["available"] for r in board["runs"].values())
    assert {p.name for p in (out / "runs").iterdir()} == set(paper_tables.RUNS)
    assert (out / "pretrained" / "stand-in_resnet8_smoke.pth").is_file()
    assert board["pretrained"]["source"] == "stand-in"
    assert (tiny_ucf101 / "warpframes" / "ucf101_test_split_1_flow.txt").is_file()
    # the random first layer started from the file save_stream_init wrote, the rest from rgb_k3
    assert (out / "runs" / "flow_k3_random_conv1" / "init_random_conv1.pth").is_file()
    assert board["num_test_videos"] == 26 and board["chance"] == 1 / 13
    assert board["minutes_to_complete"] == 0
    cells = _cells(board)
    assert len(cells) == len(ALL_CELLS) and all(c["status"] == "measured" and c["n"] == 26 for *_, c in cells)


@pytest.mark.slow
def test_each_cell_is_the_top1_of_its_score_files_with_its_wilson_interval(full):
    out, board = full
    for table, setting, col, cell in _cells(board):
        sets = [_scores(out, run, view) for run, view in zip(cell["runs"], cell["views"])]
        assert [s.meta["num_views"] for s in sets] == [int(v.split("x")[1]) for v in cell["views"]]
        order = sets[0].video_ids
        fused = np.zeros(sets[0].scores.shape, dtype=np.float64)
        for w, s in zip(cell["weights"] or [1.0], sets):
            rows = [s.video_ids.index(v) for v in order]
            fused += w * s.scores[rows].astype(np.float64)
        correct = int((fused.argmax(axis=1) == sets[0].labels).sum())
        assert (cell["correct"], cell["n"]) == (correct, len(order)), (table, setting, col)
        assert cell["value"] == correct / len(order)
        assert cell["interval"] == list(wilson_interval(correct, len(order)))


@pytest.mark.slow
def test_a_second_call_trains_and_tests_nothing(full, tiny_ucf101):
    out, board = full
    before = _run_files(out)
    again = paper_tables.scoreboard(out, tiny_ucf101, mode="full", quick=True, workers=0)
    assert not any(r["trained"] for r in again["runs"].values())
    assert _run_files(out) == before  # no checkpoint, score file or log rewritten
    assert again["rows"] == board["rows"]
    course = paper_tables.scoreboard(out, tiny_ucf101, mode="course", quick=True, workers=0)
    assert _run_files(out) == before and course["rows"] == board["rows"]


@pytest.mark.slow
def test_course_mode_shows_the_cells_of_the_runs_there_and_tests_nothing(full, tiny_ucf101, tmp_path):
    """Only notebook 03's runs in a fresh output folder: the cells they give are measured, the rest wait."""
    out, board = full
    fresh = tmp_path / "out"
    for run in ("rgb_k3", "rgb_k1"):
        shutil.copytree(out / "runs" / run, fresh / "runs" / run)
    before = _run_files(fresh)
    course = paper_tables.scoreboard(fresh, tiny_ucf101, mode="course", quick=True, workers=0)
    assert _run_files(fresh) == before
    assert sorted(n for n, r in course["runs"].items() if r["available"]) == ["rgb_k1", "rgb_k3"]
    for (table, setting, col, cell), (*_, ref) in zip(_cells(course), _cells(board)):
        if set(cell["runs"]) <= {"rgb_k3", "rgb_k1"}:
            assert cell["value"] == ref["value"] and cell["status"] == "measured", (table, setting, col)
        else:
            assert cell["value"] is None and cell["missing"] == sorted(set(cell["runs"]) - {"rgb_k3", "rgb_k1"})
    missing = [n for n in paper_tables.RUNS if n not in ("rgb_k3", "rgb_k1")]
    assert course["minutes_to_complete"] == paper_tables.estimate_minutes(
        missing, warp_frames=True, stand_in=True, views=[("flow_k3", 3)])


@pytest.mark.slow
def test_the_saved_scoreboard_and_its_figure(full):
    out, board = full
    path = paper_tables.save_scoreboard(board, out)
    assert path == out / "results" / "paper_tables.json"
    assert json.loads(path.read_text()) == json.loads(json.dumps(board))
    fig = paper_tables.plot_scoreboard(board)
    tables = list(dict.fromkeys(r["table"] for r in board["rows"]))
    assert len(fig.axes) == len(tables)
    for ax, table in zip(fig.axes, tables):
        cells = [c for t, _, _, c in _cells(board) if t == table]
        # one bar for ours per cell, one outline per paper figure
        assert len(ax.patches) == len(cells) + sum(c["paper"] is not None for c in cells), table
    text = paper_tables.format_scoreboard(board)
    first = board["rows"][0]["rgb"]
    assert f"{first['value']:.3f} [{first['interval'][0]:.2f}, {first['interval'][1]:.2f}] (48.7)" in text
    assert "SMOKE RUN" in text and "runs are missing" not in text
