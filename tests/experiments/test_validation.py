"""The stylized-facts report: every fact holds in the fast version, and a check can fail."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.engine.parameters import Population, Scenario
from sim.experiments.intervals import Interval
from sim.experiments.validation import FACTS, parameter_exists, passes, validate_model

LOYALTY = Path(sys.executable).parent / "loyalty"  # the console script: commands from every cli_* module


def loyalty(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LOYALTY), *args], capture_output=True, text=True)


def only_folder(root: Path) -> Path:
    entries = list(root.iterdir())
    assert len(entries) == 1, entries
    return entries[0]


@pytest.fixture(scope="module")
def fast_report(tmp_path_factory):
    """``loyalty validate-model --fast``, run once: the command's outcome, its folder and its facts table."""
    out = tmp_path_factory.mktemp("validation")
    result = loyalty("validate-model", "--fast", "--workers", "2", "--out", str(out))
    folder = only_folder(out)
    return result, folder, pd.read_parquet(folder / "facts.parquet").set_index("fact")


def test_the_command_writes_a_complete_folder_and_exits_0(fast_report):
    result, folder, facts = fast_report
    for name in (
        "facts.csv",
        "facts.parquet",
        "measurements.csv",
        "measurements.parquet",
        "report.md",
        "report.html",
        "manifest.json",
        *(f"{fact}.png" for fact in FACTS),
    ):
        assert (folder / name).stat().st_size > 0, name
    assert list(facts.index) == list(FACTS)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seeds"] == [1, 2, 3, 4] and manifest["version"]
    assert manifest["scenario"]["market"]["customers"] == 3000
    assert set(manifest["facts"]) == set(FACTS)
    report = (folder / "report.md").read_text()
    assert "| fact | literature | model [95% interval] | criterion | result | depends on |" in report
    assert "![" in report and "<img" in (folder / "report.html").read_text()
    for fact in FACTS:
        assert fact in result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("fact", list(FACTS))
def test_the_fact_holds(fast_report, fact):
    row = fast_report[2].loc[fact]
    assert row.passed, f"{fact} fails: {row.model}. Criterion: {row.criterion} ({row.rule})"


def test_every_interval_contains_its_mean_and_every_dependency_is_a_parameter(fast_report):
    _, folder, facts = fast_report
    assert (facts.low <= facts.value).all() and (facts.value <= facts.high).all()
    measurements = pd.read_parquet(folder / "measurements.parquet")
    assert (measurements.low <= measurements["mean"] + 1e-12).all()
    assert (measurements["mean"] <= measurements.high + 1e-12).all()
    for fact, row in facts.iterrows():
        paths = row.depends_on.split(", ")
        assert paths, fact
        unknown = [p for p in paths if not parameter_exists(p)]
        assert not unknown, f"{fact} depends on {unknown}, which are not parameters of Scenario"


def test_a_warning_that_reaches_no_further_than_praise_fails_the_word_of_mouth_fact():
    broken = Scenario(population=Population(reach_dissatisfied=8))
    facts = validate_model(fast=True, replications=2, customers=1000, scenario=broken, facts=["word_of_mouth"])
    row = facts.set_index("fact").loc["word_of_mouth"]
    assert not row.passed
    assert row.value == pytest.approx(1.0, abs=0.05)  # 8 people per warning, 8 per recommendation


SWITCHED_OFF = {
    "quality_satisfaction": {"performance_weight": 0.0},  # satisfaction from disconfirmation alone
    "service_failures": {"performance_weight": 0.0},  # failures lower expectations, then "delight"
    "promotion_end": {"reference_adaptation": 1.0},  # the reference is last month's price
    "tier_perks": {"perk_months": 0.0},  # perks are no switching cost
    "complaint_recovery": {  # a resolution restores nothing and an unresolved complaint prompts nothing
        "recovery_boost": 0.0,
        "unrecovered_loss": 0.0,
        "recovered_satisfaction": Population().dissatisfied,
        "prompted_review_probability": 0.0,
    },
}


@pytest.mark.parametrize(("fact", "change"), SWITCHED_OFF.items(), ids=list(SWITCHED_OFF))
def test_a_mechanism_fact_fails_when_its_mechanism_is_switched_off(fact, change):
    broken = Scenario(population=Population(**change))
    facts = validate_model(fast=True, workers=2, scenario=broken, facts=[fact])
    assert not facts.set_index("fact").loc[fact, "passed"], f"{fact} passes with {change}: it would not catch it"


def test_the_command_exits_1_when_a_fact_fails(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "echo_chamber"\n[population]\nreach_dissatisfied = 8\n')
    result = loyalty(
        "validate-model",
        "--scenario",
        str(broken),
        "--only",
        "word_of_mouth",
        "--customers",
        "800",
        "-r",
        "2",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "results"),
    )
    assert result.returncode == 1, result.stderr
    assert "FAIL" in result.stdout and "0 of 1 facts pass" in result.stdout
    folder = only_folder(tmp_path / "results")
    assert not pd.read_csv(folder / "facts.csv").passed.any()
    assert "--only word_of_mouth" in json.loads((folder / "manifest.json").read_text())["reproduce"]


def test_an_unknown_fact_is_refused_with_one_line_and_status_2(tmp_path):
    result = loyalty("validate-model", "--only", "happiness", "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --only happiness: no such fact; facts are " + ", ".join(FACTS)
    ]
    assert not any(tmp_path.iterdir())


def test_a_rule_is_code_over_intervals():
    share = Interval(0.04, 0.03, 0.05, 4, 0.95)
    assert passes("0.02 <= share.mean <= 0.08 and share.low > 0", {"share": share})
    assert not passes("share.high < 0.05", {"share": share})
    assert parameter_exists("firms[].exit_fee") and parameter_exists("market.contacts")
    assert not parameter_exists("population.happiness") and not parameter_exists("firms.exit_fee")
