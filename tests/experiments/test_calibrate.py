"""Calibration to an observed cohort retention table: formulas, the sorting effect, recovery, files and the command."""

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim import Event, Market, Population, Scenario
from sim.cli import app
from sim.engine.scenario_files import SHIPPED, load_scenario
from sim.experiments.calibration import (
    CalibrationError,
    SbgFit,
    apply_settings,
    calibrate,
    churn_by_tenure,
    conditional_log_likelihood,
    constant_rate_cohort,
    curve_table,
    fit_sbg,
    fit_weibull,
    fitted_scenario,
    holdout_table,
    parameter_table,
    parse_fit,
    pooled,
    read_retention_table,
    retention_table,
    sample_cohort,
    sbg_churn_probability,
    sbg_churn_rate,
    sbg_survival,
    simulate_cohort,
)
from sim.experiments.calibration.cohorts import CohortCounts
from sim.experiments.calibration.fit import FITTED_SEEDS, INERT_EFFORT, _better_candidate, _predicted
from sim.experiments.calibration.hills import APART, RIVALS, margin, other_hills, sbg_story
from sim.experiments.calibration.hills import rivals as rivals_of
from sim.experiments.calibration.observed import dispersion, overdispersed_binomial, resample_table
from sim.experiments.calibration.surface import Surface, bootstrap
from sim.experiments.evaluator import ProcessPool
from sim.outputs.scenario_toml import scenario_toml


def small(customers: int = 3000) -> Scenario:
    return Scenario(name="small", market=Market(customers=customers))


def write_table(folder: Path, text: str, name: str = "cohort.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the sBG reference model ----------------------------------------------------------------------------------------


def test_sbg_curves_match_hand_computed_values():
    # alpha = beta = 1: churn rates uniform on 0..1, S(t) = 1 / (t + 1).
    assert sbg_survival(1, 1, [0, 1, 2, 3]) == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4])
    assert sbg_churn_probability(1, 1, [1, 2, 3]) == pytest.approx([1 / 2, 1 / 6, 1 / 12])
    assert sbg_churn_rate(1, 1, [1, 2, 3]) == pytest.approx([1 / 2, 1 / 3, 1 / 4])
    # alpha = 2, beta = 3: P(T=1) = 2/5, P(T=2) = 3/6 * 2/5 = 1/5, so S(1) = 3/5 and S(2) = 2/5.
    assert sbg_churn_probability(2, 3, [1, 2]) == pytest.approx([0.4, 0.2])
    assert sbg_survival(2, 3, [1, 2]) == pytest.approx([0.6, 0.4])


def test_the_likelihood_is_fader_and_hardies():
    # 10 customers, 5 left in period 1, 2 in period 2, 3 still active: with alpha = beta = 1,
    # LL = 5 log P(T=1) + 2 log P(T=2) + 3 log S(2) = 5 log(1/2) + 2 log(1/6) + 3 log(1/3).
    table = retention_table([1, 2], [0.5, 0.3], [10, 10])
    expected = 5 * math.log(1 / 2) + 2 * math.log(1 / 6) + 3 * math.log(1 / 3)
    assert conditional_log_likelihood(table, sbg_survival(1, 1, [1, 2])) == pytest.approx(expected)


def test_a_table_that_skips_periods_is_a_product_of_conditional_binomials():
    # Rows at periods 2 and 5: 10 customers, 6 active at 2, 3 active at 5.
    table = retention_table([2, 5, 6], [0.6, 0.3, 0.3], [10, 10, 10])
    s = sbg_survival(1, 1, [2, 5, 6])
    expected = 6 * math.log(s[0]) + 4 * math.log(1 - s[0]) + 3 * math.log(s[1] / s[0]) + 3 * math.log(1 - s[1] / s[0])
    expected += 3 * math.log(s[2] / s[1])
    assert conditional_log_likelihood(table, s) == pytest.approx(expected)


@pytest.mark.parametrize(("alpha", "beta"), [(0.7, 1.2), (0.67, 3.8), (1.1, 4.0)])
def test_the_sbg_fit_recovers_the_parameters_of_a_cohort_drawn_from_it(alpha, beta):
    """Seven periods of a cohort of 200,000 whose customers each keep a Beta(alpha, beta) churn rate."""
    rates = np.random.default_rng(7).beta(alpha, beta, size=200_000)
    share = constant_rate_cohort(rates, np.arange(1, 8))  # the expected share still active after each period
    table = retention_table(range(1, 8), share, [len(rates)] * 7)
    fit = fit_sbg(table)
    assert fit.alpha == pytest.approx(alpha, rel=0.05)
    assert fit.beta == pytest.approx(beta, rel=0.05)
    assert np.abs(sbg_survival(fit.alpha, fit.beta, np.arange(1, 8)) - share).max() < 0.003


# --- the sorting effect ---------------------------------------------------------------------------------------------


