"""Hardening, round two: what a careless and a hostile user found, each refused or warned of in one line.

Every refusal is one line on standard error that starts ``error:``, exits
with status 2, prints no traceback and leaves nothing behind; a warning is a
line that starts ``warning:`` and the command goes on.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sim.cli.runs
import sim.engine.memory
from sim.cli import app
from sim.engine.events import never_happen
from sim.engine.memory import BYTES_PER_CUSTOMER
from sim.engine.parameters import Market, Scenario
from sim.engine.scenario_files import SHIPPED, load_scenario
from sim.experiments.intervals import mean_interval, reported_interval, too_few_for_intervals
from sim.experiments.replications import run_replications
from sim.experiments.summary import METRICS, firm_summary
from sim.outputs.reports.runs import run_findings
from sim.outputs.terminal import summary_table

QUICK = ["--customers", "200", "--periods", "3", "-r", "1", "-j", "1"]


def loyalty(*args: str):
    return CliRunner().invoke(app, list(args))


def refused(result, starts: str) -> str:
    """The one error line of a refused command, checked."""
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    line = result.stderr.strip().removeprefix("error: ")
    assert line.startswith(starts), line
    return line


# --- wrong answers given calmly ------------------------------------------------------------------------------------


@pytest.mark.parametrize("points", ["-50", "0"])
def test_a_lift_that_is_no_gain_is_refused_before_anything_runs(tmp_path, points):
    result = loyalty("lift", "baseline", "--points", points, *QUICK, "--out", str(tmp_path / "out"))
    refused(result, f"points = {float(points):g}: a gain in retention must be a positive number of percentage points")
    assert not (tmp_path / "out").exists()


def test_a_what_if_without_a_name_is_compared_with_its_parent_under_its_own_name(tmp_path):
    mine = tmp_path / "my_whatif.toml"
    mine.write_text(f'extends = "{SHIPPED / "baseline.toml"}"\n[[firms]]\nname = "A"\nprice = 31.0\n')
    result = loyalty("compare", str(SHIPPED / "baseline.toml"), str(mine), *QUICK, "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("baseline vs my_whatif: ")
    assert [p.name.startswith("baseline-vs-my_whatif-") for p in (tmp_path / "out").iterdir()] == [True]


def test_an_empty_scenario_name_is_refused_as_empty_not_as_a_folder(tmp_path):
    refused(loyalty("run", "", *QUICK, "--out", str(tmp_path)), "scenario '': empty; give a scenario file or the name")
    assert list(tmp_path.iterdir()) == []


def test_an_event_after_the_last_month_is_warned_of_in_one_line(tmp_path):
    short = tmp_path / "short_outage.toml"
    short.write_text(f'extends = "{SHIPPED / "service_failure.toml"}"\n[market]\nperiods = 12\n')
    result = loyalty("check", str(short))
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "warning: short_outage: events[0] (month 36: A failure rate to 0.3 for 6 months (six-month outage at A)) "
        "never happens: the run ends after month 11 (12 periods); give --periods 37 or more\n"
    )
    assert never_happen(load_scenario("service_failure")) == []


def test_a_firm_that_enters_after_the_last_month_is_warned_of_and_the_run_goes_on(tmp_path):
    scenario = load_scenario("new_entrant")
    entry = next(f for f in scenario.firms if f.enters_at > 0)
    result = loyalty("run", "new_entrant", *QUICK, "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (
        f"warning: new_entrant: firm {entry.name} enters at month {entry.enters_at} and so never opens: "
        f"the run ends after month 2 (3 periods); give --periods {entry.enters_at + 1} or more\n"
    ) in result.stderr
    assert [p for p in tmp_path.iterdir() if p.name.startswith("new_entrant-")]


def test_a_quarterly_market_counts_its_periods_in_quarters(tmp_path):
    quarterly = tmp_path / "quarterly.toml"
    quarterly.write_text(f'extends = "{SHIPPED / "service_failure.toml"}"\n[market]\nperiods = 4\nperiod_months = 3\n')
    (line,) = never_happen(load_scenario(quarterly))
    assert line.endswith("the run ends after month 11 (4 periods); give --periods 13 or more")


# --- crashes instead of messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("last", ["20000", "1000000000", "1e26"])
def test_a_retention_table_beyond_the_longest_horizon_is_refused_before_anything_runs(tmp_path, last):
    table = tmp_path / "cohort.csv"
    table.write_text(f"period,retained\n1,0.9\n2,0.85\n{last},0.5\n")
    result = loyalty("calibrate", "baseline", "--retention", str(table), "--customers", "200", "--out", str(tmp_path))
    line = refused(result, f"{table}: line 4: period = {float(last):g}: must be a whole number from 0 to 10,000")
    assert "longest horizon a run may have" in line
    assert list(tmp_path.iterdir()) == [table]


def test_a_horizon_that_makes_runs_longer_than_any_run_may_be_is_refused(tmp_path):
    table = tmp_path / "cohort.csv"
    table.write_text("period,retained\n1,0.9\n2,0.85\n3,0.8\n9999,0.5\n")
    result = loyalty("calibrate", "baseline", "--retention", str(table), "--customers", "200", "--out", str(tmp_path))
    refused(
        result,
        "--horizon 10011: with a warm-up of 12 and a window of 12, each run would last 10,035 periods; "
        "a run may last at most 10,000",
    )
    result = loyalty("cohort", "baseline", "--months", "20000", "--customers", "200", "--out", str(tmp_path / "c.csv"))
    refused(result, "--months 20000: with a warm-up of 12 and a window of 12, each run would last 20,024 periods")
    assert list(tmp_path.iterdir()) == [table]


def test_the_largest_market_under_a_4_gb_limit_is_refused_naming_what_it_needs_and_what_there_is(tmp_path):
    def four_gigabytes() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

    result = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", "baseline", "--customers", "50000000", "-r", "1", "--periods", "1"]
        + ["--out", str(tmp_path)],
        preexec_fn=four_gigabytes,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert re.fullmatch(
        r"error: --customers 50,000,000: a run needs about 55\.9 GiB of memory, and a process here may use "
        r"[0-3]\.\d GiB more \(its limit, ulimit -v or -d\); use fewer customers, or raise the limit\n",
        result.stderr,
    ), result.stderr
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_runs_that_together_need_more_than_the_machine_has_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sim.engine.memory, "available_memory", lambda: (4 * 2**30, None))
    result = loyalty("run", "baseline", "--customers", "2000000", "-r", "4", "-j", "2", "--out", str(tmp_path))
    refused(
        result,
        "--customers 2,000,000: 2 runs at once need about 4.7 GiB of memory, and this machine has 4.0 GiB "
        "available; use fewer customers or fewer workers (--workers)",
    )
    assert list(tmp_path.iterdir()) == []


def test_running_out_of_memory_all_the_same_is_one_line(tmp_path, monkeypatch):
    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(sim.cli.runs, "run_replications", exhausted)
    refused(loyalty("run", "baseline", *QUICK, "--out", str(tmp_path)), "ran out of memory while running: use fewer")
    assert list(tmp_path.iterdir()) == []


def test_the_memory_estimate_is_not_below_what_a_run_takes():
    from tests.cli.test_hardening import memory_per_customer

    assert memory_per_customer(40_000) <= BYTES_PER_CUSTOMER


# --- intervals that respect a share's bounds ------------------------------------------------------------------------


def test_a_share_interval_is_cut_to_0_100_and_none_is_shown_below_three_replications():
    wide = reported_interval([1.0, 99.0, 2.0], bounds=(0.0, 100.0))
    assert wide.low == 0.0 and 0 < wide.mean < wide.high <= 100.0
    assert mean_interval([1.0, 99.0, 2.0]).low < 0  # what the Student-t interval alone says
    two = reported_interval([60.0, 85.0], bounds=(0.0, 100.0))
    assert two.mean == 72.5 and np.isinf(two.low) and np.isinf(two.high)
    assert "12.7 standard errors" in too_few_for_intervals(2) and too_few_for_intervals(3) is None


@pytest.fixture(scope="module")
def three_replications() -> pd.DataFrame:
    return run_replications(Scenario(market=Market(customers=300, periods=14)), [1, 2, 3])


def test_every_printed_share_interval_lies_within_0_100(three_replications):
    summary = firm_summary(three_replications)
    for metric in [m for m in METRICS if m.endswith("_pct")]:
        assert (summary[f"{metric}_low"] >= 0).all() and (summary[f"{metric}_high"] <= 100).all(), metric
    for finding in run_findings(summary):
        for low, high in re.findall(r"\[(-?[\d.,]+), (-?[\d.,]+)\]%", finding):
            assert 0 <= float(low) <= float(high) <= 100, finding


def test_two_replications_print_means_and_say_why_there_is_no_interval(tmp_path):
    result = loyalty("run", "baseline", "--customers", "300", "--periods", "14", "-r", "2", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    table = result.stdout.split("\n\n")[0]
    assert "[" not in table and not re.search(r"\s-\d", table)  # means, no intervals, nothing below zero
    assert "note: 2 replications are too few for a meaningful 95% interval" in result.stdout
    (folder,) = tmp_path.iterdir()
    assert "2 replications are too few for a meaningful 95% interval" in (folder / "report.md").read_text()


# --- the terminal ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 100])
def test_the_summary_table_fits_the_terminal(tmp_path, width):
    result = CliRunner(env={"COLUMNS": str(width)}).invoke(
        app, ["run", "baseline", "--customers", "300", "--periods", "14", "-r", "3", "-j", "1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if not line.startswith("results: ")]  # a path is a path
    assert max(len(line) for line in lines) <= width, "\n".join(lines)
    assert all(f"firm {name}" in result.stdout for name in "ABC") and "12-month retention %" in result.stdout


def test_many_firms_are_stacked_into_tables_that_fit(three_replications):
    summary = firm_summary(three_replications)
    many = pd.concat([summary.assign(firm=f"{firm}{copy}") for copy in range(3) for firm in summary.firm])
    many = many.drop_duplicates("firm").reset_index(drop=True)
    for width in (60, 80, 100, 200):
        text = summary_table(many, width)
        assert max(len(line) for line in text.splitlines()) <= width
        assert all(f"firm {name}" in text for name in many.firm)
        assert text.count("discounted profit") == -(-len(many) // max(1, text.splitlines()[0].count("firm ")))
