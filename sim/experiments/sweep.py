"""Parameter sweeps: many versions of one market, every version on the same seeds.

A sweep varies fields of a scenario, named by path (``firms.A.price``,
``market.customers``, ``population.price_sensitivity``, see
``sim.experiments.fields``), over a design: a full grid, a Latin hypercube
or a Sobol sequence (``sim.experiments.designs``). Every design point runs
with the same seeds (common random numbers), so two points differ only by
what was varied, and differences between them can be paired seed by seed.

A *task* is one design point with one seed. Tasks run on an evaluator: by
default a Dask ``LocalCluster`` on this machine's cores, or an existing
cluster given by its scheduler's address. A *store* keeps each finished task
as it arrives (``sim.outputs.store`` writes one to disk), so an interrupted
sweep run again computes only what is missing. A task that raises is retried,
then recorded with its inputs and error while the others complete.

The result is one tidy table: a row per point, seed and firm, with the varied
fields as columns named by their paths and the outcomes of
``sim.experiments.summary.per_replication``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.engine.model import LoyaltyModel, package_version
from sim.engine.parameters import Scenario
from sim.engine.scenario_files import ScenarioError, find_scenario, load_scenario_file, short_path
from sim.experiments.designs import DESIGNS, Design, make_design, point_scenarios
from sim.experiments.evaluator import Evaluator, Failure, evaluator
from sim.experiments.fields import FieldError, resolve_field, shown_spec, with_values
from sim.experiments.intervals import mean_band
from sim.experiments.summary import per_replication

SweepError = FieldError
"""A sweep that cannot be set up (a bad path, spec, value or design); one line for the user."""


# The outcomes a report and its figures lead with: (label, unit, is money).
HEADLINE = {
    "cohort_retention_pct": ("12-month retention", "% of customers still there a year on", False),
    "final_share_pct": ("Market share at the end", "% of served customers", False),
    "profit_per_month": ("Profit per month", "currency a month (steady state)", True),
    "discounted_profit": ("Discounted profit", "currency over the horizon", True),
}
SWEEP_KEYS = ("design", "samples", "firm", "vary")
TaskRunner = Callable[[Scenario, int], pd.DataFrame]


class TaskStore(Protocol):
    """Finished tasks of one sweep, kept as they arrive so that a sweep run again resumes."""

    path: Path

    def load(self, point: int, seed: int) -> pd.DataFrame | None:
        """The stored outcome of a task, or ``None`` if it has not finished."""

    def save(self, point: int, seed: int, outcome: pd.DataFrame) -> None:
        """Keep a task's outcome."""


StoreOpener = Callable[[str, dict[str, Any]], TaskStore]
"""Opens the store of one sweep: called with the sweep's key (a name for all that decides its numbers) and
facts to record beside the tasks (scenario, design, seeds, version, task)."""


