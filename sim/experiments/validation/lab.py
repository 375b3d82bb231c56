"""What the facts share: sizes, the experiments' settings, the result types and the pass rule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.engine.model import package_version
from sim.engine.parameters import Scenario
from sim.experiments.evaluator import Evaluator
from sim.experiments.fields import FieldError, resolve_field
from sim.experiments.intervals import Interval
from sim.experiments.validation.runs import observe_market

# The sizes of the two versions. ``fast`` runs in well under a minute on two cores and is what the
# test suite runs; ``full`` is the default of ``loyalty validate-model``.
FAST = {
    "customers": 3_000,
    "replications": 4,
    "tenure_months": 60,
    "cohort_customers": 1_000,
    "cohort_months": 240,
    "clv_customers": 5_000,
    "event_customers": 8_000,
    "complaint_customers": 10_000,
}


FULL = {
    "customers": 10_000,
    "replications": 10,
    "tenure_months": 72,
    "cohort_customers": 4_000,
    "cohort_months": 240,
    "clv_customers": 20_000,
    "event_customers": 20_000,
    "complaint_customers": 30_000,
}


WARM_UP = 12
"""Months run before anything is measured, so that the market has settled."""
OBSERVED = 24
"""Months over which the baseline's customers are observed."""
FOLLOW_UP = 12
"""Months over which a customer observed in a month is followed (did it leave within a year?)."""
TENURE_MECHANISMS_OFF = {
    "trust_gain": 0.0,
    "trust_loss": 0.0,
    "recovery_boost": 0.0,
    "unrecovered_loss": 0.0,
    "word_of_mouth_gain": 0.0,
    "word_of_mouth_loss": 0.0,
    "trust_forgetting": 0.0,
    "expectation_adaptation": 0.0,
    "reference_adaptation": 0.0,
}
"""Population settings under which nothing about a customer changes with its tenure: trust and
expectations stay where they were when it joined, and its reference price where it was (the baseline's firms
have no bonds, tiers, points, fees or contracts, which also grow with tenure)."""
HOMOGENEOUS = {
    "price_sensitivity_cv": 0.0,
    "quality_sensitivity_cv": 0.0,
    "image_sensitivity_cv": 0.0,
    "switching_effort_cv": 0.0,
    "review_concentration": 0.0,
    "complaint_concentration": 0.0,
}
"""Population settings under which every customer has the same sensitivities, switching effort, habit of
reconsidering and propensity to complain."""
PRICE_RISE = 0.05
"""The price rise of the elasticity experiment: 5%, above the 3% customers accept as fair."""


@dataclass
class FactResult:
    """One stylized fact: what the literature says, what the model produced, and whether they agree.

    Attributes:
        fact: short identifier, e.g. ``"word_of_mouth"``.
        title: the fact in a few words.
        claim: what the literature says, in our words.
        source: where it says it.
        measure: what was measured, in words (the headline value).
        value, low, high: the headline value and its 95% interval over replications.
        unit: unit of the headline value.
        model: the headline value and the other measurements, in words: a template whose ``{measure:spec}``
            fields name ``measures`` (``sim.outputs.formatting.render`` writes it out).
        criterion: the pass criterion in words.
        rule: the pass criterion as the Python expression that decides it, over ``measures``.
        passed: whether ``rule`` holds.
        depends_on: parameter paths of ``Scenario`` the fact depends on (``firms[].x``: every firm's ``x``).
        gives_up: what a user gives up by changing them.
        note: what the model does not show, or how to read the number (a template, as ``model``).
        setup: the experiment's size: replications, customers, months.
        measures: every measurement, by name, as an interval over replications.
        detail: the numbers behind the fact's figure (tidy).
        scenarios: the scenarios the experiment ran, as dicts.
    """

    fact: str
    title: str
    claim: str
    source: str
    measure: str
    value: float
    low: float
    high: float
    unit: str
    model: str
    criterion: str
    rule: str
    passed: bool
    depends_on: tuple[str, ...]
    gives_up: str
    note: str
    setup: str
    measures: dict[str, Interval] = field(repr=False)
    detail: pd.DataFrame = field(repr=False)
    scenarios: dict[str, dict] = field(repr=False, default_factory=dict)

    def row(self) -> dict[str, object]:
        """The fact as one row of the facts table: its numbers and verdict (the sentences are the report's)."""
        return {
            "fact": self.fact,
            "title": self.title,
            "claim": self.claim,
            "source": self.source,
            "measure": self.measure,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "unit": self.unit,
            "criterion": self.criterion,
            "rule": self.rule,
            "passed": self.passed,
            "depends_on": ", ".join(self.depends_on),
            "gives_up": self.gives_up,
            "setup": self.setup,
        }


