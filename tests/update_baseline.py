"""Write the pinned baseline: key outputs of shipped scenarios at fixed seeds and small sizes.

Run it only when a change in behaviour is intended, and say why in the commit:

    .venv/bin/python tests/update_baseline.py

``tests/test_baseline.py`` compares a fresh run with the stored table exactly;
any other difference is a bug.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline" / "baseline.csv"

SCENARIOS = (
    "baseline",
    "high_exit_barriers",
    "loyalty_programme",
    "service_failure",
    "new_entrant",
    "price_war",
    "loyal_core",
)
"""Shipped scenarios pinned: the reference market, barriers, a programme, an outage, an entrant, price events, and
settled customers with unequal exposure to outside reasons."""
SEEDS = (1, 2)
CUSTOMERS = 800
PERIODS = 48
MONTHS = (0, 6, 12, 24, 36, 47)
"""Months at which the outputs are kept: the start, the first year, and every year after."""
COLUMNS = (
    "customers",
    "gains",
    "losses",
    "churn_rate",
    "profit",
    "cumulative_discounted_profit",
    "satisfaction",
    "trust",
    "tenure",
    "true_loyal",
    "latent_new",
    "latent_loyal",
    "latent_elsewhere",
    "retained_year",
    "spurious_loyal",
    "not_loyal",
    "complaints",
    "referrals",
)


def pinned_outputs() -> pd.DataFrame:
    """The outputs the baseline pins, computed afresh: one row per scenario, seed, month and firm."""
    from sim import LoyaltyModel, load_scenario

    frames = []
    for name in SCENARIOS:
        scenario = load_scenario(name)
        scenario.market.customers = CUSTOMERS
        scenario.market.periods = PERIODS
        for seed in SEEDS:
            results = LoyaltyModel(scenario, seed=seed).run().results()
            kept = results[results.period.isin(MONTHS)]
            frames.append(kept[["scenario", "seed", "period", "firm", *COLUMNS]])
    return pd.concat(frames, ignore_index=True)


def read_baseline(source: Path | io.StringIO = BASELINE) -> pd.DataFrame:
    """The stored baseline, every number read back exactly as written (Python's own float parsing)."""
    exact = dict.fromkeys(COLUMNS, lambda text: float(text) if text else float("nan"))
    return pd.read_csv(source, converters=exact)


def portable_environment() -> dict[str, str]:
    """This process's environment with NumPy's AVX-512 kernels switched off.

    On processors with AVX-512, NumPy computes ``exp``, ``log`` and their
    kin with kernels of its own, which can differ from the usual ones in the
    last binary digit: a profit total then differs by about one part in
    10**15. The baseline is computed, and compared, with the kernels that
    every x86-64 processor runs, so that it is the same on every machine.
    """
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    wide = [name for name in __cpu_dispatch__ if ("AVX512" in name or name == "X86_V4") and __cpu_features__.get(name)]
    environment = dict(os.environ)
    if wide:
        environment["NPY_DISABLE_CPU_FEATURES"] = " ".join(wide)
    return environment


def portable_outputs() -> pd.DataFrame:
    """``pinned_outputs`` computed in a fresh process with the kernels of ``portable_environment``."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--print"],
        env=portable_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"computing the pinned outputs failed:\n{done.stderr}")
    return read_baseline(io.StringIO(done.stdout))


def main(arguments: list[str]) -> int:
    """Rewrite the stored baseline from the current model (``--print``: write it to standard output instead)."""
    if arguments == ["--print"]:
        pinned_outputs().to_csv(sys.stdout, index=False, float_format="%.17g")
        return 0
    table = portable_outputs()
    BASELINE.parent.mkdir(parents=True, exist_ok=True)
    partial = BASELINE.with_name(f".{BASELINE.name}.partial")
    table.to_csv(partial, index=False, float_format="%.17g")
    partial.replace(BASELINE)
    print(f"{BASELINE.relative_to(HERE.parent)}: {len(table)} rows, {len(SCENARIOS)} scenarios x {len(SEEDS)} seeds")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main(sys.argv[1:]))
