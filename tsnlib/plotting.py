"""One figure style for the whole course, and saving figures to the output folder.

Introduced in notebooks/01_data_preparation.ipynb. Every plot function in ``tsnlib`` returns
its ``matplotlib`` figure; notebooks show it and batch runs also save it with :func:`save_figure`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from tsnlib.utils import output_dir

#: The fixed colour of each stream, reused in every plot of the course.
STREAM_COLORS = {
    "rgb": "#1f77b4",
    "flow": "#d62728",
    "rgbdiff": "#2ca02c",
    "fusion": "#9467bd",
}

#: Colours for the sampling modes drawn on timelines (notebook 02).
MODE_COLORS = {
    "train": "#1f77b4",
    "val": "#ff7f0e",
    "test": "#2ca02c",
    "dense": "#9467bd",
    "twice": "#8c564b",
}

#: The colour of the synthetic generator's actor box, on plain frames (notebook 01) and on heatmaps
#: (notebook 06): yellow stays visible on the synthetic set's green, blue and magenta backgrounds,
#: where green does not.
ACTOR_BOX_COLOR = "yellow"

#: The text :func:`mark_smoke` writes across the figures of a smoke (quick) run.
SMOKE_TEXT = "SMOKE RUN — numbers are not results"


#: whether :func:`save_figure` watermarks what it saves as a smoke run (set by :func:`setup_style`)
_SMOKE = False


def setup_style(figsize=(7.0, 3.5), dpi: int = 100, smoke: bool | None = None) -> None:
    """Set the course's matplotlib defaults: figure size, line width, grid, font sizes.

    ``smoke=True`` (a notebook's ``QUICK_RUN``) makes every :func:`save_figure` of this process
    watermark its figure with :func:`mark_smoke`; ``None`` leaves that setting as it is.
    """
    global _SMOKE
    if smoke is not None:
        _SMOKE = bool(smoke)

    mpl.rcParams.update(
        {
            "figure.figsize": figsize,
            "figure.dpi": dpi,
            "savefig.dpi": 120,
            "savefig.bbox": "tight",
            "lines.linewidth": 1.8,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
            "axes.titlesize": 11,
            "legend.frameon": False,
            "image.cmap": "viridis",
        }
    )


def save_figure(fig, name: str, out: str | Path | None = None) -> Path:
    """Save ``fig`` as ``<output>/figures/<name>.png`` and return the path (watermarked in a smoke run,
    see :func:`setup_style`)."""
    mark_smoke(fig, _SMOKE)
    folder = output_dir(out) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path)
    return path


def plot_sampling_timeline(samples: dict, num_frames: int, title: str | None = None, segments: int | None = None):
    """Draw which frames each sampling mode picks, one row per mode.

    ``samples`` maps a row label (e.g. ``"train"``, ``"val"``, ``"test"``) to an int array of
    0-based frame indices of shape ``(num_clips, clip_len)`` (or flat); frames of one clip are
    joined by a bar. ``segments`` draws the K equal segment boundaries of TSN.
    Introduced in notebooks/02_segment_sampling.ipynb. Returns the figure.
    """
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.55 * len(samples)))
    for row, (label, idx) in enumerate(samples.items()):
        idx = np.asarray(idx)
        clips = idx.reshape(-1, idx.shape[-1]) if idx.ndim > 1 else idx.reshape(-1, 1)
        color = MODE_COLORS.get(str(label).split()[0].strip(",:;"), "0.3")
        y = len(samples) - 1 - row
        for clip in clips:
            if len(clip) > 1:
                ax.plot([clip.min(), clip.max()], [y, y], color=color or "0.3", lw=4, alpha=0.35,
                        solid_capstyle="butt")
            ax.scatter(clip, np.full(len(clip), y), s=18, color=color, zorder=3)
    if segments:
        for b in np.linspace(0, num_frames, segments + 1):
            ax.axvline(b - 0.5, color="0.6", lw=0.8, ls="--")
    ax.set_yticks(range(len(samples)))
    ax.set_yticklabels(list(samples)[::-1])
    ax.set_xlim(-1, num_frames)
    ax.set_ylim(-0.6, len(samples) - 0.4)
    ax.set_xlabel(f"frame index (0 … {num_frames - 1})")
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title)
    return fig


def class_label(class_names: Sequence[str] | None, c: int) -> str:
    """The label of class ``c`` in a figure: its name, or ``"class c"`` when no names are given.

    Used by the figures of :mod:`tsnlib.visualization`.
    """
    return str(class_names[c]) if class_names is not None else f"class {c}"


def draw_chance(ax, chance: float, orientation: str = "h", label: str | None = "chance"):
    """Draw the chance level on an accuracy plot: a dashed grey line, labelled; returns the line.

    ``chance`` is the accuracy of guessing, e.g. ``1 / num_classes``. ``orientation="h"`` draws a
    horizontal line at ``y = chance`` (accuracy against epochs, segments, ...); ``"v"`` a vertical
    line at ``x = chance`` (horizontal bar charts of accuracy per class or per method). ``label``
    names it in the legend (``None``: no legend entry). Used by every accuracy plot of the course.
    """
    if orientation not in ("h", "v"):
        raise ValueError(f"orientation must be 'h' or 'v', got {orientation!r}")
    style = dict(color="0.5", ls="--", lw=1.0, zorder=1.5, label=label if label else "_nolegend_")
    return ax.axhline(chance, **style) if orientation == "h" else ax.axvline(chance, **style)


def mark_smoke(fig, smoke: bool):
    """Watermark ``fig`` as a smoke run: returns the text artist, or ``None`` when ``smoke`` is False.

    A smoke (quick) run trains for a few steps to check that everything runs; its accuracies mean
    nothing. When ``smoke`` is True this writes :data:`SMOKE_TEXT` large, diagonal and
    semi-transparent across the whole figure (figure coordinates), so a saved picture cannot be
    mistaken for a result.
    """
    if not smoke:
        return None
    if getattr(fig, "_tsn_smoke_mark", None) is not None:  # once per figure
        return fig._tsn_smoke_mark
    w, h = fig.get_size_inches()
    diagonal = math.hypot(w, h)  # inches; the text spans about 70 % of it, whatever the figure's size
    fig._tsn_smoke_mark = fig.text(0.5, 0.5, SMOKE_TEXT, transform=fig.transFigure, ha="center", va="center",
                                   rotation=math.degrees(math.atan2(h, w)), rotation_mode="anchor",
                                   fontsize=2.2 * diagonal, fontweight="bold", color="tab:red", alpha=0.25, zorder=100)
    return fig._tsn_smoke_mark
