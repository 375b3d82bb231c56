"""Facts about loyalty itself: sorting by tenure, barriers and spurious loyalty, price elasticity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.behaviour.segments import SEGMENT_NAMES, SPURIOUS, TRUE
from sim.engine.metrics import LOST_COLUMNS, SEGMENT_COLUMNS
from sim.engine.scenario_files import load_scenario
from sim.experiments.intervals import mean_interval, paired_difference
from sim.experiments.validation.lab import (
    HOMOGENEOUS,
    PRICE_RISE,
    TENURE_MECHANISMS_OFF,
    WARM_UP,
    Experiments,
    FactResult,
    _fact,
    _in_market,
    _resized,
    _with_population,
)
from sim.experiments.validation.runs import follow_cohorts, lift_barrier, raise_price


def cohort_churn(lab: Experiments) -> FactResult:
    """Churn of a cohort falls with tenure through heterogeneity alone (sorting).

    Customers who join a firm during the run are followed month by month
    (a life table over tenure). Three arms on the same seeds: the model as
    built; the same market with every mechanism by which a customer changes
    with tenure switched off (trust and expectations frozen at joining; the
    baseline has no bonds, tiers, points or fees); and that market with
    every customer alike (no spread in sensitivities, switching effort or
    habit of reconsidering).
    Measured: churn in the second year of tenure over churn in the first six
    months. Pass: with tenure mechanisms off the ratio is below 1 (95%
    interval), and below the ratio of the alike customers (paired interval
    below 0): the fall comes from the churn-prone leaving first.
    """
    months = lab.sizes["tenure_months"]
    base = _resized(lab.scenario, customers=lab.sizes["event_customers"])
    arms = {
        "as built": base,
        "tenure mechanisms off": _with_population(base, **TENURE_MECHANISMS_OFF),
        "off, customers alike": _with_population(base, **TENURE_MECHANISMS_OFF, **HOMOGENEOUS),
    }
    tenure_months = 24
    runs = {name: lab.across_seeds(follow_cohorts, scenario, months, tenure_months) for name, scenario in arms.items()}

    def ratio(run: dict[str, np.ndarray]) -> float:
        early = run["left"][:6].sum() / max(run["at_risk"][:6].sum(), 1.0)
        late = run["left"][12:24].sum() / max(run["at_risk"][12:24].sum(), 1.0)
        return late / early if early > 0 else np.nan

    ratios = {name: np.array([ratio(r) for r in arm]) for name, arm in runs.items()}
    measures = {
        "heterogeneity_only": mean_interval(ratios["tenure mechanisms off"]),
        "customers_alike": mean_interval(ratios["off, customers alike"]),
        "as_built": mean_interval(ratios["as built"]),
        "sorting_effect": paired_difference(ratios["tenure mechanisms off"], ratios["off, customers alike"]),
    }
    rule = "heterogeneity_only.high < 1 and sorting_effect.high < 0"
    rows = []
    for name, arm in runs.items():
        hazard = np.array([100.0 * r["left"] / np.maximum(r["at_risk"], 1.0) for r in arm])
        for tenure in range(tenure_months):
            interval = mean_interval(hazard[:, tenure])
            rows.append(
                {
                    "arm": name,
                    "tenure": tenure + 1,
                    "churn_pct": interval.mean,
                    "low": interval.low,
                    "high": interval.high,
                }
            )
    return _fact(
        "cohort_churn",
        "A cohort's churn falls with tenure, by sorting alone",
        claim="A cohort's churn rate falls as it ages even if no customer's own propensity to leave changes: the "
        "customers most prone to leave go first, and those who remain are the stayers.",
        source="Fader & Hardie (2007), shifted-beta-geometric model of contractual churn; Reichheld (1996), "
        "retention rising with tenure",
        measure="second-year churn over first-half-year churn of joiners, tenure mechanisms off",
        headline="heterogeneity_only",
        unit="ratio",
        measures=measures,
        model="{heterogeneity_only} with tenure mechanisms off; {customers_alike} with "
        "customers alike as well (sorting effect {sorting_effect:3}); {as_built} with "
        "the model as built",
        criterion="with every tenure mechanism off, second-year churn is below first-half-year churn (ratio's 95% "
        "interval below 1) and falls more than among customers who are all alike (paired interval below 0)",
        rule=rule,
        depends_on=(
            "population.price_sensitivity_cv",
            "population.quality_sensitivity_cv",
            "population.image_sensitivity_cv",
            "population.switching_effort",
            "population.switching_effort_cv",
            "population.review_probability",
            "population.review_concentration",
            "population.trust_gain",
        ),
        gives_up="The spread of customers' habits of reconsidering (`review_concentration`), sensitivities and "
        "switching effort is the heterogeneity that sorting works on; with `review_concentration` at 0 it is "
        "too small to show in two years. `trust_gain` is the individual-level reason churn falls with tenure.",
        note="Most of the sorting comes from customers' differing habits of reconsidering: the restless leave "
        "first. The spread of sensitivities and effort alone moves a customer's chance of leaving at a review "
        "too little, next to the taste shock every review draws, to show in two years.",
        setup=lab.setup(months, customers=lab.sizes["event_customers"], arms=3),
        detail=pd.DataFrame(rows),
        scenarios={name: s.model_dump(mode="json") for name, s in arms.items()},
    )


def exit_barriers(lab: Experiments) -> FactResult:
    """Dick & Basu (1994): spurious loyalty leaves as soon as the barrier drops; true loyalty stays.

    The market of ``scenarios/exit_fee_ban.toml`` (firm A with an exit fee,
    a contract and points; every exit fee banned at its month 48) on this
    validation's customers, against the same market with the fee kept, on
    the same seeds. A's customers are grouped by segment at the end of the
    month before the ban and followed for a year in both arms. Pass: A's
    losses in the ban month are at least three times its average month of
    the year before (95% interval); its spuriously loyal leave that month at
    least 1.5 times as often as its truly loyal; over the year the ban
    releases more of its spuriously loyal than of its truly loyal (departures
    beyond those with the fee kept; paired interval above 0); and at least
    95% of its truly loyal stay in the ban month (95% interval).
    """
    shipped = load_scenario("exit_fee_ban")
    bans = [e for e in shipped.events if e.lever == "exit_fee"]
    ban_month = bans[0].month
    after = 12
    market = _resized(lab.scenario, customers=lab.sizes["event_customers"])
    released = _in_market(shipped, market, periods=ban_month + after)
    locked = released.model_copy(
        update={"events": [e for e in released.events if e.lever != "exit_fee"], "name": "exit_fee_kept"}
    )
    firm = [f.name for f in released.firms].index("A")
    runs = lab.across_seeds(lift_barrier, locked, released, ban_month, after, firm)

    def at(arm: str, column: str, month: int) -> np.ndarray:
        values = []
        for run in runs:
            books = run[arm]["results"]
            values.append(float(books[(books.firm == "A") & (books.period == month)][column].iloc[0]))
        return np.array(values)

    def usual_losses(books: pd.DataFrame) -> float:
        year_before = books[(books.firm == "A") & (books.period >= ban_month - 12) & (books.period < ban_month)]
        return float(year_before.losses.mean())

    before = np.array([usual_losses(run["banned"]["results"]) for run in runs])
    burst = at("banned", "losses", ban_month) / np.maximum(before, 1e-9)

    def ban_month_rate(code: int, arm: str = "banned") -> np.ndarray:
        return at(arm, LOST_COLUMNS[code], ban_month) / np.maximum(at(arm, SEGMENT_COLUMNS[code], ban_month - 1), 1.0)

    spurious, true = ban_month_rate(SPURIOUS), ban_month_rate(TRUE)
    release = spurious / np.maximum(true, 1e-9)

    def left_within(code: int, arm: str) -> np.ndarray:
        return np.array([r[arm]["left"][code] / max(r[arm]["members"][code], 1.0) for r in runs])

    excess_left = {code: left_within(code, "banned") - left_within(code, "kept") for code in range(4)}
    excess = {name: mean_interval(excess_left[code]) for code, name in enumerate(SEGMENT_NAMES)}
    measures = {
        "release_ratio": mean_interval(release),
        "burst": mean_interval(burst),
        "released_more_spurious": paired_difference(excess_left[SPURIOUS], excess_left[TRUE]),
        "spurious_ban_month_rate": mean_interval(spurious),
        "true_ban_month_rate": mean_interval(true),
        "true_stay": mean_interval(1.0 - true),
        **{f"{name}_excess_{after}m": interval for name, interval in excess.items()},
    }
    rule = "burst.low >= 3 and release_ratio.mean >= 1.5 and released_more_spurious.low > 0 and true_stay.low >= 0.95"
    rows = []
    for arm in ("kept", "banned"):
        for code in (TRUE, SPURIOUS):
            for month in range(ban_month - 6, ban_month + 7):
                held = np.maximum(at(arm, SEGMENT_COLUMNS[code], month - 1), 1.0)
                rate = 100.0 * at(arm, LOST_COLUMNS[code], month) / held
                interval = mean_interval(rate)
                rows.append(
                    {
                        "arm": arm,
                        "segment": SEGMENT_NAMES[code],
                        "month": month,
                        "loss_rate_pct": interval.mean,
                        "low": max(interval.low, 0.0),
                        "high": interval.high,
                    }
                )
    detail = pd.DataFrame(rows)
    detail.attrs["ban_month"] = ban_month
    return _fact(
        "exit_barriers",
        "Remove the barrier and spurious loyalty leaves",
        claim="Customers held by barriers rather than preference (spurious loyalty) leave as soon as the barrier "
        "drops, in a burst; truly loyal customers, who would choose the firm anyway, stay.",
        source="Dick & Basu (1994) loyalty matrix; Jones & Sasser (1995) 'hostages'; seed 001 (raising exit barriers)",
        measure="ban-month loss rate of A's spuriously loyal over that of its truly loyal",
        headline="release_ratio",
        unit="ratio",
        measures=measures,
        model="{release_ratio}: {spurious_ban_month_rate:%} of the spuriously loyal left in the ban month, "
        "{true_ban_month_rate:%} of the truly loyal; losses {burst:1} times a usual month; "
        f"within {after} months the ban cost {{spurious_excess_{after}m:%}} of the spuriously loyal and "
        f"{{true_excess_{after}m:%}} of the truly loyal",
        criterion="ban-month losses at least 3 times the average month of the year before (95% interval); the "
        "spuriously loyal leave that month at least 1.5 times as often as the truly loyal; over the year the ban "
        "releases more of the spuriously loyal than of the truly loyal (paired interval above 0); at least 95% of "
        "the truly loyal stay in the ban month (95% interval)",
        rule=rule,
        depends_on=(
            "firms[].exit_fee",
            "firms[].contract_months",
            "firms[].points_rate",
            "firms[].points_cap",
            "population.switching_effort",
            "population.prompted_review_probability",
            "market.attitude_threshold",
            "market.patronage_months",
        ),
        gives_up="The segments are defined by `attitude_threshold` and `patronage_months`; the burst comes from the "
        "prompted review that a fall in the fee triggers; effort and points still hold some spuriously loyal.",
        note="Only customers who reconsider in the ban month can leave in it (a fall in the fee prompts a review with "
        "`prompted_review_probability`), so the burst takes a few percent of the spuriously loyal, not all of them; "
        "the rest leave over the following months as they reconsider.",
        setup=lab.setup(ban_month + after, customers=lab.sizes["event_customers"], arms=2),
        detail=detail,
        scenarios={"banned": released.model_dump(mode="json"), "kept": locked.model_dump(mode="json")},
    )


def price_elasticity(lab: Experiments) -> FactResult:
    """Seed 001: price elasticity of demand is lower among loyal customers.

    In the baseline, firm A raises its price by 5% after the warm-up; on the
    same seeds it does not. A's customers at that moment are grouped by Dick
    & Basu segment, and what each group buys from A over the next 12 months
    is compared between the arms: the arc elasticity, percent change in
    quantity over percent change in price (midpoints). Pass: demand falls
    among the rest (interval below 0), and the truly loyal's elasticity is
    smaller in size than the rest's (paired interval above 0).
    """
    months = 12
    scenario = _resized(lab.scenario, periods=WARM_UP + months)
    runs = lab.across_seeds(raise_price, scenario, 0, WARM_UP, months, PRICE_RISE)
    price_change = PRICE_RISE / (1.0 + PRICE_RISE / 2.0)

    def elasticity(raised: np.ndarray, control: np.ndarray) -> float:
        middle = (raised + control) / 2.0
        return float((raised - control) / middle / price_change) if middle > 0 else np.nan

    loyal = np.array([elasticity(r["raised"][TRUE], r["control"][TRUE]) for r in runs])
    rest_codes = [code for code in range(4) if code != TRUE]
    rest = np.array([elasticity(r["raised"][rest_codes].sum(), r["control"][rest_codes].sum()) for r in runs])
    by_segment = {
        name: mean_interval([elasticity(r["raised"][code], r["control"][code]) for r in runs])
        for code, name in enumerate(SEGMENT_NAMES)
    }
    measures = {
        "loyal_less_elastic": paired_difference(loyal, rest),
        "true_loyal": mean_interval(loyal),
        "rest": mean_interval(rest),
        **{f"segment_{name}": i for name, i in by_segment.items()},
    }
    rule = "rest.high < 0 and loyal_less_elastic.low > 0"
    members = np.mean([r["members"] for r in runs], axis=0)
    detail = pd.DataFrame(
        {
            "segment": [*SEGMENT_NAMES, "all but true"],
            "elasticity": [*(by_segment[n].mean for n in SEGMENT_NAMES), measures["rest"].mean],
            "low": [*(by_segment[n].low for n in SEGMENT_NAMES), measures["rest"].low],
            "high": [*(by_segment[n].high for n in SEGMENT_NAMES), measures["rest"].high],
            "customers": [*members, members[rest_codes].sum()],
        }
    )
    return _fact(
        "price_elasticity",
        "Loyal customers are less price-sensitive",
        claim="The price elasticity of demand is an indicator of loyalty: the more loyal the customer, the less "
        "demand falls when the price rises.",
        source="seed 001 (customer price sensitivity as a loyalty indicator); Reichheld (1996), the price premium",
        measure="arc elasticity of the truly loyal minus that of A's other customers (positive: loyal less elastic)",
        headline="loyal_less_elastic",
        unit="elasticity",
        measures=measures,
        model="{true_loyal} for the truly loyal, {rest} for the rest (difference {loyal_less_elastic}), "
        f"after a {PRICE_RISE:.0%} rise by A over {months} months",
        criterion="demand from A's other customers falls (elasticity's 95% interval below 0) and the truly loyal's "
        "elasticity is smaller in size (paired interval of the difference above 0)",
        rule=rule,
        depends_on=(
            "population.price_tolerance",
            "population.trust_weight",
            "population.trust_gain",
            "population.price_sensitivity",
            "population.fair_price_rise",
            "population.unfair_price_loss",
            "population.prompted_review_probability",
            "market.attitude_threshold",
        ),
        gives_up="`price_tolerance` is how much trust dulls price sensitivity towards one's own firm; without it "
        "(and without trust's weight in choice) the loyal react to a price rise like everyone else.",
        note="Every customer pays the firm's one price, so the elasticity is of quantity bought, through staying or "
        "leaving, not of the price a customer would accept.",
        setup=lab.setup(WARM_UP + months, arms=2),
        detail=detail,
        scenarios={"baseline": scenario.model_dump(mode="json")},
    )
