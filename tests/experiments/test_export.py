"""Customer histories: spells that add up to the model's own books, traits that are the truth, and the command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import LoyaltyModel
from sim.experiments.export import END_REASONS, customer_histories
from tests.conftest import small_market

LOYALTY = Path(sys.executable).parent / "loyalty"
MONTHS = 30


@pytest.fixture(scope="module")
def market():
    return small_market(2000, MONTHS)


@pytest.fixture(scope="module")
def histories(market):
    return customer_histories(market, 4)


@pytest.fixture(scope="module")
def results(market):
    return LoyaltyModel(market, seed=4).run().results()


def test_spells_add_up_to_the_firms_books(histories, results):
    spells = histories.spells
    by_firm = results.groupby("firm")
    np.testing.assert_allclose(spells.groupby("firm").revenue.sum(), by_firm.revenue.sum(), rtol=1e-9)
    ended = spells[~spells.censored].groupby("firm").size()
    assert ended.to_dict() == by_firm.losses.sum().astype(int).to_dict()
    joined = spells[spells.start_month >= 1].groupby("firm").size()  # a join in month t starts a spell at t + 1
    assert joined.to_dict() == results[results.period < MONTHS - 1].groupby("firm").gains.sum().astype(int).to_dict()
    assert (spells.failures.groupby(spells.firm).sum() == by_firm.failures.sum()).all()
    assert (spells.complaints.groupby(spells.firm).sum() == by_firm.complaints.sum()).all()


def test_each_customers_spells_follow_each_other_without_overlap(histories):
    spells = histories.spells
    assert (spells.start_month <= spells.end_month).all()
    following = spells.groupby("customer").start_month.shift(-1)
    assert (following.dropna() > spells.loc[following.notna(), "end_month"]).all()
    assert (spells.loc[spells.censored, "end_month"] == MONTHS - 1).all()
    assert set(spells.end_reason.unique()) <= set(END_REASONS)
    rival = spells.end_reason == "rival"
    assert (spells.loc[rival, "next_firm"] != "").all() and (spells.loc[~rival, "next_firm"] == "").all()
    assert (spells.left_truncated == (spells.start_month < 0)).all()
    observed = spells.end_month - spells.start_month.clip(lower=0) + 1
    assert (spells.months == observed).all() and (spells.tenure_months >= spells.months).all()
    assert (spells.loc[~spells.left_truncated, "referred"].sum() > 0) and not spells.loc[
        spells.left_truncated
    ].referred.any()


def test_the_customers_table_holds_the_traits_that_generated_the_behaviour(histories, market):
    truth = LoyaltyModel(market, seed=4).customers
    table = histories.customers
    for trait in ("w_price", "w_quality", "w_image", "effort", "complaint_propensity", "review_propensity"):
        np.testing.assert_array_equal(table[trait].to_numpy(), getattr(truth, trait))
    assert list(table.segment.cat.categories) == ["heavy", "medium", "light"]
    assert (table.firm_at_start == np.array(["A", "B", "C", ""], dtype=object)[truth.firm]).all()


def test_cohorts_count_the_joiners_and_never_grow(histories, results):
    cohorts = histories.cohorts
    first = cohorts[cohorts.age_months == 0].set_index(["firm", "cohort_month"])
    assert (first.active == first.joined).all()
    gains = results.set_index(["firm", "period"]).gains
    for (firm, month), row in first.iterrows():
        if month > 0:  # month 0's cohort joined in the last month of the burn-in, before the records
            assert row.joined == gains[(firm, month - 1)]
    assert (cohorts.groupby(["firm", "cohort_month"]).active.diff().dropna() <= 0).all()
    assert cohorts.age_months.max() == MONTHS - 1 and cohorts.retained.between(0, 1).all()


def test_the_dictionary_names_every_column_of_every_table(histories):
    dictionary = histories.dictionary()
    for table in ("spells", "customers", "cohorts", "events"):
        frame = getattr(histories, table)
        assert set(frame.columns) == set(dictionary.loc[dictionary.table == table, "column"]), table
    assert dictionary.meaning.str.len().gt(5).all() and dictionary.unit.str.len().gt(0).all()


def test_an_exit_fee_lengthens_spells_the_known_effect_of_a_lever(market):
    fee = market.model_copy(deep=True)
    next(f for f in fee.firms if f.name == "A").exit_fee = 60.0
    plain, locked = customer_histories(market, 5), customer_histories(fee, 5)

    def a_leaving(h):
        a = h.spells[(h.spells.firm == "A")]
        return (~a.censored & (a.end_reason != "outside reasons")).sum()

    assert a_leaving(locked) < 0.7 * a_leaving(plain)
    paid = locked.spells[(locked.spells.firm == "A") & (locked.spells.exit_fee_paid > 0)]
    assert len(paid) > 0 and (paid.exit_fee_paid == 60.0).all()


def test_a_quarterly_scenario_is_exported_month_by_month(market):
    quarterly = market.model_copy(deep=True)
    quarterly.market.period_months, quarterly.market.periods = 3, 4
    h = customer_histories(quarterly, 4)
    assert h.spells.end_month.max() == 11 and h.cohorts.age_months.max() == 11


def test_export_writes_tidy_tables_a_dictionary_a_figure_and_a_manifest(tmp_path):
    out = subprocess.run(
        [
            str(LOYALTY),
            "export",
            "exit_fee_ban",
            "--customers",
            "800",
            "--periods",
            "60",
            "--seed",
            "3",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    [folder] = list(tmp_path.iterdir())
    for table in ("spells", "customers", "cohorts", "events", "dictionary"):
        csv = pd.read_csv(folder / f"{table}.csv", keep_default_na=False)
        assert len(csv) == len(pd.read_parquet(folder / f"{table}.parquet")) > 0, table
    assert (folder / "cohort_survival.png").stat().st_size > 20_000
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seeds"] == [3] and manifest["scenario"]["name"] == "exit_fee_ban" and manifest["version"]
    report = (folder / "report.md").read_text()
    assert "Data dictionary" in report and "left-truncated" in report
    events = pd.read_csv(folder / "events.csv")
    assert "exit_fee" in set(events.lever)