@dataclass
class Validation:
    """A finished validation run: its settings and one ``FactResult`` per fact."""

    scenario: Scenario
    seeds: list[int]
    fast: bool
    workers: int
    facts: list[FactResult]

    @property
    def passed(self) -> bool:
        """Whether every fact passed."""
        return all(f.passed for f in self.facts)

    def table(self) -> pd.DataFrame:
        """One row per fact (see ``FactResult.row``); ``attrs`` record the scenario, seeds and version."""
        table = pd.DataFrame([f.row() for f in self.facts])
        table.attrs.update(
            scenario=self.scenario.model_dump(mode="json"),
            seed=self.seeds[0],
            seeds=list(self.seeds),
            version=package_version(),
            fast=self.fast,
        )
        return table

    def measurements(self) -> pd.DataFrame:
        """Every measurement of every fact: fact, measure, mean, low, high, replications."""
        rows = [
            {"fact": f.fact, "measure": name, "mean": i.mean, "low": i.low, "high": i.high, "replications": i.n}
            for f in self.facts
            for name, i in f.measures.items()
        ]
        return pd.DataFrame(rows)


class Experiments:
    """What the facts share: the market, the seeds, the evaluator that runs them, and the baseline's observations.

    Args:
        scenario: the market the facts are checked in, already at the size to run.
        seeds: one replication per seed.
        runner: the evaluator every experiment's runs go to.
        fast: the small version (sizes in ``FAST``) or the full one (``FULL``).
    """

    def __init__(self, scenario: Scenario, seeds: Sequence[int], *, runner: Evaluator, fast: bool = True) -> None:
        self.scenario = scenario
        self.seeds = list(seeds)
        self.runner = runner
        self.fast = fast
        self.sizes = FAST if fast else FULL
        self._baseline: list[dict[str, Any]] | None = None

    def across_seeds(self, function: Callable[..., dict[str, Any]], *args: object) -> list[dict[str, Any]]:
        """``function(*args, seed)`` for every seed, on the evaluator; in seed order."""
        return self.runner.map(function, [(*args, seed) for seed in self.seeds])

    def baseline(self) -> list[dict[str, Any]]:
        """The baseline market observed customer by customer (``observe_market``), once per seed; cached."""
        if self._baseline is None:
            self._baseline = self.across_seeds(observe_market, self.scenario, WARM_UP, OBSERVED, FOLLOW_UP)
        return self._baseline

    def setup(self, months: int, customers: int | None = None, arms: int = 1) -> str:
        """The size of an experiment in words."""
        customers = self.scenario.market.customers if customers is None else customers
        arm_text = f", {arms} arms on common random numbers" if arms > 1 else ""
        return f"{len(self.seeds)} replications x {customers:,} customers x {months} months{arm_text}"


def parameter_exists(path: str) -> bool:
    """Whether ``path`` names a parameter of ``Scenario``: ``market.x``, ``population.x`` or ``firms[].x``."""
    try:
        resolve_field(Scenario(), path)
    except FieldError:
        return False
    return path.partition(".")[0] in ("market", "population", "firms[]")


def passes(rule: str, measures: dict[str, Interval]) -> bool:
    """Evaluate a fact's pass rule over its measures (intervals with ``mean``, ``low``, ``high``)."""
    allowed = {"__builtins__": {}, "abs": abs, "all": all, "any": any, "min": min, "max": max}
    return bool(eval(rule, allowed, dict(measures)))  # noqa: S307 - rules are constants of this module


def _fact(
    fact: str, title: str, *, headline: str, measures: dict[str, Interval], rule: str, **fields: Any
) -> FactResult:
    main = measures[headline]
    return FactResult(
        fact=fact,
        title=title,
        value=main.mean,
        low=main.low,
        high=main.high,
        rule=rule,
        passed=passes(rule, measures),
        measures=measures,
        **fields,
    )


def _resized(scenario: Scenario, customers: int | None = None, periods: int | None = None) -> Scenario:
    update = {k: v for k, v in (("customers", customers), ("periods", periods)) if v is not None}
    return scenario.model_copy(update={"market": scenario.market.model_copy(update=update)})


def _with_population(scenario: Scenario, **changes: float) -> Scenario:
    return scenario.model_copy(update={"population": scenario.population.model_copy(update=changes)})


def _in_market(shipped: Scenario, scenario: Scenario, periods: int) -> Scenario:
    """A shipped scenario's firms and events in ``scenario``'s market and population."""
    market = scenario.market.model_copy(update={"periods": periods})
    return shipped.model_copy(update={"market": market, "population": scenario.population})