def test_heterogeneous_constant_churn_rates_make_the_cohorts_churn_fall():
    rates = np.random.default_rng(3).beta(0.7, 1.2, size=200_000)  # every customer keeps its own rate for ever
    churn = churn_by_tenure(constant_rate_cohort(rates, np.arange(1, 25)))
    assert np.all(np.diff(churn) < 0)
    assert churn[0] == pytest.approx(rates.mean())
    assert churn[-1] < churn[0] / 4
    # The sBG model is the same cohort with Beta-distributed rates, in the limit of many customers.
    assert churn == pytest.approx(sbg_churn_rate(0.7, 1.2, np.arange(1, 25)), rel=0.02)


def test_homogeneous_constant_churn_rates_keep_the_cohorts_churn_flat():
    churn = churn_by_tenure(constant_rate_cohort(np.full(1000, 0.07), np.arange(1, 25)))
    assert churn == pytest.approx(np.full(24, 0.07))


def test_the_sbg_cohorts_churn_falls_and_flattens_as_customers_become_alike():
    periods = np.arange(1, 37)
    for scale in (1.0, 10.0, 1000.0):  # the same mean churn, 10%, ever less spread across customers
        churn = sbg_churn_rate(0.1 * scale, 0.9 * scale, periods)
        assert np.all(np.diff(churn) < 0)
        assert churn[0] == pytest.approx(0.1)
    assert sbg_churn_rate(100.0, 900.0, periods)[-1] == pytest.approx(0.1, rel=0.04)


# --- reading a table ------------------------------------------------------------------------------------------------


def test_a_table_reads_with_comments_a_period_zero_and_cohort_sizes(tmp_path):
    path = write_table(
        tmp_path, "# a cohort of 1,000\n\nPeriod, Retained, Customers\n0,1,1000\n1,0.9,1000\n2,0.85,1000\n3,0.8,1000\n"
    )
    table = read_retention_table(path)
    assert table.period.tolist() == [1, 2, 3]
    assert table.retained.tolist() == [0.9, 0.85, 0.8]
    assert table.customers.tolist() == [1000, 1000, 1000]
    assert len(table.sha256) == 64 and table.source == str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "period,share\n1,0.9\n",
            "line 1: unknown column 'share'; columns are period, retained and optionally customers",
        ),
        ("period\n1\n2\n3\n", "line 1: missing column 'retained'"),
        ("period,retained\n1,0.9\n2,abc\n3,0.8\n", "line 3: retained = 'abc': must be a number"),
        (
            "period,retained\n1,0.9\n2,85\n3,0.8\n",
            "line 3: retained = 85: must be a share between 0 and 1 (a share such as 0.85",
        ),
        ("period,retained\n1,0.9\n2,-0.1\n3,0.8\n", "line 3: retained = -0.1: must be a share between 0 and 1"),
        ("period,retained\n1,0.9\n1,0.85\n3,0.8\n", "line 3: period = 1 after period 1: periods must increase"),
        ("period,retained\n1,0.9\n2.5,0.85\n3,0.8\n", "line 3: period = '2.5': must be a whole number"),
        ("period,retained\n1,0.8\n2,0.85\n3,0.7\n", "line 3: retained = 0.85 after 0.8: retention cannot rise"),
        ("period,retained\n0,0.95\n1,0.9\n2,0.85\n3,0.8\n", "line 2: retained = 0.95 at period 0: must be 1"),
        (
            "period,retained,customers\n1,0.9,100\n2,0.85,1.5\n3,0.8,100\n",
            "line 3: customers = '1.5': must be a whole number",
        ),
        (
            "period,retained,customers\n1,0.9,100\n2,0.85,200\n3,0.8,100\n",
            "line 3: customers = 200 after 100: must not rise",
        ),
        ("period,retained\n1,0.9\n2,0.85,7\n3,0.8\n", "line 3: 3 fields, expected 2 (period,retained)"),
        ("period,retained\n0,1\n", "no period after period 0"),
        (
            "period,retained\n1,0.9\n20000,0.85\n",
            "line 3: period = 20000: must be a whole number from 0 to 10,000 (periods since the cohort started; "
            "the longest horizon a run may have)",
        ),
        ("period,retained\n1,0.9\n1000000000,0.85\n", "line 3: period = 1e+09: must be a whole number from 0"),
        ("period,retained\n1,0.9\n1e26,0.85\n", "line 3: period = 1e+26: must be a whole number from 0"),
        (
            "period,retained,customers\n1,0.9,1e26\n",
            "line 2: customers = 1e+26: must be a whole number from 1 to 1e+12",
        ),
        ("# nothing here\n", "empty; expected a header line"),
    ],
)
def test_a_bad_table_is_refused_in_one_line_naming_file_line_and_field(tmp_path, text, message):
    path = write_table(tmp_path, text)
    with pytest.raises(CalibrationError) as error:
        read_retention_table(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_missing_table_is_named(tmp_path):
    with pytest.raises(CalibrationError, match=r"nothing\.csv: no such file$"):
        read_retention_table(tmp_path / "nothing.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("population.switchng_effort_cv=0.1:2", "unknown field; did you mean 'switching_effort_cv'?"),
        ("population.segment_shares=0.1:2", "not a single number"),
        ("population.reach_satisfied=1:5", "reach_satisfied cannot be fitted (a whole number"),
        ("population.switching_effort_cv=0.1:9", "population.switching_effort_cv = 9.0: must be <= 5"),
        ("population.switching_effort_cv=2:1", "LOW must be below HIGH"),
        ("population.switching_effort_cv=a:1", "'a' is not a number"),
        ("population.switching_effort_cv", "write PATH=SPEC"),
        ("population.switching_effort_cv=1:2:7", "must be PARAMETER=LOW:HIGH or PARAMETER=LOW:HIGH:log"),
        ("firms.Z.price=1:2", "no firm named 'Z' (firms: A, B, C)"),
        ("brand.decay=0:1", "use market.NAME, population.NAME, firms.FIRM.NAME, firm.NAME"),
    ],
)
def test_a_bad_fit_range_is_refused_in_one_line(text, message):
    with pytest.raises(CalibrationError) as error:
        parse_fit([text], Scenario(), "A")
    assert str(error.value).startswith(f"--fit {text}")
    assert message in str(error.value)


