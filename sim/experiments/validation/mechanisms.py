"""Facts that each mechanism does what its lever says, pushed to either end.

Quality and failures against satisfaction and word of mouth, reference prices
against a promotion and a hike, the period against annual retention, tier
perks and lock-in against the Dick & Basu segments. Every arm of an
experiment runs on the same seeds (common random numbers), and every
measure's interval is over replications.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.parameters import Event, Firm, Scenario
from sim.engine.scenario_files import load_scenario
from sim.experiments.intervals import Interval, mean_interval, paired_difference
from sim.experiments.summary import per_replication
from sim.experiments.validation.lab import OBSERVED, WARM_UP, Experiments, FactResult, _fact, _in_market, _resized
from sim.experiments.validation.runs import follow_through_price_change, held_for_rivals, run_results, service_outcomes

QUALITY_LEVELS = (0.6, 0.75, 0.9)
"""Firm A's service quality in the three arms of the quality experiment (the baseline's is 0.75)."""
QUALITY_CUT = 0.6
"""The quality A cuts to, for good, in the experiment's fourth arm."""
FAILURE_RATES = (0.0, 0.02, 0.10)
"""Firm A's monthly failure rate in the three arms of the failure experiment (the baseline's is 0.02)."""
PROMOTION = 0.15
"""Size of the promotion (a price cut for three months) and of the permanent hike it is compared with."""
PROMOTION_MONTHS = 3
AFTER_PROMOTION = 3
"""Months after the promotion's end (or the hike) over which churn is compared."""
PERIODS = (1, 3, 12)
"""Period lengths, in months, of the three versions of the market in the period experiment."""


def _with_firm(scenario: Scenario, name: str, **levers: float) -> Scenario:
    firms = [f.model_copy(update=levers) if f.name == name else f for f in scenario.firms]
    return scenario.model_copy(update={"firms": firms})


def _service(lab: Experiments, scenario: Scenario, start: int = WARM_UP, months: int = OBSERVED) -> dict:
    """Per seed, A's customers' satisfaction and word of mouth per customer-month served, from ``start``."""
    runs = lab.across_seeds(service_outcomes, scenario, 0, start, months)
    served = np.array([max(r["served"], 1.0) for r in runs])

    def per(key: str, scale: float = 1.0) -> np.ndarray:
        return scale * np.array([r[key] for r in runs]) / served

    return {
        "satisfaction": per("satisfaction"),
        "very_satisfied": per("very_satisfied"),
        "recommendations": per("recommended", 1000.0),
        "warnings": per("warned", 1000.0),
        "complaints": per("complaints", 1000.0),
    }


def _bars(panels: dict[str, dict[str, Interval]]) -> pd.DataFrame:
    """A fact's figure data: one row per panel and bar, with the bar's mean and 95% interval.

    A bar named ``(group, bar)`` is drawn in its group's colour.
    """
    rows = []
    for panel, bars in panels.items():
        for bar, i in bars.items():
            group, label = bar if isinstance(bar, tuple) else (None, bar)
            rows.append({"panel": panel, "bar": label, "mean": i.mean, "low": i.low, "high": i.high, "group": group})
    table = pd.DataFrame(rows)
    return table if table["group"].notna().any() else table.drop(columns="group")