class SweepFailed(RuntimeError):  # noqa: N818 - says what happened, as users have long caught it
    """Every task of a sweep failed; ``failures`` holds each task's inputs and error."""

    def __init__(self, message: str, failures: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.failures = failures


@dataclass(frozen=True)
class SweepSpec:
    """A ``[sweep]`` table: what to vary and how, as a scenario file declares it."""

    vary: dict[str, object]
    design: str = "grid"
    samples: int | None = None
    firm: str | None = None
    source: str = "[sweep]"


def load_sweep_file(name_or_path: str | Path) -> tuple[Scenario, SweepSpec | None]:
    """Load a scenario file and its ``[sweep]`` table (``None`` when it has none).

    The scenario is read, merged over its ``extends`` chain and validated by
    ``sim.scenario_files.load_scenario_file``, which hands back the
    ``[sweep]`` table as written (a child's keys override its parent's); it
    is checked here.

    Raises:
        ScenarioError: a mistake in the scenario or in its ``[sweep]`` table.
    """
    scenario, other = load_scenario_file(name_or_path)
    table = other.get("sweep")
    if table is None:
        return scenario, None
    path = find_scenario(name_or_path)
    where = f"{short_path(path)}: sweep"
    if not isinstance(table, dict):
        raise ScenarioError(f"{where} = {shown_spec(table)}: must be a table")
    for key in table:
        if key not in SWEEP_KEYS:
            close = difflib.get_close_matches(key, SWEEP_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ScenarioError(f"{where}.{key}: unknown field{hint} (allowed: {', '.join(SWEEP_KEYS)})")
    design = table.get("design", "grid")
    if design not in DESIGNS:
        raise ScenarioError(f"{where}.design = {shown_spec(design)}: must be one of {', '.join(DESIGNS)}")
    samples = table.get("samples")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 1):
        raise ScenarioError(f"{where}.samples = {shown_spec(samples)}: must be a whole number >= 1")
    firm = table.get("firm")
    names = [f.name for f in scenario.firms]
    if firm is not None and firm not in names:
        raise ScenarioError(f"{where}.firm = {shown_spec(firm)}: must be one of {', '.join(names)}")
    vary = table.get("vary", {})
    if not isinstance(vary, dict):
        raise ScenarioError(f'{where}.vary = {shown_spec(vary)}: must be a table of "PATH" = [LOW, HIGH, N]')
    return scenario, SweepSpec(dict(vary), design, samples, firm, source=f"{short_path(path)}: sweep.vary")


def run_task(scenario: Scenario, seed: int) -> pd.DataFrame:
    """One task of a sweep: run ``scenario`` with ``seed`` and summarise each firm.

    Runs the model over the scenario's horizon, exactly as
    ``sim.replications.run_one(scenario, seed)`` does but with the loyalty
    segments taken in the last period only (``LoyaltyModel.run``), and returns
    ``sim.summary.per_replication`` of its results, the same as of a run's
    with every period's segments: one row per firm with
    retention, churn, share, profit per month, discounted profit,
    satisfaction and loyalty mix. A custom task given to ``sweep(task=...)``
    takes the same arguments and returns a table with a ``firm`` column and
    one column per outcome.

    The model is released from Mesa's registry afterwards (a worker runs many tasks).
    """
    model = LoyaltyModel(scenario, seed=seed)
    try:
        model.run(scenario.market.periods, segments="last period")  # the summary reads them at the end only
        return per_replication(model.results())
    finally:
        model.release()


def sweep_key(scenario: Scenario, design: Design, seeds: list[int], task: TaskRunner) -> str:
    """Name of a sweep's store: the scenario's name and a hash of all that decides its numbers."""
    facts = {
        "scenario": scenario.model_dump(mode="json"),
        "fields": design.paths,
        "points": design.points.to_numpy().tolist(),
        "seeds": seeds,
        "version": package_version(),
        "task": f"{task.__module__}.{task.__qualname__}",
    }
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in scenario.name).strip("-") or "sweep"
    return f"{safe}-{digest}"