def test_fit_paths_reach_the_population_the_market_the_cohorts_firm_and_any_firm():
    scenario = Scenario()
    parameters = parse_fit(
        ["population.review_probability=0.01:0.1", "firm.defection_hazard=0:0.01", "firms.C.price=20:40"], scenario, "B"
    )
    assert [p.field.value(scenario) for p in parameters] == [Population().review_probability, 0.002, 33.0]
    changed = apply_settings(scenario, "B", ["firm.defection_hazard=0.004", "market.outside_value=0.5"])
    assert changed.firms[1].defection_hazard == 0.004 and changed.firms[0].defection_hazard == 0.002
    assert changed.market.outside_value == 0.5


def test_up_to_four_parameters_are_fitted_at_once():
    four = [
        "population.switching_effort=0.05:40:log",
        "firm.defection_hazard=0.0001:0.03:log",
        "population.outside_proneness_cv=0:6",
        "population.outside_shared_share=0:0.95",
    ]
    assert [p.field.name for p in parse_fit(four, Scenario(), "A")][-1] == "outside_shared_share"
    with pytest.raises(CalibrationError, match="give one to 4 parameters, not 5"):
        parse_fit([*four, "population.review_probability=0.01:0.1"], Scenario(), "A")


# --- the simulated cohort and the fit -------------------------------------------------------------------------------


def test_the_simulated_cohort_counts_every_joiner_once_until_it_leaves():
    counts = simulate_cohort(small(1500), "A", seed=3, horizon=12, warmup=6, window=6)
    assert counts.joined > 100
    assert counts.at_risk[0] == counts.joined  # every spell is followed for at least its first period
    assert np.all(np.diff(counts.at_risk) <= 0) and np.all(counts.lost <= counts.at_risk)
    assert counts.survival == pytest.approx(np.cumprod(1 - counts.lost / counts.at_risk))
    again = simulate_cohort(small(1500), "A", seed=3, horizon=12, warmup=6, window=6)
    assert np.array_equal(again.lost, counts.lost)  # same seed, same cohort


def test_an_estimate_that_simulates_worse_than_the_best_candidate_gives_way_to_it():
    simulated = [-9000.0, -8761.3, -8790.0]
    assert _better_candidate(-8770.0, simulated) == 1  # the surface promised more than the simulation gave
    assert _better_candidate(-8762.0, simulated) is None  # within the simulation's noise: the estimate stands
    assert _better_candidate(-8700.0, simulated) is None


def test_a_refit_starts_from_another_hill_of_the_likelihood_when_the_table_likes_that_one_better():
    def churn(x):  # two valleys of churn: a shallow one at 0.2, and at 0.8 the one the table was made with
        return 0.2 - 0.10 * np.exp(-(((x - 0.2) / 0.08) ** 2)) - 0.15 * np.exp(-(((x - 0.8) / 0.08) ** 2))

    xs = np.linspace(0, 1, 41)
    counts = [[CohortCounts(np.full(12, 1e6), np.full(12, 1e6 * churn(x)), 10**6)] * 2 for x in xs]
    surface = Surface.fit(xs[:, None], counts, np.array([0.0]), np.array([1.0]))
    table = retention_table(range(1, 13), np.cumprod(np.full(12, 1 - churn(0.8))), [5000] * 12)
    [alone] = surface.best(table, [np.array([0.25])])
    [helped] = surface.best(table, [np.array([0.25])], rivals=[np.array([0.5]), np.array([0.78])])
    assert alone == pytest.approx(0.2, abs=0.02)  # a local search stays on the hill it starts on
    assert helped == pytest.approx(0.8, abs=0.02)


