"""Figures: the interval behind every band, and the files each plotting call writes."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from sim import Market, Scenario
from sim.experiments.intervals import mean_band
from sim.experiments.replications import run_replications
from sim.outputs.figures.runs import loyalty_segments_figure, plot_comparison, plot_run, with_monthly_measures
from sim.outputs.figures.style import (
    DPI,
    FIGSIZE,
    STYLE,
    finish,
    overlapping_labels,
    texts_outside,
    thin_overlapping_labels,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_FIGURES = ["market_share.png", "churn_retention.png", "profit.png", "loyalty_segments.png"]
COMPARISON_FIGURES = ["compare_share.png", "compare_churn.png", "compare_profit.png", "compare_summary.png"]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario(market=Market(customers=300, periods=15))


@pytest.fixture(scope="module")
def results(scenario: Scenario) -> pd.DataFrame:
    return run_replications(scenario, range(3))


@pytest.fixture(scope="module")
def dear(scenario: Scenario) -> Scenario:
    """The same market with the first firm's price raised to 40."""
    return scenario.model_copy(
        update={"name": "dear", "firms": [scenario.firms[0].model_copy(update={"price": 40.0}), *scenario.firms[1:]]}
    )


def assert_pngs(paths: list[Path], folder: Path, names: list[str]) -> None:
    """``paths`` are exactly ``names`` in ``folder``, each a real PNG of a few kilobytes at least."""
    assert [p.name for p in paths] == names
    for path in paths:
        assert path.parent == folder
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE), path.name
        assert len(data) > 5_000, path.name


def test_mean_band_matches_a_hand_computed_t_interval():
    # Two seeds per group: values 1 and 3 give mean 2, sd sqrt(2), standard error 1,
    # and t(0.975, 1 degree of freedom) = 12.7062, so the interval is 2 -/+ 12.7062.
    frame = pd.DataFrame(
        {"seed": [0, 1, 0, 1], "period": [0, 0, 0, 0], "firm": ["A", "A", "B", "B"], "profit": [1.0, 3.0, 10.0, 10.0]}
    )
    band = mean_band(frame, "profit", ["period", "firm"]).set_index("firm")
    assert list(band.columns) == ["period", "mean", "low", "high", "n"]
    assert band.loc["A", "mean"] == pytest.approx(2.0)
    assert band.loc["A", "low"] == pytest.approx(2.0 - 12.7062047, abs=1e-6)
    assert band.loc["A", "high"] == pytest.approx(2.0 + 12.7062047, abs=1e-6)
    assert band.loc["A", "n"] == 2
    # No spread between seeds: no width.
    assert band.loc["B", ["mean", "low", "high"]].tolist() == pytest.approx([10.0, 10.0, 10.0])


def test_mean_band_at_90_percent_is_narrower():
    frame = pd.DataFrame({"seed": [0, 1, 2], "period": [0, 0, 0], "churn_rate": [0.01, 0.02, 0.04]})
    wide = mean_band(frame, "churn_rate", ["period"]).iloc[0]
    narrow = mean_band(frame, "churn_rate", ["period"], confidence=0.90).iloc[0]
    # sd of (1, 2, 4)% is 1.5275%; t(0.975, 2) = 4.3027, t(0.95, 2) = 2.9200.
    half = 0.015275252 / np.sqrt(3)
    assert wide["high"] - wide["mean"] == pytest.approx(4.30265273 * half, rel=1e-6)
    assert narrow["high"] - narrow["mean"] == pytest.approx(2.91998558 * half, rel=1e-6)


def test_mean_band_with_one_seed_has_no_width():
    frame = pd.DataFrame({"seed": [7, 7], "period": [0, 1], "firm": ["A", "A"], "market_share": [0.4, 0.5]})
    band = mean_band(frame, "market_share", ["period", "firm"])
    assert band["mean"].tolist() == pytest.approx([0.4, 0.5])
    assert (band["low"] == band["mean"]).all() and (band["high"] == band["mean"]).all()
    assert (band["n"] == 1).all()