def quality_satisfaction(lab: Experiments) -> FactResult:
    """ACSI: perceived quality drives satisfaction; a better firm has more satisfied and more delighted customers.

    Firm A's quality is set to 0.6, 0.75 and 0.9 (the market settles at each
    through the burn-in); A's customers are observed for two years after the
    warm-up. A fourth arm cuts A's quality from 0.75 to 0.6 for good at the
    end of the warm-up and observes the second year after the cut. Pass:
    satisfaction and recommendations per customer rise at each step of
    quality (paired intervals above 0), and a year after the cut at least
    half of the steady gap in satisfaction between quality 0.75 and 0.6 is
    still there (the cut is remembered, not adapted away).
    """
    base = lab.scenario
    arms = {q: _service(lab, _with_firm(base, "A", quality=q)) for q in QUALITY_LEVELS}
    cut = base.model_copy(update={"events": [Event(month=WARM_UP, firm="A", lever="quality", to=QUALITY_CUT)]})
    later = WARM_UP + 12
    after_cut = _service(lab, cut, start=later, months=12)["satisfaction"]
    control = _service(lab, base, start=later, months=12)["satisfaction"]
    low, mid, high = QUALITY_LEVELS
    steady_gap = arms[mid]["satisfaction"] - arms[low]["satisfaction"]
    measures = {
        "satisfaction_rise": paired_difference(arms[high]["satisfaction"], arms[low]["satisfaction"]),
        "satisfaction_step_low": paired_difference(arms[mid]["satisfaction"], arms[low]["satisfaction"]),
        "satisfaction_step_high": paired_difference(arms[high]["satisfaction"], arms[mid]["satisfaction"]),
        "recommendations_step_low": paired_difference(arms[mid]["recommendations"], arms[low]["recommendations"]),
        "recommendations_step_high": paired_difference(arms[high]["recommendations"], arms[mid]["recommendations"]),
        "cut_remembered": mean_interval((control - after_cut) / np.where(steady_gap > 0, steady_gap, np.nan)),
        **{f"satisfaction_q{round(100 * q)}": mean_interval(arms[q]["satisfaction"]) for q in QUALITY_LEVELS},
        **{f"very_satisfied_q{round(100 * q)}": mean_interval(arms[q]["very_satisfied"]) for q in QUALITY_LEVELS},
        **{f"recommendations_q{round(100 * q)}": mean_interval(arms[q]["recommendations"]) for q in QUALITY_LEVELS},
    }
    rule = (
        "satisfaction_step_low.low > 0 and satisfaction_step_high.low > 0 and recommendations_step_low.low > 0 "
        "and recommendations_step_high.low > 0 and cut_remembered.low >= 0.5"
    )
    names = {q: f"quality {q:g}" for q in QUALITY_LEVELS}
    detail = _bars(
        {
            "mean satisfaction (0-1)": {names[q]: measures[f"satisfaction_q{round(100 * q)}"] for q in QUALITY_LEVELS},
            "share very satisfied": {names[q]: measures[f"very_satisfied_q{round(100 * q)}"] for q in QUALITY_LEVELS},
            "recommendations per 1,000 customer-months": {
                names[q]: measures[f"recommendations_q{round(100 * q)}"] for q in QUALITY_LEVELS
            },
        }
    )
    return _fact(
        "quality_satisfaction",
        "Better service, more satisfied customers",
        claim="Perceived quality is the main driver of satisfaction: a firm that serves better has more satisfied, "
        "more delighted and more vocal customers, and a lasting cut in quality lowers satisfaction for as long as "
        "it lasts rather than being adapted away.",
        source="Fornell et al. (1996), the ACSI model; Churchill & Surprenant (1982); Anderson & Sullivan (1993)",
        measure="rise in A's mean satisfaction from quality 0.6 to 0.9 (0-1 scale)",
        headline="satisfaction_rise",
        unit="satisfaction",
        measures=measures,
        model="{satisfaction_rise:3} from quality 0.6 to 0.9 (satisfaction {satisfaction_q60:mean3}, "
        "{satisfaction_q75:mean3}, {satisfaction_q90:mean3}; very satisfied {very_satisfied_q60:%}, "
        "{very_satisfied_q75:%}, {very_satisfied_q90:%}; recommendations per 1,000 customer-months "
        "{recommendations_q60:mean1}, {recommendations_q75:mean1}, {recommendations_q90:mean1}); a year after a "
        "cut to 0.6, {cut_remembered:%} of the steady gap remains",
        criterion="satisfaction and recommendations rise at each step of quality (paired intervals above 0), and a "
        "year after a permanent cut at least half of the steady satisfaction gap remains (95% interval)",
        rule=rule,
        depends_on=(
            "population.performance_weight",
            "market.adequate_quality",
            "population.promise_weight",
            "population.expectation_adaptation",
            "population.satisfaction_slope",
            "population.shortfall_weight",
            "population.very_satisfied",
            "population.talk_satisfied",
        ),
        gives_up="With `performance_weight` at 0 satisfaction is disconfirmation alone: expectations adapt to any "
        "quality, satisfaction returns to the same level, and a firm's quality no longer shows in how its customers "
        "feel.",
        note="Satisfaction responds to quality through performance against the adequate level and through "
        "disconfirmation of the expectation, which adapts to experience: the first lasts, the second fades.",
        setup=lab.setup(WARM_UP + OBSERVED, arms=len(QUALITY_LEVELS) + 1),
        detail=detail,
        scenarios={"quality_cut": cut.model_dump(mode="json")},
    )