def test_a_candidate_whose_cohort_dies_out_keeps_its_last_measured_churn_and_the_fit_goes_on():
    # Far from the values that fit, a candidate can lose every joiner before the horizon (an outside hazard of
    # 10% a month): the fit must not stop there, and the surface reads that candidate's churn where it was seen.
    def cohort(rate, alive):  # the last of its joiners leave in period ``alive``
        at_risk = np.where(np.arange(12) < alive, 1e4 * (1 - rate) ** np.arange(12), 0.0)
        lost = at_risk * rate
        if alive < 12:
            lost[alive - 1] = at_risk[alive - 1]
        return CohortCounts(at_risk, lost, 10**4)

    xs = np.linspace(0, 1, 21)
    counts = [[cohort(0.05 + 0.5 * x, 12 if x < 0.9 else 6)] * 2 for x in xs]
    surface = Surface.fit(xs[:, None], counts, np.array([0.0]), np.array([1.0]))
    logits, at_risk, _ = surface.churn
    dying = logits[-1]
    assert np.all(dying[6:] == dying[5])  # the last tenure measured, carried on, with none at risk to weigh it
    assert np.all(at_risk[-1][6:] == 0) and np.all(at_risk[-1][:6] > 0)
    assert np.allclose(logits[0], logits[0][0], atol=1e-3) and np.allclose(dying[:5], np.log(0.55 / 0.45), atol=0.01)
    assert dying[5] > 5  # all of the last left: the rate it was measured at, carried on
    table = retention_table(range(1, 13), np.cumprod(np.full(12, 1 - 0.15)), [5000] * 12)
    [x] = surface.best(table, [np.array([0.5])])
    assert x == pytest.approx(0.2, abs=0.02)
    with pytest.raises(CalibrationError, match="no joiner at all"):
        Surface.fit(xs[:2, None], [[cohort(0.1, 12)] * 2, [cohort(0.1, 0)] * 2], np.array([0.0]), np.array([1.0]))


def test_a_candidate_with_few_survivors_at_a_tenure_barely_moves_the_surface_there():
    # Every candidate's joiners churn 5% a period; one's cohort is down to 3 customers from period 12 on, and they
    # all leave each period: noise, which must not bend the surface's churn at late tenures.
    def cohort(sparse):
        at_risk = 1e4 * 0.95 ** np.arange(24)
        lost = at_risk * 0.05
        if sparse:
            at_risk[12:], lost[12:] = 3.0, 3.0
        return CohortCounts(at_risk, lost, 10**4)

    xs = np.linspace(0, 1, 21)
    counts = [[cohort(sparse=abs(x - 0.5) < 1e-9)] * 2 for x in xs]
    surface = Surface.fit(xs[:, None], counts, np.array([0.0]), np.array([1.0]))
    curve = surface.survival(np.array([0.5]))
    churn = 1 - curve[1:] / curve[:-1]
    assert churn[5:11] == pytest.approx(0.05, abs=0.002)
    assert churn[12:] == pytest.approx(0.05, abs=0.005)  # not the 80% a period of the three who left


def test_the_search_keeps_the_top_of_another_hill_only_while_the_table_cannot_rule_it_out():
    def surface_with(depth):  # churn with two valleys: at 0.2 of the given depth, and at 0.8 the table's own
        def churn(x):
            return 0.2 - depth * np.exp(-(((x - 0.2) / 0.08) ** 2)) - 0.15 * np.exp(-(((x - 0.8) / 0.08) ** 2))

        xs = np.linspace(0, 1, 41)
        counts = [[CohortCounts(np.full(12, 1e6), np.full(12, 1e6 * churn(x)), 10**6)] * 2 for x in xs]
        return xs, Surface.fit(xs[:, None], counts, np.array([0.0]), np.array([1.0])), churn

    xs, surface, churn = surface_with(0.15)  # both valleys as deep: the table cannot tell them apart
    table = retention_table(range(1, 13), np.cumprod(np.full(12, 1 - churn(0.8))), [500] * 12)
    simulated = [conditional_log_likelihood(table, np.cumprod(np.full(12, 1 - churn(x)))) for x in xs]
    rivals = rivals_of(xs[:, None], simulated, np.array([0.0]), np.array([1.0]))
    assert len(rivals) <= RIVALS and np.all(np.diff(np.sort(rivals[:, 0])) >= APART - 1e-9)  # apart: one per hill
    assert {round(float(r[0]), 2) for r in rivals[:2]} == {0.2, 0.8}
    plausible = rivals_of(xs[:, None], simulated, np.array([0.0]), np.array([1.0]), margin=5.0)
    assert sorted(round(float(r[0]), 2) for r in plausible) == [0.2, 0.8]  # the hills' sides and the ridge are not
    estimate = surface.best(table, [np.array([0.8])])
    found, [other] = other_hills(surface, table, estimate, rivals, margin(1.0, 1))
    assert np.array_equal(found, estimate) and other[0] == pytest.approx(0.2, abs=0.02)
    found, kept = other_hills(surface, table, estimate, rivals, margin(1.0, 1), simulated=xs[:, None])
    assert kept == []  # a candidate was simulated on that top already: it stands for the hill
    xs, surface, churn = surface_with(0.05)  # a shallow valley at 0.2: 500 customers a year rule it out
    simulated = [conditional_log_likelihood(table, np.cumprod(np.full(12, 1 - churn(x)))) for x in xs]
    rivals = rivals_of(xs[:, None], simulated, np.array([0.0]), np.array([1.0]))
    low_hill = surface.best(table, [np.array([0.25])])  # a search that stopped on the lower hill
    assert low_hill[0] == pytest.approx(0.2, abs=0.02)
    found, kept = other_hills(surface, table, low_hill, rivals, margin(1.0, 1))
    assert found[0] == pytest.approx(0.8, abs=0.02) and kept == []  # the better top is the estimate; 0.2 ruled out


