"""Sweep throughput: runs per minute in this process, and on Dask with one worker and with two.

Runs the same sweep (a grid over firm A's price in the baseline market, every
price on the same seeds) in this process (no cluster) and on a fresh
``LocalCluster`` of 1 worker and of 2 workers, in turn, several times, and
prints the runs per minute of each (median over repeats) and their ratios,
every run on one thread: one Dask worker against this process is what
running on the cluster costs. Starting the cluster and importing the
package on its workers is timed apart and left out of the throughput: it is
a fixed cost per sweep, not per run. Nothing is stored (``store=None``), so
every run is computed.

    python benchmarks/sweep.py                          # 24 runs of 10,000 customers over 120 months, 3 repeats
    python benchmarks/sweep.py --customers 5000 --repeats 1

The machine is usually shared: the load average before and after is printed
with the numbers, and the median over repeats damps the noise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time


def baseline(customers: int, periods: int):
    from sim import load_scenario

    scenario = load_scenario("baseline")
    market = scenario.market.model_copy(update={"customers": customers, "periods": periods})
    return scenario.model_copy(update={"market": market})


def warm(client) -> None:
    """Import the package on every worker and load its compiled kernels, so that the timed part runs the model only."""

    def load() -> str:
        import sim.experiments.sweep  # noqa: F401
        from sim import LoyaltyModel, load_scenario

        scenario = load_scenario("baseline")
        market = scenario.market.model_copy(update={"customers": 50, "periods": 1, "burn_in_months": 0})
        LoyaltyModel(scenario.model_copy(update={"market": market}), seed=1).run()
        return "ready"

    client.run(load)


def measure(workers: int, scenario, prices: str, seeds: list[int]) -> dict:
    """One sweep on a fresh local cluster of ``workers`` processes (0: in this process), start-up and run apart."""
    from sim.experiments.evaluator import InProcess, dask_client
    from sim.experiments.sweep import sweep

    start = time.perf_counter()
    if workers == 0:
        table = sweep(scenario, {"firms.A.price": prices}, seeds=seeds, runner=InProcess(), store=None)
        done = time.perf_counter()
        runs = table.attrs["tasks"]["computed"]
        return {
            "workers": 0,
            "runs": runs,
            "startup_s": 0.0,
            "run_s": done - start,
            "runs_per_minute": 60 * runs / (done - start),
        }
    with dask_client(workers=workers) as client:
        warm(client)
        ready = time.perf_counter()
        table = sweep(scenario, {"firms.A.price": prices}, seeds=seeds, scheduler=client, store=None)
        done = time.perf_counter()
    runs = table.attrs["tasks"]["computed"]
    return {
        "workers": workers,
        "runs": runs,
        "startup_s": ready - start,
        "run_s": done - ready,
        "runs_per_minute": 60 * runs / (done - ready),
    }


def one_run_seconds(scenario) -> float:
    """Seconds of one run in this process (after a first run to warm up), for scale."""
    from sim.experiments.sweep import run_task

    run_task(scenario, 0)
    start = time.perf_counter()
    run_task(scenario, 1)
    return time.perf_counter() - start


def blas_kernel() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return (
        ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})" for i in threadpool_info())
        or "none"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=120)
    parser.add_argument("--prices", type=int, default=6, help="Points of the price grid.")
    parser.add_argument("--seeds", type=int, default=4, help="Replications at every price.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[0, 1, 2], help="Dask workers of each cluster (0: this process)."
    )
    args = parser.parse_args()

    # Throughput per worker: this process's runs stay on its one thread, as a worker's do (a market this large
    # run alone from a main thread would cut its passes into blocks on every core).
    from sim.engine import compiling

    compiling.one_thread()
    scenario = baseline(args.customers, args.periods)
    prices = f"24:36:{args.prices}"
    seeds = list(range(1, args.seeds + 1))
    load_before = os.getloadavg()
    single = one_run_seconds(scenario)
    results = []
    for repeat in range(args.repeats):
        for workers in args.workers:
            result = measure(workers, scenario, prices, seeds)
            result["repeat"] = repeat
            results.append(result)
            print(
                f"  repeat {repeat + 1}, {workers} worker(s): {result['runs']} runs in {result['run_s']:.1f} s "
                f"({result['runs_per_minute']:.1f} runs/min), start-up {result['startup_s']:.1f} s",
                file=sys.stderr,
            )
    load_after = os.getloadavg()

    print(
        f"sweep throughput: baseline market, {args.customers:,} customers x {args.periods} months, "
        f"{args.prices} prices x {args.seeds} seeds = {args.prices * args.seeds} runs per sweep, {args.repeats} repeats"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, BLAS "
        f"{blas_kernel()}"
    )
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; one run in this process: {single:.2f} s"
    )
    print()
    print("| Dask workers (0: this process) | runs/min (median) | all repeats | cluster start-up (median) |")
    print("|---:|---:|---|---:|")
    medians = {}
    for workers in args.workers:
        mine = [r for r in results if r["workers"] == workers]
        medians[workers] = statistics.median(r["runs_per_minute"] for r in mine)
        every = ", ".join(f"{r['runs_per_minute']:.1f}" for r in mine)
        startup = statistics.median(r["startup_s"] for r in mine)
        print(f"| {workers} | {medians[workers]:.1f} | {every} | {startup:.1f} s |")
    most = max(medians)
    if 1 in medians and most > 1:
        print(f"\nspeed-up of {most} workers over 1: {medians[most] / medians[1]:.2f}x")
    if 0 in medians and 1 in medians:
        print(f"one Dask worker against this process: {medians[1] / medians[0]:.2f}x the runs per minute")
    print(
        json.dumps(
            {
                "args": vars(args),
                "single_run_s": single,
                "load_before": load_before,
                "load_after": load_after,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
