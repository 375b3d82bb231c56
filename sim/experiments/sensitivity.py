"""Global sensitivity: which lever moves churn, retention and profit most (Sobol' indices).

Each named factor (a firm's lever or a trait of the customers, by path) is
drawn over its range in a Saltelli sample (Saltelli 2002; Saltelli et al.
2010), every point runs on the same seeds through the sweep machinery
(``sim.sweep``, on Dask), the replications of each point are averaged, and
``SALib.analyze.sobol`` estimates per outcome:

- the first-order index ``S1``: the share of the outcome's variance that the
  factor accounts for alone;
- the total index ``ST``: the share it accounts for alone and through its
  interactions with the others. A factor with ``ST`` near 0 can be left at
  any value in its range.

Intervals are bootstrap intervals over the sample. The sample has
``N * (D + 2)`` points for ``N`` base samples and ``D`` factors; the Sobol'
sequence under it is balanced only when ``N`` is a power of 2.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.engine.parameters import Scenario
from sim.experiments.designs import Design, design_from_unit, saltelli_sample
from sim.experiments.evaluator import Evaluator
from sim.experiments.fields import Factor, make_factor, resolve_field, with_values
from sim.experiments.sweep import (
    StoreOpener,
    SweepError,
    SweepFailed,
    TaskRunner,
    focus_firm,
    load_sweep_file,
    run_task,
    sweep,
)

# Name on the command line -> (column of the sweep table, label).
OUTCOMES = {
    "churn": ("monthly_churn_pct", "monthly churn"),
    "retention": ("cohort_retention_pct", "12-month retention"),
    "annualised_retention": ("annual_retention_pct", "annualised monthly retention"),
    "discounted_profit": ("discounted_profit", "discounted profit"),
    "profit": ("profit_per_month", "profit per month"),
    "share": ("final_share_pct", "final market share"),
    "satisfaction": ("satisfaction", "satisfaction"),
    "true_loyal": ("true_loyal_pct", "truly loyal share"),
    "spurious_loyal": ("spurious_loyal_pct", "spuriously loyal share"),
}
DEFAULT_OUTCOMES = ("churn", "retention", "discounted_profit")
DEFAULT_SAMPLES = 64
NEGLIGIBLE = 0.01


@dataclass(frozen=True)
class Sensitivity:
    """Sobol' indices of outcomes of one firm, with the runs they come from.

    Attributes:
        scenario: the market, as run (before the factors were set).
        firm: the firm whose outcomes are analysed.
        design: the Saltelli sample (``design.points``: one row per point).
        seeds: the replications run at every point.
        indices: one row per outcome and factor: ``outcome`` (command-line
            name), ``column``, ``factor``, ``S1``, ``S1_low``, ``S1_high``,
            ``ST``, ``ST_low``, ``ST_high`` and ``rank`` (1 = largest ``ST``).
        runs: the sweep's tidy table (every point, seed and firm).
        skipped: outcome -> why it has no indices (undefined at some points,
            or the same at every point).
        confidence: level of the intervals.
    """

    scenario: Scenario
    firm: str
    design: Design
    seeds: list[int]
    indices: pd.DataFrame
    runs: pd.DataFrame
    skipped: dict[str, str]
    confidence: float = 0.95

    @property
    def samples(self) -> int:
        """The base samples ``N`` of the Saltelli design."""
        return int(self.design.samples or 0)

    def ranking(self, outcome: str) -> list[str]:
        """The factors from most to least influential on ``outcome`` (by total index)."""
        rows = self.indices[self.indices["outcome"] == outcome].sort_values("rank")
        return list(rows["factor"])


def sensitivity(
    scenario: Scenario | str | Path,
    factors: Mapping[str, object] | None = None,
    *,
    samples: int = DEFAULT_SAMPLES,
    outcomes: Iterable[str] = DEFAULT_OUTCOMES,
    firm: str | None = None,
    seeds: Iterable[int] | None = None,
    periods: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    runner: Evaluator | None = None,
    store: StoreOpener | None = None,
    retries: int = 2,
    progress: bool = False,
    task: TaskRunner = run_task,
    confidence: float = 0.95,
) -> Sensitivity:
    """Sobol' first-order and total indices of a firm's outcomes to the named factors.

    Args:
        scenario: the market, or a scenario file whose ``[sweep.vary]``
            ranges are the factors unless ``factors`` is given.
        factors: path -> range, e.g. ``{"firms.A.price": "20:40",
            "population.price_sensitivity": (0.05, 0.2)}``.
        samples: base samples ``N``; the design has ``N * (factors + 2)``
            points. Use a power of 2.
        outcomes: names from ``OUTCOMES`` (default: churn, retention,
            discounted profit).
        firm: the firm whose outcomes are analysed (default: the firm of the
            first firm lever among the factors, else the first firm).
        seeds: replications run at every point and averaged (default: the
            scenario's seeds); the same at every point.
        periods: horizon in months (default: the scenario's).
        workers: processes of the local Dask cluster (default: all cores).
        scheduler: address of an existing Dask scheduler.
        runner: the evaluator to run on (left running); overrides ``workers`` and ``scheduler``.
        store: opens the store of finished runs (see ``sim.experiments.sweep.TaskStore``).
        retries: times a run that raised is run again before it counts as failed.
        progress: show a progress bar.
        task: the function one run calls (see ``sim.experiments.sweep.sweep``).
        confidence: level of the bootstrap intervals.

    Raises:
        SweepError: a bad factor, outcome, firm or sample size.
        SweepFailed: runs failed after their retries (the indices need every
            point; the finished runs are stored, so running again retries only
            the failed ones).
    """
    from SALib.analyze import sobol as sobol_analysis  # SALib is heavy and only this study needs it

    spec = None
    if not isinstance(scenario, Scenario):
        scenario, spec = load_sweep_file(scenario)
    if factors is None:
        factors, source = (spec.vary, spec.source) if spec else ({}, "--factor")
    else:
        source = "--factor"
    if not factors:
        raise SweepError(
            "no factors: give --factor PATH=LOW:HIGH (at least one), or a [sweep.vary] table in the scenario"
        )
    if periods is not None:
        scenario = with_values(scenario, [resolve_field(scenario, "market.periods")], [periods])
    chosen = _outcomes(outcomes)
    if firm is not None and firm not in [f.name for f in scenario.firms]:
        raise SweepError(f"--firm {firm}: must be one of {', '.join(f.name for f in scenario.firms)}")
    made = tuple(_ranged(make_factor(scenario, path, value, source), value, source) for path, value in factors.items())
    if samples < 2:
        raise SweepError(f"--samples {samples}: must be at least 2 (a power of 2, e.g. 64)")
    if samples & (samples - 1):
        below = 1 << (samples.bit_length() - 1)
        warnings.warn(
            f"--samples {samples} is not a power of 2: the Sobol' sequence is balanced only for powers of 2 "
            f"(e.g. {below} or {below * 2})",
            UserWarning,
            stacklevel=2,
        )
    problem = {"num_vars": len(made), "names": [f.path for f in made], "bounds": [[0.0, 1.0]] * len(made)}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
        unit = saltelli_sample(len(made), samples, scenario.seed)
    design = design_from_unit("saltelli", made, unit, samples, scenario.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # failed runs are raised below with their inputs
        runs = sweep(
            scenario,
            design=design,
            seeds=seeds,
            workers=workers,
            scheduler=scheduler,
            runner=runner,
            store=store,
            retries=retries,
            progress=progress,
            task=task,
        )
    failures = runs.attrs["failures"]
    if failures:
        raise SweepFailed(
            f"{len(failures)} of {runs.attrs['tasks']['total']} runs failed; the indices need every point. "
            f"The finished runs are stored: run again to retry the failed ones. First: {failures[0]['error']}",
            failures,
        )
    firm = focus_firm(runs, firm)
    mine = runs[runs["firm"] == firm].groupby("point")
    rows, skipped = [], {}
    for name in chosen:
        column, _ = OUTCOMES[name]
        y = mine[column].mean().reindex(range(len(design.points))).to_numpy(dtype=float)
        if not np.isfinite(y).all():
            skipped[name] = f"undefined at {int((~np.isfinite(y)).sum())} points (firm {firm} served no one there)"
            continue
        if np.ptp(y) == 0:
            skipped[name] = "the same at every point: no factor moves it"
            continue
        found = sobol_analysis.analyze(problem, y, calc_second_order=False, conf_level=confidence, seed=scenario.seed)
        order = np.argsort(-found["ST"], kind="stable")
        rank = np.empty(len(made), dtype=int)
        rank[order] = np.arange(1, len(made) + 1)
        for i, f in enumerate(made):
            rows.append(
                {
                    "outcome": name,
                    "column": column,
                    "factor": f.path,
                    "S1": found["S1"][i],
                    "S1_low": found["S1"][i] - found["S1_conf"][i],
                    "S1_high": found["S1"][i] + found["S1_conf"][i],
                    "ST": found["ST"][i],
                    "ST_low": found["ST"][i] - found["ST_conf"][i],
                    "ST_high": found["ST"][i] + found["ST_conf"][i],
                    "rank": int(rank[i]),
                }
            )
    columns = ["outcome", "column", "factor", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high", "rank"]
    indices = pd.DataFrame(rows, columns=columns)
    return Sensitivity(scenario, firm, design, list(runs.attrs["seeds"]), indices, runs, skipped, confidence)


def _outcomes(names: Iterable[str]) -> list[str]:
    chosen = []
    columns = {column: name for name, (column, _) in OUTCOMES.items()}
    for name in names:
        key = name.strip().replace("-", "_")
        key = columns.get(key, key)
        if key not in OUTCOMES:
            raise SweepError(f"--outcome {name}: must be one of {', '.join(OUTCOMES)}")
        if key not in chosen:
            chosen.append(key)
    if not chosen:
        raise SweepError(f"no outcome: name one or more of {', '.join(OUTCOMES)}")
    return chosen


def _ranged(factor: Factor, spec: object, source: str) -> Factor:
    if factor.values is not None:
        shown = spec if isinstance(spec, str) else repr(spec)
        where = f"{source} {factor.path}={shown}" if source.startswith("--") else f"{source}: {factor.path} = {shown}"
        raise SweepError(f"{where}: a sensitivity factor needs a range LOW:HIGH, not a list of values")
    return factor