def test_the_search_also_simulates_the_sbg_fits_story_told_in_the_models_terms():
    scenario = small(3000)
    parameters = parse_fit(None, scenario, "A")
    sbg = SbgFit(alpha=0.8, beta=2.5, log_likelihood=0.0, period=12)
    told = sbg_story(parameters, sbg, 12, scenario, 2 * INERT_EFFORT)
    by_name = {p.field.name: v for p, v in zip(parameters, told, strict=True)}
    assert by_name == pytest.approx(
        {"switching_effort": 2 * INERT_EFFORT, "defection_hazard": 0.8 / 2.5 / 12, "outside_proneness_cv": 0.8**-0.5}
    )
    # The twin: a Gamma-spread hazard with the sBG's mean and spread, and leaving for rivals made rare, keeps the
    # cohort the sBG model keeps, year after year.
    cohort = pooled(
        simulate_cohort(fitted_scenario(scenario, [p.field for p in parameters], told), "A", s, 84, 12, 12)
        for s in (1, 2, 3)
    )
    years = np.array([1, 2, 4, 7])
    assert cohort.survival[12 * years - 1] == pytest.approx(sbg_survival(0.8, 2.5, years), abs=0.03)
    assert (
        sbg_story(parse_fit(["population.review_probability=0.01:0.2"], scenario, "A"), sbg, 12, scenario, 16) is None
    )


def test_the_bootstrap_fits_on_the_simulations_workers_are_those_fitted_here():
    def churn(x):
        return 0.1 + 0.05 * (x - 0.6) ** 2

    xs = np.linspace(0, 1, 21)
    rng = np.random.default_rng(5)
    counts = [[CohortCounts(np.full(12, 1e4), rng.binomial(10**4, churn(x), 12).astype(float), 10**4)] * 3 for x in xs]
    surface = Surface.fit(xs[:, None], counts, np.array([0.0]), np.array([1.0]))
    table = retention_table(range(1, 13), np.cumprod(np.full(12, 1 - churn(0.6))), [800] * 12)
    observed = table.upto(8)
    here = bootstrap(surface, table, observed, np.array([0.5]), 9, np.random.default_rng(3), [np.array([0.9])])
    with ProcessPool(2) as pool:
        there = bootstrap(
            surface, table, observed, np.array([0.5]), 9, np.random.default_rng(3), [np.array([0.9])], runner=pool
        )
    for mine, theirs in zip(here, there, strict=True):
        assert np.array_equal(mine, theirs)
    assert np.unique(here[0]).size > 1  # the replicates differ: each fitted its own resampled seeds and table
    rng, one_by_one = np.random.default_rng(3), []  # each replicate drawn and fitted in turn, as it always was
    for _ in range(9):
        weights = np.bincount(rng.integers(3, size=3), minlength=3).astype(float)
        window = resample_table(table, rng).upto(observed.last_period)
        one_by_one.append(surface.best(window, [np.array([0.5])], surface.refit(weights), [np.array([0.9])]))
    assert np.array_equal(np.array(one_by_one), here[0])


def test_the_bootstrap_resamples_the_table_with_the_rows_dispersion():
    def churn(x):  # the fitted value moves with the table's churn in proportion
        return 0.05 + 0.1 * x

    xs = np.linspace(0, 1, 11)
    counts = [[CohortCounts(np.full(12, 1e5), np.full(12, 1e5 * churn(x)), 10**5)] * 2 for x in xs]
    surface = Surface.fit(xs[:, None], counts, np.array([0.0]), np.array([1.0]))
    table = retention_table(range(1, 13), np.cumprod(np.full(12, 1 - churn(0.5))), [800] * 12)
    spread = {}
    for factor in (1.0, 4.0):
        fits, _ = bootstrap(
            surface, table, table.upto(8), np.array([0.5]), 400, np.random.default_rng(3), factor=factor
        )
        spread[factor] = fits[:, 0].std()
    assert spread[4.0] / spread[1.0] == pytest.approx(2.0, rel=0.25)  # the root of the factor, in the fits too