def service_failures(lab: Experiments) -> FactResult:
    """A service failure lowers satisfaction and recommendations and raises warnings.

    Firm A's monthly failure rate is set to 0, 0.02 and 0.10; A's customers
    are observed for two years after the warm-up. Pass: from no failures to
    one month in ten, satisfaction and recommendations per customer-month
    fall and warnings rise (paired intervals clear of 0).
    """
    market = _resized(lab.scenario, customers=lab.sizes["event_customers"])
    arms = {f: _service(lab, _with_firm(market, "A", failure_rate=f)) for f in FAILURE_RATES}
    none, _, many = FAILURE_RATES
    measures = {
        "satisfaction_change": paired_difference(arms[many]["satisfaction"], arms[none]["satisfaction"]),
        "recommendations_change": paired_difference(arms[many]["recommendations"], arms[none]["recommendations"]),
        "warnings_change": paired_difference(arms[many]["warnings"], arms[none]["warnings"]),
        **{
            f"{measure}_f{round(100 * f)}": mean_interval(arms[f][measure])
            for f in FAILURE_RATES
            for measure in ("satisfaction", "recommendations", "warnings", "complaints")
        },
    }
    rule = "satisfaction_change.high < 0 and recommendations_change.high < 0 and warnings_change.low > 0"
    names = {f: f"failure rate {f:g}" for f in FAILURE_RATES}
    detail = _bars(
        {
            "mean satisfaction (0-1)": {names[f]: measures[f"satisfaction_f{round(100 * f)}"] for f in FAILURE_RATES},
            "recommendations per 1,000 customer-months": {
                names[f]: measures[f"recommendations_f{round(100 * f)}"] for f in FAILURE_RATES
            },
            "warnings per 1,000 customer-months": {
                names[f]: measures[f"warnings_f{round(100 * f)}"] for f in FAILURE_RATES
            },
        }
    )
    return _fact(
        "service_failures",
        "Failures cost satisfaction and word of mouth",
        claim="A service failure lowers satisfaction and the customers' recommendations and raises their warnings; "
        "customers tell more people about a bad experience than about a good one.",
        source="Smith, Bolton & Wagner (1999), satisfaction with failure and recovery; TARP (Goodman), word of mouth",
        measure="change in A's mean satisfaction from no failures to one month in ten",
        headline="satisfaction_change",
        unit="satisfaction",
        measures=measures,
        model="{satisfaction_change:3} satisfaction, {recommendations_change:1} recommendations and "
        "{warnings_change:1} warnings per 1,000 customer-months from failure rate 0 to 0.1",
        criterion="satisfaction and recommendations fall and warnings rise (paired 95% intervals clear of 0)",
        rule=rule,
        depends_on=(
            "firms[].failure_rate",
            "firms[].failure_severity",
            "population.performance_weight",
            "population.shortfall_weight",
            "population.expectation_adaptation",
            "population.talk_dissatisfied",
            "population.talk_satisfied",
        ),
        gives_up="With satisfaction from disconfirmation alone, expectations fall after failures and the months "
        "after one feel like a pleasant surprise: failures would raise recommendations.",
        note="A failed month's experience falls by `failure_severity`; it is felt against the adequate level and "
        "against the expectation, which the failure lowers a little (`expectation_adaptation`).",
        setup=lab.setup(WARM_UP + OBSERVED, customers=lab.sizes["event_customers"], arms=len(FAILURE_RATES)),
        detail=detail,
        scenarios={},
    )


