"""The ODD description comes from the code: every parameter, array, step and fact appears, and follows changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim import FirmLevers, Market, Population, Scenario, load_scenario
from sim.behaviour import prices
from sim.engine.population import Customers
from sim.experiments.validation import FACTS
from sim.outputs.odd import describe, month_steps

LOYALTY = Path(sys.executable).parent / "loyalty"
SECTIONS = (
    "## 1. Purpose and patterns",
    "## 2. Entities, state variables and scales",
    "## 3. Process overview and scheduling",
    "## 4. Design concepts",
    "## 5. Initialisation",
    "## 6. Input data",
    "## 7. Submodels",
)


@pytest.fixture(scope="module")
def baseline_odd() -> str:
    return describe(load_scenario("baseline"))


def test_the_seven_elements_of_the_protocol_come_in_order(baseline_odd):
    positions = [baseline_odd.index(heading) for heading in SECTIONS]
    assert positions == sorted(positions)


@pytest.mark.parametrize("group", [Market, Population, FirmLevers], ids=lambda g: g.__name__)
def test_every_parameter_appears_with_its_description(baseline_odd, group):
    for name, info in group.model_fields.items():
        if name == "name":
            continue
        assert f"| `{name}` |" in baseline_odd, name
        assert info.description.replace("|", "\\|") in baseline_odd, name


def test_every_state_array_appears_with_its_meaning_and_unit(baseline_odd):
    for row in Customers.array_table():
        assert f"| `{row['array']}` | {row['kind']} | {row['meaning']} | {row['unit']} |" in baseline_odd


def test_every_step_of_the_month_appears_with_the_equations_it_calls(baseline_odd):
    steps = month_steps()
    assert [s.number for s in steps] == list(range(1, len(steps) + 1)) and len(steps) >= 7
    for step in steps:
        assert f"{step.number}. {step.text}" in baseline_odd
    called = {f.__name__ for s in steps for f in s.calls}
    assert {"satisfaction", "adapt_reference", "logit_pick", "option_utilities"} <= called
    for name in called:
        assert f"**`{name}(" in baseline_odd, name  # every equation called has its submodel entry


def test_every_validation_fact_is_a_pattern(baseline_odd):
    for name in FACTS:
        assert f"- `{name}`:" in baseline_odd


def test_the_description_states_the_scenarios_values_and_events():
    scenario = load_scenario("exit_fee_ban")
    scenario.population.loss_aversion = 3.7
    text = describe(scenario)
    row = next(line for line in text.splitlines() if line.startswith("| `loss_aversion` |"))
    assert row.split(" | ")[1:3] == ["2", "3.7"]  # default, this scenario
    ban = next(e for e in scenario.events if e.lever == "exit_fee")
    assert f"| {ban.month} | {ban.firm} | `exit_fee` |" in text
    assert scenario.description in text


def test_a_changed_equation_changes_the_description(monkeypatch):
    before = describe(Scenario())
    monkeypatch.setattr(prices.adapt_reference, "__doc__", "A new rule for reference prices, stated here.")
    after = describe(Scenario())
    assert "A new rule for reference prices, stated here." in after and after != before


def loyalty(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LOYALTY), *args], capture_output=True, text=True)


def test_describe_prints_or_writes_a_file_and_never_overwrites(tmp_path):
    printed = loyalty("describe", "baseline")
    assert printed.returncode == 0 and printed.stdout.startswith("# ODD protocol: baseline")
    target = tmp_path / "odd.md"
    assert loyalty("describe", "baseline", "--out", str(target)).returncode == 0
    assert target.read_text() == printed.stdout
    again = loyalty("describe", "baseline", "--out", str(target))
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
    assert loyalty("describe", "baseline", "--out", str(target), "--force").returncode == 0

    scenario = tmp_path / "mine.toml"
    scenario.write_text((Path(__file__).parents[2] / "scenarios" / "baseline.toml").read_text())
    original = scenario.read_text()
    refused = loyalty("describe", str(scenario), "--out", str(scenario))
    assert refused.returncode == 2 and "is the scenario file this command reads" in refused.stderr
    assert scenario.read_text() == original
    assert {p.name for p in tmp_path.iterdir()} == {"odd.md", "mine.toml"}  # nothing half-written left behind