def test_mean_band_skips_missing_values():
    frame = pd.DataFrame({"seed": [0, 1, 2], "period": [3, 3, 3], "share": [0.2, np.nan, 0.4]})
    band = mean_band(frame, "share", ["period"]).iloc[0]
    assert band["mean"] == pytest.approx(0.3) and band["n"] == 2


def test_plot_run_writes_the_four_figures(results, tmp_path):
    folder = tmp_path / "new" / "figures"  # created on the way
    assert_pngs(plot_run(results, folder), folder, RUN_FIGURES)


def test_plot_comparison_writes_the_four_figures(results, dear, tmp_path):
    both = pd.concat([results, run_replications(dear, range(3))], ignore_index=True)
    assert_pngs(plot_comparison(both, tmp_path), tmp_path, COMPARISON_FIGURES)


def test_one_seed_and_one_firm_are_drawn(scenario, tmp_path):
    one_firm = scenario.model_copy(update={"firms": scenario.firms[:1]})
    single = run_replications(one_firm, [5])
    assert_pngs(plot_run(single, tmp_path / "run"), tmp_path / "run", RUN_FIGURES)
    assert_pngs(plot_comparison(single, tmp_path / "compare"), tmp_path / "compare", COMPARISON_FIGURES)


def test_a_firm_left_without_customers_is_drawn(results, tmp_path):
    emptied = results.copy()
    gone = (emptied.firm == "B") & (emptied.period >= 5)
    emptied.loc[gone, ["customers", "true_loyal", "latent_new", "latent_loyal", "spurious_loyal", "not_loyal"]] = 0.0
    emptied.loc[gone, ["market_share", "churn_rate"]] = 0.0
    assert_pngs(plot_run(emptied, tmp_path), tmp_path, RUN_FIGURES)


def test_nothing_to_draw_writes_nothing(results, tmp_path):
    folder = tmp_path / "figures"
    assert plot_run(results.iloc[0:0], folder) == []
    assert plot_comparison(results.iloc[0:0], folder) == []
    assert plot_run(pd.DataFrame(), folder) == []
    assert not folder.exists() or not any(folder.iterdir())


# --- every figure at its saved size -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_years() -> pd.DataFrame:
    return run_replications(Scenario(market=Market(customers=200, periods=120)), range(3))


def test_the_loyalty_segments_of_ten_years_label_their_months_without_overlap(ten_years):
    """Three narrow panels of 120 months: a label a year made '12243648...'; the labels now fit the panel."""
    with plt.rc_context(STYLE):
        figure = loyalty_segments_figure(with_monthly_measures(ten_years))
        figure.set_dpi(DPI)
        figure.canvas.draw()  # as saved: the slide's size and resolution, before any label is thinned
        try:
            assert overlapping_labels(figure) == []
            for ax in figure.axes:
                shown = [int(t.get_text()) for t in ax.get_xticklabels() if t.get_text()]
                assert len(shown) >= 3 and all(month % 12 == 0 for month in shown), shown
        finally:
            plt.close(figure)


def test_overlapping_labels_are_found_and_thinned_until_none_overlap():
    with plt.rc_context(STYLE):
        figure, ax = plt.subplots(figsize=(3, 2), dpi=DPI)
        ax.set_xticks(range(40), [f"label {i}" for i in range(40)])
        try:
            figure.canvas.draw()
            assert overlapping_labels(figure)
            thin_overlapping_labels(figure)
            figure.canvas.draw()
            assert overlapping_labels(figure) == []
            assert sum(t.get_visible() for t in ax.get_xticklabels()) >= 2
        finally:
            plt.close(figure)


def test_a_long_note_wraps_inside_the_figure(results, tmp_path):
    plot_run(results, tmp_path)  # the churn figure's note is three sentences long; conftest checks it stays inside
    with plt.rc_context(STYLE):
        figure, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
        ax.plot([1, 2], [1, 2], label="x")
        finish(figure, "title", "word " * 200, legend_title="x")
        try:
            figure.canvas.draw()
            assert texts_outside(figure) == []
        finally:
            plt.close(figure)
