"""What is a gain in retention worth (Reichheld & Sasser 1990)?

Runs a scenario as it is and again with one firm's 12-month retention (the
share of its customers still its customers a year on) raised by some
percentage points (or by a relative amount), on the same seeds (common random
numbers), and reports what the gain is worth: the change in profit per month
in steady state and discounted over the horizon, its split into Reichheld's
sources, what the lever cost, and the closed-form lifetime value change for
the same monthly retention, margin and discount rate.

The gain is made through one lever (``via``): ``direct`` keeps a share of
customers who would leave for a rival or for no purchase (a save desk, with
no cost modelled: the study then says what such saves would be worth paying
for; customers who leave the market for outside reasons cannot be kept);
``hazard`` cuts the defection hazard, the rate at which customers leave the
market for outside reasons (a closed cohort's only way out); ``service``,
``barrier``, ``recovery`` and ``care`` raise quality, the exit fee, the
complaint recovery rate or care spend, and a bisection on the lever finds the
setting that reaches the target retention: what it would take.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.behaviour import accounting
from sim.engine.parameters import Firm, Scenario
from sim.experiments.evaluator import Evaluator, evaluator
from sim.experiments.intervals import Interval, reported_interval
from sim.experiments.replications import run_replications
from sim.experiments.summary import months_per_period, per_replication, steady_state_start

# via -> (lever, the value at the far end of the search, cost column the lever drives, or None). Retention
# rises as the lever moves from the firm's value towards the far end.
LEVERS: dict[str, tuple[str, Callable[[Firm], float], str | None]] = {
    "direct": ("save_rate", lambda f: 1.0, None),
    "hazard": ("defection_hazard", lambda f: 0.0, None),
    "service": ("quality", lambda f: 1.0, None),
    "barrier": ("exit_fee", lambda f: f.exit_fee + 20 * f.price + 100.0, None),
    "recovery": ("recovery_rate", lambda f: 1.0, "cost_recovery"),
    "care": ("care_spend", lambda f: f.care_spend + 5 * f.price + 10.0, "cost_care"),
}
SOURCES = {
    "profit_base": "base profit",
    "profit_growth": "revenue growth with tenure",
    "profit_savings": "cost savings with tenure",
    "profit_referrals": "referrals",
}
LITERATURE = (25.0, 85.0)
"""Reichheld & Sasser (1990): five points of retention raise profit by 25% to 85%, by industry."""


class LiftError(ValueError):
    """A lift that cannot be made; the message is one line for the user."""


@dataclass
class LiftStudy:
    """Everything the retention-lift report shows. Intervals are 95%, over paired replications."""

    scenario: Scenario
    firm: str
    via: str
    lever: str
    lever_before: float
    lever_after: float
    target_retention_pct: float
    seeds: list[int]
    baseline: pd.DataFrame
    lifted: pd.DataFrame
    retention_before: Interval
    retention_after: Interval
    retention_gain: Interval
    annualised_before: Interval
    annualised_after: Interval
    profit_per_month_before: Interval
    profit_per_month_change: Interval
    profit_per_month_change_pct: Interval
    discounted_profit_before: Interval
    discounted_profit_change: Interval
    discounted_profit_change_pct: Interval
    sources: dict[str, Interval]
    lever_cost: Interval | None
    margin: float
    monthly_retention: tuple[float, float]
    steady_from_month: int
    clv: tuple[float, float]
    clv_unbounded: tuple[float, float]
    search: list[tuple[float, float]] = field(default_factory=list)

    @property
    def clv_change_pct(self) -> float:
        """Closed-form lifetime value change over the run's horizon, percent."""
        return 100.0 * (self.clv[1] / self.clv[0] - 1.0)

    @property
    def clv_unbounded_change_pct(self) -> float:
        """Closed-form lifetime value change with no horizon, percent."""
        return 100.0 * (self.clv_unbounded[1] / self.clv_unbounded[0] - 1.0)


