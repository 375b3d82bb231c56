"""What each firm kept and earned, over replications, with intervals.

Every number here is a mean over replications (seeds) with a Student-t 95%
interval, cut to the values the metric can take (a share stays within
0-100%) and left out with fewer than three replications
(``sim.experiments.intervals.reported_interval``); a comparison of scenarios run with the same seeds puts the interval
on the paired difference (common random numbers). Rates and flows are taken
over each firm's steady state, whose start is found from the data
(``steady_state_start``, MSER-5); shares and segments are read at the end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.experiments.intervals import Interval, reported_interval

# metric -> (label, digits)
METRICS = {
    "cohort_retention_pct": ("12-month retention %", 1),
    "annual_retention_pct": ("annualised retention %", 1),
    "monthly_churn_pct": ("monthly churn %", 2),
    "final_share_pct": ("final share %", 1),
    "profit_per_month": ("profit / month", 0),
    "discounted_profit": ("discounted profit", 0),
    "satisfaction": ("satisfaction", 3),
    "true_loyal_pct": ("true loyal %", 1),
    "spurious_loyal_pct": ("spurious %", 1),
}
"""Per firm and replication. ``cohort_retention_pct``: of the customers a firm has at a month, the share still
its customers twelve months later (cohort survival, pooled over the steady state). ``annual_retention_pct``:
the steady-state monthly retention compounded over twelve months, ``(1 - monthly churn)^12``, lower than the
cohort figure because customers who churn fast weigh more in a month's churn than in a year's survivors."""

BOUNDS = {
    **{metric: (0.0, 100.0) for metric in METRICS if metric.endswith("_pct")},
    "satisfaction": (0.0, 1.0),
}
"""The values each bounded metric can take: its interval is cut to them (a share stays within 0-100%)."""

STEADY_SERIES = ("customers", "profit", "churn_rate")
"""Series whose MSER-5 truncation points are combined into a firm's steady-state start."""
BATCH = 5
"""Observations per batch of the MSER-5 rule."""


