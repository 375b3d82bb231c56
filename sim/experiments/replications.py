"""Replications: one scenario run once per seed, the seeds shared across scenarios (common random numbers).

Every replication is one call of ``run_one`` on an evaluator (this process,
worker processes or a Dask cluster, see ``sim.experiments.evaluator``); each
gives the same numbers wherever it runs.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Mapping

import pandas as pd
from tqdm.auto import tqdm

from sim.engine.model import LoyaltyModel, Strategy
from sim.engine.parameters import Scenario
from sim.experiments.evaluator import Evaluator, evaluator


def run_replications(
    scenario: Scenario,
    seeds: Iterable[int],
    *,
    periods: int | None = None,
    intervene: Callable[[LoyaltyModel], None] | None = None,
    strategies: Mapping[str, Strategy] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    runner: Evaluator | None = None,
    progress: bool | tqdm = False,
) -> pd.DataFrame:
    """Run ``scenario`` once per seed and stack the tidy results, sorted by seed.

    Args:
        scenario: the market.
        seeds: one replication per seed; reuse the same seeds across
            scenarios for common random numbers.
        periods: horizon (default: the scenario's).
        intervene: called with the model before every step, to change levers
            mid-run (e.g. ``lambda m: ... if m.period == 36``); only in this
            process, as it is a function of the caller's.
        strategies: firm name -> strategy, as for ``LoyaltyModel``. In worker
            processes they must be importable (defined in a module, not in a
            notebook cell); a Dask cluster takes them either way.
        workers: processes to run replications in (when ``runner`` is not given).
        scheduler: address of a running Dask scheduler to run them on instead.
        runner: the evaluator to run them on (it is left running); overrides
            ``workers`` and ``scheduler``.
        progress: show a progress bar (on standard error); or a ``tqdm`` bar
            of the caller's, advanced by one per replication and left open.
    """
    seeds = list(seeds)
    if runner is None:
        runner = evaluator(workers if len(seeds) > 1 else 1, scheduler)
    if intervene is not None and not runner.runs_here:
        raise ValueError("intervene runs in this process: use workers=1, or put the change in the scenario's events")
    if not runner.ships_code and any(_defined_interactively(s) for s in (strategies or {}).values()):
        raise ValueError(
            "strategies run in worker processes, which cannot see a function defined in a notebook or an "
            "interactive session: define it in an importable .py module, or use workers=1"
        )
    if isinstance(progress, tqdm):
        bar, owned = progress, False  # a bar the caller keeps across several calls
    else:
        bar, owned = tqdm(total=len(seeds), desc=scenario.name, unit="run", disable=not progress, leave=False), True
    calls = [(scenario, seed, periods, intervene, strategies) for seed in seeds]
    with bar if owned else contextlib.nullcontext():
        frames = runner.map(run_one, calls, progress=bar)
    frames.sort(key=lambda df: int(df["seed"].iloc[0]) if len(df) else 0)
    results = pd.concat(frames, ignore_index=True)
    results.attrs = dict(frames[0].attrs) if frames else {}
    results.attrs["seeds"] = seeds
    return results


def run_one(
    scenario: Scenario,
    seed: int,
    periods: int | None = None,
    intervene: Callable[[LoyaltyModel], None] | None = None,
    strategies: Mapping[str, Strategy] | None = None,
) -> pd.DataFrame:
    """One replication: build the model with ``seed``, run it, return its tidy results."""
    model = LoyaltyModel(scenario, seed=seed, strategies=strategies)
    try:
        for _ in range(scenario.market.periods if periods is None else periods):
            if intervene is not None:
                intervene(model)
            model.step()
        return model.results()
    finally:
        model.release()


def _defined_interactively(function: object) -> bool:
    """Whether ``function`` lives in a ``__main__`` that worker processes cannot import (a notebook, a REPL)."""
    module = sys.modules.get(getattr(function, "__module__", None) or "")
    return module is not None and module.__name__ == "__main__" and not hasattr(module, "__file__")