def sweep(
    scenario: Scenario | str | Path,
    vary: Mapping[str, object] | None = None,
    *,
    design: str | Design | None = None,
    samples: int | None = None,
    seeds: Iterable[int] | None = None,
    periods: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    runner: Evaluator | None = None,
    store: StoreOpener | None = None,
    retries: int = 2,
    progress: bool = False,
    task: TaskRunner = run_task,
) -> pd.DataFrame:
    """Run a scenario at every point of a design, on the same seeds, on Dask; one tidy table.

    Args:
        scenario: the market, or a scenario file (path or shipped name) whose
            ``[sweep]`` table supplies ``vary``, ``design`` and ``samples``
            unless they are given here.
        vary: path -> what the field takes, e.g. ``{"firms.A.price":
            "24:36:7"}`` (see ``make_factor`` for the forms).
        design: ``"grid"`` (default), ``"lhs"``, ``"sobol"``, or a ready
            ``Design``.
        samples: points of a sampled design (default 16).
        seeds: one replication per seed, the same at every point (default:
            the scenario's seeds).
        periods: horizon in months (default: the scenario's); set before the
            design, so ``market.periods`` can still be varied.
        workers: processes of the local Dask cluster (default: all cores).
        scheduler: address of an existing Dask scheduler, or a ``Client``.
        runner: the evaluator to run the tasks on (left running); overrides
            ``workers`` and ``scheduler``.
        store: opens the store that keeps finished tasks (see ``TaskStore``);
            ``None`` keeps nothing, so nothing can be resumed.
        retries: times a task that raised is run again before it counts as failed.
        progress: show a progress bar of tasks done (on standard error).
        task: the function one task runs, ``task(scenario, seed) -> table``
            with a ``firm`` column (default ``run_task``). It must be
            importable by the workers or picklable by value.

    Returns:
        One row per point, seed and firm: ``scenario``, ``point``, one column
        per varied field (its path), ``seed``, ``firm`` and the outcomes.
        ``attrs`` record the scenario, seeds, design, package version, store,
        the count of tasks (``total``, ``computed``, ``stored``, ``failed``)
        and ``failures``: each failed task's point, seed, inputs and error.

    Raises:
        SweepError: a bad path, spec or value (before anything runs).
        SweepFailed: every task failed.
    """
    spec = None
    if not isinstance(scenario, Scenario):
        scenario, spec = load_sweep_file(scenario)
    if periods is not None:
        scenario = with_values(scenario, [resolve_field(scenario, "market.periods")], [periods])
    if isinstance(design, Design):
        plan = design
    else:
        source = "--vary" if vary is not None else (spec.source if spec else "--vary")
        vary = vary if vary is not None else (spec.vary if spec else {})
        kind = design or (spec.design if spec else "grid")
        samples = samples if samples is not None else (spec.samples if spec else None)
        plan = make_design(scenario, vary, kind, samples, source=source)
    seeds = list(scenario.seeds if seeds is None else seeds)
    if not seeds:
        raise SweepError("no seeds: a sweep needs at least one replication")
    if retries < 0:
        raise SweepError(f"retries = {retries}: must be >= 0")
    scenarios = point_scenarios(scenario, plan)

    tasks = [(point, seed) for point in range(len(scenarios)) for seed in seeds]
    key = sweep_key(scenario, plan, seeds, task)
    keep = None
    if store is not None:
        facts = {
            "scenario": scenario.model_dump(mode="json"),
            "design": plan.describe(),
            "seeds": seeds,
            "version": package_version(),
            "task": f"{task.__module__}.{task.__qualname__}",
        }
        keep = store(key, facts)
    done: dict[tuple[int, int], pd.DataFrame] = {}
    if keep is not None:
        for point, seed in tasks:
            stored = keep.load(point, seed)
            if stored is not None:
                done[point, seed] = stored
    stored_count = len(done)
    todo = [t for t in tasks if t not in done]
    failures: list[tuple[int, int, str]] = []

    bar = tqdm(
        total=len(tasks),
        initial=stored_count,
        desc=f"{scenario.name} sweep",
        unit="run",
        disable=not progress,
        leave=False,
    )
    with bar:
        if todo:
            runner = runner if runner is not None else evaluator(workers, scheduler, prefer="dask")
            calls = [(scenarios[point], seed) for point, seed in todo]
            for index, outcome in runner.as_completed(task, calls, retries=retries):
                point, seed = todo[index]
                problem = outcome.error if isinstance(outcome, Failure) else _check_outcome(outcome)
                if problem is None:
                    if keep is not None:
                        keep.save(point, seed, outcome)
                    done[point, seed] = outcome
                else:
                    failures.append((point, seed, problem))
                bar.update()
    computed = len(done) - stored_count
    inputs = plan.points
    failures = [
        {"point": p, **{path: _plain(inputs.at[p, path]) for path in plan.paths}, "seed": s, "error": error}
        for p, s, error in sorted(failures, key=lambda f: (f[0], f[1]))
    ]
    if todo and not done:
        first = failures[0]
        raise SweepFailed(
            f"all {len(tasks)} tasks failed; the first, at {_point_text(first, plan.paths)}: {first['error']}", failures
        )
    table = _assemble(scenario.name, plan, tasks, done)
    table.attrs.update(
        scenario=scenario.model_dump(mode="json"),
        seeds=seeds,
        design=plan.describe(),
        version=package_version(),
        store=str(keep.path) if keep else None,
        tasks={"total": len(tasks), "computed": computed, "stored": stored_count, "failed": len(failures)},
        failures=failures,
    )
    if failures:
        warnings.warn(
            f"{len(failures)} of {len(tasks)} tasks failed; their inputs and errors are in attrs['failures']",
            RuntimeWarning,
            stacklevel=2,
        )
    return table