def mser_truncation(series: np.ndarray | pd.Series, batch: int = BATCH) -> int:
    """Observations to discard as warm-up, by the MSER-5 rule (White 1997; White, Cobb & Spratt 2000).

    The series is cut into batches of ``batch`` observations (a last,
    incomplete batch is dropped) and the number ``d`` of leading batches is
    chosen that minimises the standard error of the mean of what remains,
    ``sum((Y_i - mean_d)^2) / (k - d)^2`` over the ``k - d`` batch means
    ``Y_i`` kept; ``d`` is searched over the first half of the batches, as
    the rule prescribes (a minimum later than that means the run is too short
    to show a steady state, and the half is taken). Returns ``d * batch``.
    """
    values = np.asarray(series, dtype=float)
    k = values.size // batch
    if k < 2:
        return 0
    means = values[: k * batch].reshape(k, batch).mean(axis=1)
    if not np.isfinite(means).all():
        means = np.where(np.isfinite(means), means, np.nanmean(means) if np.isfinite(means).any() else 0.0)
    best, best_d = np.inf, 0
    for d in range(k // 2 + 1):
        kept = means[d:]
        statistic = np.sum((kept - kept.mean()) ** 2) / kept.size**2
        if statistic < best - 1e-12 * max(abs(best), 1.0):
            best, best_d = statistic, d
    return best_d * batch


def steady_state_start(results: pd.DataFrame) -> pd.Series:
    """First period of each firm's steady state, found from the data.

    For each firm, and each series of ``STEADY_SERIES`` averaged over the
    replications (seeds) and, for a stacked comparison, taken per scenario,
    the MSER-5 truncation point; the firm's start is the latest of them, so
    that every scenario of a comparison is read over the same periods. A firm
    that enters late is judged from its entry. Returns a Series: firm ->
    first steady period.
    """
    starts = {}
    results = plain(results).reset_index(drop=True)  # stacked tables may repeat index labels
    scenarios = results["scenario"] if "scenario" in results else pd.Series("", index=results.index)
    for firm, rows in results.groupby("firm", sort=False):
        active = rows[rows.served > 0]
        first = int(active.period.min()) if len(active) else int(rows.period.min())
        cuts = [0]
        for _, part in active.groupby(scenarios.loc[active.index], sort=False):
            means = part.groupby("period")[list(STEADY_SERIES)].mean().sort_index()
            cuts += [mser_truncation(means.loc[means.index >= first, column]) for column in STEADY_SERIES]
        starts[firm] = first + max(cuts)
    return pd.Series(starts, name="steady_from_period", dtype=int)


def plain(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` without its ``attrs`` (the scenario that made it), a shallow copy: the same columns.

    Pandas copies a frame's ``attrs`` deeply into every frame an operation
    makes; with a whole scenario there, that copying took longer than the
    summary's own arithmetic.
    """
    if not results.attrs:
        return results
    bare = results.copy(deep=False)
    bare.attrs = {}
    return bare


def months_per_period(results: pd.DataFrame) -> int:
    """Length of the results' periods in months (the ``months`` column; 1 for tables without it)."""
    if "months" not in results or results.empty:
        return 1
    lengths = results["months"].unique()
    if len(lengths) != 1:
        raise ValueError(f"results mix periods of {', '.join(f'{m:g}' for m in sorted(lengths))} months")
    return int(lengths[0])


def per_replication(results: pd.DataFrame, start: pd.Series | None = None) -> pd.DataFrame:
    """One row per (seed, firm) with every metric of ``METRICS`` and ``steady_from_month``.

    Over each firm's steady state (from ``start``, firm -> first period;
    default ``steady_state_start(results)``): monthly churn from the
    periods' retention compounded (``1 - exp(sum log(1 - churn) / months)``),
    its annualised retention, the 12-month cohort retention (customers at
    each steady month still customers twelve months on, over customers at
    that month), profit per month and satisfaction per customer served.
    Shares and segments are read at the last period; discounted profit is
    the run's total. ``steady_from_month`` says from which month the
    steady-state figures are taken.
    """
    results = plain(results)
    start = steady_state_start(results) if start is None else start
    months = months_per_period(results)
    first = results.firm.map(start).fillna(0)
    steady = results[results.period >= first]
    served = steady.served > 0
    kept = np.log1p(-steady.churn_rate.clip(upper=1.0 - 1e-12)).where(served)
    frame = steady.assign(
        log_kept=kept,
        served_months=np.where(served, months, 0),
        weighted_satisfaction=(steady.satisfaction * steady.served).where(served, 0.0),
    )
    pooled = frame.groupby(["seed", "firm"], sort=False)
    monthly_retention = np.exp(pooled.log_kept.sum() / pooled.served_months.sum().replace(0, np.nan))
    last = results[results.period == results.period.max()].set_index(["seed", "firm"])
    customers = last.customers.replace(0, np.nan)
    table = pd.DataFrame(
        {
            "cohort_retention_pct": 100 * cohort_retention(results, start),
            "annual_retention_pct": 100 * monthly_retention**12,
            "monthly_churn_pct": 100 * (1 - monthly_retention),
            "final_share_pct": 100 * last.market_share,
            "profit_per_month": pooled.profit.sum() / (months * pooled.size()),
            "discounted_profit": last.cumulative_discounted_profit,
            "satisfaction": pooled.weighted_satisfaction.sum() / pooled.served.sum().replace(0, np.nan),
            "true_loyal_pct": 100 * last.true_loyal / customers,
            "spurious_loyal_pct": 100 * last.spurious_loyal / customers,
        }
    )
    table["steady_from_month"] = [int(start.get(firm, 0)) * months for firm in table.index.get_level_values("firm")]
    return table.reset_index()


def cohort_retention(results: pd.DataFrame, start: pd.Series | None = None) -> pd.Series:
    """Per (seed, firm): the share of the firm's customers at a month who are still its customers a year later.

    ``sum_t retained_year(t + 12 months) / sum_t customers(t)`` over the
    months ``t`` from the firm's steady-state start whose year-on month is
    in the run (``retained_year`` counts customers with a year or more of
    unbroken tenure, exactly those of a year before who stayed). NaN when the
    run has no such pair of months.
    """
    results = plain(results)
    start = steady_state_start(results) if start is None else start
    lag = 12 // months_per_period(results)
    rows = results[["seed", "firm", "period", "customers", "retained_year"]]
    later = rows.assign(period=rows.period - lag)[["seed", "firm", "period", "retained_year"]]
    pairs = rows.drop(columns="retained_year").merge(later, on=["seed", "firm", "period"])
    pairs = pairs[pairs.period >= pairs.firm.map(start).fillna(0)]
    pooled = pairs.groupby(["seed", "firm"], sort=False)[["retained_year", "customers"]].sum()
    share = pooled.retained_year / pooled.customers.replace(0, np.nan)
    index = pd.MultiIndex.from_frame(results[["seed", "firm"]].drop_duplicates())
    return share.reindex(index)


def firm_summary(results: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per firm, each metric's mean over replications with its interval.

    Columns: ``firm``, ``replications``, ``steady_from_month``, and per
    metric ``m``, ``m``, ``m_low``, ``m_high``.
    """
    rows = []
    firms = list(dict.fromkeys(results.firm))
    by_firm = per_replication(results).groupby("firm")
    for firm in firms:
        values = by_firm.get_group(firm)
        row = {"firm": firm, "replications": len(values), "steady_from_month": int(values.steady_from_month.iloc[0])}
        for metric in METRICS:
            interval = _interval(values[metric], confidence, BOUNDS.get(metric))
            row.update({metric: interval.mean, f"{metric}_low": interval.low, f"{metric}_high": interval.high})
        rows.append(row)
    return pd.DataFrame(rows)


COMPARED = (
    "cohort_retention_pct",
    "annual_retention_pct",
    "monthly_churn_pct",
    "final_share_pct",
    "profit_per_month",
    "discounted_profit",
)
"""Metrics a comparison puts paired differences on."""


def comparison(results: pd.DataFrame, reference: str, confidence: float = 0.95) -> pd.DataFrame:
    """Each scenario against ``reference``, per firm: paired differences over common seeds.

    ``results`` stacks several scenarios (column ``scenario``) run with the
    same seeds; every scenario is read from the same steady-state start per
    firm (the latest any of them needs). Columns: ``scenario``, ``firm``,
    ``steady_from_month``, and per metric ``m`` of ``COMPARED``: the
    scenario's mean ``m``, the difference ``m_diff`` and its interval
    ``m_diff_low``, ``m_diff_high``.
    """
    table = per_replication_by_scenario(results)
    base = table[table.scenario == reference].set_index(["firm", "seed"])
    rows = []
    for (scenario, firm), values in table.groupby(["scenario", "firm"], sort=False):
        values = values.set_index(["firm", "seed"])
        row = {"scenario": scenario, "firm": firm, "steady_from_month": int(values.steady_from_month.iloc[0])}
        for metric in COMPARED:
            paired = values[metric].dropna().index.intersection(base[metric].dropna().index)
            row[metric] = values[metric].mean()
            if scenario == reference or len(paired) == 0:
                continue
            low, high = BOUNDS.get(metric, (-np.inf, np.inf))
            diff = reported_interval(
                values.loc[paired, metric].to_numpy() - base.loc[paired, metric].to_numpy(),
                confidence,
                (low - high, high - low),
            )
            row.update({f"{metric}_diff": diff.mean, f"{metric}_diff_low": diff.low, f"{metric}_diff_high": diff.high})
        rows.append(row)
    return pd.DataFrame(rows)


def per_replication_by_scenario(results: pd.DataFrame) -> pd.DataFrame:
    """``per_replication`` for each scenario of a stacked comparison, all from the same steady-state start."""
    start = steady_state_start(results)
    parts = [
        per_replication(part, start).assign(scenario=name) for name, part in results.groupby("scenario", sort=False)
    ]
    return pd.concat(parts, ignore_index=True)


def _interval(values: pd.Series, confidence: float, bounds: tuple[float, float] | None = None) -> Interval:
    values = values.dropna()
    if values.empty:
        return Interval(np.nan, np.nan, np.nan, 0, confidence)
    return reported_interval(values, confidence, bounds)