def test_beyond_the_fit_window_the_band_predicts_what_the_known_survivors_will_show():
    model = 0.9 ** np.arange(1, 13)
    certain = np.tile(model, (4000, 1))  # every bootstrap fit the estimate's own: no uncertainty of the fit
    window = retention_table(range(1, 13), model, [400] * 12).upto(6)
    paths = _predicted(model, certain, model, window, random_seed=1)
    assert np.array_equal(paths[:, :6], certain[:, :6])  # the window: the curve's own band
    known, kept = round(400 * model[5]), model[11] / model[5]
    assert paths[:, 11].mean() == pytest.approx(known * kept / 400, abs=0.002)
    assert paths[:, 11].std() == pytest.approx(math.sqrt(known * kept * (1 - kept)) / 400, rel=0.1)  # theirs only
    # The survivors at the window's last row are known: a table below the model there is followed from where it is.
    lower = retention_table(range(1, 7), model[:6] - np.r_[np.zeros(5), 0.05], [400] * 6)
    followed = _predicted(model, certain, model, lower, random_seed=1)
    assert followed[:, 11].mean() == pytest.approx((model[5] - 0.05) * kept, abs=0.002)
    # Fits that disagree about the rows to come widen the band by their spread, each on its own side.
    slower = model * np.r_[np.ones(6), 1.02 ** np.arange(1, 7)]
    spread = np.vstack([np.tile(model, (2000, 1)), np.tile(slower, (2000, 1))])
    wide = _predicted(model, spread, model, window, random_seed=1)
    assert wide[:2000, 11].mean() == pytest.approx(known * kept / 400, abs=0.002)
    assert wide[2000:, 11].mean() == pytest.approx(known * kept * 1.02**6 / 400, abs=0.002)
    without = retention_table(range(1, 13), model).upto(6)
    assert np.allclose(_predicted(model, spread, model, without, 1)[:, 11], model[5] * spread[:, 11] / spread[:, 5])


def test_the_dispersion_factor_is_one_for_binomial_rows_and_measures_extra_scatter():
    rng = np.random.default_rng(11)
    stay = np.full(10, 0.9)
    curve = np.cumprod(stay)

    def table_with(scatter):  # rows drawn binomially, each year's rate moved by a shock of this size
        kept, alive = [], 5000
        for k in range(10):
            alive = rng.binomial(alive, np.clip(stay[k] + rng.normal(0, scatter), 0, 1))
            kept.append(alive / 5000)
        return retention_table(range(1, 11), kept, [5000] * 10)

    plain = [dispersion(table_with(0.0), curve, 0) for _ in range(200)]
    assert np.median(plain) == 1.0 and np.mean(plain) < 1.25  # Pearson's chi-square over its 10 degrees, floored
    shaken = [dispersion(table_with(0.01), curve, 0) for _ in range(200)]
    # variance of a row's rate: binomial 0.9 * 0.1 / at-risk, plus 0.01 ** 2 from the shock
    at_risk = 5000 * np.concatenate([[1.0], curve[:-1]])
    expected = np.mean(1 + 1e-4 / (0.09 / at_risk))
    assert np.median(shaken) == pytest.approx(expected, rel=0.25)
    assert dispersion(retention_table(range(1, 11), curve), curve, 0) == 1.0  # no cohort sizes: nothing to compare


def test_overdispersed_draws_keep_the_mean_and_multiply_the_variance():
    rng = np.random.default_rng(4)
    draws = overdispersed_binomial(rng, np.full(40_000, 1000), 0.3, 5.0)
    assert draws.mean() == pytest.approx(300, rel=0.01)
    assert draws.var() == pytest.approx(5.0 * 1000 * 0.3 * 0.7, rel=0.05)
    same = overdispersed_binomial(np.random.default_rng(4), np.full(50, 1000), 0.3, 1.0)
    assert np.array_equal(same, np.random.default_rng(4).binomial(np.full(50, 1000), 0.3))  # 1: the binomial itself
    assert np.array_equal(
        overdispersed_binomial(rng, np.full(5, 10), np.array([0.0, 1.0, 0.0, 1.0, 0.0]), 3.0), [0, 10, 0, 10, 0]
    )


def test_rows_that_scatter_beyond_sampling_widen_the_prediction_band_by_the_root_of_the_factor():
    model = 0.9 ** np.arange(1, 13)
    certain = np.tile(model, (4000, 1))
    window = retention_table(range(1, 13), model, [400] * 12).upto(6)
    plain = _predicted(model, certain, model, window, random_seed=1)
    scattered = _predicted(model, certain, model, window, random_seed=1, factor=4.0)
    assert np.array_equal(scattered[:, :6], plain[:, :6])  # within the window the band is the curve's
    assert scattered[:, 11].mean() == pytest.approx(model[11], abs=0.004)
    assert scattered[:, 11].std() == pytest.approx(2.0 * plain[:, 11].std(), rel=0.1)


