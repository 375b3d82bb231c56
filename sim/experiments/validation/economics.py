"""Facts about money: acquisition against retention cost, what retention is worth, lifetime value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.behaviour import accounting
from sim.engine.parameters import Firm, Market, Population, Scenario
from sim.experiments.intervals import Interval, mean_interval
from sim.experiments.lift import LITERATURE, retention_lift
from sim.experiments.validation.lab import (
    FOLLOW_UP,
    OBSERVED,
    WARM_UP,
    Experiments,
    FactResult,
    _fact,
)
from sim.experiments.validation.runs import constant_retention_value


def acquisition_cost(lab: Experiments) -> FactResult:
    """Seed 004: winning a new customer costs about six times what keeping one costs.

    From the firms' books in the baseline, pooled over firms and the
    observed months: acquisition cost per customer won
    (``cost_acquisition / gains``) against retention cost per customer-year
    (12 x (care + complaint recovery + loyalty programme) per customer-month
    served). Pass: the ratio's 95% interval lies within 5 to 7.
    """
    acquisition, retention, ratio = [], [], []
    for run in lab.baseline():
        books = run["results"]
        books = books[books.period >= WARM_UP]
        per_new = books.cost_acquisition.sum() / max(books.gains.sum(), 1.0)
        keeping = (books.cost_care + books.cost_recovery + books.cost_programme).sum()
        per_year = 12.0 * keeping / max(books.served.sum(), 1.0)
        acquisition.append(per_new)
        retention.append(per_year)
        ratio.append(per_new / per_year)
    measures = {
        "ratio": mean_interval(ratio),
        "acquisition_per_customer": mean_interval(acquisition),
        "retention_per_customer_year": mean_interval(retention),
    }
    rule = "5 <= ratio.low and ratio.high <= 7"
    detail = pd.DataFrame(
        {
            "cost": ["winning a customer", "keeping a customer a year"],
            "amount": [measures["acquisition_per_customer"].mean, measures["retention_per_customer_year"].mean],
            "low": [measures["acquisition_per_customer"].low, measures["retention_per_customer_year"].low],
            "high": [measures["acquisition_per_customer"].high, measures["retention_per_customer_year"].high],
        }
    )
    return _fact(
        "acquisition_cost",
        "Winning a customer costs about six times keeping one",
        claim="Developing a new customer costs about six times what it costs to keep an existing one.",
        source="seed 004 ('the cost of a new customer is 6 times that of keeping an old one')",
        measure="acquisition cost per customer won over retention cost per customer-year",
        headline="ratio",
        unit="ratio",
        measures=measures,
        model="{ratio}: {acquisition_per_customer:1} per customer won, {retention_per_customer_year:1} per "
        "customer-year kept",
        criterion="the ratio's 95% interval lies within 5 to 7",
        rule=rule,
        depends_on=(
            "firms[].acquisition_spend",
            "firms[].care_spend",
            "firms[].recovery_cost",
            "firms[].recovery_rate",
            "firms[].points_rate",
            "firms[].silver_perk",
            "firms[].gold_perk",
        ),
        gives_up="Acquisition and care spend are levers; move them apart and the market is no longer one where "
        "winning a customer costs six times keeping one.",
        note="Retention cost counts care, complaint recovery and programme costs; brand spend is left out "
        "(it renews image for prospects and customers alike).",
        setup=lab.setup(WARM_UP + OBSERVED + FOLLOW_UP),
        detail=detail,
        scenarios={"baseline": lab.scenario.model_dump(mode="json")},
    )


def retention_profit(lab: Experiments) -> FactResult:
    """Reichheld & Sasser (1990): 5 more points of retention raise profit by 25% to 85% or more.

    Under the literature's assumptions: a firm's customers leave at a
    constant rate (annual retention 85%, no competitor reacting), profit per
    customer grows with tenure (spend grows and serving cost falls, the
    baseline's settings), profit is discounted at the market's rate, and the
    horizon is long enough to cover a customer's life (15 years fast, 20
    full). ``sim.experiments.lift.retention_lift`` raises 12-month retention
    by 5 points directly (a lower defection rate) on the same seeds and
    reports the change in discounted profit. Pass: the change lies within
    the 25-85% the literature reports (mean) and is clearly positive.
    """
    size = lab.sizes
    cohort = retention_cohort(lab.scenario, size["cohort_customers"], size["cohort_months"])
    study = retention_lift(cohort, "A", points=5.0, via="hazard", seeds=lab.seeds, runner=lab.runner, tolerance=0.2)
    flat = cohort.model_copy(
        update={"market": cohort.market.model_copy(update={"spend_growth": 0.0, "serving_cost_floor": 1.0})}
    )
    d = accounting.period_discount_rate(cohort.market.discount_rate, 1)
    r0, r1 = study.monthly_retention
    constant_margin = 100.0 * (
        accounting.closed_form_clv(1.0, r1, d, periods=size["cohort_months"])
        / accounting.closed_form_clv(1.0, r0, d, periods=size["cohort_months"])
        - 1.0
    )
    measures = {
        "profit_change_pct": study.discounted_profit_change_pct,
        "retention_gain": study.retention_gain,
        "retention_before": study.retention_before,
        "retention_after": study.retention_after,
        "constant_margin_pct": Interval(constant_margin, constant_margin, constant_margin, 1, 0.95),
        **{f"change_{name}": interval for name, interval in study.sources.items()},
    }
    low, high = LITERATURE
    rule = f"{low:g} <= profit_change_pct.mean <= {high:g} and profit_change_pct.low > 0"
    detail = pd.DataFrame(
        {
            "estimate": ["simulated, profit growing with tenure", "closed form, constant margin"],
            "profit_change_pct": [study.discounted_profit_change_pct.mean, constant_margin],
            "low": [study.discounted_profit_change_pct.low, np.nan],
            "high": [study.discounted_profit_change_pct.high, np.nan],
        }
    )
    years = size["cohort_months"] // 12
    return _fact(
        "retention_profit",
        "Five points of retention, a quarter or more of profit",
        claim="Cutting defections by 5 percentage points raises the value of a customer base by 25% to 85% "
        "(Reichheld & Sasser, across industries), because profit per customer grows the "
        "longer a customer stays.",
        source="Reichheld & Sasser (1990), 'Zero defections'; seed 002",
        measure="change in discounted profit of a customer base for +5 points of annual retention, %",
        headline="profit_change_pct",
        unit="%",
        measures=measures,
        model="{profit_change_pct:1}% for annual retention {retention_before:mean1}% to {retention_after:mean1}% "
        f"over {years} years; with constant margin the closed form gives {{constant_margin_pct:mean+1}}%",
        criterion=f"the mean change lies within {low:g}-{high:g}% and its 95% interval is above zero",
        rule=rule,
        depends_on=(
            "market.spend_growth",
            "market.spend_growth_months",
            "market.serving_cost_floor",
            "market.serving_cost_months",
            "market.discount_rate",
            "firms[].defection_hazard",
            "firms[].save_rate",
        ),
        gives_up="Without spend that grows and serving cost that falls with tenure the gain shrinks to the "
        "constant-margin closed form; a higher discount rate or a shorter horizon shrinks it too.",
        note=f"A closed cohort of {size['cohort_customers']:,} customers of one firm (no competitor, no new "
        f"customers), annual retention about 85%, discount rate {cohort.market.discount_rate:.0%} a year, "
        f"{years}-year horizon. In a competitive market over a shorter horizon the same lift is worth less "
        "(see `loyalty lift`).",
        setup=f"{len(lab.seeds)} replications x {size['cohort_customers']:,} customers x {size['cohort_months']} "
        "months, each arm on common random numbers",
        detail=detail,
        scenarios={"cohort": cohort.model_dump(mode="json"), "constant_margin": flat.model_dump(mode="json")},
    )


def retention_cohort(scenario: Scenario, customers: int, months: int, annual_retention: float = 0.85) -> Scenario:
    """One firm's closed customer base under Reichheld & Sasser's assumptions.

    Everyone starts as a new customer of firm A (the baseline's first firm);
    no one reconsiders, so customers leave only at a constant hazard that
    gives ``annual_retention``; spend, serving cost and discounting are the
    market's. Acquisition is already paid.
    """
    hazard = 1.0 - annual_retention ** (1 / 12)
    firm = scenario.firms[0].model_copy(
        update={"name": "A", "defection_hazard": hazard, "acquisition_spend": 0.0, "save_rate": 0.0}
    )
    return Scenario(
        name="retention_cohort",
        description="A closed customer base leaving at a constant rate, profit per customer growing with tenure.",
        market=scenario.market.model_copy(
            update={
                "customers": customers,
                "periods": months,
                "period_months": 1,
                "burn_in_months": 0,
                "outside_value": -100.0,
            }
        ),
        population=scenario.population.model_copy(
            update={"review_probability": 0.0, "prompted_review_probability": 0.0, "initial_tenure": 0.0}
        ),
        firms=[firm],
    )


def lifetime_value(lab: Experiments) -> FactResult:
    """The closed form CLV = m (1 + d) / (1 + d - r) is reproduced when retention is held constant.

    One firm, a closed cohort that never reconsiders, customers leaving at a
    constant monthly hazard ``1 - r``, a constant margin ``m`` (price less
    nothing) booked at the start of each month, discount rate ``d``. The
    simulated lifetime value is the discounted profit over the run per
    starting customer; the closed form is taken over the same horizon. Three
    retention rates. Pass: for each, the mean relative error is under 2% and
    its 95% interval lies within 5% (how precisely the replications pin the
    simulated value down).
    """
    margin, months = 10.0, 120
    rates = (0.80, 0.90, 0.95)
    d = accounting.period_discount_rate(lab.scenario.market.discount_rate, 1)
    measures: dict[str, Interval] = {}
    rows = []
    scenarios = {}
    for r in rates:
        scenario = constant_retention_market(r, margin, lab.scenario.market, lab.sizes["clv_customers"], months)
        scenarios[f"retention_{r:g}"] = scenario.model_dump(mode="json")
        runs = lab.across_seeds(constant_retention_value, scenario)
        closed = float(accounting.closed_form_clv(margin, r, d, periods=months))
        simulated = np.array([run["clv"] for run in runs])
        error = mean_interval(simulated / closed - 1.0)
        measures[f"error_r{round(100 * r)}"] = error
        measures[f"retention_r{round(100 * r)}"] = mean_interval([run["retention"] for run in runs])
        clv = mean_interval(simulated)
        measures[f"clv_r{round(100 * r)}"] = clv
        measures[f"closed_r{round(100 * r)}"] = Interval(closed, closed, closed, 1, 0.95)
        rows.append(
            {"monthly_retention": r, "closed_form": closed, "simulated": clv.mean, "low": clv.low, "high": clv.high}
        )
    detail = pd.DataFrame(rows)
    detail.attrs.update(margin=margin, rate=d, months=months)
    errors = [name for name in measures if name.startswith("error_")]
    worst = max(errors, key=lambda name: abs(measures[name].mean))
    measures = {"worst_error": measures[worst], **measures}
    rule = "all(abs(e.mean) < 0.02 and -0.05 < e.low and e.high < 0.05 for e in (" + ", ".join(errors) + "))"
    shown = "; ".join(
        f"r = {r:g}: {{clv_r{round(100 * r)}:mean1}} simulated, {{closed_r{round(100 * r)}:mean1}} closed form"
        for r in rates
    )
    return _fact(
        "lifetime_value",
        "Constant retention reproduces the closed-form lifetime value",
        claim="With retention r, margin m and discount rate d held constant, a customer's lifetime value is "
        "m(1+d)/(1+d-r), margin booked at the start of each period.",
        source="Gupta & Lehmann (2003); Gupta, Lehmann & Stuart (2004)",
        measure="largest relative error of simulated over closed-form lifetime value",
        headline="worst_error",
        unit="share",
        measures=measures,
        model="worst error {worst_error:%2} (" + shown + ")",
        criterion="for each of three retention rates, the mean relative error is within +/-2% and its 95% interval "
        "within +/-5%",
        rule=rule,
        depends_on=("market.discount_rate", "firms[].defection_hazard"),
        gives_up="Nothing behavioural: this is the accounting. It holds for any discount rate and period length.",
        note=f"Monthly retention {', '.join(f'{r:g}' for r in rates)}, margin {margin:g} a month, {months} months; "
        "the closed form summed over the same horizon.",
        setup=f"{len(lab.seeds)} replications x {lab.sizes['clv_customers']:,} customers x {months} months, "
        f"{len(rates)} retention rates",
        detail=detail,
        scenarios=scenarios,
    )


def constant_retention_market(retention: float, margin: float, market: Market, customers: int, months: int) -> Scenario:
    """One firm, no reconsidering, no costs: customers leave only at a constant hazard ``1 - retention``."""
    firm = Firm(
        name="Only",
        price=margin,
        unit_cost=0.0,
        serving_cost=0.0,
        care_spend=0.0,
        brand_investment=0.0,
        acquisition_spend=0.0,
        recovery_cost=0.0,
        defection_hazard=1.0 - retention,
    )
    return Scenario(
        name="constant_retention",
        description="A closed cohort with constant retention, margin and discount rate.",
        market=Market(
            customers=customers,
            periods=months,
            discount_rate=market.discount_rate,
            burn_in_months=0,
            outside_value=-100.0,
            spend_growth=0.0,
        ),
        population=Population(review_probability=0.0, prompted_review_probability=0.0, segment_spend=(1.0, 1.0, 1.0)),
        firms=[firm],
    )