def promotion_end(lab: Experiments) -> FactResult:
    """Reference prices: the end of a short promotion is no unfair rise; a permanent hike of the same size is.

    Three arms on the same seeds: no change; firm A cuts its price 15% for
    three months after the warm-up; A raises its price 15% for good in the
    month the promotion would end. A's customers at the end of the month
    before that month are followed for three months (the share of them still
    with A who leave, month by month). Pass: the promotion's end raises
    churn by less than half (ratio to the no-change arm, 95% interval below
    1.5), and the hike raises it more than one and a half times (interval
    above 1.5).
    """
    start = WARM_UP
    end = start + PROMOTION_MONTHS
    market = _resized(lab.scenario, customers=lab.sizes["event_customers"], periods=end + AFTER_PROMOTION)
    arms = {
        "no change": market,
        "promotion": market.model_copy(
            update={"events": [Event(month=start, firm="A", lever="price", by=-PROMOTION, months=PROMOTION_MONTHS)]}
        ),
        "hike": market.model_copy(update={"events": [Event(month=end, firm="A", lever="price", by=PROMOTION)]}),
    }
    runs = {
        name: lab.across_seeds(follow_through_price_change, scenario, 0, end, AFTER_PROMOTION)
        for name, scenario in arms.items()
    }

    def churn(name: str) -> np.ndarray:
        return np.array([r["after"].mean() for r in runs[name]])

    control = churn("no change")
    measures = {
        "promotion_end": mean_interval(churn("promotion") / control),
        "price_hike": mean_interval(churn("hike") / control),
        "hike_over_promotion_end": paired_difference(churn("hike"), churn("promotion")),
        **{f"churn_{name.replace(' ', '_')}": mean_interval(100 * churn(name)) for name in arms},
        "churn_before": mean_interval([100 * r["before"].mean() for r in runs["no change"]]),
    }
    rule = "promotion_end.high < 1.5 and price_hike.low > 1.5"
    detail = _bars(
        {
            f"churn a month over the {AFTER_PROMOTION} months after, %": {
                name: measures[f"churn_{name.replace(' ', '_')}"] for name in arms
            }
        }
    )
    return _fact(
        "promotion_end",
        "A promotion's end is no price rise; a hike is",
        claim="Customers judge a price against the price they are used to, which moves towards the prices they pay; "
        "a loss weighs about twice a gain. So the end of a short promotion, which barely moved the reference, is "
        "not felt as an unfair rise and sets off no burst of departures, while a permanent rise of the same size "
        "does.",
        source="Kalyanaram & Winer (1995); Mazumdar, Raj & Sinha (2005); Bolton, Warlop & Alba (2003); Xia, Monroe "
        "& Cox (2004)",
        measure="A's churn in the three months after a 15% three-month promotion ends, over the no-change arm's",
        headline="promotion_end",
        unit="ratio",
        measures=measures,
        model="{promotion_end:2} times the no-change arm's churn after the promotion ends, {price_hike:2} times "
        "after a permanent 15% hike (churn a month {churn_no_change:mean2}%, {churn_promotion:mean2}%, "
        "{churn_hike:mean2}%)",
        criterion="after the promotion's end churn is less than 1.5 times the no-change arm's (95% interval), after "
        "the hike more than 1.5 times",
        rule=rule,
        depends_on=(
            "population.reference_adaptation",
            "population.loss_aversion",
            "population.reference_weight",
            "population.fair_price_rise",
            "population.unfair_price_loss",
        ),
        gives_up="With `reference_adaptation` at 1 the reference is last month's price, and a promotion's end is "
        "judged as a rise from the promotional price: a burst of churn and a loss of trust.",
        note="Customers won during the promotion joined at its price and take it as their reference; some of them "
        "leave when it ends, as promotion-acquired customers do.",
        setup=lab.setup(end + AFTER_PROMOTION, customers=lab.sizes["event_customers"], arms=3),
        detail=detail,
        scenarios={name: s.model_dump(mode="json") for name, s in arms.items()},
    )


