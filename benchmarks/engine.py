"""Speed and memory of the two paths through the one set of equations, beside a plain Mesa model.

Runs the same scenario (five firms, word of mouth on) through the vectorised
path and the per-agent path (``Customer.step`` on every agent) at 1,000,
10,000, 100,000 and 1,000,000 customers, each measurement in a fresh
process, and prints nanoseconds per customer-step (median over periods),
peak memory per customer, and the ratios; and, apart, how long the compiled
kernels take to be ready: compiled in a process that finds none kept on disk,
loaded in one that finds them. Beside them runs the reference a
Mesa user would write first: one ``mesa.Agent`` per customer whose ``step``
picks one of the same five firms by a plain logit choice on price, quality
and image (no memory, no trust, no word of mouth), stepped with
``model.agents.shuffle_do("step")``.

    python benchmarks/engine.py                 # the full table
    python benchmarks/engine.py --sizes 1000 10000 --agent-periods 3

The per-agent path is slow by design (it is the classroom's path), so it runs
fewer periods, as does the Mesa reference; the vectorised path runs
``--periods`` (default 120) at every size, which also times a ten-year run of
a million customers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

FIRMS = [
    ("A", 30.0, 0.75, 0.6),
    ("B", 27.0, 0.68, 0.5),
    ("C", 33.0, 0.80, 0.55),
    ("D", 25.0, 0.62, 0.45),
    ("E", 36.0, 0.85, 0.7),
]
"""Name, price, quality and image of the five firms every path chooses among."""


def scenario(customers: int):
    from sim import FirmLevers, Market, Scenario

    firms = [FirmLevers(name=n, price=p, quality=q, image=i) for n, p, q, i in FIRMS]
    return Scenario(name="benchmark-5-firms", market=Market(customers=customers, contacts=25), firms=firms)


def mesa_reference(customers: int, seed: int):
    """The plain Mesa model: customers choosing a firm each month by a logit on price, quality and image."""
    import mesa

    class Shopper(mesa.Agent):
        def __init__(self, model: mesa.Model) -> None:
            super().__init__(model)
            self.w_quality = self.random.lognormvariate(math.log(4.0), 0.5)
            self.w_price = self.random.lognormvariate(math.log(0.1), 0.5)
            self.w_image = self.random.lognormvariate(math.log(1.0), 0.5)
            self.firm = None

        def step(self) -> None:
            utilities = [self.w_quality * q + self.w_image * i - self.w_price * p for _, p, q, i in self.model.firms]
            top = max(utilities)
            weights = [math.exp(u - top) for u in utilities]
            pick = self.random.random() * sum(weights)
            chosen = len(weights) - 1
            for firm, weight in enumerate(weights):
                pick -= weight
                if pick <= 0:
                    chosen = firm
                    break
            self.firm = chosen

    class Market(mesa.Model):
        def __init__(self) -> None:
            super().__init__(seed=seed)
            self.firms = FIRMS
            for _ in range(customers):
                Shopper(self)

        def step(self) -> None:
            self.agents.shuffle_do("step")

    return Market()


PATHS = ("vectorised", "per-agent", "mesa-logit")


def measure(customers: int, path: str, periods: int) -> dict:
    """One measurement, in this process: build, then time each period.

    Peak memory is reported twice per customer: the whole process's (the
    interpreter and every library included) and the model's own, above what
    the process held once the package and Mesa were imported and the
    package's compiled kernels loaded and its threads started
    (``kernels_ready``).
    """
    import mesa  # noqa: F401 - imported before the baseline, as is the package

    from sim import LoyaltyModel

    if path != "mesa-logit":
        kernels_ready()
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    start = time.perf_counter()
    if path == "mesa-logit":
        model = mesa_reference(customers, seed=1)
    else:
        model = LoyaltyModel(scenario(customers), seed=1, vectorised=path == "vectorised")
    build_s = time.perf_counter() - start
    seconds = []
    for _ in range(periods):
        start = time.perf_counter()
        model.step()
        seconds.append(time.perf_counter() - start)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "customers": customers,
        "path": path,
        "periods": periods,
        "build_s": build_s,
        "run_s": sum(seconds),
        "ns_per_customer_step": statistics.median(seconds) / customers * 1e9,
        "peak_bytes_per_customer": peak_kb * 1024 / customers,
        "model_bytes_per_customer": (peak_kb - baseline_kb) * 1024 / customers,
    }


def in_fresh_process(customers: int, path: str, periods: int) -> dict:
    command = [sys.executable, __file__, "--one", str(customers), path, str(periods)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def kernels_ready() -> dict:
    """Seconds until the first month of a small model is done on both paths, kernels included, in this process.

    Where a large market's passes would run on several threads
    (``compiling.blocks``), a month of the 100 customers cut into blocks is
    included too: that compiled code is the kernels' as well, and the
    threads it starts are the process's, not any model's.
    """
    start = time.perf_counter()
    from sim import LoyaltyModel
    from sim.engine import compiling

    imported = time.perf_counter()
    LoyaltyModel(scenario(100), seed=1).run(1)
    LoyaltyModel(scenario(100), seed=1, vectorised=False).run(1)
    if compiling.blocks(compiling.PARALLEL_FROM) is not None:
        threshold, compiling.PARALLEL_FROM = compiling.PARALLEL_FROM, 0  # a tiny market cut into blocks
        try:
            LoyaltyModel(scenario(100), seed=1).run(1)
        finally:
            compiling.PARALLEL_FROM = threshold
    return {"import_s": imported - start, "first_run_s": time.perf_counter() - imported}


def compile_times() -> tuple[dict, dict]:
    """``kernels_ready`` in a fresh process with an empty folder for compiled code, then in another that finds it."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        environment = {**os.environ, "NUMBA_CACHE_DIR": folder}
        command = [sys.executable, __file__, "--kernels"]
        runs = [
            json.loads(subprocess.run(command, capture_output=True, text=True, check=True, env=environment).stdout)
            for _ in range(2)
        ]
    return runs[0], runs[1]


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
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--periods", type=int, default=120, help="periods for the vectorised path")
    parser.add_argument(
        "--agent-periods",
        type=int,
        default=None,
        help="periods for the per-agent path and the Mesa reference (default: 5 up to 100k customers, 2 above)",
    )
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--kernels", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kernels:
        print(json.dumps(kernels_ready()))
        return
    if args.one:
        customers, path, periods = args.one
        print(json.dumps(measure(int(customers), path, int(periods))))
        return

    import mesa
    import numpy

    from sim import package_version

    print(
        f"loyalty-sim {package_version()}, mesa {mesa.__version__}, numpy {numpy.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}"
    )
    print(f"BLAS: {blas_kernel()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    compiled, loaded = compile_times()
    print(
        f"kernels: {compiled['first_run_s']:.1f} s to compile on first use (nothing kept on disk), "
        f"{loaded['first_run_s']:.2f} s to load in a later process (a first month of 100 customers on each path, "
        f"and in blocks on threads, included; importing the package {loaded['import_s']:.1f} s)"
    )
    print("scenario: 5 firms, 25 word-of-mouth contacts per customer, seed 1\n")
    header = (
        f"{'customers':>10} {'path':>10} {'periods':>7} {'build s':>8} {'run s':>8} {'ns/cust-step':>12} "
        f"{'peak B/cust':>11} {'model B/cust':>12}"
    )
    print(header)
    print("-" * len(header))
    ratios = []
    for customers in args.sizes:
        agent_periods = args.agent_periods if args.agent_periods is not None else (5 if customers <= 100_000 else 2)
        rows = {"vectorised": in_fresh_process(customers, "vectorised", args.periods)}
        if agent_periods > 0:
            for path in PATHS[1:]:
                rows[path] = in_fresh_process(customers, path, agent_periods)
        for r in rows.values():
            print(
                f"{r['customers']:>10,} {r['path']:>10} {r['periods']:>7} {r['build_s']:>8.2f} {r['run_s']:>8.2f} "
                f"{r['ns_per_customer_step']:>12,.0f} {r['peak_bytes_per_customer']:>11,.0f} "
                f"{r['model_bytes_per_customer']:>12,.0f}",
                flush=True,
            )
        if len(rows) == 3:
            ns = {path: r["ns_per_customer_step"] for path, r in rows.items()}
            ratios.append((customers, ns))
    print()
    for customers, ns in ratios:
        print(
            f"at {customers:>9,} customers: Mesa reference / vectorised {ns['mesa-logit'] / ns['vectorised']:5.1f}x, "
            f"per-agent / Mesa reference {ns['per-agent'] / ns['mesa-logit']:6.1f}x"
        )


if __name__ == "__main__":
    main()
