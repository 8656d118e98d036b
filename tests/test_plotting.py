"""The shared plot helpers of tsnlib.plotting: chance lines and the smoke-run watermark."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tsnlib.plotting import ACTOR_BOX_COLOR, SMOKE_TEXT, draw_chance, mark_smoke  # noqa: E402


@pytest.fixture
def fig_ax():
    fig, ax = plt.subplots()
    yield fig, ax
    plt.close(fig)


def test_draw_chance_horizontal_at_the_chance_level(fig_ax):
    _, ax = fig_ax
    ax.plot([1, 2, 3], [0.2, 0.5, 0.7], label="val top-1")
    line = draw_chance(ax, 1 / 13)  # the synthetic set: 13 classes
    assert np.allclose(line.get_ydata(), 1 / 13)
    assert line in ax.get_lines()
    assert line.get_linestyle() == "--"
    r, g, b, _ = mcolors.to_rgba(line.get_color())
    assert r == g == b  # grey
    handles, labels = ax.get_legend_handles_labels()
    assert "chance" in labels and line in handles


def test_draw_chance_vertical_for_horizontal_bars(fig_ax):
    _, ax = fig_ax
    ax.barh(["rgb", "flow", "fusion"], [0.6, 0.7, 0.8])
    line = draw_chance(ax, 0.25, orientation="v", label="chance (1/4)")
    assert np.allclose(line.get_xdata(), 0.25)
    assert line.get_label() == "chance (1/4)"


def test_draw_chance_without_label_and_bad_orientation(fig_ax):
    _, ax = fig_ax
    line = draw_chance(ax, 0.5, label=None)
    assert line not in ax.get_legend_handles_labels()[0]
    with pytest.raises(ValueError, match="orientation"):
        draw_chance(ax, 0.5, orientation="diagonal")


def test_mark_smoke_writes_a_watermark(fig_ax):
    fig, _ = fig_ax
    text = mark_smoke(fig, True)
    assert text is not None and text in fig.texts
    assert text.get_text() == SMOKE_TEXT == "SMOKE RUN — numbers are not results"
    assert text.get_transform() == fig.transFigure
    assert 0 < text.get_alpha() < 1 and text.get_rotation() != 0
    fig.canvas.draw()  # renders without error


def test_mark_smoke_does_nothing_for_a_real_run(fig_ax):
    fig, _ = fig_ax
    assert mark_smoke(fig, False) is None
    assert fig.texts == []


def test_actor_box_color_is_a_matplotlib_colour():
    assert mcolors.is_color_like(ACTOR_BOX_COLOR)


def test_save_figure_watermarks_every_figure_of_a_smoke_run_once(tmp_path):
    import matplotlib.pyplot as plt

    from tsnlib import plotting

    try:
        plotting.setup_style(smoke=True)
        fig, ax = plt.subplots()
        plotting.save_figure(fig, "a", tmp_path)
        plotting.save_figure(fig, "b", tmp_path)
        marks = [t for t in fig.texts if t.get_text() == plotting.SMOKE_TEXT]
        assert len(marks) == 1 and (tmp_path / "figures" / "a.png").is_file()
        plotting.setup_style(smoke=False)
        fig2, _ = plt.subplots()
        plotting.save_figure(fig2, "c", tmp_path)
        assert not [t for t in fig2.texts if t.get_text() == plotting.SMOKE_TEXT]
    finally:
        plotting.setup_style(smoke=False)
        plt.close("all")