def period_retention(lab: Experiments) -> FactResult:
    """A period is a reporting choice: quarterly and annual versions of a market keep the monthly annual figures.

    The baseline over five years as a monthly, a quarterly and an annual
    model, on the same seeds. Pass: each firm's 12-month retention and
    annualised retention in the quarterly and annual versions are within half
    a point of the monthly version's (mean paired difference, every firm).
    """
    months = 60
    versions = {
        m: _resized(
            lab.scenario.model_copy(update={"market": lab.scenario.market.model_copy(update={"period_months": m})}),
            periods=months // m,
        )
        for m in PERIODS
    }
    tables = {
        m: per_replication(pd.concat([r["results"] for r in lab.across_seeds(run_results, s)], ignore_index=True))
        for m, s in versions.items()
    }
    monthly = tables[1].set_index(["firm", "seed"])
    measures: dict[str, Interval] = {}
    panels: dict[str, dict] = {"12-month retention, %": {}, "annualised retention, %": {}}
    gaps = []
    for m in PERIODS:
        table = tables[m].set_index(["firm", "seed"])
        for firm in dict.fromkeys(tables[1].firm):
            for column, short, panel in (
                ("cohort_retention_pct", "cohort", "12-month retention, %"),
                ("annual_retention_pct", "annualised", "annualised retention, %"),
            ):
                panels[panel][(f"{m}-month periods", firm)] = mean_interval(table.loc[firm, column])
                if m == 1:
                    continue
                name = f"{short}_gap_{firm}_{m}m"
                measures[name] = paired_difference(table.loc[firm, column], monthly.loc[firm, column])
                gaps.append(name)
    worst = max(gaps, key=lambda name: abs(measures[name].mean))
    measures = {"largest_gap": measures[worst], **measures}
    rule = "all(abs(g.mean) < 0.5 for g in (" + ", ".join(gaps) + "))"
    return _fact(
        "period_retention",
        "A quarter is three months",
        claim="A market's annual retention does not depend on how often it is reported: a quarterly or annual model "
        "of it gives the annual figures of the monthly one.",
        source="Consistency of time units: every rate stated per month or per year and converted by the period "
        "(Fader & Hardie 2007 report contractual retention by year, firms by quarter)",
        measure="largest gap in 12-month or annualised retention between a quarterly or annual and the monthly "
        "version, points",
        headline="largest_gap",
        unit="points",
        measures=measures,
        model="largest gap {largest_gap:2} points over firms, measures and period lengths",
        criterion="for every firm, measure and period length the mean gap is within half a point",
        rule=rule,
        depends_on=("market.period_months",),
        gives_up="Nothing: customers live by the month whatever the period, which only sets how months are gathered "
        "into the rows of a report.",
        note="The steady state starts at a period boundary, so the versions may count from months a little apart.",
        setup=lab.setup(months, arms=len(PERIODS)),
        detail=_bars(panels),
        scenarios={f"{m}_month": s.model_dump(mode="json") for m, s in versions.items()},
    )


def _segment_shares(runs: list[dict], firm: str, since: int) -> dict[str, np.ndarray]:
    """Per seed, the firm's segment shares of its customers, averaged over the periods from ``since``."""
    shares: dict[str, list[float]] = {"spurious": [], "attitude": []}
    for run in runs:
        rows = run["results"]
        rows = rows[(rows.firm == firm) & (rows.period >= since)]
        customers = rows.customers.sum()
        shares["spurious"].append(float(rows.spurious_loyal.sum() / customers))
        shares["attitude"].append(float((rows.true_loyal + rows.latent_new).sum() / customers))
    return {name: np.array(values) for name, values in shares.items()}


