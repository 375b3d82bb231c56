"""Parameter sweeps: many versions of one market, run on Dask with common random numbers.

A sweep varies fields of a scenario, named by path (``firms.A.price``,
``market.customers``, ``population.price_sensitivity``), over a design: a
full grid, a Latin hypercube or a Sobol sequence. Every design point runs
with the same seeds (common random numbers), so two points differ only by
what was varied, and differences between them can be paired seed by seed.

A *task* is one design point with one seed. Tasks run on a Dask cluster: a
``LocalCluster`` on this machine's cores, or an existing cluster given by its
scheduler's address; everything after the client exists is the same code.
Each finished task is written at once, atomically, to a store folder named
for the sweep (scenario, design, seeds, package version), so an interrupted
sweep run again computes only what is missing. A task that raises is retried,
then recorded with its inputs and error while the others complete.

    >>> from sim.sweep import sweep
    >>> table = sweep("baseline", {"firms.A.price": "24:36:4"}, seeds=range(2))  # doctest: +SKIP

The result is one tidy table: a row per point, seed and firm, with the varied
fields as columns named by their paths and the outcomes of
``sim.summary.per_replication``.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import inspect
import itertools
import json
import logging
import math
import os
import signal
import threading
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pydantic
from tqdm.auto import tqdm

from .model import LoyaltyModel, package_version
from .run_folder import process_alive
from .parameters import Firm, Market, Population, Scenario
from .scenario_files import ScenarioError, _allowed, _short, find_scenario, load_scenario_file

if TYPE_CHECKING:
    from distributed import Client
    from matplotlib.figure import Figure

__all__ = [
    "Design", "Factor", "Field", "SweepError", "SweepFailed", "SweepSpec", "dask_client", "load_sweep_file",
    "make_design", "parse_vary", "point_scenarios", "plot_sweep", "point_summary", "publish_sweep", "resolve_field",
    "run_task",
    "sweep", "sweep_findings", "sweep_report", "with_values",
]

DESIGNS = ("grid", "lhs", "sobol")
DEFAULT_SAMPLES = 16
MAX_POINTS = 100_000
DEFAULT_STORE = Path("results") / ".sweeps"
# The outcomes a report and its figures lead with: (label, unit, is money).
HEADLINE = {
    "annual_retention_pct": ("Annual retention", "% of customers kept a year", False),
    "final_share_pct": ("Market share at the end", "% of served customers", False),
    "profit_per_month": ("Profit per month", "currency a month (steady state)", True),
    "discounted_profit": ("Discounted profit", "currency over the horizon", True),
}
GROUPS: dict[str, type[pydantic.BaseModel]] = {"market": Market, "population": Population}
SWEEP_KEYS = ("design", "samples", "firm", "vary")

TaskRunner = Callable[[Scenario, int], pd.DataFrame]


class SweepError(ValueError):
    """A sweep that cannot be set up; the message is one line for the user."""


class SweepFailed(RuntimeError):
    """Every task of a sweep failed; ``failures`` holds each task's inputs and error."""

    def __init__(self, message: str, failures: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.failures = failures


# --- field paths ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A number in a scenario that a sweep can vary, named by its path.

    Attributes:
        path: ``market.NAME``, ``population.NAME`` or ``firms.FIRM.NAME``.
        group: ``"market"``, ``"population"`` or ``"firms"``.
        name: the parameter's name in ``sim.parameters``.
        firm: index of the firm in ``scenario.firms`` (``None`` outside ``firms``).
        whole: the parameter is a whole number (values are rounded and stay ints).
    """

    path: str
    group: str
    name: str
    firm: int | None
    whole: bool

    def value(self, scenario: Scenario) -> float | int:
        """The field's value in ``scenario``."""
        owner = scenario.firms[self.firm] if self.group == "firms" else getattr(scenario, self.group)
        return getattr(owner, self.name)

    @property
    def firm_name(self) -> str | None:
        """The firm of a ``firms.FIRM.NAME`` path."""
        return self.path.split(".", 1)[1].rsplit(".", 1)[0] if self.group == "firms" else None


def resolve_field(scenario: Scenario, path: str) -> Field:
    """Check that ``path`` names a number of ``scenario`` that can vary.

    Args:
        scenario: the market whose fields are named.
        path: e.g. ``"firms.A.price"``, ``"market.customers"``.

    Raises:
        SweepError: the path names no such field, a firm that does not
            exist, or a field that is not a single number; the message lists
            what is allowed.
    """
    head, _, rest = path.partition(".")
    names = [f.name for f in scenario.firms]
    if head in GROUPS and rest and "." not in rest:
        model, name, firm = GROUPS[head], rest, None
    elif head == "firms" and "." in rest:
        firm_name, _, name = rest.rpartition(".")
        if firm_name not in names:
            raise SweepError(f"{path}: no firm named {firm_name!r} (firms: {', '.join(names)})")
        model, firm = Firm, names.index(firm_name)
    else:
        raise SweepError(
            f"{path}: not a field path; use market.NAME, population.NAME or firms.FIRM.NAME (firms: {', '.join(names)})"
        )
    numbers = [n for n, f in model.model_fields.items() if f.annotation in (int, float)]
    if name not in model.model_fields:
        close = difflib.get_close_matches(name, numbers, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise SweepError(f"{path}: unknown field{hint} (allowed: {', '.join(numbers)})")
    if name not in numbers:
        raise SweepError(f"{path}: cannot be varied, it is not a single number (allowed: {', '.join(numbers)})")
    return Field(path, head, name, firm, model.model_fields[name].annotation is int)


def with_values(scenario: Scenario, fields: Iterable[Field], values: Iterable[float | int]) -> Scenario:
    """A copy of ``scenario`` with each field set to its value, validated.

    Raises:
        SweepError: a value the scenario does not allow, e.g.
            ``firms.A.price = -3.0: must be >= 0.0``.
    """
    fields, values = list(fields), list(values)
    raw = scenario.model_dump()
    for f, value in zip(fields, values, strict=True):
        owner = raw["firms"][f.firm] if f.group == "firms" else raw[f.group]
        owner[f.name] = value
    try:
        return Scenario.model_validate(raw)
    except pydantic.ValidationError as error:
        problem = error.errors()[0]
        loc = tuple(problem["loc"])
        named = [(f, v) for f, v in zip(fields, values) if _loc_of(f) == loc]
        shown = named or list(zip(fields, values))
        text = ", ".join(f"{f.path} = {v!r}" for f, v in shown)
        raise SweepError(f"{text}: {_allowed(problem)}") from None


def _loc_of(f: Field) -> tuple:
    return ("firms", f.firm, f.name) if f.group == "firms" else (f.group, f.name)


# --- factors and designs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """A varied field and what it takes: a range (``low``, ``high``, ``points``) or listed ``values``."""

    field: Field
    low: float | None = None
    high: float | None = None
    points: int | None = None
    values: tuple[float, ...] | None = None

    @property
    def path(self) -> str:
        return self.field.path

    def grid(self) -> list[float | int]:
        """The values a grid takes: the listed ones, or ``points`` evenly spaced from ``low`` to ``high``.

        Raises:
            SweepError: a range without a number of points, or whole-number
                points that rounding would repeat.
        """
        if self.values is not None:
            return list(self.values)
        if self.points is None:
            raise SweepError(f"{self.path}: a grid needs a number of points: LOW:HIGH:N (or list the values)")
        raw = np.linspace(self.low, self.high, self.points)
        if not self.field.whole:
            return [float(v) for v in raw]
        whole = [int(v) for v in np.round(raw)]
        if len(set(whole)) < len(whole):
            room = int(math.floor(self.high) - math.ceil(self.low)) + 1
            raise SweepError(f"{self.path}: {self.points} points from {self.low:g} to {self.high:g} repeat whole "
                             f"numbers; use at most {room}")
        return whole

    def scale(self, unit: np.ndarray) -> np.ndarray:
        """Map numbers in [0, 1) onto the range (rounded for whole-number fields)."""
        if self.low is None or self.high is None:
            raise SweepError(f"{self.path}: a sampled design needs a range LOW:HIGH, not a list of values")
        unit = np.asarray(unit, dtype=float)
        if self.field.whole:  # each whole number from low to high equally likely
            return np.minimum(np.floor(self.low + unit * (self.high - self.low + 1)), self.high).astype(np.int64)
        return self.low + unit * (self.high - self.low)

    def describe(self) -> dict[str, Any]:
        """The factor as plain data (for manifests and attrs)."""
        if self.values is not None:
            return {"field": self.path, "values": list(self.values)}
        spec = {"field": self.path, "low": self.low, "high": self.high}
        return spec | ({"points": self.points} if self.points is not None else {})


def make_factor(scenario: Scenario, path: str, spec: object, source: str = "--vary") -> Factor:
    """A factor from its spec, as written on the command line or in a ``[sweep.vary]`` table.

    Args:
        scenario: the market the path refers to.
        path: the field's path.
        spec: ``"LOW:HIGH:N"``, ``"LOW:HIGH"``, ``"V1,V2,..."`` or ``"V"``
            (text); ``[LOW, HIGH, N]`` or ``[LOW, HIGH]`` (a list);
            ``{low=, high=, points=}`` or ``{values=[...]}`` (a table); or
            one number.
        source: where the spec came from, for error messages.

    Raises:
        SweepError: one line naming the source, the path and what is allowed.
    """
    field = resolve_field(scenario, path)
    where = f"{source} {path}={_show(spec)}" if source.startswith("--") else f"{source}: {path} = {_show(spec)}"
    try:
        low, high, points, values = _parse_spec(spec)
    except ValueError as error:
        raise SweepError(f"{where}: {error}") from None
    if values is not None:
        if field.whole:
            if any(v != round(v) for v in values):
                raise SweepError(f"{where}: {path} takes whole numbers")
            values = tuple(int(round(v)) for v in values)
        if len(set(values)) < len(values):
            raise SweepError(f"{where}: a value is listed twice")
        return Factor(field, values=values)
    if not low < high:
        raise SweepError(f"{where}: LOW must be below HIGH")
    if field.whole and (low != round(low) or high != round(high)):
        raise SweepError(f"{where}: {path} takes whole numbers")
    return Factor(field, low=low, high=high, points=points)


SPEC_FORMS = "use LOW:HIGH:N (a grid of N points), LOW:HIGH (a range to sample) or V1,V2,... (listed values)"


def _parse_spec(spec: object) -> tuple[float | None, float | None, int | None, tuple[float, ...] | None]:
    if isinstance(spec, bool):
        raise ValueError(SPEC_FORMS)
    if isinstance(spec, int | float):
        return None, None, None, (_number(spec),)
    if isinstance(spec, str):
        text = spec.strip()
        if ":" in text:
            parts = text.split(":")
            if len(parts) not in (2, 3):
                raise ValueError(SPEC_FORMS)
            return _range(*parts)
        return None, None, None, tuple(_number(part) for part in text.split(","))
    if isinstance(spec, list | tuple):
        if len(spec) not in (2, 3):
            raise ValueError("a list is [LOW, HIGH, N] or [LOW, HIGH]; list values as { values = [...] }")
        return _range(*spec)
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"low", "high", "points", "values"}
        if unknown:
            raise ValueError(f"unknown key {sorted(unknown)[0]!r} (allowed: low, high, points, values)")
        if "values" in spec:
            if set(spec) != {"values"} or not isinstance(spec["values"], list) or not spec["values"]:
                raise ValueError("values = [...] lists the values, alone")
            return None, None, None, tuple(_number(v) for v in spec["values"])
        if "low" not in spec or "high" not in spec:
            raise ValueError("a range needs low and high")
        return _range(spec["low"], spec["high"], *([spec["points"]] if "points" in spec else []))
    raise ValueError(SPEC_FORMS)


def _range(low: object, high: object, points: object = None) -> tuple[float, float, int | None, None]:
    count = None
    if points is not None:
        number = _number(points)
        if number != int(number) or number < 2:
            raise ValueError(f"N = {_show(points)}: the number of points must be a whole number >= 2")
        count = int(number)
    return _number(low), _number(high), count, None


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _show(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def parse_vary(text: str, option: str = "--vary") -> tuple[str, str]:
    """Split a command-line ``PATH=SPEC`` into the path and the spec.

    Raises:
        SweepError: no ``=``, or an empty side.
    """
    path, equals, spec = text.rpartition("=")
    if not equals or not path.strip() or not spec.strip():
        raise SweepError(f"{option} {text}: write PATH=SPEC, e.g. firms.A.price=24:36:7; {SPEC_FORMS}")
    return path.strip(), spec.strip()


@dataclass(frozen=True)
class Design:
    """The points a sweep runs: one row per point, one column per varied field (its path).

    Attributes:
        kind: ``"grid"``, ``"lhs"``, ``"sobol"`` or ``"saltelli"`` (the
            sensitivity sample of ``sim.sensitivity``).
        factors: the varied fields and their ranges or values.
        points: one row per point; whole-number fields hold ints.
        samples: points asked of a sampled design (``None`` for a grid).
        seed: seed of the sampled design.
    """

    kind: str
    factors: tuple[Factor, ...]
    points: pd.DataFrame
    samples: int | None = None
    seed: int | None = None

    @property
    def fields(self) -> list[Field]:
        return [f.field for f in self.factors]

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.factors]

    def describe(self) -> dict[str, Any]:
        """The design as plain data: kind, factors, number of points (and samples, seed)."""
        facts: dict[str, Any] = {
            "kind": self.kind, "factors": [f.describe() for f in self.factors], "points": len(self.points),
        }
        if self.samples is not None:
            facts.update(samples=self.samples, seed=self.seed)
        return facts

    def text(self) -> str:
        """One phrase: "a grid of 7 points", "a Latin hypercube of 16 points"."""
        names = {"grid": "a grid", "lhs": "a Latin hypercube", "sobol": "a Sobol sequence", "saltelli": "a Saltelli sample"}
        return f"{names.get(self.kind, self.kind)} of {len(self.points):,} points"


def make_design(
    scenario: Scenario, vary: Mapping[str, object], kind: str = "grid", samples: int | None = None,
    seed: int | None = None, source: str = "--vary",
) -> Design:
    """The points of a sweep over ``vary`` (path -> spec, see ``make_factor``).

    Args:
        scenario: the market the paths refer to.
        vary: the fields and what each takes.
        kind: ``"grid"`` (every combination of each field's values),
            ``"lhs"`` (a Latin hypercube) or ``"sobol"`` (a scrambled Sobol
            sequence) over the fields' ranges.
        samples: points of a sampled design (default 16); a Sobol sequence
            is balanced only for powers of 2.
        seed: seed of a sampled design (default: the scenario's seed).
        source: where ``vary`` came from, for error messages.

    Raises:
        SweepError: an unknown design, a bad path or spec, a grid too large.
    """
    if kind not in DESIGNS:
        raise SweepError(f"design {kind!r}: must be one of {', '.join(DESIGNS)}")
    if not vary:
        raise SweepError("nothing to vary: give --vary PATH=LOW:HIGH:N, or a [sweep.vary] table in the scenario")
    factors = tuple(make_factor(scenario, path, spec, source) for path, spec in vary.items())
    if kind == "grid":
        axes = [f.grid() for f in factors]
        count = math.prod(len(axis) for axis in axes)
        if count > MAX_POINTS:
            raise SweepError(f"a grid of {count:,} points is too large (at most {MAX_POINTS:,}); "
                             "use fewer points or --design lhs")
        points = pd.DataFrame(list(itertools.product(*axes)), columns=[f.path for f in factors])
        plan = Design(kind, factors, _typed(points, factors))
    else:
        samples = DEFAULT_SAMPLES if samples is None else samples
        if not 1 <= samples <= MAX_POINTS:
            raise SweepError(f"--samples {samples}: must be from 1 to {MAX_POINTS:,}")
        seed = scenario.seed if seed is None else seed
        unit = _unit_sample(kind, len(factors), samples, seed)
        points = pd.DataFrame({f.path: f.scale(unit[:, i]) for i, f in enumerate(factors)})
        plan = Design(kind, factors, _typed(points, factors), samples, seed)
    point_scenarios(scenario, plan)
    return plan


def point_scenarios(scenario: Scenario, design: Design) -> list[Scenario]:
    """The scenario at each point of ``design``, validated.

    Raises:
        SweepError: a point the scenario does not allow, named by its values.
    """
    fields = design.fields
    return [with_values(scenario, fields, row) for row in design.points.itertuples(index=False)]


def design_from_unit(kind: str, factors: Iterable[Factor], unit: np.ndarray, samples: int, seed: int) -> Design:
    """A design from points in the unit cube (one row each, one column per factor), e.g. a sensitivity sample."""
    factors = tuple(factors)
    unit = np.asarray(unit, dtype=float)
    points = pd.DataFrame({f.path: f.scale(unit[:, i]) for i, f in enumerate(factors)})
    return Design(kind, factors, _typed(points, factors), samples, seed)


def _typed(points: pd.DataFrame, factors: tuple[Factor, ...]) -> pd.DataFrame:
    for f in factors:
        points[f.path] = points[f.path].astype("int64" if f.field.whole else "float64")
    return points


def _unit_sample(kind: str, dimensions: int, samples: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    engine = qmc.LatinHypercube if kind == "lhs" else qmc.Sobol
    keyword = "rng" if "rng" in inspect.signature(engine).parameters else "seed"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
        return engine(dimensions, **{keyword: seed}).random(samples)


# --- the [sweep] table of a scenario file -----------------------------------------------------------------------


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
    where = f"{_short(path)}: sweep"
    if not isinstance(table, dict):
        raise ScenarioError(f"{where} = {_show(table)}: must be a table")
    for key in table:
        if key not in SWEEP_KEYS:
            close = difflib.get_close_matches(key, SWEEP_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ScenarioError(f"{where}.{key}: unknown field{hint} (allowed: {', '.join(SWEEP_KEYS)})")
    design = table.get("design", "grid")
    if design not in DESIGNS:
        raise ScenarioError(f"{where}.design = {_show(design)}: must be one of {', '.join(DESIGNS)}")
    samples = table.get("samples")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 1):
        raise ScenarioError(f"{where}.samples = {_show(samples)}: must be a whole number >= 1")
    firm = table.get("firm")
    names = [f.name for f in scenario.firms]
    if firm is not None and firm not in names:
        raise ScenarioError(f"{where}.firm = {_show(firm)}: must be one of {', '.join(names)}")
    vary = table.get("vary", {})
    if not isinstance(vary, dict):
        raise ScenarioError(f"{where}.vary = {_show(vary)}: must be a table of \"PATH\" = [LOW, HIGH, N]")
    return scenario, SweepSpec(dict(vary), design, samples, firm, source=f"{_short(path)}: sweep.vary")


# --- tasks ------------------------------------------------------------------------------------------------------


def run_task(scenario: Scenario, seed: int) -> pd.DataFrame:
    """One task of a sweep: run ``scenario`` with ``seed`` and summarise each firm.

    Runs the model over the scenario's horizon, exactly as
    ``sim.replications.run_one(scenario, seed)`` does, and returns
    ``sim.summary.per_replication`` of its results: one row per firm with
    retention, churn, share, profit per month, discounted profit,
    satisfaction and loyalty mix. A custom task given to ``sweep(task=...)``
    takes the same arguments and returns a table with a ``firm`` column and
    one column per outcome.

    The model is dropped from Mesa's registry of agent ids afterwards: a
    Dask worker runs many tasks, and Mesa 3.3 would otherwise keep every
    model it ran alive.
    """
    import mesa

    from .summary import per_replication

    model = LoyaltyModel(scenario, seed=seed)
    try:
        model.run(scenario.market.periods)
        return per_replication(model.results())
    finally:
        getattr(mesa.Agent, "_ids", {}).pop(model, None)


# --- the store of finished tasks --------------------------------------------------------------------------------


class SweepStore:
    """Finished tasks of one sweep, one Parquet file each, written atomically as they finish.

    The folder is named for everything that decides the numbers (scenario,
    design points, seeds, package version, task function), so a store is
    only ever reused by the very same sweep.
    """

    def __init__(self, root: Path | str, key: str, facts: dict[str, Any]) -> None:
        self.path = Path(root) / key
        self.tasks = self.path / "tasks"
        self.facts = facts

    def open(self) -> SweepStore:
        """Create the folder (with ``sweep.json``, what it holds) and remove files of interrupted writes."""
        self.tasks.mkdir(parents=True, exist_ok=True)
        if not (self.path / "sweep.json").exists():
            _write_atomically(self.path / "sweep.json", (json.dumps(self.facts, indent=2, default=str) + "\n").encode())
        for partial in self.tasks.glob(".*.partial-*"):
            pid = partial.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not process_alive(int(pid)):
                partial.unlink(missing_ok=True)
        return self

    def file(self, point: int, seed: int) -> Path:
        return self.tasks / f"p{point:06d}-s{seed}.parquet"

    def load(self, point: int, seed: int) -> pd.DataFrame | None:
        """The stored outcome of a task, or ``None`` if it has not finished (or cannot be read)."""
        path = self.file(point, seed)
        if not path.exists():
            return None
        try:
            return pd.read_parquet(path)
        except Exception:  # noqa: BLE001 - an unreadable file is a task to run again
            return None

    def save(self, point: int, seed: int, outcome: pd.DataFrame) -> None:
        """Write a task's outcome: to a hidden temporary file, then renamed into place."""
        clean = outcome.copy()
        clean.attrs = {}
        target = self.file(point, seed)
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        clean.to_parquet(partial, index=False)
        os.replace(partial, target)


def _write_atomically(path: Path, content: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    partial.write_bytes(content)
    os.replace(partial, path)


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


# --- the cluster ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | Client | None = None, quiet: bool = True) -> Iterator[Client]:
    """A Dask client: on an existing cluster, or on a new ``LocalCluster`` of this machine's cores.

    Args:
        workers: processes of the local cluster (default: all cores); one
            thread each. Ignored with ``scheduler``.
        scheduler: address of a running scheduler (``tcp://host:8786``) or a
            connected ``Client``, used as it is and left open.
        quiet: keep Dask's log lines (worker start-up, task errors, shutdown)
            off the terminal; failures are reported by the sweep itself.

    The local cluster's scheduler and workers listen on 127.0.0.1 only, on
    free ports, with no dashboard.
    """
    from distributed import Client, LocalCluster

    loggers = [logging.getLogger(name) for name in ("distributed", "tornado", "asyncio")]
    levels = [logger.level for logger in loggers]
    if quiet:
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
    try:
        if isinstance(scheduler, Client):
            yield scheduler
        elif scheduler is not None:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as error:
                raise SweepError(f"--scheduler {scheduler}: no Dask scheduler answers there ({error})") from None
            with client:
                yield client
        else:
            count = max(1, workers or os.cpu_count() or 1)
            with _interrupts_left_to_this_process():
                cluster = LocalCluster(
                    n_workers=count, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
                    silence_logs=logging.CRITICAL if quiet else logging.WARNING,
                )
            with cluster, Client(cluster) as client:
                yield client
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@contextlib.contextmanager
def _interrupts_left_to_this_process() -> Iterator[None]:
    """Ignore Ctrl-C while worker processes start, so that they inherit ignoring it.

    A Ctrl-C in a terminal reaches every process of the foreground group. The
    workers should not each stop with a traceback: this process alone catches
    it, keeps what is finished and closes the cluster, which stops them.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# --- the sweep --------------------------------------------------------------------------------------------------


def sweep(
    scenario: Scenario | str | Path,
    vary: Mapping[str, object] | None = None,
    *,
    design: str | Design | None = None,
    samples: int | None = None,
    seeds: Iterable[int] | None = None,
    periods: int | None = None,
    workers: int | None = None,
    scheduler: str | Client | None = None,
    store: str | Path | None = DEFAULT_STORE,
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
        workers: processes of the local cluster (default: all cores).
        scheduler: address of an existing Dask scheduler, or a ``Client``.
        store: folder that keeps finished tasks (``results/.sweeps`` by
            default); ``None`` keeps nothing, so nothing can be resumed.
        retries: times Dask reruns a task that raised before it counts as failed.
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
        facts = {"scenario": scenario.model_dump(mode="json"), "design": plan.describe(), "seeds": seeds,
                 "version": package_version(), "task": f"{task.__module__}.{task.__qualname__}"}
        keep = SweepStore(store, key, facts).open()
    done: dict[tuple[int, int], pd.DataFrame] = {}
    if keep is not None:
        for point, seed in tasks:
            stored = keep.load(point, seed)
            if stored is not None:
                done[point, seed] = stored
    stored_count = len(done)
    todo = [t for t in tasks if t not in done]
    failures: list[dict[str, Any]] = []

    bar = tqdm(total=len(tasks), initial=stored_count, desc=f"{scenario.name} sweep", unit="run", disable=not progress,
               leave=False)
    with bar:
        if todo:
            with dask_client(workers, scheduler) as client:
                _run_on(client, scenarios, todo, task, retries, keep, done, failures, bar, key)
    computed = len(done) - stored_count
    inputs = plan.points
    failures = [
        {"point": p, **{path: _plain(inputs.at[p, path]) for path in plan.paths}, "seed": s, "error": error}
        for p, s, error in sorted(failures, key=lambda f: (f[0], f[1]))
    ]
    if todo and not done:
        first = failures[0]
        raise SweepFailed(f"all {len(tasks)} tasks failed; the first, at {_point_text(first, plan.paths)}: {first['error']}",
                          failures)
    table = _assemble(scenario.name, plan, tasks, done)
    table.attrs.update(
        scenario=scenario.model_dump(mode="json"), seeds=seeds, design=plan.describe(), version=package_version(),
        store=str(keep.path) if keep else None,
        tasks={"total": len(tasks), "computed": computed, "stored": stored_count, "failed": len(failures)},
        failures=failures,
    )
    if failures:
        warnings.warn(f"{len(failures)} of {len(tasks)} tasks failed; their inputs and errors are in attrs['failures']",
                      RuntimeWarning, stacklevel=2)
    return table


def _run_on(
    client: Client, scenarios: list[Scenario], todo: list[tuple[int, int]], task: TaskRunner, retries: int,
    keep: SweepStore | None, done: dict, failures: list, bar: tqdm, key: str,
) -> None:
    """Submit the tasks, store each as it finishes, record the ones that failed after their retries."""
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]
    futures = {
        client.submit(task, scenarios[point], seed, retries=retries, pure=False, key=f"sweep-{key}-{run}-p{point}-s{seed}"):
        (point, seed)
        for point, seed in todo
    }
    try:
        for future in as_completed(futures):
            point, seed = futures[future]
            if future.status == "finished":
                outcome = future.result()
                problem = _check_outcome(outcome)
                if problem is None:
                    if keep is not None:
                        keep.save(point, seed, outcome)
                    done[point, seed] = outcome
                else:
                    failures.append((point, seed, problem))
            else:
                failures.append((point, seed, _error_text(future)))
            bar.update()
    finally:
        unfinished = [f for f in futures if f.status == "pending"]
        if unfinished:
            with contextlib.suppress(Exception):
                client.cancel(unfinished)


def _check_outcome(outcome: object) -> str | None:
    if not isinstance(outcome, pd.DataFrame) or "firm" not in outcome.columns:
        return f"the task returned {type(outcome).__name__}, not a table with a 'firm' column"
    return None


def _error_text(future: Any) -> str:
    try:
        error = future.exception()
    except Exception as problem:  # noqa: BLE001 - a cancelled future has no exception to give
        error = problem
    if error is None:
        return f"task {future.status}"
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _assemble(name: str, plan: Design, tasks: list[tuple[int, int]], done: dict) -> pd.DataFrame:
    """Stack the outcomes in design order (point, then seed), with the inputs of each point in front."""
    frames, points, seeds = [], [], []
    for point, seed in tasks:
        outcome = done.get((point, seed))
        if outcome is None:
            continue
        frames.append(outcome.drop(columns=[c for c in ("seed", "scenario", "point", *plan.paths) if c in outcome.columns]))
        points += [point] * len(outcome)
        seeds += [seed] * len(outcome)
    at = np.asarray(points, dtype=np.int64)
    head = pd.DataFrame({
        "scenario": [name] * len(at), "point": at,
        **{path: plan.points[path].to_numpy()[at] for path in plan.paths},
        "seed": np.asarray(seeds, dtype=np.int64),
    })
    return pd.concat([head, pd.concat(frames, ignore_index=True)], axis=1)


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _point_text(row: Mapping[str, Any], paths: list[str]) -> str:
    inputs = ", ".join(f"{path} = {_number_text(row[path])}" for path in paths)
    return f"point {row['point']} ({inputs}), seed {row['seed']}"


def _number_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- summaries and findings -------------------------------------------------------------------------------------


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
    from .plots import mean_band

    paths = input_columns(table)
    keys = ["point", *paths, "firm"]
    summary = table.groupby(keys, sort=False)["seed"].nunique().rename("replications").reset_index()
    for outcome in outcome_columns(table):
        band = mean_band(table, outcome, keys, confidence).rename(
            columns={"mean": outcome, "low": f"{outcome}_low", "high": f"{outcome}_high"}).drop(columns="n")
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


def sweep_findings(table: pd.DataFrame, firm: str | None = None, confidence: float = 0.95) -> list[str]:
    """Plain sentences on where the focus firm does best, and how much that beats the scenario as written.

    The comparison with the scenario's own setting is paired seed by seed
    (every point ran on the same seeds).
    """
    firm = focus_firm(table, firm)
    paths = input_columns(table)
    summary = point_summary(table, confidence)
    mine = summary[summary["firm"] == firm].set_index("point")
    found = []
    if mine.empty:
        return [f"Firm **{firm}** has no results."]
    reference = _closest_to_scenario(table, mine, paths)
    for outcome in ("discounted_profit", "profit_per_month", "annual_retention_pct", "final_share_pct"):
        if outcome not in mine or mine[outcome].isna().all():
            continue
        label, _, money = HEADLINE[outcome]
        digits = 0 if money else 1
        best, worst = mine[outcome].idxmax(), mine[outcome].idxmin()
        unit = "" if money else "%"
        text = (f"{firm}'s {label.lower()} is highest at {_inputs_text(mine.loc[best], paths)}: "
                f"{_interval_text(mine.loc[best], outcome, digits)}{unit}; "
                f"lowest at {_inputs_text(mine.loc[worst], paths)}: "
                f"{_interval_text(mine.loc[worst], outcome, digits)}{unit}.")
        if reference is not None and outcome == "discounted_profit":
            text += " " + _against_reference(table, mine, firm, outcome, best, reference, paths, confidence, digits)
        found.append(text)
    if len(paths) >= 2:
        found.append(_main_effect_ranking(table, firm, paths))
    return found


def _closest_to_scenario(table: pd.DataFrame, mine: pd.DataFrame, paths: list[str]) -> int | None:
    scenario = table.attrs.get("scenario")
    if not scenario:
        return None
    base = Scenario.model_validate(scenario)
    distances = np.zeros(len(mine))
    for path in paths:
        value = float(resolve_field(base, path).value(base))
        column = mine[path].astype(float).to_numpy()
        spread = column.max() - column.min() or 1.0
        distances += ((column - value) / spread) ** 2
    return int(mine.index[int(np.argmin(distances))])


def _against_reference(table: pd.DataFrame, mine: pd.DataFrame, firm: str, outcome: str, best: int, reference: int,
                       paths: list[str], confidence: float, digits: int) -> str:
    """How far the best point is ahead of the scenario as written (or, when it is that point, of the next best)."""
    if best == reference:
        others = mine[outcome].drop(index=best).dropna()
        if others.empty:
            return ""
        other = int(others.idxmax())
        lead = "That is the point closest to the scenario as written; it is ahead of the next best"
    else:
        other, lead = reference, "It is ahead of the point closest to the scenario as written"
    rows = table[table["firm"] == firm].set_index(["point", "seed"])[outcome]
    a, b = rows.xs(best, level="point"), rows.xs(other, level="point")
    common = a.dropna().index.intersection(b.dropna().index)
    if len(common) < 2:
        return ""
    from .replications import paired_difference

    diff = paired_difference(a.loc[common], b.loc[common], confidence)
    return (f"{lead} ({_inputs_text(mine.loc[other], paths)}) by "
            f"{_format_interval(diff.mean, diff.low, diff.high, digits)}, paired over the same {len(common)} seeds.")


def _main_effect_ranking(table: pd.DataFrame, firm: str, paths: list[str]) -> str:
    means = table[table["firm"] == firm].groupby("point")[[*paths, "discounted_profit"]].mean()
    spans = {}
    for path in paths:
        levels = _levels(means[path])
        effect = means.groupby(levels)["discounted_profit"].mean()
        spans[path] = float(effect.max() - effect.min())
    order = sorted(spans, key=spans.get, reverse=True)
    parts = [f"{path} ({spans[path]:,.0f})" for path in order]
    return (f"Moving one field at a time (main effects, averaged over the others), {firm}'s discounted profit moves most "
            f"with {parts[0]}, then " + ", ".join(parts[1:]) + " (range of the mean over each field's values).")


def _levels(values: pd.Series, bins: int = 6) -> pd.Series:
    """Each field value, or its quantile bin (labelled by the bin's mean) when there are many distinct values."""
    if values.nunique() <= 12:
        return values
    codes = pd.qcut(values.rank(method="first"), q=min(bins, values.nunique()), labels=False)
    return values.groupby(codes).transform("mean")


def _format_interval(mean: float, low: float, high: float, digits: int) -> str:
    """``sim.summary.format_interval``, imported when first needed (it brings SciPy's statistics with it)."""
    from .summary import format_interval as formatted

    return formatted(mean, low, high, digits)


def _inputs_text(row: pd.Series, paths: list[str]) -> str:
    return ", ".join(f"{path} = {_number_text(_plain(row[path]))}" for path in paths)


def _interval_text(row: pd.Series, outcome: str, digits: int) -> str:
    return _format_interval(row[outcome], row[f"{outcome}_low"], row[f"{outcome}_high"], digits)


# --- figures ----------------------------------------------------------------------------------------------------


def plot_sweep(table: pd.DataFrame, folder: Path, firm: str | None = None) -> list[Path]:
    """Write the figures of a sweep into ``folder``; return their paths.

    One varied field: ``response.png``, each headline outcome against the
    field, a line per firm with its 95% band over seeds. Two fields:
    ``heatmap.png``, the focus firm's mean outcomes over the two fields.
    More: ``main_effects_OUTCOME.png``, one panel per field.
    """
    from .plots import draw_and_save, firm_colours

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if table.empty:
        return []
    paths = input_columns(table)
    firm = focus_firm(table, firm)
    if len(paths) == 1:
        colours = firm_colours(table)
        return [draw_and_save(lambda: response_figure(table, paths[0], colours, firm), folder / "response.png")]
    if len(paths) == 2:
        return [draw_and_save(lambda: heatmap_figure(table, paths, firm), folder / "heatmap.png")]
    written = []
    for outcome in HEADLINE:
        name = f"main_effects_{outcome}.png"
        written.append(draw_and_save(functools.partial(main_effects_figure, table, paths, firm, outcome), folder / name))
    return written


def response_figure(table: pd.DataFrame, path: str, colours: dict[str, str], firm: str) -> Figure:
    """Each headline outcome against one varied field: a line per firm, a 95% band over seeds."""
    import matplotlib.pyplot as plt

    from .plots import BAND_ALPHA, DPI, FIGSIZE, finish, format_money_axis, mean_band

    figure, axes = plt.subplots(2, 2, figsize=FIGSIZE, dpi=DPI, sharex=True)
    scenario_value = _scenario_value(table, path)
    for ax, (outcome, (label, unit, money)) in zip(axes.ravel(), HEADLINE.items()):
        band = mean_band(table, outcome, ["firm", path])
        for name, colour in colours.items():
            line = band[band["firm"] == name].dropna(subset=["mean"]).sort_values(path)
            if line.empty:
                continue
            ax.plot(line[path], line["mean"], color=colour, label=str(name), marker="o", markersize=3.5,
                    linewidth=2.6 if name == firm else 1.5)
            if (line["n"] > 1).any():
                ax.fill_between(line[path], line["low"], line["high"], color=colour, alpha=BAND_ALPHA, linewidth=0)
        if scenario_value is not None:
            ax.axvline(scenario_value, color="#888888", linestyle=":", linewidth=1.2)
        ax.set_title(label)
        ax.set_ylabel(unit, fontsize=9)
        if money:
            format_money_axis(ax)
    values = sorted(table[path].unique())
    for ax in axes.ravel():
        if len(values) <= 12:
            ax.set_xticks(values, [_number_text(_plain(v)) for v in values])
    for ax in axes[1]:
        ax.set_xlabel(path)
    seeds = table["seed"].nunique()
    lines = ("Lines: one replication at each value." if seeds == 1 else
             f"Lines: mean of {seeds} replications at each value, the same seeds at every value; shaded: 95% interval.")
    note = f"Scenario {table['scenario'].iloc[0]}. {lines}"
    if scenario_value is not None:
        note += " Dotted: the scenario as written."
    return finish(figure, f"What {path} does to each firm", note, legend_title="firm")


def heatmap_figure(table: pd.DataFrame, paths: list[str], firm: str) -> Figure:
    """The focus firm's mean headline outcomes over two varied fields; the best point outlined."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from .plots import DPI, FIGSIZE, money

    x, y = paths
    means = table[table["firm"] == firm].groupby("point")[[x, y, *HEADLINE]].mean()
    grid = means.groupby([x, y]).size().max() == 1 and len(means) == means[x].nunique() * means[y].nunique()
    figure, axes = plt.subplots(2, 2, figsize=(FIGSIZE[0], FIGSIZE[1] * 1.25), dpi=DPI)
    for ax, (outcome, (label, unit, is_money)) in zip(axes.ravel(), HEADLINE.items()):
        ax.grid(False)
        values = means[outcome]
        if values.isna().all():
            ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", va="center", color="#666666")
            continue
        if grid:
            cells = means.pivot(index=y, columns=x, values=outcome).sort_index().sort_index(axis=1)
            image = ax.pcolormesh(np.arange(cells.shape[1] + 1), np.arange(cells.shape[0] + 1), cells.to_numpy(),
                                  cmap="viridis", shading="flat")
            ax.set_xticks(np.arange(cells.shape[1]) + 0.5, [_number_text(_plain(v)) for v in cells.columns])
            ax.set_yticks(np.arange(cells.shape[0]) + 0.5, [_number_text(_plain(v)) for v in cells.index])
            ax.tick_params(length=0)
            if cells.size <= 64:
                low, high = np.nanmin(cells.to_numpy()), np.nanmax(cells.to_numpy())
                for (r, c), value in np.ndenumerate(cells.to_numpy()):
                    if np.isfinite(value):
                        light = high == low or (value - low) / (high - low) < 0.55
                        ax.text(c + 0.5, r + 0.5, money(value) if is_money else f"{value:.1f}", ha="center", va="center",
                                fontsize=7, color="white" if light else "#222222")
            r, c = np.unravel_index(np.nanargmax(cells.to_numpy()), cells.shape)
            ax.add_patch(Rectangle((c, r), 1, 1, fill=False, edgecolor="#D55E00", linewidth=2.2))
        else:
            image = ax.scatter(means[x], means[y], c=values, cmap="viridis", s=36, edgecolors="none")
            best = values.idxmax()
            ax.scatter([means.at[best, x]], [means.at[best, y]], s=160, facecolors="none", edgecolors="#D55E00",
                       linewidths=2)
        bar = figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
        bar.ax.tick_params(labelsize=8)
        if is_money:
            from matplotlib.ticker import FuncFormatter

            bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v)))
        bar.set_label(unit, fontsize=8)
        ax.set_title(label, fontsize=11)
        ax.set_xlabel(x, fontsize=9)
        ax.set_ylabel(y, fontsize=9)
    seeds = table["seed"].nunique()
    shape = "Each cell" if grid else "Each dot"
    runs = "one replication" if seeds == 1 else f"mean of {seeds} replications on the same seeds"
    note = f"Scenario {table['scenario'].iloc[0]}, firm {firm}. {shape}: {runs}; outlined: the best."
    return _finish_plain(figure, f"Firm {firm}'s outcomes over {x} and {y}", note)


def main_effects_figure(table: pd.DataFrame, paths: list[str], firm: str, outcome: str) -> Figure:
    """One panel per varied field: the focus firm's outcome at each point, and its mean over the other fields."""
    from .plots import BAND_ALPHA, FIRM_COLOURS, format_money_axis, label_y, mean_band, panel_grid

    label, unit, is_money = HEADLINE[outcome]
    means = table[table["firm"] == firm].groupby("point")[[*paths, outcome]].mean()
    figure, axes = panel_grid(len(paths), share_y=True)
    colour = FIRM_COLOURS[0]
    for ax, path in zip(axes, paths):
        ax.scatter(means[path], means[outcome], s=10, color="#BBBBBB", edgecolors="none")
        levels = means.assign(level=_levels(means[path]))
        band = mean_band(levels, outcome, ["level"]).sort_values("level")
        ax.plot(band["level"], band["mean"], color=colour, marker="o", markersize=3.5)
        ax.fill_between(band["level"], band["low"], band["high"], color=colour, alpha=BAND_ALPHA * 2, linewidth=0)
        ax.set_xlabel(path, fontsize=9)
        if is_money:
            format_money_axis(ax)
    label_y(figure, axes, unit)
    seeds = table["seed"].nunique()
    runs = "1 replication" if seeds == 1 else f"mean of {seeds} replications on the same seeds"
    note = (f"Scenario {table['scenario'].iloc[0]}, firm {firm}. Dots: each point ({runs}). "
            "Line: mean over the points at each value or range of values; shaded: 95% interval.")
    return _finish_plain(figure, f"What each field does to firm {firm}'s {label.lower()}", note)


def _finish_plain(figure: Figure, title: str, note: str) -> Figure:
    figure.suptitle(title, x=0.01, ha="left")
    figure.text(0.01, 0.01, note, ha="left", va="bottom", fontsize=9, color="#666666")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    return figure


def _scenario_value(table: pd.DataFrame, path: str) -> float | None:
    scenario = table.attrs.get("scenario")
    if not scenario:
        return None
    base = Scenario.model_validate(scenario)
    return float(resolve_field(base, path).value(base))


# --- report and results folder ----------------------------------------------------------------------------------


CAPTIONS = {
    "response.png": "Each outcome against the varied field, a line per firm (the focus firm thicker): mean over the same "
    "seeds at every value, band: 95% interval. The dotted line marks the scenario as written.",
    "heatmap.png": "The focus firm's mean outcomes over the two varied fields; the outlined cell is the best one.",
}


def sweep_report(table: pd.DataFrame, figures: list[Path], firm: str | None = None, command: str = "") -> str:
    """Markdown report of a sweep: the question, the design, findings, the focus firm's results, figures, failures."""
    from .report import _markdown_table

    firm = focus_firm(table, firm)
    scenario = Scenario.model_validate(table.attrs["scenario"])
    paths = input_columns(table)
    design = table.attrs["design"]
    seeds = table.attrs["seeds"]
    counts = table.attrs["tasks"]
    lines = [f"# Sweep: {scenario.name}", ""]
    if scenario.description:
        lines += [f"**The market.** {scenario.description}", ""]
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    lines += [
        f"*{_design_phrase(design)} x {len(seeds)} replication{'s' * (len(seeds) > 1)} ({seed_text}) = "
        f"{counts['total']:,} runs of "
        f"{scenario.market.customers:,} customers over {scenario.market.periods} months, {len(scenario.firms)} firms, "
        f"loyalty-sim {table.attrs.get('version', package_version())}. Every point ran on the same seeds (common random "
        f"numbers).*", "",
        "## What the sweep says", "",
    ]
    lines += [f"- {finding}" for finding in sweep_findings(table, firm)]
    lines += ["", "## Design", "", _markdown_table(_design_table(design, scenario)), ""]
    summary = point_summary(table)
    mine = summary[summary["firm"] == firm]
    shown = mine
    heading = f"## Results for firm {firm} at each point"
    if len(mine) > 40:
        shown = mine.sort_values("discounted_profit", ascending=False).head(20)
        heading = f"## Firm {firm}: the 20 points of {len(mine):,} with the highest discounted profit"
    text = shown[["point", *paths]].copy()
    for outcome, (label, _, money) in HEADLINE.items():
        text[label] = [_format_interval(m, lo, hi, 0 if money else 1)
                       for m, lo, hi in zip(shown[outcome], shown[f"{outcome}_low"], shown[f"{outcome}_high"], strict=True)]
    lines += [heading, "", _markdown_table(text), "",
              "Means over replications with 95% intervals in brackets; rates and profit per month are steady-state "
              "(after the first year), shares at the last month. Every firm at every point is in `points.csv`, every run "
              "in `sweep.csv`.", ""]
    for figure in figures:
        caption = CAPTIONS.get(figure.name) or (
            f"Main effects on {figure.stem.removeprefix('main_effects_').replace('_', ' ')}: each point (grey) and the "
            "mean at each value of one field over the others (line, band: 95% interval).")
        lines += [f"![{figure.stem.replace('_', ' ')}]({figure.name})", "", f"*{caption}*", ""]
    failures = table.attrs.get("failures") or []
    if failures:
        lines += ["## Failures", "", f"{len(failures)} of {counts['total']:,} runs failed after "
                  f"their retries and are left out of every number above (see `failures.csv`):", ""]
        lines += [_markdown_table(pd.DataFrame(failures).head(50)), ""]
    lines += ["## Reproduce", "", "```", command or f"loyalty sweep {scenario.name}", "```", ""]
    return "\n".join(lines)


def _design_phrase(design: Mapping[str, Any]) -> str:
    names = {"grid": "A grid", "lhs": "A Latin hypercube", "sobol": "A Sobol sequence", "saltelli": "A Saltelli sample"}
    return f"{names.get(design['kind'], design['kind'])} of {design['points']:,} points"


def _design_table(design: Mapping[str, Any], scenario: Scenario) -> pd.DataFrame:
    rows = []
    for factor in design["factors"]:
        field = resolve_field(scenario, factor["field"])
        if "values" in factor:
            takes = ", ".join(_number_text(v) for v in factor["values"])
        else:
            takes = f"{factor['low']:g} to {factor['high']:g}"
            if "points" in factor:
                takes += f", {factor['points']} points"
        rows.append({"field": factor["field"], "takes": takes, "in the scenario": _number_text(field.value(scenario))})
    return pd.DataFrame(rows)


def publish_sweep(table: pd.DataFrame, out: Path | str, firm: str | None = None, command: str = "", **facts: object) -> Path:
    """Write a sweep's results folder atomically: tables, figures, report, manifest; return its path.

    The folder holds ``sweep.csv``/``.parquet`` (every run), ``points``
    (each point and firm with intervals), ``failures`` (when a task
    failed), the figures, ``report.md``/``.html`` and ``manifest.json``
    (scenario, seeds, design, package version, task counts).
    """
    from .report import to_html
    from .run_folder import RunFolder

    firm = focus_firm(table, firm)
    name = Scenario.model_validate(table.attrs["scenario"]).name
    with RunFolder(out, f"{name}-sweep") as folder:
        folder.write_table("sweep", table)
        folder.write_table("points", point_summary(table))
        failures = table.attrs.get("failures") or []
        if failures:
            folder.write_table("failures", pd.DataFrame(failures))
        figures = plot_sweep(table, folder.path, firm)
        markdown = sweep_report(table, figures, firm, command)
        folder.write_text("report.md", markdown)
        folder.write_text("report.html", to_html(markdown, f"Sweep: {name}"))
        folder.write_manifest(
            scenario=table.attrs["scenario"], seeds=table.attrs["seeds"], design=table.attrs["design"], firm=firm,
            tasks=table.attrs["tasks"], store=table.attrs.get("store"), **facts,
        )
    return folder.final
