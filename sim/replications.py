"""Replications with common random numbers, and intervals on differences.

Comparing two scenarios run with the same seeds pairs every replication of one
with a replication of the other that saw the same customers, the same service
noise and the same taste shocks (common random numbers); the interval on the
mean paired difference is then much narrower than on two independent means.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.forkserver
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from .model import LoyaltyModel, Strategy
from .parameters import Scenario


@dataclass(frozen=True)
class Interval:
    """A mean with a two-sided confidence interval."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.mean:.4g} [{self.low:.4g}, {self.high:.4g}] ({self.confidence:.0%}, n={self.n})"


def mean_interval(values: Iterable[float], confidence: float = 0.95) -> Interval:
    """Student-t interval on the mean of independent replications."""
    x = np.asarray(list(values), dtype=float)
    n = x.size
    if n == 0:
        raise ValueError("no replications to summarise")
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, -np.inf, np.inf, 1, confidence)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return Interval(mean, mean - half, mean + half, n, confidence)


def paired_difference(treatment: Iterable[float], control: Iterable[float], confidence: float = 0.95) -> Interval:
    """Interval on the mean of ``treatment - control`` over paired replications."""
    t = np.asarray(list(treatment), dtype=float)
    c = np.asarray(list(control), dtype=float)
    if t.shape != c.shape:
        raise ValueError(f"paired samples differ in size: {t.size} and {c.size}")
    return mean_interval(t - c, confidence)


def run_replications(
    scenario: Scenario,
    seeds: Iterable[int],
    *,
    periods: int | None = None,
    intervene: Callable[[LoyaltyModel], None] | None = None,
    strategies: Mapping[str, Strategy] | None = None,
    workers: int = 1,
    progress: bool | tqdm = False,
) -> pd.DataFrame:
    """Run ``scenario`` once per seed and stack the tidy results, sorted by seed.

    Args:
        scenario: the market.
        seeds: one replication per seed; reuse the same seeds across
            scenarios for common random numbers.
        periods: horizon (default: the scenario's).
        intervene: called with the model before every step, to change levers
            mid-run (e.g. ``lambda m: ... if m.period == 36``); only with
            ``workers=1``, as it runs in this process.
        strategies: firm name -> strategy, as for ``LoyaltyModel``. With
            ``workers > 1`` they must be importable by the worker processes
            (defined in a module, not in a notebook cell).
        workers: processes to run replications in; each replication gives the
            same numbers whichever process runs it.
        progress: show a progress bar (on standard error); or a ``tqdm`` bar
            of the caller's, advanced by one per replication and left open.
    """
    seeds = list(seeds)
    if intervene is not None and workers > 1:
        raise ValueError("intervene runs in this process: use workers=1, or put the change in the scenario's events")
    if workers > 1 and len(seeds) > 1 and any(_defined_interactively(s) for s in (strategies or {}).values()):
        raise ValueError(
            "strategies run in worker processes, which cannot see a function defined in a notebook or an "
            "interactive session: define it in an importable .py module, or use workers=1"
        )
    if isinstance(progress, tqdm):
        bar, owned = progress, False  # a bar the caller keeps across several calls
    else:
        bar, owned = tqdm(total=len(seeds), desc=scenario.name, unit="run", disable=not progress, leave=False), True
    frames = []
    with bar if owned else contextlib.nullcontext():
        if workers <= 1 or len(seeds) <= 1:
            for seed in seeds:
                frames.append(run_one(scenario, seed, periods, intervene, strategies))
                bar.update()
        else:
            with ProcessPoolExecutor(
                max_workers=min(workers, len(seeds)), mp_context=_process_context(), initializer=_quiet_on_ctrl_c
            ) as pool:
                futures = [pool.submit(run_one, scenario, seed, periods, None, strategies) for seed in seeds]
                for future in as_completed(futures):
                    frames.append(future.result())
                    bar.update()
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
    for _ in range(scenario.market.periods if periods is None else periods):
        if intervene is not None:
            intervene(model)
        model.step()
    return model.results()


def _defined_interactively(function: object) -> bool:
    """Whether ``function`` lives in a ``__main__`` that worker processes cannot import (a notebook, a REPL)."""
    module = sys.modules.get(getattr(function, "__module__", None) or "")
    return module is not None and module.__name__ == "__main__" and not hasattr(module, "__file__")


def _process_context() -> multiprocessing.context.BaseContext:
    """Start workers from a fork server that has already imported the package.

    Forking the caller itself is unsafe once it runs threads (NumPy's BLAS
    starts some), and plain spawning re-imports everything for every pool. A
    script that runs replications in several processes needs the usual
    ``if __name__ == "__main__":`` guard. Chosen explicitly because importing
    Mesa sets the global start method to spawn.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.replications"])
    if threading.current_thread() is threading.main_thread():
        # Start the server deaf to Ctrl-C, so that an interrupt while it is still
        # importing the package does not print its traceback; the run stops anyway.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            signal.signal(signal.SIGINT, previous)
    return context


def _quiet_on_ctrl_c() -> None:
    """In a worker: die on Ctrl-C without a traceback; the main process reports the interrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
