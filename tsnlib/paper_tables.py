"""The paper's tables in miniature: its experiments re-run on the synthetic set, our numbers beside its own.

Introduced in notebooks/08_paper_tables.ipynb; the full scoreboard is ``make paper``.

Wang et al. report their findings as tables on UCF101 split 1 with BN-Inception (the figures are in
``shared/reference/tsn-anchors.md`` §4.1). Each table becomes a measured table here: every *cell* (one
stream, or a late fusion of several) is defined by the *runs* it needs, and every run is a course stream
preset with a start and a few overrides (:class:`RunSpec`), trained once into ``<output>/runs/<name>`` by
:func:`tsnlib.streams.train_or_reuse` and tested once by :func:`tsnlib.streams.test_or_reuse`. The course's
own runs keep their names and configs, so the scoreboard reuses them instead of training them again:

========================  ================================================  =====================
run                       what                                              made by
========================  ================================================  =====================
``rgb_k3``, ``rgb_k1``    RGB from scratch, K = 3 and K = 1                 notebook 03
``flow_k3``               flow, cross-modality start from ``rgb_k3``        notebook 04
``flow_k3_random_conv1``  the same with a random first layer (MMAction2)    notebook 04, opt-in
``rgbdiff_k3``            RGB difference, cross-modality from ``rgb_k3``    notebook 05, opt-in
everything else           (:data:`RUNS`)                                    ``make paper``
========================  ================================================  =====================

The tables (:data:`ROWS`):

* **Table 1**, training strategies, as the paper ran them, without segments (K = 1): from scratch,
  the spatial stream pre-trained (the offline stand-in of :mod:`tsnlib.pretraining` for ImageNet),
  the temporal stream started from the pre-trained network by cross-modality initialisation, then
  partial BN with the paper's dropout (0.8 RGB, 0.7 flow). Two rows more, ours only, at the course's
  K = 3: cross-modality from the RGB network trained here, and MMAction2's random first layer.
* **Table 2**, input modalities, at the course's setting (K = 3, RGB from scratch, every motion
  stream started from ``rgb_k3``): RGB, RGB difference, flow, warped flow and their fusions.
* **Table 3**, segmental consensus, K = 3: max, average (the course's runs), weighted average.
* **Table 5**, the components one after the other (two-stream): Table 1's last three rows, then TSN
  (the same practices with K = 3 segments).
* **Sampling**: TSN's sparse segments against MMAction2's dense sampling (the K snippets packed
  into one 64-frame window) with as many frames per sample, tested the same way; 25 x 1 against
  25 x 10 test views (flow 25 x 3: the mirrored views swap this dataset's left/right classes).

A cell's value is the top-1 over every test video of the synthetic set (the arg-max over all classes,
:func:`tsnlib.lessons.group_top1`) with its 95 % Wilson interval (:func:`tsnlib.evaluation.wilson_interval`).
Fusion uses fixed weights, never chosen on the test split: the paper's RGB : flow = 1 : 1.5, with RGB
difference weighted as RGB and warped flow as flow (:data:`FUSION_WEIGHTS`); raw scores are summed, as
in Caffe TSN.

Two modes (:func:`scoreboard`): ``"course"`` trains and tests nothing, it shows the cells whose runs and
score files the course already made (what ``make demo`` prints) and lists what the rest needs;
``"full"`` trains and tests every missing run (``make paper``: 21 minutes after ``make demo`` on a quiet
two-core CPU, seed 1, 2026-12-07; :func:`estimate_minutes` gives a cautious 40).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from tsnlib import pretraining, streams
from tsnlib.config import load_config
from tsnlib.flow import prepare_flow_dataset
from tsnlib.fusion import fuse_scores
from tsnlib.lessons import group_top1
from tsnlib.plotting import STREAM_COLORS, draw_chance
from tsnlib.training import read_metrics
from tsnlib.utils import output_dir, synthetic_root, write_stamp

__all__ = [
    "PRESETS",
    "STREAM_NAMES",
    "FUSION_WEIGHTS",
    "COURSE_RUNS",
    "REUSE_KEYS",
    "FINE_TUNE_LR_FACTOR",
    "FRAMES_FOLDER",
    "WARP_FOLDER",
    "RunSpec",
    "CellSpec",
    "RowSpec",
    "RUNS",
    "COLUMNS",
    "ROWS",
    "TABLE_TITLES",
    "MINUTES_K3",
    "scores_name",
    "run_config",
    "estimate_minutes",
    "scoreboard",
    "format_scoreboard",
    "orderings",
    "format_orderings",
    "plot_scoreboard",
    "save_scoreboard",
]

#: The preset of each stream: the course's three (:data:`tsnlib.streams.STREAM_PRESETS`) and warped flow.
PRESETS = {**streams.STREAM_PRESETS, "warpflow": "tsn_r8_synthetic_warpflow"}

#: How each stream is named in a table.
STREAM_NAMES = {"rgb": "RGB", "flow": "flow", "rgbdiff": "RGB difference", "warpflow": "warped flow"}

#: Late-fusion weight of each stream: the paper's RGB : flow = 1 : 1.5; RGB difference weighs as RGB (as in
#: notebook 05's three-stream fusion), warped flow as flow. Fixed before any test score is seen.
FUSION_WEIGHTS = {"rgb": 1.0, "rgbdiff": 1.0, "flow": 1.5, "warpflow": 1.5}

#: The runs that notebooks 03-05 make (the last two when their opt-in parameter is set): reused, never retrained.
COURSE_RUNS = ("rgb_k3", "rgb_k1", "flow_k3", "flow_k3_random_conv1", "rgbdiff_k3")

#: Config keys a finished run must share with the one asked for, on top of :data:`tsnlib.streams.MATCH_KEYS`:
#: what tells this scoreboard's runs apart (their start, consensus, regularisation and sampling).
REUSE_KEYS = ("model.pretrained", "model.rgb_weights", "model.consensus", "model.partial_bn", "model.dropout",
              "data.dense_sampling", "optim.lr")

#: The paper's partial BN "with dropout" (§3.2): the BN layers but the first frozen, dropout 0.8 (RGB), 0.7 (flow).
PARTIAL_BN_DROPOUT = {"rgb": ("model.partial_bn=true", "model.dropout=0.8"),
                      "flow": ("model.partial_bn=true", "model.dropout=0.7")}

#: A run that starts from the pre-trained stand-in fine-tunes at this fraction of its preset's from-scratch learning
#: rate, as the paper fine-tunes its ImageNet networks at 0.001 (RGB) and 0.005 (flow). Partial BN needs it: with
#: its BN layers frozen a network loses BN's rescaling, and at the preset's 0.05 the RGB network diverged (training
#: loss 183 at epoch 4, validation top-1 0.14 against 0.46 at 0.005; design runs on the validation split of seed 0).
FINE_TUNE_LR_FACTOR = 0.1

#: The frame folders of the dataset root: plain (notebook 03 extracts them) and warped flow (``make paper``).
FRAMES_FOLDER, WARP_FOLDER = "rawframes", "warpframes"


@dataclass(frozen=True)
class RunSpec:
    """One training run of the scoreboard, cached in ``<output>/runs/<name>``.

    * ``stream``: a key of :data:`PRESETS` (``"rgb"``, ``"flow"``, ``"rgbdiff"``, ``"warpflow"``);
    * ``num_segments``: K (1: a plain two-stream network, as the paper's Tables 1, 2 and 4);
    * ``start``: ``"scratch"``; ``"pretrained"`` (the stand-in backbone of :mod:`tsnlib.pretraining`,
      a motion stream then gets its first layer by cross-modality initialisation from it); or the name
      of an RGB run whose ``best.pth`` starts a motion stream by cross-modality initialisation;
    * ``first_conv``: with an RGB run as start, ``"random"`` keeps the first layer random and copies the
      rest (:func:`tsnlib.streams.save_stream_init`, MMAction2's start);
    * ``overrides``: ``key=value`` for training and test; ``test_overrides`` for the test only;
    * ``made_by``: the notebook that makes it in the course, or None (``make paper``).
    """

    name: str
    stream: str
    num_segments: int = 3
    start: str = "scratch"
    first_conv: str = "inflate"
    overrides: tuple[str, ...] = ()
    test_overrides: tuple[str, ...] = ()
    made_by: str | None = None

    def describe(self) -> str:
        """One line: stream, K, start and overrides."""
        start = {"scratch": "from scratch", "pretrained": "pre-trained (stand-in)"}.get(self.start)
        if start is None:
            start = f"from {self.start}" + (", conv1 random" if self.first_conv == "random" else " (cross-modality)")
        elif self.start == "pretrained" and self.stream != "rgb":
            start = "cross-modality from the pre-trained stand-in"
        extra = ", ".join(self.overrides + tuple(f"test: {o}" for o in self.test_overrides))
        return f"{STREAM_NAMES[self.stream]}, K = {self.num_segments}, {start}" + (f"; {extra}" if extra else "")


def _runs(*specs: RunSpec) -> dict[str, RunSpec]:
    return {s.name: s for s in specs}


_MAX, _WEIGHTED = ("model.consensus=max",), ("model.consensus=weighted",)
_DENSE = ("data.dense_sampling=true",)
_SPARSE_TEST = ("data.dense_sampling=false",)

#: Every run a table needs, by name.
RUNS: dict[str, RunSpec] = _runs(
    # the course's
    RunSpec("rgb_k3", "rgb", 3, made_by="03"),
    RunSpec("rgb_k1", "rgb", 1, made_by="03"),
    RunSpec("flow_k3", "flow", 3, start="rgb_k3", made_by="04"),
    RunSpec("flow_k3_random_conv1", "flow", 3, start="rgb_k3", first_conv="random", made_by="04, RUN_ABLATION"),
    RunSpec("rgbdiff_k3", "rgbdiff", 3, start="rgb_k3", made_by="05, RUN_RGBDIFF"),
    # Table 1 (no segments) and Table 5
    RunSpec("flow_k1_scratch", "flow", 1),
    RunSpec("rgb_k1_pretrained", "rgb", 1, start="pretrained"),
    RunSpec("flow_k1_pretrained", "flow", 1, start="pretrained"),
    RunSpec("rgb_k1_pretrained_pbn", "rgb", 1, start="pretrained", overrides=PARTIAL_BN_DROPOUT["rgb"]),
    RunSpec("flow_k1_pretrained_pbn", "flow", 1, start="pretrained", overrides=PARTIAL_BN_DROPOUT["flow"]),
    RunSpec("rgb_k3_pretrained_pbn", "rgb", 3, start="pretrained", overrides=PARTIAL_BN_DROPOUT["rgb"]),
    RunSpec("flow_k3_pretrained_pbn", "flow", 3, start="pretrained", overrides=PARTIAL_BN_DROPOUT["flow"]),
    # Table 2
    RunSpec("warpflow_k3", "warpflow", 3, start="rgb_k3"),
    # Table 3
    RunSpec("rgb_k3_max", "rgb", 3, overrides=_MAX),
    RunSpec("flow_k3_max", "flow", 3, start="rgb_k3", overrides=_MAX),
    RunSpec("rgb_k3_weighted", "rgb", 3, overrides=_WEIGHTED),
    RunSpec("flow_k3_weighted", "flow", 3, start="rgb_k3", overrides=_WEIGHTED),
    # sampling
    RunSpec("rgb_k3_dense", "rgb", 3, overrides=_DENSE, test_overrides=_SPARSE_TEST),
    RunSpec("flow_k3_dense", "flow", 3, start="rgb_k3", overrides=_DENSE, test_overrides=_SPARSE_TEST),
)


@dataclass(frozen=True)
class CellSpec:
    """One cell: a stream's test scores, or the late fusion of several (``parts``: ``(run, crops)`` pairs, the
    scores of ``run`` tested with 25 snippets x ``crops`` views), and the paper's figure (a fraction) or None."""

    parts: tuple[tuple[str, int], ...]
    paper: float | None = None

    @property
    def streams(self) -> list[str]:
        return [RUNS[run].stream for run, _ in self.parts]

    @property
    def weights(self) -> list[float] | None:
        """The fusion weights (:data:`FUSION_WEIGHTS`), None for a single stream."""
        return [FUSION_WEIGHTS[s] for s in self.streams] if len(self.parts) > 1 else None

    @property
    def label(self) -> str:
        """``"RGB"``, ``"RGB + flow (1 : 1.5)"``, ..."""
        names = " + ".join(STREAM_NAMES[s] for s in self.streams)
        if len(self.parts) == 1:
            return names
        return f"{names} ({' : '.join(f'{w:g}' for w in self.weights)})"


@dataclass(frozen=True)
class RowSpec:
    """One row: a table (``"1"``, ``"2"``, ``"3"``, ``"5"``, ``"sampling"``), its setting, and up to three
    cells, the RGB (spatial) column, the flow (temporal) column and the fused column."""

    table: str
    setting: str
    rgb: CellSpec | None = None
    flow: CellSpec | None = None
    two_stream: CellSpec | None = None
    note: str = ""

    def cells(self) -> dict[str, CellSpec | None]:
        return {"rgb": self.rgb, "flow": self.flow, "two_stream": self.two_stream}


#: The three columns of a row.
COLUMNS = ("rgb", "flow", "two_stream")
COLUMN_TITLES = {"rgb": "RGB (spatial)", "flow": "flow (temporal)", "two_stream": "fused"}

TABLE_TITLES = {
    "1": "Table 1 · training strategies (no segments: K = 1, as the paper)",
    "2": "Table 2 · input modalities (the course's setting: K = 3, RGB from scratch)",
    "3": "Table 3 · segmental consensus (K = 3, from scratch)",
    "5": "Table 5 · the components, one after the other (two-stream)",
    "sampling": "Sampling · sparse segments against a dense window; test views (K = 3, from scratch)",
}


def _one(run: str, paper: float | None = None, crops: int = 1) -> CellSpec:
    return CellSpec(((run, crops),), paper)


def _fused(*runs: str, paper: float | None = None, crops: Sequence[int] | None = None) -> CellSpec:
    crops = crops or [1] * len(runs)
    return CellSpec(tuple(zip(runs, crops)), paper)


def _row3(table, setting, rgb, flow, paper=(None, None, None), crops=(1, 1), note="") -> RowSpec:
    """A row of an RGB run, a flow run and their 1 : 1.5 fusion."""
    return RowSpec(table, setting, _one(rgb, paper[0], crops[0]), _one(flow, paper[1], crops[1]),
                   _fused(rgb, flow, paper=paper[2], crops=crops), note)


#: The scoreboard: the rows of Tables 1, 2, 3, 5 and the sampling rows. Paper figures: UCF101 split 1, BN-Inception.
ROWS: list[RowSpec] = [
    _row3("1", "from scratch", "rgb_k1", "flow_k1_scratch", (0.487, 0.817, 0.829)),
    _row3("1", "pre-train spatial only", "rgb_k1_pretrained", "flow_k1_scratch", (0.841, 0.817, 0.900)),
    _row3("1", "+ cross-modality pre-training", "rgb_k1_pretrained", "flow_k1_pretrained", (0.841, 0.866, 0.915)),
    _row3("1", "+ partial BN with dropout", "rgb_k1_pretrained_pbn", "flow_k1_pretrained_pbn", (0.845, 0.872, 0.920)),
    _row3("1", "K = 3, flow started from our RGB network", "rgb_k3", "flow_k3",
          note="ours only: the course's start (notebook 04), cross-modality from an RGB network trained here"),
    _row3("1", "K = 3, flow's conv1 random, the rest copied", "rgb_k3", "flow_k3_random_conv1",
          note="ours only: notebook 04's ablation, MMAction2's start (mmaction2 issue #565)"),
    RowSpec("2", "RGB | optical flow", _one("rgb_k3", 0.845), _one("flow_k3", 0.872), _fused("rgb_k3", "flow_k3"),
            note="the paper's RGB + flow without TSN is Table 1's 92.0"),
    RowSpec("2", "RGB difference | warped flow", _one("rgbdiff_k3", 0.838), _one("warpflow_k3", 0.869),
            _fused("rgbdiff_k3", "warpflow_k3")),
    RowSpec("2", "RGB + RGB difference", two_stream=_fused("rgb_k3", "rgbdiff_k3", paper=0.873)),
    RowSpec("2", "flow + warped flow", two_stream=_fused("flow_k3", "warpflow_k3", paper=0.878)),
    RowSpec("2", "RGB + flow + warped flow", two_stream=_fused("rgb_k3", "flow_k3", "warpflow_k3", paper=0.923)),
    RowSpec("2", "all four", two_stream=_fused("rgb_k3", "rgbdiff_k3", "flow_k3", "warpflow_k3", paper=0.917)),
    _row3("3", "max", "rgb_k3_max", "flow_k3_max", (0.850, 0.860, 0.916)),
    _row3("3", "average", "rgb_k3", "flow_k3", (0.857, 0.879, 0.935)),
    _row3("3", "weighted average", "rgb_k3_weighted", "flow_k3_weighted", (0.862, 0.877, 0.924)),
    RowSpec("5", "two-stream, spatial stream pre-trained",
            two_stream=_fused("rgb_k1_pretrained", "flow_k1_scratch", paper=0.900)),
    RowSpec("5", "+ cross-modality pre-training",
            two_stream=_fused("rgb_k1_pretrained", "flow_k1_pretrained", paper=0.915)),
    RowSpec("5", "+ partial BN with dropout",
            two_stream=_fused("rgb_k1_pretrained_pbn", "flow_k1_pretrained_pbn", paper=0.920)),
    _row3("5", "+ temporal segments (TSN, K = 3)", "rgb_k3_pretrained_pbn", "flow_k3_pretrained_pbn",
          (0.857, 0.879, 0.935), note="the paper's RGB and flow figures of this row are Table 3's average"),
    _row3("sampling", "sparse: 3 segments, 25 x 1 views", "rgb_k3", "flow_k3"),
    _row3("sampling", "dense: 3 snippets in a 64-frame window, 25 x 1 views", "rgb_k3_dense",
          "flow_k3_dense", note="tested with the sparse 25 snippets, as the row above: only training differs. "
          "No figure in the paper; MMAction2 1.x on Kinetics-400: dense 71.37 against sparse 73.80 (1x1x5)"),
    _row3("sampling", "sparse, 25 x 10 views (flow 25 x 3)", "rgb_k3", "flow_k3", crops=(10, 3),
          note="no figure in the paper; MMAction2 0.x on Kinetics-400: 25 x 10 and 25 x 3 within 1 point"),
]


# ----------------------------------------------------------------------------------------------
# Runs: configs, reuse, training
# ----------------------------------------------------------------------------------------------


def scores_name(crops: int) -> str:
    """The score file of a run tested with ``crops`` views per snippet: ``scores_test.npz`` for one (the
    course's), ``scores_test_10crop.npz`` for ten."""
    return "scores_test.npz" if crops == 1 else f"scores_test_{crops}crop.npz"


def run_config(spec: RunSpec, out, dataset_root, pretrained: str | None = None, seed: int = 0, workers: int = 2,
               quick: bool = False, crops: int | None = None) -> dict:
    """The config of ``spec``, built as notebooks 03-05 build theirs (:func:`tsnlib.streams.stream_config`) so
    that the course's runs are reused; with ``crops`` the test config (25 snippets x ``crops`` views).

    ``dataset_root``: the synthetic set; the runs read its frame folders (``rawframes``, ``warpframes`` for
    warped flow). ``pretrained``: the ``model.pretrained`` of ``start="pretrained"``, which also fine-tunes at
    :data:`FINE_TUNE_LR_FACTOR` times the preset's learning rate. ``quick``: the
    smoke overrides (:data:`tsnlib.streams.QUICK_OVERRIDES`).

    Introduced in notebooks/08_paper_tables.ipynb.
    """
    o: list[str] = []
    if spec.start == "pretrained":
        if not pretrained:
            raise ValueError(f"run {spec.name} starts from the pre-trained stand-in: pass pretrained=<weights path>")
        o.append(f"model.pretrained={pretrained}")
        o.append(f"optim.lr={load_config(PRESETS[spec.stream])['optim']['lr'] * FINE_TUNE_LR_FACTOR:g}")
    elif spec.start != "scratch" and spec.first_conv == "inflate":
        o += [f"model.rgb_weights={Path(out) / 'runs' / spec.start / 'best.pth'}", "model.pretrained=null"]
    o += list(spec.overrides)
    if crops is not None:
        o += list(spec.test_overrides) + [f"test.num_crops={int(crops)}"]
    folder = WARP_FOLDER if spec.stream == "warpflow" else FRAMES_FOLDER
    return streams.stream_config(spec.stream, PRESETS[spec.stream], frames_root=Path(dataset_root) / folder,
                                 num_segments=spec.num_segments, seed=seed, workers=workers, test_clips=25,
                                 test_crops=1, quick=quick, overrides=o)


def _reuse_keys(quick: bool) -> tuple[str, ...]:
    return streams.MATCH_KEYS + REUSE_KEYS + (() if quick else streams.FULL_RUN_KEYS)


def _finished(work_dir: Path, cfg: dict, keys: Sequence[str]) -> bool:
    """Whether ``work_dir`` holds a run of ``cfg`` (:func:`tsnlib.streams.run_differences`) that trained every epoch."""
    if streams.run_differences(work_dir, cfg, keys) != []:
        return False
    metrics = work_dir / "metrics.jsonl"
    return metrics.is_file() and len(read_metrics(metrics)) >= int(cfg["optim"]["epochs"])


def _needed_runs(rows: Sequence[RowSpec]) -> list[str]:
    """The runs ``rows`` read, and the RGB runs those start from, each after its start."""
    order: list[str] = []

    def add(name: str):
        spec = RUNS[name]
        if spec.start in RUNS:
            add(spec.start)
        if name not in order:
            order.append(name)

    for row in rows:
        for cell in row.cells().values():
            for run, _ in (cell.parts if cell else ()):
                add(run)
    return order


#: Minutes to train one run of each stream with K = 3 and test it 25 x 1, on a quiet two-core CPU (no GPU):
#: measured for the course's runs (notebooks/README.md, 2026-12-07: RGB 30 epochs 1.7-2.2 min, flow 2.6-3.2 min
#: with its test, RGB difference about 1 min); warped flow costs what flow does once its frames exist.
MINUTES_K3 = {"rgb": 2.2, "flow": 2.8, "warpflow": 2.8, "rgbdiff": 1.1}


def estimate_minutes(runs: Sequence[str], warp_frames: bool = False, stand_in: bool = False,
                     views: Sequence[tuple[str, int]] = ()) -> float:
    """Minutes to train and test ``runs`` on a quiet two-core CPU, from the course's measured run times.

    A run with K = 3 takes :data:`MINUTES_K3` of its stream; with K = 1 half of it (measured for RGB: 0.8-1 min
    for 30 epochs; scaled for flow). Not measured, scaled from the course's numbers: the warped-flow frame
    folders (``warp_frames``) 2.5 min (plain frames and flow take 1.3-1.6 min, warped flow twice the flow);
    the stand-in backbone (``stand_in``) 3.5 min (:func:`tsnlib.pretraining.pretrain_backbone` on one busy
    core); each test of ``views`` ``(run, crops)`` with more than one crop, ``crops`` times a 25 x 1 test
    (about 10 s).

    Introduced in notebooks/08_paper_tables.ipynb.
    """
    total = sum(MINUTES_K3[RUNS[r].stream] * (1.0 if RUNS[r].num_segments > 1 else 0.5) for r in runs)
    total += 2.5 * bool(warp_frames) + 3.5 * bool(stand_in)
    total += sum(crops * 10 / 60 for _, crops in views if crops > 1)
    return round(total, 1)


# ----------------------------------------------------------------------------------------------
# The scoreboard
# ----------------------------------------------------------------------------------------------


def _cell(spec: CellSpec, scores: dict) -> dict:
    """A cell's value from the score sets it needs (``scores``: ``{(run, crops): ScoreSet}``)."""
    runs = [run for run, _ in spec.parts]
    missing = sorted({run for run, crops in spec.parts if (run, crops) not in scores})
    cell = {"label": spec.label, "runs": runs, "views": [f"25x{crops}" for _, crops in spec.parts],
            "weights": spec.weights, "paper": spec.paper, "value": None, "interval": None, "correct": None,
            "n": None, "status": "measured" if not missing else "needs make paper", "missing": missing}
    if missing:
        return cell
    sets = [scores[p] for p in spec.parts]
    fused = sets[0] if len(sets) == 1 else fuse_scores(sets, spec.weights, align=True, names=runs)
    acc = group_top1(fused)
    cell.update(value=acc.value, interval=list(acc.interval), correct=acc.correct, n=acc.n)
    return cell


def scoreboard(out=None, dataset_root=None, mode: str = "course", quick: bool = False, seed: int = 0,
               workers: int = 2, device=None, tables: Sequence[str] | None = None, flow_method: str = "dis",
               pretrained_weights: str | os.PathLike | None = None) -> dict:
    """The paper's tables measured on the synthetic test split: trains or reuses the runs, returns the rows.

    * ``out``: the output folder (runs in ``<out>/runs``, the stand-in in ``<out>/pretrained``);
      ``dataset_root``: the synthetic set (default :func:`tsnlib.utils.synthetic_root`), whose frame
      folders the runs read;
    * ``mode="course"``: nothing is trained. A run counts when its folder holds a finished run of the
      config asked for (:func:`run_config`; compared on :data:`tsnlib.streams.MATCH_KEYS` and
      :data:`REUSE_KEYS`), a cell when its runs count and their score files are there (read by
      :func:`tsnlib.streams.test_or_reuse`, which tests again only a file older than its checkpoint);
      every other cell says ``"needs make paper"``. ``mode="full"``: the frame folders are extracted
      (reused when there), the stand-in backbone pre-trained (:func:`tsnlib.pretraining.course_pretrained`;
      ``pretrained_weights``, or ``$TSN_PRETRAINED``, a real weight file instead), and every run trained or
      reused (:func:`tsnlib.streams.train_or_reuse`) and tested or reused (:func:`tsnlib.streams.test_or_reuse`);
    * ``quick``: the smoke mode of the tests (one short epoch per run, 5 x 1 test views; the stand-in's
      :data:`tsnlib.pretraining.SMOKE_SETTINGS`): numbers that mean nothing;
    * ``tables``: only these tables' rows (``"1"``, ``"2"``, ``"3"``, ``"5"``, ``"sampling"``), default all.

    Returns ``{"mode", "quick", "seed", "rows", "runs", "chance", "num_test_videos", "pretrained",
    "fusion_weights", "minutes_to_complete"}``: ``rows`` is one dict per :class:`RowSpec` with ``"table"``,
    ``"setting"``, ``"note"`` and a cell (or None) under ``"rgb"``, ``"flow"`` and ``"two_stream"``: ``"label"``,
    ``"runs"``, ``"views"``, ``"weights"``, ``"value"`` (top-1 over all test videos), ``"interval"`` (95 % Wilson),
    ``"correct"``, ``"n"``, ``"paper"`` (a fraction, or None), ``"status"`` and ``"missing"`` (runs it lacks);
    ``runs`` maps each run to ``{"spec", "made_by", "available", "trained", "work_dir"}``.

    Introduced in notebooks/08_paper_tables.ipynb.
    """
    if mode not in ("course", "full"):
        raise ValueError(f"mode must be 'course' or 'full', got {mode!r}")
    out = output_dir(out)
    dataset_root = Path(dataset_root) if dataset_root is not None else synthetic_root()
    rows = [r for r in ROWS if tables is None or r.table in tables]
    names = _needed_runs(rows)
    full = mode == "full"
    pretrained = _stand_in(out, quick, seed, full and any(RUNS[n].start == "pretrained" for n in names),
                           pretrained_weights)
    if full:
        prepare_flow_dataset(dataset_root, dataset_root / FRAMES_FOLDER, method=flow_method,
                             short_side=streams.COURSE_SHORT_SIDE, workers=workers, progress=False)
        if any(RUNS[n].stream == "warpflow" for n in names):
            prepare_flow_dataset(dataset_root, dataset_root / WARP_FOLDER, method=flow_method,
                                 short_side=streams.COURSE_SHORT_SIDE, workers=workers, progress=False, warp=True)
    common = dict(out=out, dataset_root=dataset_root, pretrained=pretrained["pretrained"], seed=seed, workers=workers,
                  quick=quick)
    runs = _train_or_find(names, common, full, device)
    views = sorted({part for row in rows for cell in row.cells().values() if cell for part in cell.parts})
    scores = _test_or_find(views, runs, common, full, device)

    table_rows = [{"table": row.table, "setting": row.setting, "note": row.note,
                   **{col: (_cell(c, scores) if c else None) for col, c in row.cells().items()}} for row in rows]
    any_set = next(iter(scores.values()), None)
    missing = [n for n in names if not runs[n]["available"]]
    stand_in = any(RUNS[n].start == "pretrained" for n in missing) and not Path(pretrained["pretrained"]).is_file()
    return {
        "mode": mode, "quick": bool(quick), "seed": int(seed), "rows": table_rows, "runs": runs,
        "chance": 1.0 / len(any_set.class_names) if any_set is not None else None,
        "num_test_videos": any_set.num_videos if any_set is not None else None,
        "pretrained": pretrained, "fusion_weights": dict(FUSION_WEIGHTS),
        "minutes_to_complete": estimate_minutes(
            missing, warp_frames=any(RUNS[n].stream == "warpflow" for n in missing),
            stand_in=stand_in,
            views=[v for v in views if v not in scores]),
    }


def _stand_in(out: Path, quick: bool, seed: int, make: bool, weights=None) -> dict:
    """The ``model.pretrained`` of the pre-trained rows and its label: a weight file given (``weights`` or
    ``$TSN_PRETRAINED``), or the stand-in backbone in ``<out>/pretrained``, pre-trained here when ``make`` and not
    cached yet (:func:`tsnlib.pretraining.course_pretrained`), else only looked up."""
    settings = replace(pretraining.SMOKE_SETTINGS if quick else pretraining.StandInSettings(), seed=int(seed))
    name = f"stand-in_{settings.backbone}" + ("_smoke" if quick else "")
    path, stamp = pretraining.cache_paths(name, out)
    if not (make or weights or os.environ.get("TSN_PRETRAINED") or stamp.is_file()):
        return {"pretrained": str(path), "source": "stand-in", "label": "stand-in (not pre-trained yet)"}
    got = pretraining.course_pretrained(settings.backbone, out=out, settings=settings, weights=weights, name=name)
    return {k: got[k] for k in ("pretrained", "source", "label")}


def _train_or_find(names: Sequence[str], common: dict, full: bool, device) -> dict[str, dict]:
    """Each run of ``names`` (starts first): trained or reused when ``full``, else only found; ``{name: status}``."""
    out, keys = common["out"], _reuse_keys(common["quick"])
    runs: dict[str, dict] = {}
    for name in names:
        spec = RUNS[name]
        cfg = run_config(spec, **common)
        work_dir = out / "runs" / name
        done, trained = _finished(work_dir, cfg, keys), False
        if full:
            init_from = None
            if spec.first_conv == "random" and not done:  # MMAction2's start: the RGB run's tensors, conv1 random
                init_from = streams.save_stream_init(cfg, out / "runs" / spec.start / "best.pth",
                                                     work_dir / "init_random_conv1.pth", first_conv="random")
            trained = not streams.train_or_reuse(cfg, work_dir, device=device, keys=keys, init_from=init_from)["reused"]
            done = True
        runs[name] = {"spec": spec.describe(), "made_by": spec.made_by or "make paper", "available": bool(done),
                      "trained": trained, "work_dir": str(work_dir)}
    return runs


def _test_or_find(views: Sequence[tuple[str, int]], runs: dict, common: dict, full: bool, device) -> dict:
    """The test scores ``{(run, crops): ScoreSet}`` of ``views``: tested or reused when ``full``, else read where
    the run and its score file are there."""
    scores = {}
    for run, crops in views:
        work_dir = common["out"] / "runs" / run
        if not runs[run]["available"] or not (full or (work_dir / scores_name(crops)).is_file()):
            continue
        cfg = run_config(RUNS[run], **common, crops=crops)
        scores[(run, crops)], _ = streams.test_or_reuse(cfg, work_dir, device=device, scores_name=scores_name(crops))
    return scores


# ----------------------------------------------------------------------------------------------
# Reading it: text, orderings, figure, JSON
# ----------------------------------------------------------------------------------------------


def _cell_text(cell: dict | None, column: str) -> str:
    """``"0.412 [0.33, 0.50] (48.7)"``: ours, its interval, the paper's figure in %; prefixed by the cell's streams
    where they are not the column's own (Table 2's RGB difference and warped flow)."""
    if cell is None:
        return ""
    prefix = "" if column == "two_stream" or cell["label"] == STREAM_NAMES[column] else f"{cell['label']}: "
    paper = f" ({cell['paper'] * 100:.1f})" if cell["paper"] is not None else ""
    if cell["value"] is None:
        return f"{prefix}-{paper}"
    lo, hi = cell["interval"]
    return f"{prefix}{cell['value']:.3f} [{lo:.2f}, {hi:.2f}]{paper}"


def format_scoreboard(board: dict, tables: Sequence[str] | None = None, notes: bool = True) -> str:
    """The scoreboard as plain text, one block per table: setting · RGB · flow · fused, each ours with its
    95 % interval and the paper's figure (in %) in brackets; ``-`` where a cell needs ``make paper``. The
    whole board (``tables`` None) ends with the mode, the test set's size and chance, and the missing runs.

    Introduced in notebooks/08_paper_tables.ipynb.
    """
    rows = [r for r in board["rows"] if tables is None or r["table"] in tables]
    lines = []
    for table in dict.fromkeys(r["table"] for r in rows):
        block = [r for r in rows if r["table"] == table]
        texts = [[_cell_text(r[c], c) for c in COLUMNS] for r in block]
        ws = max(len(r["setting"]) for r in block)
        wc = [max([len(COLUMN_TITLES[c])] + [len(t[i]) for t in texts]) for i, c in enumerate(COLUMNS)]
        lines.append(TABLE_TITLES[table])
        lines.append(f"{'setting':<{ws}}  " + "  ".join(f"{COLUMN_TITLES[c]:<{w}}" for c, w in zip(COLUMNS, wc)))
        lines.append("-" * (ws + sum(wc) + 6))
        for r, t in zip(block, texts):
            lines.append(f"{r['setting']:<{ws}}  " + "  ".join(f"{x:<{w}}" for x, w in zip(t, wc)).rstrip())
        if notes:
            lines += [f"  note, {r['setting']}: {r['note']}" for r in block if r["note"]]
        lines.append("")
    if tables is not None:
        return "\n".join(lines).rstrip()
    tail = [f"mode {board['mode']}" + (" (SMOKE RUN: these numbers are not results)" if board["quick"] else "")]
    if board["chance"]:
        tail.append(f"{board['num_test_videos']} test videos, chance {board['chance']:.3f}")
    tail.append("ours: top-1 [95 % Wilson interval]; (paper: UCF101 split 1, BN-Inception, %)")
    lines.append("; ".join(tail))
    # in the order of RUNS: a board read back from its JSON file has its keys sorted
    missing = [n for n in RUNS if n in board["runs"] and not board["runs"][n]["available"]]
    if missing:
        lines.append(f"{len(missing)} runs are missing ({', '.join(missing)}): `make paper` trains them, about "
                     f"{board['minutes_to_complete']:.0f} min on a quiet two-core CPU")
    return "\n".join(lines)


def orderings(board: dict) -> list[dict]:
    """Our order against the paper's, for each pair of consecutive rows of a table that both have its figure.

    One dict per pair and column (pairs of the same runs, e.g. Table 1's two rows of one RGB run, are left
    out): ``table``, ``column``, ``first`` and ``second`` (the rows' settings, or the cells' streams where
    those differ), ``paper`` and ``ours`` (second minus first, fractions), ``same`` (both differences have
    the same sign), ``resolved`` (our two 95 % intervals do not overlap: a conservative reading, since
    overlapping intervals may still hide a difference).

    Introduced in notebooks/08_paper_tables.ipynb.
    """
    out = []
    for table in dict.fromkeys(r["table"] for r in board["rows"]):
        block = [r for r in board["rows"] if r["table"] == table]
        for col in COLUMNS:
            cells = [(r["setting"], r[col]) for r in block if r[col] is not None and r[col]["paper"] is not None]
            for (s1, a), (s2, b) in zip(cells, cells[1:]):
                if a["value"] is None or b["value"] is None or (a["runs"], a["views"]) == (b["runs"], b["views"]):
                    continue
                if a["label"] != b["label"]:
                    s1, s2 = a["label"], b["label"]
                paper, ours = b["paper"] - a["paper"], b["value"] - a["value"]
                resolved = a["interval"][1] < b["interval"][0] or b["interval"][1] < a["interval"][0]
                out.append({"table": table, "column": col, "first": s1, "second": s2, "paper": paper, "ours": ours,
                            "same": bool(np.sign(paper) == np.sign(ours)), "resolved": bool(resolved)})
    return out


def format_orderings(items: Sequence[dict]) -> str:
    """:func:`orderings` as text, one line per pair: the two differences and what they say.

    Introduced in notebooks/08_paper_tables.ipynb.
    """
    lines = []
    for o in items:
        if o["ours"] == 0:
            verdict = "no difference here"
        else:
            verdict = ("same order" if o["same"] else "OPPOSITE order") + (
                ", and our intervals do not overlap" if o["resolved"] else ", within our intervals")
        lines.append(f"Table {o['table']}, {COLUMN_TITLES[o['column']]}: {o['first']} -> {o['second']}: paper "
                     f"{o['paper'] * 100:+.1f}, ours {o['ours'] * 100:+.1f} points: {verdict}")
    return "\n".join(lines) if lines else "(no two measured cells with the paper's figures in one table yet)"


def plot_scoreboard(board: dict, tables: Sequence[str] | None = None):
    """Our value with its 95 % interval beside the paper's figure, per cell; one panel per table, chance dashed.

    Each row of a table is a group of up to three pairs (RGB, flow, fused): a filled bar, ours, with its
    Wilson interval, and a hatched outline beside it, the paper's (UCF101 split 1). A cell that needs
    ``make paper`` is marked so. Returns the matplotlib ``Figure``.

    Introduced in notebooks/08_paper_tables.ipynb.
    """
    rows = [r for r in board["rows"] if tables is None or r["table"] in tables]
    names = list(dict.fromkeys(r["table"] for r in rows))
    colours = {"rgb": STREAM_COLORS["rgb"], "flow": STREAM_COLORS["flow"], "two_stream": STREAM_COLORS["fusion"]}
    fig, axes = plt.subplots(len(names), 1, figsize=(11, 3.3 * len(names)), squeeze=False)
    width = 0.13
    for ax, table in zip(axes[:, 0], names):
        block = [r for r in rows if r["table"] == table]
        legend = {}
        for x, row in enumerate(block):
            for j, col in enumerate(COLUMNS):
                cell = row[col]
                if cell is None:
                    continue
                pos = x + (j - 1) * 2.2 * width
                if cell["value"] is not None:
                    lo, hi = cell["interval"]
                    legend[COLUMN_TITLES[col]] = ax.bar(pos - width / 2, cell["value"], width, color=colours[col],
                                                        yerr=[[cell["value"] - lo], [hi - cell["value"]]], capsize=2)
                else:
                    ax.text(pos - width / 2, 0.02, "make paper", rotation=90, ha="center", va="bottom", fontsize=6,
                            color="0.4")
                if cell["paper"] is not None:
                    ax.bar(pos + width / 2, cell["paper"], width, facecolor="none", edgecolor=colours[col],
                           hatch="//", linewidth=0.8)
                    legend["paper (UCF101 split 1)"] = Patch(facecolor="none", edgecolor="0.3", hatch="//")
        if board["chance"]:
            legend["chance"] = draw_chance(ax, board["chance"])
        order = [COLUMN_TITLES[c] for c in COLUMNS] + ["paper (UCF101 split 1)", "chance"]
        legend = {k: legend[k] for k in order if k in legend}
        ax.legend(legend.values(), legend.keys(), fontsize=7, ncol=5, loc="upper center")
        ax.set_xticks(range(len(block)), [textwrap.fill(r["setting"], 24) for r in block], fontsize=7)
        ax.set_ylim(0, 1.2)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.set_ylabel("test top-1")
        ax.set_title(TABLE_TITLES[table], fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def save_scoreboard(board: dict, out=None) -> Path:
    """Write ``board`` to ``<out>/results/paper_tables.json`` (atomically, :func:`tsnlib.utils.write_stamp`).

    Introduced in notebooks/08_paper_tables.ipynb.
    """
    path = output_dir(out) / "results" / "paper_tables.json"
    write_stamp(path, board)
    return path