def retention_lift(
    scenario: Scenario,
    firm: str,
    *,
    points: float | None = None,
    relative: float | None = None,
    via: str = "direct",
    seeds: list[int] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    runner: Evaluator | None = None,
    progress: bool = False,
    tolerance: float = 0.1,
    max_steps: int = 12,
) -> LiftStudy:
    """Raise ``firm``'s 12-month retention by ``points`` percentage points (or by ``relative``) and measure the worth.

    Both arms are read over the same steady state: from the latest month
    either needs (``sim.experiments.summary.steady_state_start``).

    Args:
        scenario: the market.
        firm: name of the firm whose retention is raised.
        points: gain in 12-month retention, percentage points (5 by default); must be positive.
        relative: gain as a share of the baseline retention (0.05 = 5%); must be positive.
        via: which lever makes the gain (see the module docstring).
        seeds: replications (default: the scenario's seeds), shared by both arms.
        workers: processes running replications.
        scheduler: address of a running Dask scheduler to run them on instead.
        runner: the evaluator to run them on (left running); overrides ``workers`` and ``scheduler``.
        progress: show progress bars.
        tolerance: how close, in points, the achieved retention must come to the target (if
            ``max_steps`` run out first, the step that came closest is reported).
        max_steps: most bisection steps.

    Raises:
        LiftError: a target that is no gain, cannot be reached, or cannot be
            measured in a run this short; the message is one line.
    """
    if via not in LEVERS:
        raise LiftError(f"via = {via!r}: must be one of {', '.join(LEVERS)}")
    names = [f.name for f in scenario.firms]
    if firm not in names:
        raise LiftError(f"firm = {firm!r}: firms are {', '.join(names)}")
    if points is not None and relative is not None:
        raise LiftError("give --points or --relative, not both")
    if points is not None and not points > 0:
        raise LiftError(f"points = {points:g}: a gain in retention must be a positive number of percentage points")
    if relative is not None and not relative > 0:
        raise LiftError(f"relative = {relative:g}: a gain in retention must be a positive share")
    seeds = list(scenario.seeds if seeds is None else seeds)
    lever, highest, cost_column = LEVERS[via]
    index = names.index(firm)
    before = float(getattr(scenario.firms[index], lever))

    def with_lever(value: float) -> Scenario:
        firms = list(scenario.firms)
        firms[index] = firms[index].model_copy(update={lever: value})
        return scenario.model_copy(update={"firms": firms, "name": f"{scenario.name}+lift"})

    runner = runner if runner is not None else evaluator(min(workers, len(seeds)), scheduler)
    # One bar over the whole search: two arms to start with, one more per bisection step.
    bar = tqdm(total=2 * len(seeds), desc=f"lift {firm} via {via}", unit="run", disable=not progress, leave=False)

    def run(candidate: Scenario, common: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        results = run_replications(candidate, seeds, runner=runner, progress=bar)
        start = steady_state_start(results)
        if common is not None:
            start = np.maximum(start, common.reindex(start.index).fillna(0)).astype(int)
        table = per_replication(results, start)
        return results, table[table.firm == firm].set_index("seed")

    with runner:
        try:
            baseline, base = run(scenario)
            common = steady_state_start(baseline)
            start = float(base.cohort_retention_pct.mean())
            if np.isnan(start):
                months = int(baseline.period.max() + 1) * months_per_period(baseline)
                raise LiftError(
                    f"{firm}'s 12-month retention cannot be measured: the run's {months} months leave no year after "
                    f"its steady state starts at month {int(base.steady_from_month.iloc[0])}; run more months"
                )
            if relative is not None:
                target = start * (1.0 + relative)
            else:
                target = start + (5.0 if points is None else points)
            if not target < 100.0:
                raise LiftError(
                    f"{firm}'s 12-month retention is {start:.1f}%: a target of {target:.1f}% is not possible"
                )

            # Bisection on the share u of the way from the firm's lever to the far end.
            far = highest(scenario.firms[index])
            far = max(before, far) if far >= before else far

            def at(u: float) -> float:
                return before + u * (far - before)

            search: list[tuple[float, float]] = []
            low, high = 0.0, 1.0
            lifted, lift = run(with_lever(far), common)
            search.append((far, float(lift.cohort_retention_pct.mean())))
            if search[-1][1] < target - tolerance:
                raise LiftError(
                    f"{firm}'s retention cannot reach {target:.1f}% through {lever}: at {lever} = {far:g} it is "
                    f"{search[-1][1]:.1f}% (from {start:.1f}%)"
                )
            value, best = far, lifted
            for _ in range(max_steps):
                if abs(search[-1][1] - target) <= tolerance:
                    break
                u = (low + high) / 2
                bar.total += len(seeds)
                bar.set_postfix_str(f"{lever} {at(u):.3g}, retention {search[-1][1]:.1f}% -> target {target:.1f}%")
                lifted, lift = run(with_lever(at(u)), common)
                achieved = float(lift.cohort_retention_pct.mean())
                if abs(achieved - target) < abs(min(search, key=lambda s: abs(s[1] - target))[1] - target):
                    value, best = at(u), lifted
                search.append((at(u), achieved))
                if achieved < target:
                    low = u
                else:
                    high = u
        finally:
            bar.close()
    # Noise can make the search end off target: the study reports the lever value that came closest.
    return _assess(scenario, firm, via, lever, before, value, target, seeds, baseline, best, cost_column, search)


def _assess(
    scenario: Scenario,
    firm: str,
    via: str,
    lever: str,
    before: float,
    after: float,
    target: float,
    seeds: list[int],
    baseline: pd.DataFrame,
    lifted: pd.DataFrame,
    cost_column: str | None,
    search: list[tuple[float, float]],
) -> LiftStudy:
    start = np.maximum(steady_state_start(baseline), steady_state_start(lifted)).astype(int)
    months = months_per_period(baseline)
    base = per_replication(baseline, start).query("firm == @firm").set_index("seed")
    lift = per_replication(lifted, start).query("firm == @firm").set_index("seed")
    first = int(start[firm])

    def monthly(results: pd.DataFrame, column: str) -> pd.Series:
        rows = results[(results.firm == firm) & (results.period >= first)]
        return rows.groupby("seed")[column].sum() / (months * rows.groupby("seed").size())

    def pct(change: pd.Series, level: pd.Series) -> Interval:
        return reported_interval(100.0 * change / level.abs().replace(0, np.nan))

    def paired(treatment: pd.Series, control: pd.Series, bounds: tuple[float, float] | None = None) -> Interval:
        return reported_interval(treatment.to_numpy() - control.reindex(treatment.index).to_numpy(), bounds=bounds)

    share, gain = (0.0, 100.0), (-100.0, 100.0)

    profit_change = lift.profit_per_month - base.profit_per_month
    discounted_change = lift.discounted_profit - base.discounted_profit
    sources = {
        name: paired(monthly(lifted, name), monthly(baseline, name))
        for name in (*SOURCES, "exit_fees", "cost_acquisition")
    }
    lever_cost = paired(monthly(lifted, cost_column), monthly(baseline, cost_column)) if cost_column else None

    d = accounting.period_discount_rate(scenario.market.discount_rate, 1)
    rows = baseline[(baseline.firm == firm) & (baseline.period >= first)]
    margin = float(((rows.profit + rows.cost_acquisition).sum()) / max(months * rows.served.sum(), 1))
    r0 = float((1 - base.monthly_churn_pct / 100).mean())
    r1 = float((1 - lift.monthly_churn_pct / 100).mean())
    horizon = (int(baseline.period.max()) + 1) * months
    clv = tuple(float(accounting.closed_form_clv(margin, r, d, periods=horizon)) for r in (r0, r1))
    clv_unbounded = tuple(float(accounting.closed_form_clv(margin, r, d)) for r in (r0, r1))

    return LiftStudy(
        scenario=scenario,
        firm=firm,
        via=via,
        lever=lever,
        lever_before=before,
        lever_after=after,
        target_retention_pct=target,
        seeds=seeds,
        baseline=baseline,
        lifted=lifted,
        retention_before=reported_interval(base.cohort_retention_pct, bounds=share),
        retention_after=reported_interval(lift.cohort_retention_pct, bounds=share),
        retention_gain=paired(lift.cohort_retention_pct, base.cohort_retention_pct, gain),
        annualised_before=reported_interval(base.annual_retention_pct, bounds=share),
        annualised_after=reported_interval(lift.annual_retention_pct, bounds=share),
        profit_per_month_before=reported_interval(base.profit_per_month),
        profit_per_month_change=reported_interval(profit_change),
        profit_per_month_change_pct=pct(profit_change, base.profit_per_month),
        discounted_profit_before=reported_interval(base.discounted_profit),
        discounted_profit_change=reported_interval(discounted_change),
        discounted_profit_change_pct=pct(discounted_change, base.discounted_profit),
        sources=sources,
        lever_cost=lever_cost,
        margin=margin,
        monthly_retention=(r0, r1),
        steady_from_month=first * months,
        clv=clv,
        clv_unbounded=clv_unbounded,
        search=search,
    )


def lift_table(study: LiftStudy) -> pd.DataFrame:
    """The study's numbers as a tidy table: quantity, mean, low, high."""
    s = study
    rows = [
        ("12-month retention before, %", s.retention_before),
        ("12-month retention after, %", s.retention_after),
        ("retention gain, points", s.retention_gain),
        ("annualised monthly retention before, %", s.annualised_before),
        ("annualised monthly retention after, %", s.annualised_after),
        ("profit per month before", s.profit_per_month_before),
        ("profit per month change", s.profit_per_month_change),
        ("profit per month change, %", s.profit_per_month_change_pct),
        ("discounted profit before", s.discounted_profit_before),
        ("discounted profit change", s.discounted_profit_change),
        ("discounted profit change, %", s.discounted_profit_change_pct),
        *((f"change per month: {label}", s.sources[name]) for name, label in SOURCES.items()),
        ("change per month: exit fees", s.sources["exit_fees"]),
        ("change per month: acquisition spend", s.sources["cost_acquisition"]),
    ]
    if s.lever_cost is not None:
        rows.append(("change per month: lever cost", s.lever_cost))
    table = pd.DataFrame(
        [(name, i.mean, i.low, i.high) for name, i in rows], columns=["quantity", "mean", "low", "high"]
    )
    closed = pd.DataFrame(
        [
            ("closed-form CLV before (run horizon)", s.clv[0], np.nan, np.nan),
            ("closed-form CLV after (run horizon)", s.clv[1], np.nan, np.nan),
            ("closed-form CLV change, % (run horizon)", s.clv_change_pct, np.nan, np.nan),
            ("closed-form CLV change, % (no horizon)", s.clv_unbounded_change_pct, np.nan, np.nan),
        ],
        columns=table.columns,
    )
    return pd.concat([table, closed], ignore_index=True)