def _check_outcome(outcome: object) -> str | None:
    if not isinstance(outcome, pd.DataFrame) or "firm" not in outcome.columns:
        return f"the task returned {type(outcome).__name__}, not a table with a 'firm' column"
    return None


def _assemble(name: str, plan: Design, tasks: list[tuple[int, int]], done: dict) -> pd.DataFrame:
    """Stack the outcomes in design order (point, then seed), with the inputs of each point in front."""
    frames, points, seeds = [], [], []
    for point, seed in tasks:
        outcome = done.get((point, seed))
        if outcome is None:
            continue
        frames.append(
            outcome.drop(columns=[c for c in ("seed", "scenario", "point", *plan.paths) if c in outcome.columns])
        )
        points += [point] * len(outcome)
        seeds += [seed] * len(outcome)
    at = np.asarray(points, dtype=np.int64)
    head = pd.DataFrame(
        {
            "scenario": [name] * len(at),
            "point": at,
            **{path: plan.points[path].to_numpy()[at] for path in plan.paths},
            "seed": np.asarray(seeds, dtype=np.int64),
        }
    )
    return pd.concat([head, pd.concat(frames, ignore_index=True)], axis=1)


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _point_text(row: Mapping[str, Any], paths: list[str]) -> str:
    inputs = ", ".join(f"{path} = {_number_text(row[path])}" for path in paths)
    return f"point {row['point']} ({inputs}), seed {row['seed']}"


def _number_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def input_columns(table: pd.DataFrame) -> list[str]:
    """The varied fields of a sweep table: from its attrs, else the columns named like paths."""
    design = table.attrs.get("design")
    if design:
        return [factor["field"] for factor in design["factors"]]
    return [c for c in table.columns if c.split(".", 1)[0] in ("market", "population", "firms") and "." in c]


def outcome_columns(table: pd.DataFrame) -> list[str]:
    """The outcome columns of a sweep table (everything after ``firm``)."""
    return [c for c in table.columns if c not in {"scenario", "point", "seed", "firm", *input_columns(table)}]


def point_summary(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per point and firm, each outcome's mean over seeds with a Student-t interval.

    Columns: ``point``, the varied fields, ``firm``, ``replications``, and
    per outcome ``m``: ``m``, ``m_low``, ``m_high``.
    """
    paths = input_columns(table)
    keys = ["point", *paths, "firm"]
    summary = table.groupby(keys, sort=False)["seed"].nunique().rename("replications").reset_index()
    for outcome in outcome_columns(table):
        band = (
            mean_band(table, outcome, keys, confidence)
            .rename(columns={"mean": outcome, "low": f"{outcome}_low", "high": f"{outcome}_high"})
            .drop(columns="n")
        )
        summary = summary.merge(band, on=keys, how="left")
    return summary.sort_values(["point"], kind="stable").reset_index(drop=True)


def focus_firm(table: pd.DataFrame, firm: str | None = None) -> str:
    """The firm a report speaks of: ``firm`` if given, else the firm of the first varied firm field, else the first."""
    firms = list(pd.unique(table["firm"]))
    if firm is not None:
        if firm not in firms:
            raise SweepError(f"--firm {firm}: must be one of {', '.join(map(str, firms))}")
        return firm
    for path in input_columns(table):
        if path.startswith("firms."):
            named = path.split(".", 1)[1].rsplit(".", 1)[0]
            if named in firms:
                return named
    return str(firms[0])


def levels(values: pd.Series, bins: int = 6) -> pd.Series:
    """Each field value, or its quantile bin (labelled by the bin's mean) when there are many distinct values."""
    if values.nunique() <= 12:
        return values
    codes = pd.qcut(values.rank(method="first"), q=min(bins, values.nunique()), labels=False)
    return values.groupby(codes).transform("mean")