def tier_perks(lab: Experiments) -> FactResult:
    """Tier perks, lost on leaving, are a switching cost: they hold the spuriously loyal and buy no attitude.

    The loyalty programme of ``scenarios/loyalty_programme.toml`` (A's
    points and silver and gold perks) in this market, against the same
    programme without the perks, on the same seeds; A's customers over the
    second of three years. Pass: the perks raise the spuriously loyal share
    of A's customers (paired interval above 0) by more than they raise the
    share whose relative attitude favours A (the upper end of its interval).
    """
    shipped = load_scenario("loyalty_programme")
    months = WARM_UP + OBSERVED
    with_perks = _in_market(shipped, lab.scenario, periods=months)
    without = with_perks.model_copy(
        update={"firms": [f.model_copy(update={"silver_perk": 0.0, "gold_perk": 0.0}) for f in with_perks.firms]}
    )
    since = WARM_UP
    arms = {
        name: _segment_shares(lab.across_seeds(run_results, scenario), "A", since)
        for name, scenario in (("perks", with_perks), ("no perks", without))
    }
    measures = {
        "spurious_rise": paired_difference(arms["perks"]["spurious"], arms["no perks"]["spurious"]),
        "attitude_change": paired_difference(arms["perks"]["attitude"], arms["no perks"]["attitude"]),
        **{
            f"{k}_{n.replace(' ', '_')}": mean_interval(v[k]) for n, v in arms.items() for k in ("spurious", "attitude")
        },
    }
    rule = "spurious_rise.low > 0 and spurious_rise.mean > attitude_change.high"
    detail = _bars(
        {
            "spuriously loyal, share of A's customers": {n: measures[f"spurious_{n.replace(' ', '_')}"] for n in arms},
            "attitude favours A (true + latent), share": {n: measures[f"attitude_{n.replace(' ', '_')}"] for n in arms},
        }
    )
    return _fact(
        "tier_perks",
        "Tier perks hold customers; they do not win them over",
        claim="Perks of a membership tier are lost on leaving: a financial switching cost, part of patronage, not of "
        "attitude. They keep customers who would rather be elsewhere (spurious loyalty) without making them prefer "
        "the firm.",
        source="Burnham, Frels & Mahajan (2003), financial switching costs; Dick & Basu (1994); seed 001 (gold and "
        "silver cards)",
        measure="rise in the spuriously loyal share of A's customers from its tier perks",
        headline="spurious_rise",
        unit="share",
        measures=measures,
        model="{spurious_rise:%} spuriously loyal ({spurious_no_perks:%} to {spurious_perks:%}); the share whose "
        "attitude favours A changes by {attitude_change:%}",
        criterion="the perks raise the spuriously loyal share (paired 95% interval above 0) by more than the upper "
        "end of the change in the share whose attitude favours A",
        rule=rule,
        depends_on=(
            "firms[].silver_perk",
            "firms[].gold_perk",
            "firms[].silver_after",
            "firms[].gold_after",
            "population.perk_months",
            "market.attitude_threshold",
        ),
        gives_up="With `perk_months` at 0 perks hold no one; counted as value (in attitude) instead, they would turn "
        "the customers they hold into truly loyal ones.",
        note="Relative attitude is judged as if leaving were free, so the perks, which are only lost by leaving, "
        "cannot raise it; the programme's points are the same kind of cost and are in both arms.",
        setup=lab.setup(months, arms=2),
        detail=detail,
        scenarios={"perks": with_perks.model_dump(mode="json"), "no_perks": without.model_dump(mode="json")},
    )


