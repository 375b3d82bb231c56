"""What each firm books and what the market records, period by period.

Every function here reads the population arrays after the customers' step and
aggregates them per firm with ``np.bincount``, so the same numbers come out
whichever path advanced the customers.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour import accounting, value
from sim.behaviour.choice import would_choose_again
from sim.behaviour.segments import SEGMENT_NAMES, loyalty_segment
from sim.engine.parameters import Scenario
from sim.engine.period import option_utilities
from sim.engine.population import Customers, MarketState, blocks


def loyalty_segments(customers: Customers, market: MarketState, scenario: Scenario) -> np.ndarray:
    """Dick & Basu segment of every customer towards its current firm (-1 when not served)."""
    codes = np.empty(len(customers), dtype=np.int8)
    for rows in blocks(len(customers)):
        firm = customers.firm[rows].astype(np.intp)
        tenure = customers.tenure[rows]
        utility = option_utilities(
            customers,
            rows,
            slice(None),
            firm,
            tenure,
            customers.expectation[rows],
            customers.trust[:, rows],
            customers.points[rows],
            market,
            scenario,
            barriers=False,
        )
        attitude = would_choose_again(utility, firm, scenario.market.attitude_threshold)
        segment = loyalty_segment(attitude, tenure, patronage_months=scenario.market.patronage_months)
        codes[rows] = np.where(firm < market.n_firms, segment, -1)
    return codes


def firm_metrics(customers: Customers, market: MarketState, scenario: Scenario, period: int) -> dict[str, np.ndarray]:
    """One period's metrics per firm, each an array of shape (F,).

    Counts: ``served`` (at the start of the period), ``customers`` (at its
    end), ``gains``, ``losses``, ``referrals``, ``complaints``, ``recovered``,
    ``failures``, ``recommendations_sent``, ``warnings_sent``, and the Dick &
    Basu segments ``true_loyal``, ``latent_loyal``, ``spurious_loyal``,
    ``not_loyal`` (at the end of the period), and the losses by the segment
    the leavers were in at the end of the previous period (``lost_true``,
    ``lost_latent``, ``lost_spurious``, ``lost_not_loyal``). Rates: ``churn_rate`` = losses / served,
    ``retention_rate`` = 1 - churn, ``market_share`` of served customers.
    Money: ``revenue``, ``exit_fees``, costs by kind (``cost_goods``,
    ``cost_serving``, ``cost_care``, ``cost_brand``, ``cost_programme``,
    ``cost_recovery``, ``cost_acquisition``) and ``profit``. Means:
    ``satisfaction`` (served), ``trust`` and ``tenure`` (customers at the end).
    ``clv``: lifetime value of a customer at this period's margin and
    retention, by the closed form.

    Updates ``customers.loyalty`` to the segments at the end of the period.
    """
    n_firms = market.n_firms
    size = n_firms + 1
    m = scenario.market

    def per_firm(index, weights=None):
        return np.bincount(index, weights=weights, minlength=size)[:n_firms].astype(float)

    served_firm = customers.served_firm.astype(np.intp)
    firm = customers.firm.astype(np.intp)
    is_served = served_firm < n_firms
    moved = firm != served_firm

    served = per_firm(served_firm)
    now = per_firm(firm)
    gains = per_firm(firm[moved])
    losses = per_firm(served_firm[moved])
    with np.errstate(invalid="ignore", divide="ignore"):
        churn = np.where(served > 0, losses / served, 0.0)
        total = now.sum()
        share = now / total if total > 0 else np.zeros(n_firms)

    tenure = customers.served_tenure
    price = market.price[served_firm]
    bill = price * customers.volume
    revenue = per_firm(served_firm, bill)
    tier = value.tier(tenure, silver_after=market.silver_after[served_firm], gold_after=market.gold_after[served_firm])
    members = np.bincount(served_firm * 3 + tier, minlength=size * 3).reshape(size, 3)[:n_firms]
    perks = market.silver_perk[:n_firms] * members[:, 1] + market.gold_perk[:n_firms] * members[:, 2]
    # Customers served by no one land in the outside option's bin, which every sum drops.
    serving = accounting.serving_cost_multiplier(tenure, floor=m.serving_cost_floor, months=m.serving_cost_months)
    levers = {
        name: getattr(market, name)[:n_firms]
        for name in (
            "unit_cost",
            "serving_cost",
            "care_spend",
            "brand_investment",
            "recovery_cost",
            "acquisition_spend",
        )
    }

    row: dict[str, np.ndarray] = {"period": np.full(n_firms, period)}
    row["served"] = served
    row["customers"] = now
    row["gains"] = gains
    row["losses"] = losses
    row["churn_rate"] = churn
    row["retention_rate"] = 1.0 - churn
    row["market_share"] = share
    row["referrals"] = per_firm(firm[customers.referred])
    row["revenue"] = revenue
    row["exit_fees"] = per_firm(served_firm, customers.exit_fee_paid)
    row["cost_goods"] = levers["unit_cost"] * per_firm(served_firm, customers.volume)
    row["cost_serving"] = levers["serving_cost"] * per_firm(served_firm, serving)
    row["cost_care"] = levers["care_spend"] * served
    row["cost_brand"] = levers["brand_investment"] * served
    row["cost_programme"] = market.points_rate[:n_firms] * revenue + perks
    row["complaints"] = per_firm(served_firm[customers.complained])
    row["recovered"] = per_firm(served_firm[customers.recovered])
    row["cost_recovery"] = levers["recovery_cost"] * row["recovered"]
    row["cost_acquisition"] = levers["acquisition_spend"] * gains
    row["profit"] = row["revenue"] + row["exit_fees"] - sum(row[k] for k in COST_COLUMNS)
    row.update(profit_sources(customers, market, scenario, row, serving, tier))
    row["failures"] = per_firm(served_firm[customers.failed])
    row["recommendations_sent"] = per_firm(served_firm[customers.said > 0])
    row["warnings_sent"] = per_firm(served_firm[customers.said < 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        row["satisfaction"] = per_firm(served_firm, customers.satisfaction) / served  # NaNs fall in the outside bin
        rows = np.arange(firm.shape[0])
        row["trust"] = per_firm(firm, customers.trust[firm, rows]) / now
        row["tenure"] = per_firm(firm, customers.tenure) / now
        margin = (row["profit"] + row["cost_acquisition"]) / served
        d = accounting.period_discount_rate(m.discount_rate, m.period_months)
        row["clv"] = accounting.closed_form_clv(margin, row["retention_rate"], d)

    def per_firm_and_segment(firm_index, segment_code):
        counts = np.bincount(firm_index * 4 + np.maximum(segment_code, 0), minlength=size * 4)
        return counts.reshape(size, 4)[:n_firms].astype(float)

    left = moved & is_served
    lost = per_firm_and_segment(served_firm[left], customers.loyalty[left])
    customers.loyalty[:] = loyalty_segments(customers, market, scenario)
    held = per_firm_and_segment(firm, customers.loyalty)
    for code in range(len(SEGMENT_NAMES)):
        row[SEGMENT_COLUMNS[code]] = held[:, code]
        row[LOST_COLUMNS[code]] = lost[:, code]
    row["price"] = market.price[:n_firms].copy()
    row["quality"] = market.quality[:n_firms].copy()
    row["image"] = market.image[:n_firms].copy()
    return row


def profit_sources(
    customers: Customers,
    market: MarketState,
    scenario: Scenario,
    row: dict[str, np.ndarray],
    serving: np.ndarray,
    tier: np.ndarray,
) -> dict[str, np.ndarray]:
    """Profit from serving customers, split by Reichheld's (1996) sources.

    ``profit_growth``: gross margin on spend above a new customer's (spend
    grows with tenure). ``profit_savings``: serving cost saved against a new
    customer's. ``profit_referrals``: the whole contribution of customers who
    joined on a recommendation. ``profit_base``: the rest of the contribution
    of serving customers, as if every other customer were new. Every customer
    pays the firm's one price, so no price premium is realised: loyal
    customers' lower price sensitivity shows as retention instead. By
    construction ``profit = profit_base + profit_growth + profit_savings +
    profit_referrals + exit_fees - cost_acquisition``.
    """
    n_firms = market.n_firms
    size = n_firms + 1
    served_firm = customers.served_firm.astype(np.intp)
    referral = customers.served_by_referral
    own = ~referral

    def per_firm(mask, weights):
        return np.bincount(served_firm[mask], weights=weights[mask], minlength=size)[:n_firms]

    unit_margin = market.price[:n_firms] * (1.0 - market.points_rate[:n_firms]) - market.unit_cost[:n_firms]
    base_volume = np.asarray(scenario.population.segment_spend)[customers.segment]
    growth = unit_margin * per_firm(own, customers.volume - base_volume)
    savings = market.serving_cost[:n_firms] * per_firm(own, 1.0 - serving)

    served = np.bincount(served_firm[referral], minlength=size)[:n_firms]
    members = np.bincount(served_firm[referral] * 3 + tier[referral], minlength=size * 3).reshape(size, 3)[:n_firms]
    referral_contribution = (
        unit_margin * per_firm(referral, customers.volume)
        - market.serving_cost[:n_firms] * per_firm(referral, serving)
        - (market.care_spend[:n_firms] + market.brand_investment[:n_firms]) * served
        - market.silver_perk[:n_firms] * members[:, 1]
        - market.gold_perk[:n_firms] * members[:, 2]
        - market.recovery_cost[:n_firms] * per_firm(referral, customers.recovered.astype(float))
    )
    operating = row["profit"] - row["exit_fees"] + row["cost_acquisition"]
    return {
        "profit_base": operating - growth - savings - referral_contribution,
        "profit_growth": growth,
        "profit_savings": savings,
        "profit_referrals": referral_contribution,
    }


COST_COLUMNS = (
    "cost_goods",
    "cost_serving",
    "cost_care",
    "cost_brand",
    "cost_programme",
    "cost_recovery",
    "cost_acquisition",
)
SEGMENT_COLUMNS = ("true_loyal", "latent_loyal", "spurious_loyal", "not_loyal")
LOST_COLUMNS = ("lost_true", "lost_latent", "lost_spurious", "lost_not_loyal")