def test_calibration_recovers_how_often_customers_reconsider_from_a_table_the_model_generated():
    truth = 0.06  # review_probability: the monthly chance of reconsidering unprompted
    scenario = small(4000)
    [parameter] = parse_fit(["population.review_probability=0.01:0.2:log"], scenario, "A")
    settings = dict(horizon=18, warmup=6, window=12)  # a year of joiners: a cohort of several hundred
    generated = apply_settings(scenario, "A", [f"population.review_probability={truth}"])
    curve = pooled(simulate_cohort(generated, "A", s, **settings) for s in range(101, 109)).survival
    active = sample_cohort(curve, 1500, np.random.default_rng(11))
    table = retention_table(range(1, 19), active / 1500, [1500] * 18, source="generated")

    found = calibrate(
        scenario, table, firm="A", parameters=[parameter], seeds=[1, 2, 3, 4], bootstrap=100, fit_periods=12, **settings
    )
    [low], [high], [estimate] = found.low, found.high, found.estimate
    assert low <= truth <= high
    assert estimate == pytest.approx(truth, rel=0.3)
    # An interval that says something: within a third of the range searched (log scale). It is wider than the
    # table's sampling noise alone would make it: the rows' scatter about the surface's curve, which the bootstrap
    # carries (``dispersion``), includes the simulated curve's own noise.
    assert math.log(high / low) < math.log(0.2 / 0.01) / 3
    assert found.calibrated.population.review_probability == estimate
    assert found.calibrated.name == "small_calibrated"
    assert len(found.fitted) == FITTED_SEEDS * 4  # the fitted curve on more seeds than each candidate
    assert found.design.cohort.iloc[0] < sum(f.joined for f in found.fitted)

    errors = holdout_table(found).set_index(["model", "window"])
    assert errors.loc[("simulation", "hold-out"), "rows"] == 6
    assert errors.loc[("simulation", "hold-out"), "mean_abs_error_pts"] < 3
    assert errors.loc[("sBG", "hold-out"), "mean_abs_error_pts"] < 3
    followed = errors.loc[("sBG", "hold-out, from the last row fitted")]
    sbg = found.sbg_survival
    by_hand = 100 * (table.retained[11] * sbg[12:] / sbg[11] - table.retained[12:])
    assert followed.rows == 6 and followed.mean_abs_error_pts == pytest.approx(np.abs(by_hand).mean())
    curves = curve_table(found)
    assert curves.period.tolist() == list(range(19)) and curves.model.iloc[0] == 1.0
    assert (curves.model_low <= curves.model + 0.02).all() and (curves.model_high >= curves.model - 0.02).all()
    assert curves.window.tolist().count("hold-out") == 6
    assert set(parameter_table(found).parameter) == {"population.review_probability", "alpha", "beta", "scale", "shape"}
    assert errors.loc[("Weibull", "hold-out"), "mean_abs_error_pts"] < 3
    assert curves.attrs["retention_file"] == "generated" and curves.attrs["seeds"] == [1, 2, 3, 4]


def test_an_annual_table_is_read_in_the_models_months_and_its_references_in_years(tmp_path):
    annual = write_table(tmp_path, "period,retained,customers\n0,1,2000\n1,0.8,2000\n2,0.7,2000\n3,0.64,2000\n")
    table = read_retention_table(annual, period_months=12)
    assert table.steps(1) == 12 and table.steps(3) == 4
    assert table.in_model_periods(1).period.tolist() == [12, 24, 36]
    assert table.in_model_periods(3).period.tolist() == [4, 8, 12]
    with pytest.raises(CalibrationError, match="periods of 12 months are not a whole number of the model's periods"):
        table.steps(5)
    with pytest.raises(CalibrationError, match="--period-months 0: must be a whole number of months from 1 to 120"):
        read_retention_table(annual, period_months=0)
    yearly = fit_sbg(table, period=12)
    assert yearly.survival([12, 24, 36]) == pytest.approx(sbg_survival(yearly.alpha, yearly.beta, [1, 2, 3]))
    assert yearly.churn_rate([12])[0] == pytest.approx(1 - yearly.survival([12])[0] / yearly.survival([11])[0])
    weibull = fit_weibull(table, period=12)
    assert weibull.survival([12, 24, 36]) == pytest.approx(table.retained, abs=0.02)  # two parameters, three rows
    assert weibull.shape < 1  # the observed churn falls with tenure: 20%, 12.5%, 8.6% a year


# --- the calibrated scenario as TOML --------------------------------------------------------------------------------


def test_a_written_scenario_loads_back_equal(tmp_path):
    scenario = Scenario(
        name='odd "name" \\ with ünïcode',
        description='Line one.\nA "quoted" part, a tab\tand a backslash \\.',
        market=Market(customers=1234, outside_value=-2.5, discount_rate=0.1),
        population=Population(segment_shares=(0.25, 0.5, 0.25), switching_effort_cv=1.0e-5),
        events=[
            Event(month=3, firm="A", lever="price", by=-0.15, note="a cut"),
            Event(month=5, firm="all", lever="exit_fee", to=0.0, months=2),
        ],
    )
    path = tmp_path / "written.toml"
    path.write_text(scenario_toml(scenario, "a header\nover two lines"), encoding="utf-8")
    assert load_scenario(path) == scenario
    assert path.read_text(encoding="utf-8").startswith("# a header\n# over two lines\n")
    tomllib.loads(path.read_text(encoding="utf-8"))  # plain TOML


# --- the commands ---------------------------------------------------------------------------------------------------


