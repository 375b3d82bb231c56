"""What each firm kept and earned, over replications, with intervals.

Every number here is a mean over replications (seeds) with a Student-t 95%
interval; a comparison of scenarios run with the same seeds puts the interval
on the paired difference (common random numbers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.experiments.intervals import Interval, mean_interval, paired_difference

# metric -> (label, digits)
METRICS = {
    "annual_retention_pct": ("annual retention %", 1),
    "monthly_churn_pct": ("monthly churn %", 2),
    "final_share_pct": ("final share %", 1),
    "profit_per_month": ("profit / month", 0),
    "discounted_profit": ("discounted profit", 0),
    "satisfaction": ("satisfaction", 3),
    "true_loyal_pct": ("true loyal %", 1),
    "spurious_loyal_pct": ("spurious %", 1),
}


def steady_state_start(results: pd.DataFrame) -> int:
    """First period counted as steady state: after a year, when the run is longer than two."""
    return 12 if results.period.max() >= 24 else 0


def per_replication(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (seed, firm) with every metric of ``METRICS``.

    Rates are pooled over the steady-state periods (losses over customers
    served), shares and segments are read at the last period, profit per
    month is the steady-state mean and discounted profit the run's total.
    """
    start = steady_state_start(results)
    steady = results[results.period >= start]
    last = results[results.period == results.period.max()].set_index(["seed", "firm"])
    pooled = steady.groupby(["seed", "firm"], sort=False)
    churn = pooled.losses.sum() / pooled.served.sum().replace(0, np.nan)
    customers = last.customers.replace(0, np.nan)
    table = pd.DataFrame(
        {
            "annual_retention_pct": 100 * (1 - churn) ** 12,
            "monthly_churn_pct": 100 * churn,
            "final_share_pct": 100 * last.market_share,
            "profit_per_month": pooled.profit.mean(),
            "discounted_profit": last.cumulative_discounted_profit,
            "satisfaction": pooled.satisfaction.mean(),
            "true_loyal_pct": 100 * last.true_loyal / customers,
            "spurious_loyal_pct": 100 * last.spurious_loyal / customers,
        }
    )
    return table.reset_index()


def firm_summary(results: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per firm, each metric's mean over replications with its interval.

    Columns: ``firm``, ``replications``, and per metric ``m``, ``m``,
    ``m_low``, ``m_high``.
    """
    rows = []
    firms = list(dict.fromkeys(results.firm))
    by_firm = per_replication(results).groupby("firm")
    for firm in firms:
        values = by_firm.get_group(firm)
        row = {"firm": firm, "replications": len(values)}
        for metric in METRICS:
            interval = _interval(values[metric], confidence)
            row.update({metric: interval.mean, f"{metric}_low": interval.low, f"{metric}_high": interval.high})
        rows.append(row)
    return pd.DataFrame(rows)


def comparison(results: pd.DataFrame, reference: str, confidence: float = 0.95) -> pd.DataFrame:
    """Each scenario against ``reference``, per firm: paired differences over common seeds.

    ``results`` stacks several scenarios (column ``scenario``) run with the
    same seeds. Columns: ``scenario``, ``firm``, and per metric ``m``: the
    scenario's mean ``m``, the difference ``m_diff`` and its interval
    ``m_diff_low``, ``m_diff_high``.
    """
    table = per_replication_by_scenario(results)
    base = table[table.scenario == reference].set_index(["firm", "seed"])
    rows = []
    for (scenario, firm), values in table.groupby(["scenario", "firm"], sort=False):
        values = values.set_index(["firm", "seed"])
        row = {"scenario": scenario, "firm": firm}
        for metric in (
            "monthly_churn_pct",
            "annual_retention_pct",
            "final_share_pct",
            "profit_per_month",
            "discounted_profit",
        ):
            paired = values[metric].dropna().index.intersection(base[metric].dropna().index)
            row[metric] = values[metric].mean()
            if scenario == reference or len(paired) == 0:
                continue
            diff = paired_difference(values.loc[paired, metric], base.loc[paired, metric], confidence)
            row.update({f"{metric}_diff": diff.mean, f"{metric}_diff_low": diff.low, f"{metric}_diff_high": diff.high})
        rows.append(row)
    return pd.DataFrame(rows)


def per_replication_by_scenario(results: pd.DataFrame) -> pd.DataFrame:
    """``per_replication`` for each scenario of a stacked comparison."""
    parts = [per_replication(part).assign(scenario=name) for name, part in results.groupby("scenario", sort=False)]
    return pd.concat(parts, ignore_index=True)


def _interval(values: pd.Series, confidence: float) -> Interval:
    values = values.dropna()
    if values.empty:
        return Interval(np.nan, np.nan, np.nan, 0, confidence)
    return mean_interval(values, confidence)
