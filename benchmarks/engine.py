"""Speed and memory of the two paths through the one set of equations.

Runs the same scenario (five firms, word of mouth on) through the vectorised
path and the per-agent path (``Customer.step`` on every agent) at 1,000,
100,000 and 1,000,000 customers, each measurement in a fresh process, and
prints nanoseconds per customer-step (median over periods), their ratio, and
peak memory per customer.

    python benchmarks/engine.py                 # the full table
    python benchmarks/engine.py --sizes 1000 100000 --agent-periods 3

The per-agent path is slow by design (it is the classroom's path), so it runs
fewer periods; the vectorised path runs ``--periods`` (default 120) at every
size, which also times a ten-year run of a million customers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time


def scenario(customers: int):
    from sim import FirmLevers, Market, Scenario

    firms = [
        FirmLevers(name=name, price=price, quality=quality, image=image)
        for name, price, quality, image in [
            ("A", 30.0, 0.75, 0.6),
            ("B", 27.0, 0.68, 0.5),
            ("C", 33.0, 0.80, 0.55),
            ("D", 25.0, 0.62, 0.45),
            ("E", 36.0, 0.85, 0.7),
        ]
    ]
    return Scenario(name="benchmark-5-firms", market=Market(customers=customers, contacts=25), firms=firms)


def measure(customers: int, vectorised: bool, periods: int) -> dict:
    """One measurement, in this process: build, then time each period."""
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from sim import LoyaltyModel

    start = time.perf_counter()
    model = LoyaltyModel(scenario(customers), seed=1, vectorised=vectorised)
    build_s = time.perf_counter() - start
    seconds = []
    for _ in range(periods):
        start = time.perf_counter()
        model.step()
        seconds.append(time.perf_counter() - start)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "customers": customers,
        "path": "vectorised" if vectorised else "per-agent",
        "periods": periods,
        "build_s": build_s,
        "run_s": sum(seconds),
        "ns_per_customer_step": statistics.median(seconds) / customers * 1e9,
        "peak_bytes_per_customer": peak_kb * 1024 / customers,
        "model_bytes_per_customer": (peak_kb - baseline_kb) * 1024 / customers,
    }


def in_fresh_process(customers: int, vectorised: bool, periods: int) -> dict:
    command = [sys.executable, __file__, "--one", str(customers), str(int(vectorised)), str(periods)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--periods", type=int, default=120, help="periods for the vectorised path")
    parser.add_argument(
        "--agent-periods",
        type=int,
        default=None,
        help="periods for the per-agent path (default: 5 up to 100k customers, 1 above)",
    )
    parser.add_argument("--one", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        customers, vectorised, periods = args.one
        print(json.dumps(measure(customers, bool(vectorised), periods)))
        return

    import mesa
    import numpy

    from sim import package_version

    print(
        f"loyalty-sim {package_version()}, mesa {mesa.__version__}, numpy {numpy.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}"
    )
    print(f"BLAS: {blas_kernel()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print("scenario: 5 firms, 25 word-of-mouth contacts per customer, seed 1\n")
    header = (
        f"{'customers':>10} {'path':>10} {'periods':>7} {'build s':>8} {'run s':>8} {'ns/cust-step':>12} "
        f"{'peak B/cust':>11} {'model B/cust':>12}"
    )
    print(header)
    print("-" * len(header))
    ratios = []
    for customers in args.sizes:
        agent_periods = args.agent_periods if args.agent_periods is not None else (5 if customers <= 100_000 else 1)
        rows = [in_fresh_process(customers, True, args.periods)]
        if agent_periods > 0:
            rows.append(in_fresh_process(customers, False, agent_periods))
        for r in rows:
            print(
                f"{r['customers']:>10,} {r['path']:>10} {r['periods']:>7} {r['build_s']:>8.2f} {r['run_s']:>8.2f} "
                f"{r['ns_per_customer_step']:>12,.0f} {r['peak_bytes_per_customer']:>11,.0f} "
                f"{r['model_bytes_per_customer']:>12,.0f}",
                flush=True,
            )
        if len(rows) == 2:
            ratios.append((customers, rows[1]["ns_per_customer_step"] / rows[0]["ns_per_customer_step"]))
    print()
    for customers, ratio in ratios:
        print(f"per-agent / vectorised at {customers:>10,} customers: {ratio:,.0f}x")


if __name__ == "__main__":
    main()
