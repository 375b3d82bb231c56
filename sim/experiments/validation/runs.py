"""The per-seed runs the facts are measured on: top-level functions, so that any worker can run them."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine.model import LoyaltyModel
from sim.engine.parameters import Scenario

SATISFACTION_LEVELS = (0.2, 0.4, 0.6, 0.8)
"""Edges of the five satisfaction levels on the model's 0..1 scale: equal fifths, so that levels 1-2 are the
zone the default ``dissatisfied`` (0.4) marks, level 5 the zone of ``very_satisfied`` (0.8)."""


def observe_market(scenario: Scenario, warm_up: int, observed: int, follow_up: int, seed: int) -> dict[str, Any]:
    """Run a market and observe its customers month by month.

    Over the ``observed`` months after ``warm_up``, every served customer's
    satisfaction level, complaint and choice are recorded; each is followed
    for ``follow_up`` more months to see whether it left its firm. Word of
    mouth is counted as sent (customers who talked) and as heard the next
    month (messages delivered to contacts).

    Returns:
        Counts (floats or arrays) summed over the observed months, and the
        firms' tidy results.
    """
    model = LoyaltyModel(scenario, seed=seed)
    p = scenario.population
    outside = model.n_firms
    months = warm_up + observed + follow_up
    n = scenario.market.customers
    firm_after = np.empty((months, n), dtype=np.int16)  # the firm each customer has at the end of each month
    served_by = np.empty((months, n), dtype=np.int16)
    dissatisfied = np.zeros((months, n), dtype=bool)
    complained = np.zeros((months, n), dtype=bool)
    resolved = np.zeros((months, n), dtype=bool)
    level = np.zeros((months, n), dtype=np.int8)
    talkers = {"satisfied": 0.0, "dissatisfied": 0.0}
    messages = {"satisfied": 0.0, "dissatisfied": 0.0}
    for month in range(months):
        model.step()
        c = model.customers
        if warm_up < month <= warm_up + observed:  # what was said last month is heard this month
            messages["satisfied"] += float(model.recommendations[:outside].sum())
            messages["dissatisfied"] += float(model.warnings[:outside].sum())
        if warm_up <= month < warm_up + observed:
            talkers["satisfied"] += float((c.said > 0).sum())
            talkers["dissatisfied"] += float((c.said < 0).sum())
        served = c.served_firm < outside
        firm_after[month] = c.firm
        served_by[month] = c.served_firm
        # A resolved complaint lifts satisfaction above the threshold; the complaint still marks the month.
        dissatisfied[month] = served & ((c.satisfaction < p.dissatisfied) | c.complained)
        complained[month] = c.complained
        resolved[month] = c.recovered
        level[month] = np.where(served, np.digitize(np.nan_to_num(c.satisfaction), SATISFACTION_LEVELS), -1)

    window = slice(warm_up, warm_up + observed)
    served = served_by[window] < outside
    stayed = firm_after[window] == served_by[window]
    by_level = level[window]
    kept_at_level = np.array([(stayed & (by_level == k)).sum() for k in range(5)], dtype=float)
    at_level = np.array([(by_level == k).sum() for k in range(5)], dtype=float)

    left_within = np.zeros((observed, n), dtype=bool)  # left the firm it had that month within follow_up months
    for i, month in enumerate(range(warm_up, warm_up + observed)):
        firm = served_by[month]
        left_within[i] = (firm < outside) & np.any(firm_after[month : month + follow_up] != firm, axis=0)
    unhappy = dissatisfied[window]
    voiced = complained[window]
    fixed = voiced & resolved[window]
    silent = unhappy & ~voiced
    content = served & ~unhappy
    model.release()
    return {
        "kept_at_level": kept_at_level,
        "at_level": at_level,
        "dissatisfied": float(unhappy.sum()),
        "complained": float(voiced.sum()),
        "silent": float(silent.sum()),
        "silent_left": float((silent & left_within).sum()),
        "complained_left": float((voiced & left_within).sum()),
        "resolved": float(fixed.sum()),
        "resolved_left": float((fixed & left_within).sum()),
        "unresolved": float((voiced & ~fixed).sum()),
        "unresolved_left": float((voiced & ~fixed & left_within).sum()),
        "satisfied": float(content.sum()),
        "satisfied_left": float((content & left_within).sum()),
        "silent_left_same_month": float((silent & ~stayed).sum()),
        "satisfied_left_same_month": float((content & ~stayed).sum()),
        "talkers": talkers,
        "messages": messages,
        "results": model.results(),
    }


def follow_cohorts(scenario: Scenario, periods: int, tenure_months: int, seed: int) -> dict[str, np.ndarray]:
    """Churn of customers who joined a firm during the run, by tenure (a life table).

    Every customer who joins a firm during the run is followed from its
    first month; at each tenure it is at risk of leaving, and it either
    leaves or stays. Customers present at the start (whose tenure was drawn,
    not lived) are left out.

    Returns:
        ``at_risk`` and ``left``: arrays over tenure 0..``tenure_months``-1
        (tenure 0 is a customer's first month).
    """
    model = LoyaltyModel(scenario, seed=seed)
    outside = model.n_firms
    joined = np.full(scenario.market.customers, -1)  # month of joining the current firm, -1: not followed
    at_risk = np.zeros(tenure_months)
    left = np.zeros(tenure_months)
    for month in range(periods):
        model.step()
        c = model.customers
        tenure = month - joined
        followed = (c.served_firm < outside) & (joined >= 0) & (tenure < tenure_months)
        leaves = c.firm != c.served_firm
        at_risk += np.bincount(tenure[followed], minlength=tenure_months)
        left += np.bincount(tenure[followed & leaves], minlength=tenure_months)
        new = (c.firm < outside) & leaves
        joined = np.where(new, month + 1, np.where(c.firm == outside, -1, joined))
    model.release()
    return {"at_risk": at_risk, "left": left}


def lift_barrier(
    locked: Scenario, released: Scenario, ban_month: int, after: int, firm: int, seed: int
) -> dict[str, Any]:
    """Run a locked-in market with and without a ban on exit fees, on the same seed.

    The customers of ``firm`` at the end of the month before the ban are
    grouped by Dick & Basu segment and followed for ``after`` months in
    both arms: did each leave the firm?

    Returns:
        Per arm (``"kept"``, ``"banned"``): the firm's tidy results, and per
        segment the number of customers and how many of them left within
        ``after`` months.
    """
    out: dict[str, Any] = {}
    for arm, scenario in (("kept", locked), ("banned", released)):
        model = LoyaltyModel(scenario, seed=seed)
        for _ in range(ban_month):
            model.step()
        c = model.customers
        segment = np.where(c.firm == firm, c.loyalty, -1)
        gone = np.zeros(len(c), dtype=bool)
        for _ in range(after):
            model.step()
            gone |= (segment >= 0) & (model.customers.firm != firm)
        model.release()
        out[arm] = {
            "results": model.results(),
            "members": np.bincount(segment[segment >= 0], minlength=4).astype(float),
            "left": np.bincount(segment[gone], minlength=4).astype(float),
        }
    return out


def raise_price(
    scenario: Scenario, firm: int, month: int, months: int, rise: float, seed: int
) -> dict[str, np.ndarray]:
    """Demand for one firm by Dick & Basu segment, with and without a price rise, on the same seed.

    The firm's customers at the end of month ``month - 1`` are grouped by
    segment; in one arm the firm raises its price by ``rise`` at ``month``.
    Demand is what each group buys from the firm over the next ``months``
    months (units of spend, so a customer who leaves stops counting).

    Returns:
        ``control`` and ``raised``: units bought per segment (true, latent,
        spurious, none); ``members``: customers per segment.
    """
    out: dict[str, np.ndarray] = {}
    for arm, factor in (("control", 1.0), ("raised", 1.0 + rise)):
        model = LoyaltyModel(scenario, seed=seed)
        for _ in range(month):
            model.step()
        segment = np.where(model.customers.firm == firm, model.customers.loyalty, -1)
        model.firms[firm].levers.price = model.firms[firm].levers.price * factor
        bought = np.zeros(4)
        for _ in range(months):
            model.step()
            c = model.customers
            buying = (c.served_firm == firm) & (segment >= 0)
            bought += np.bincount(segment[buying], weights=c.volume[buying], minlength=4)
        model.release()
        out[arm] = bought
        out["members"] = np.bincount(segment[segment >= 0], minlength=4).astype(float)
    return out


def constant_retention_value(scenario: Scenario, seed: int) -> dict[str, float]:
    """Lifetime value of a closed cohort, simulated: discounted profit over the run per starting customer."""
    model = LoyaltyModel(scenario, seed=seed).run()
    model.release()
    results = model.results()
    first = results[results.period == 0]
    return {
        "clv": float(results.cumulative_discounted_profit.iloc[-1] / first.served.sum()),
        "retention": float(1.0 - results.losses.sum() / results.served.sum()),
        "gains": float(results.gains.sum()),
    }


def run_results(scenario: Scenario, seed: int) -> dict[str, Any]:
    """A plain run of ``scenario``: its tidy results."""
    model = LoyaltyModel(scenario, seed=seed).run()
    model.release()
    return {"results": model.results()}


def service_outcomes(scenario: Scenario, firm: int, start: int, months: int, seed: int) -> dict[str, float]:
    """What one firm's customers felt and said over ``months`` months from month ``start``.

    Counted per customer-month served: satisfaction (summed), the very
    satisfied (at or above ``very_satisfied``), complaints, and the
    recommendations and warnings its customers sent.
    """
    model = LoyaltyModel(scenario, seed=seed)
    very = scenario.population.very_satisfied
    totals = dict.fromkeys(("served", "satisfaction", "very_satisfied", "complaints", "recommended", "warned"), 0.0)
    for month in range(start + months):
        model.step()
        if month < start:
            continue
        c = model.customers
        mine = c.served_firm == firm
        totals["served"] += float(mine.sum())
        totals["satisfaction"] += float(c.satisfaction[mine].sum())
        totals["very_satisfied"] += float((c.satisfaction[mine] >= very).sum())
        totals["complaints"] += float(c.complained[mine].sum())
        totals["recommended"] += float((c.said[mine] > 0).sum())
        totals["warned"] += float((c.said[mine] < 0).sum())
    model.release()
    return totals


def follow_through_price_change(scenario: Scenario, firm: int, month: int, months: int, seed: int) -> dict[str, Any]:
    """Month by month, the share of a firm's customers at the end of ``month - 1`` who leave it.

    Returns ``before``: the firm's churn in each of the twelve months before
    ``month`` (losses over its customers at the start of the month);
    ``after``: in each month from ``month`` on, the share of the followed
    customers still with the firm that leave it; and the tidy results.
    """
    model = LoyaltyModel(scenario, seed=seed)
    before = []
    for _ in range(month):
        held = model.customers.firm == firm
        model.step()
        before.append(float((held & (model.customers.firm != firm)).sum()) / max(float(held.sum()), 1.0))
    followed = model.customers.firm == firm
    after = []
    for _ in range(months):
        still = followed & (model.customers.firm == firm)
        model.step()
        after.append(float((still & (model.customers.firm != firm)).sum()) / max(float(still.sum()), 1.0))
    model.release()
    return {"before": np.array(before[-12:]), "after": np.array(after), "results": model.results()}


def held_for_rivals(scenario: Scenario, firm: int, start: int, months: int, seed: int) -> dict[str, float]:
    """Customer-months, from month ``start`` for ``months`` months, of ``firm``'s customers latently loyal elsewhere.

    Counts ``firm``'s customers at the end of each month (``customers``) and
    those among them who like another firm best, every switching cost aside,
    without a high attitude to ``firm`` (``held``: latently loyal to a rival,
    held where they are).
    """
    model = LoyaltyModel(scenario, seed=seed)
    counts = {"customers": 0.0, "held": 0.0}
    for month in range(start + months):
        model.step()
        if month >= start:
            c = model.customers
            mine = c.firm == firm
            counts["customers"] += float(mine.sum())
            counts["held"] += float((mine & (c.preferred >= 0)).sum())
    model.release()
    return counts