def test_the_commands_write_a_table_then_calibrate_to_it_end_to_end(tmp_path):
    runner = CliRunner()
    table = tmp_path / "cohort.csv"
    made = runner.invoke(
        app,
        [
            "cohort",
            "baseline",
            "--firm",
            "B",
            "--months",
            "12",
            "--sample",
            "800",
            "--set",
            "population.review_probability=0.05",
            "--customers",
            "1500",
            "-r",
            "2",
            "--warmup",
            "6",
            "--window",
            "6",
            "-j",
            "1",
            "--out",
            str(table),
        ],
    )
    assert made.exit_code == 0, made.output
    assert read_retention_table(table).customers.tolist() == [800] * 12
    assert "# Changed: population.review_probability=0.05." in table.read_text()
    assert (
        "# Set by the command line, not by the scenario file: market.customers = 1500 (--customers 1500; "
        "the scenario file says 10000)."
    ) in table.read_text()

    written = tmp_path / "mine.toml"
    result = runner.invoke(
        app,
        [
            "calibrate",
            "baseline",
            "--retention",
            str(table),
            "--firm",
            "B",
            "--fit",
            "population.review_probability=0.01:0.12",
            "--customers",
            "1500",
            "-r",
            "2",
            "--warmup",
            "6",
            "--window",
            "6",
            "--horizon",
            "15",
            "--bootstrap",
            "40",
            "-j",
            "1",
            "--out",
            str(tmp_path / "out"),
            "--write",
            str(written),
        ],
    )
    assert result.exit_code == 0, result.output
    [folder] = list((tmp_path / "out").iterdir())
    assert folder.name.startswith("baseline-calibrate-B-")
    for name in (
        "parameters.csv",
        "parameters.parquet",
        "curves.csv",
        "curves.parquet",
        "holdout.csv",
        "holdout.parquet",
        "design.csv",
        "design.parquet",
        "observed.csv",
        "retention.png",
        "churn_by_tenure.png",
        "report.md",
        "report.html",
        "manifest.json",
        "baseline_calibrated.toml",
    ):
        assert (folder / name).stat().st_size > 0, name
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seeds"] == [1, 2] and manifest["firm"] == "B" and manifest["version"]
    assert manifest["scenario"]["name"] == "baseline" and manifest["calibrated"]["name"] == "baseline_calibrated"
    assert manifest["retention_sha256"] == read_retention_table(table).sha256
    assert manifest["fit"][0]["parameter"] == "population.review_probability"
    assert "--fit population.review_probability=0.01:0.12 --fit-periods 8 --horizon 15" in manifest["reproduce"]
    assert "--seed 1 --customers 1500" in manifest["reproduce"]
    calibrated = load_scenario(folder / "baseline_calibrated.toml")
    assert calibrated.population.review_probability == manifest["fit"][0]["estimate"]
    assert load_scenario(written) == calibrated
    report = (folder / "report.md").read_text()
    assert "## Hold-out check" in report and "![retention](retention.png)" in report and "sorting" in report
    assert "Predicted from the survivors at the last row fitted" in report
    assert "hold-out, from the last row fitted" in report  # every model's error, like for like with the band
    assert manifest["dispersion"]["simulation"] >= 1 and manifest["dispersion"]["sbg"] >= 1
    assert "predicted" in pd.read_csv(folder / "curves.csv", comment="#").columns
    assert "held-out periods 9-12" in result.output and "calibrated scenario:" in result.output
    checked = runner.invoke(app, ["check", str(written)])
    assert checked.exit_code == 0 and ": ok - baseline_calibrated" in checked.output
    # The written file is the shipped baseline edited: its comments kept, every override stated and marked.
    text = written.read_text()
    override = "market.customers = 1500 (--customers 1500; the scenario file says 10000)"
    assert f"# Set by the command line, not by the scenario file:\n#   {override}\n" in text
    assert f"#   {override}" in (folder / "baseline_calibrated.toml").read_text()
    assert manifest["overrides"] == [override]
    shipped = (SHIPPED / "baseline.toml").read_text()
    comments = [line for line in shipped.splitlines() if line.startswith("#")]
    assert comments and all(line in text.splitlines() for line in comments)
    assert "customers = 1500 # --customers 1500 (the scenario file says 10000)" in text
    assert "review_probability = " in text and "# fitted to cohort.csv (the file says " in text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--retention", "{missing}"], "missing.csv: no such file"),
        (["--retention", "{bad}"], "bad.csv: line 3: retained = 1.5: must be a share between 0 and 1"),
        (
            ["--retention", "{good}", "--fit", "population.nope=0:1"],
            "--fit population.nope=0:1: population.nope: unknown field",
        ),
        (["--retention", "{good}", "--firm", "Z"], "--firm Z: no such firm in baseline; firms are A, B, C"),
        (["--retention", "{good}", "--fit-periods", "9"], "--fit-periods 9: must leave at least 3 rows"),
        (["--retention", "{short}"], "short.csv: 2 period(s) after period 0: at least 3 are needed"),
        (["--retention", "{good}", "--horizon", "2"], "--horizon 2: must reach the table's last period, 4"),
    ],
)
def test_the_command_refuses_bad_input_with_one_line_and_status_2(tmp_path, arguments, message):
    files = {
        "missing": tmp_path / "missing.csv",
        "bad": write_table(tmp_path, "period,retained\n1,0.9\n2,1.5\n3,0.8\n", "bad.csv"),
        "good": write_table(tmp_path, "period,retained\n1,0.9\n2,0.85\n3,0.8\n4,0.78\n", "good.csv"),
        "short": write_table(tmp_path, "period,retained\n0,1\n1,0.9\n2,0.8\n", "short.csv"),
    }
    arguments = [a.format(**files) for a in arguments]
    result = CliRunner().invoke(app, ["calibrate", "baseline", *arguments, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert not (tmp_path / "out").exists()
