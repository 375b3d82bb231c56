"""Designs: the points at which a study runs a scenario, one column per varied field.

- a full **grid** of each factor's values;
- a **Latin hypercube** (``scipy.stats.qmc.LatinHypercube``): each factor's
  range cut in as many slices as points, one point per slice;
- a scrambled **Sobol** sequence (``scipy.stats.qmc.Sobol``), balanced for
  powers of two;
- a **Saltelli** sample (SALib): the Sobol-based sample that Sobol'
  sensitivity indices are estimated from (``sim.experiments.sensitivity``).

Sampled designs draw points in the unit cube and scale each column onto its
factor's range (``Factor.scale``), on a log scale where the factor says so.
"""

from __future__ import annotations

import inspect
import itertools
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.engine.parameters import Scenario
from sim.experiments.fields import Factor, Field, FieldError, make_factor, with_values

if TYPE_CHECKING:
    pass


DESIGNS = ("grid", "lhs", "sobol")
DEFAULT_SAMPLES = 16
MAX_POINTS = 100_000


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
        """The varied fields, in column order."""
        return [f.field for f in self.factors]

    @property
    def paths(self) -> list[str]:
        """The varied fields' paths: the design's column names."""
        return [f.path for f in self.factors]

    def describe(self) -> dict[str, Any]:
        """The design as plain data: kind, factors, number of points (and samples, seed)."""
        facts: dict[str, Any] = {
            "kind": self.kind,
            "factors": [f.describe() for f in self.factors],
            "points": len(self.points),
        }
        if self.samples is not None:
            facts.update(samples=self.samples, seed=self.seed)
        return facts

    def text(self) -> str:
        """One phrase: "a grid of 7 points", "a Latin hypercube of 16 points"."""
        names = {
            "grid": "a grid",
            "lhs": "a Latin hypercube",
            "sobol": "a Sobol sequence",
            "saltelli": "a Saltelli sample",
        }
        return f"{names.get(self.kind, self.kind)} of {len(self.points):,} points"


def make_design(
    scenario: Scenario,
    vary: Mapping[str, object],
    kind: str = "grid",
    samples: int | None = None,
    seed: int | None = None,
    source: str = "--vary",
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
        FieldError: an unknown design, a bad path or spec, a grid too large.
    """
    if kind not in DESIGNS:
        raise FieldError(f"design {kind!r}: must be one of {', '.join(DESIGNS)}")
    if not vary:
        raise FieldError("nothing to vary: give --vary PATH=LOW:HIGH:N, or a [sweep.vary] table in the scenario")
    factors = tuple(make_factor(scenario, path, spec, source) for path, spec in vary.items())
    if kind == "grid":
        axes = [f.grid() for f in factors]
        count = math.prod(len(axis) for axis in axes)
        if count > MAX_POINTS:
            raise FieldError(
                f"a grid of {count:,} points is too large (at most {MAX_POINTS:,}); use fewer points or --design lhs"
            )
        points = pd.DataFrame(list(itertools.product(*axes)), columns=[f.path for f in factors])
        plan = Design(kind, factors, _typed(points, factors))
    else:
        samples = DEFAULT_SAMPLES if samples is None else samples
        if not 1 <= samples <= MAX_POINTS:
            raise FieldError(f"--samples {samples}: must be from 1 to {MAX_POINTS:,}")
        seed = scenario.seed if seed is None else seed
        unit = unit_sample(kind, len(factors), samples, seed)
        points = pd.DataFrame({f.path: f.scale(unit[:, i]) for i, f in enumerate(factors)})
        plan = Design(kind, factors, _typed(points, factors), samples, seed)
    point_scenarios(scenario, plan)
    return plan


def point_scenarios(scenario: Scenario, design: Design) -> list[Scenario]:
    """The scenario at each point of ``design``, validated.

    Raises:
        FieldError: a point the scenario does not allow, named by its values.
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


def unit_sample(kind: str, dimensions: int, samples: int, seed: int | np.random.Generator) -> np.ndarray:
    """``samples`` points of a Latin hypercube (``"lhs"``) or a scrambled Sobol sequence in the unit cube.

    ``seed`` is a seed, or a generator of the caller's that the sample draws from (and advances).
    """
    from scipy.stats import qmc  # scipy's quasi-Monte Carlo module is slow to import and only designs need it

    engine = qmc.LatinHypercube if kind == "lhs" else qmc.Sobol
    keyword = "rng" if "rng" in inspect.signature(engine).parameters else "seed"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
        return engine(dimensions, **{keyword: seed}).random(samples)


def saltelli_sample(dimensions: int, samples: int, seed: int) -> np.ndarray:
    """A Saltelli sample in the unit cube for first-order and total Sobol' indices.

    It has ``samples * (dimensions + 2)`` rows: SALib's sample without second-order indices.
    """
    from SALib.sample import sobol as sobol_sample  # SALib is heavy and only sensitivity studies need it

    problem = {
        "num_vars": dimensions,
        "names": [f"x{i}" for i in range(dimensions)],
        "bounds": [[0.0, 1.0]] * dimensions,
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
        return sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)
