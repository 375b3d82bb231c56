"""Write the pinned baseline: key outputs of shipped scenarios at fixed seeds and small sizes.

Run it only when a change in behaviour is intended, and say why in the commit:

    .venv/bin/python tests/update_baseline.py

``tests/test_baseline.py`` compares a fresh run with the stored table exactly;
any other difference is a bug.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline" / "baseline.csv"

SCENARIOS = ("baseline", "high_exit_barriers", "loyalty_programme", "service_failure", "new_entrant", "price_war")
"""Shipped scenarios pinned: the reference market, barriers, a programme, an outage, an entrant and price events."""
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


def read_baseline() -> pd.DataFrame:
    """The stored baseline, every number read back exactly as written (Python's own float parsing)."""
    exact = dict.fromkeys(COLUMNS, lambda text: float(text) if text else float("nan"))
    return pd.read_csv(BASELINE, converters=exact)


def main() -> int:
    """Rewrite the stored baseline from the current model."""
    table = pinned_outputs()
    BASELINE.parent.mkdir(parents=True, exist_ok=True)
    partial = BASELINE.with_name(f".{BASELINE.name}.partial")
    table.to_csv(partial, index=False, float_format="%.17g")
    partial.replace(BASELINE)
    print(f"{BASELINE.relative_to(HERE.parent)}: {len(table)} rows, {len(SCENARIOS)} scenarios x {len(SEEDS)} seeds")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())