def lock_in_latent(lab: Experiments) -> FactResult:
    """Lock-in breeds latent loyalty to rivals: customers held by barriers who would rather buy elsewhere.

    The market of ``scenarios/high_exit_barriers.toml`` (A's exit fee,
    two-year contract and points) against the same firms without A's
    barriers, on the same seeds. Over the second year, the mean number of A's
    customers whose attitude favours another firm, every switching cost
    aside, by the same test as attitude to one's own firm (latently loyal
    to a rival, held at A). Pass: the barriers raise it (paired interval
    above 0).
    """
    shipped = load_scenario("high_exit_barriers")
    months = WARM_UP + OBSERVED
    market = _resized(lab.scenario, customers=lab.sizes["event_customers"])
    locked = _in_market(shipped, market, periods=months)
    names = [f.name for f in locked.firms]
    index = names.index("A")
    plain = next((f for f in lab.scenario.firms if f.name == "A"), Firm())
    barriers = ("exit_fee", "contract_months", "points_rate", "points_cap")
    free = _with_firm(locked, "A", **{lever: getattr(plain, lever) for lever in barriers})
    free = free.model_copy(update={"name": "no_barriers"})
    arms = {
        name: lab.across_seeds(held_for_rivals, scenario, index, WARM_UP, OBSERVED)
        for name, scenario in (("barriers", locked), ("no barriers", free))
    }
    held = {name: np.array([r["held"] / OBSERVED for r in runs]) for name, runs in arms.items()}
    share = {name: np.array([r["held"] / max(r["customers"], 1.0) for r in runs]) for name, runs in arms.items()}
    measures = {
        "held_rise": paired_difference(held["barriers"], held["no barriers"]),
        "held_share_rise": paired_difference(share["barriers"], share["no barriers"]),
        **{f"held_{n.replace(' ', '_')}": mean_interval(v) for n, v in held.items()},
        **{f"share_{n.replace(' ', '_')}": mean_interval(v) for n, v in share.items()},
    }
    rule = "held_rise.low > 0"
    detail = _bars(
        {
            "A's customers latently loyal to a rival": {n: measures[f"held_{n.replace(' ', '_')}"] for n in held},
            "as a share of A's customers": {n: measures[f"share_{n.replace(' ', '_')}"] for n in share},
        }
    )
    return _fact(
        "lock_in_latent",
        "Locking customers in breeds latent loyalty to rivals",
        claim="Customers held by switching costs who prefer another firm are latently loyal to it (high relative "
        "attitude, no patronage): raising barriers turns would-be leavers into a rival's latent loyalty, which the "
        "rival wins the day the barrier drops.",
        source="Dick & Basu (1994), latent loyalty; Jones & Sasser (1995), 'hostages'",
        measure="rise in A's customers latently loyal to a rival (mean over the months) from A's barriers",
        headline="held_rise",
        unit="customers",
        measures=measures,
        model="{held_rise:1} more at any time ({held_no_barriers:mean1} to {held_barriers:mean1}; as a share of A's "
        "customers {share_no_barriers:%} to {share_barriers:%})",
        criterion="A's barriers raise the number of its customers whose attitude favours a rival (paired 95% interval "
        "above 0)",
        rule=rule,
        depends_on=(
            "firms[].exit_fee",
            "firms[].contract_months",
            "firms[].points_rate",
            "market.attitude_threshold",
        ),
        gives_up="Latent loyalty to a rival is counted among customers whose attitude to their own firm is not high "
        "and whose attitude to the rival is, by the same `attitude_threshold`: lower, it counts more customers as "
        "favouring some firm; higher, fewer.",
        note="The share of A's customers held for a rival need not rise ({held_share_rise:%}): the barriers also keep "
        "customers who like A best. Each firm's `latent_elsewhere` column counts its latent loyalty held by others or "
        "by no purchase; `latent_loyal` adds its own new customers who favour it.",
        setup=lab.setup(months, customers=lab.sizes["event_customers"], arms=2),
        detail=detail,
        scenarios={"barriers": locked.model_dump(mode="json"), "no_barriers": free.model_dump(mode="json")},
    )
