"""Parameters of a market: its economics, its customers and its firms.

Every field has a default and a description that says where the number comes
from: a stylized fact of the loyalty literature (``Source:``) or a modelling
choice (``Assumption:``). Money is in currency units per period (one period is
a month unless ``Market.period_months`` says otherwise); utilities are in
units of the taste shock's scale, so a difference of 1 between two options
moves a 50/50 choice to about 73/27.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

MAX_FIRMS = 100


class _Parameters(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class Market(_Parameters):
    """Size, horizon and shared economics of the market."""

    customers: int = Field(
        10_000,
        ge=1,
        le=50_000_000,
        description="Number of customers in the market, served by a firm or by no one. "
        "Assumption: large enough for stable shares, small enough for a laptop.",
    )
    periods: int = Field(
        120,
        ge=1,
        le=10_000,
        description="Number of periods simulated. Assumption: ten years of months.",
    )
    period_months: float = Field(
        1.0,
        gt=0,
        le=12,
        description=(
            "Length of one period in months. Assumption: monthly billing, the rhythm of most subscription businesses."
        ),
    )
    discount_rate: float = Field(
        0.10,
        ge=0,
        le=1,
        description="Annual discount rate for cumulative profit and lifetime value. "
        "Source: Gupta, Lehmann & Stuart (2004), who discount customer value at 10-12% a year.",
    )
    outside_value: float = Field(
        1.0,
        description="Utility of buying from no firm (the outside option). "
        "Assumption: leaves roughly one customer in ten unserved at the default levers.",
    )
    contacts: int = Field(
        25,
        ge=0,
        le=200,
        description="Word-of-mouth contacts per customer. Source: the service literature's rule that "
        "a dissatisfied customer sways 25 people.",
    )
    spend_growth: float = Field(
        1.0,
        ge=0,
        le=10,
        description="Extra spend a customer reaches with long tenure, as a fraction of its starting spend. "
        "Source: Reichheld & Sasser (1990): loyal customers spend 2-4x as much, more as they age with the firm.",
    )
    spend_growth_months: float = Field(
        36.0,
        gt=0,
        description="Months over which spend grows towards its ceiling (time constant). Assumption.",
    )
    serving_cost_floor: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Serving cost of a long-tenured customer as a fraction of a new one's. "
        "Source: Reichheld (1996), operating-cost savings with tenure; the level is an assumption.",
    )
    serving_cost_months: float = Field(
        24.0,
        gt=0,
        description="Months over which serving cost falls to its floor (time constant). Assumption.",
    )
    care_effect: float = Field(
        0.10,
        ge=0,
        le=1,
        description="Most that care spend can add to experienced service quality (0..1 scale). "
        "Source: the often-cited finding that two in three customers who leave felt uncared for; the size is an "
        "assumption.",
    )
    care_scale: float = Field(
        2.0,
        gt=0,
        description="Care spend per customer-period at which 63% of the care effect is reached. Assumption.",
    )
    brand_decay: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Share of brand image lost each period without investment. "
        "Source: Nerlove & Arrow (1962): goodwill built by advertising depreciates unless renewed; the rate is an "
        "assumption.",
    )
    brand_effect: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Most of the gap to a perfect image that one period of brand investment closes. Assumption.",
    )
    brand_scale: float = Field(
        1.0,
        gt=0,
        description="Brand investment per customer-period at which 63% of the brand effect is reached. Assumption.",
    )
    patronage_months: float = Field(
        12.0,
        ge=0,
        description="Tenure from which repeat patronage counts as high in the Dick & Basu segments. "
        "Assumption: a year of repeat purchases.",
    )
    attitude_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Relative attitude is high when the customer would choose its current firm again with at least "
        "this probability if leaving were free. Source: Dick & Basu (1994), relative attitude; the level is an "
        "assumption: "
        "more likely than not.",
    )


class Population(_Parameters):
    """How customers differ, and the behavioural constants they share."""

    price_sensitivity: float = Field(
        0.10,
        gt=0,
        description="Mean utility lost per currency unit of price. Assumption: a 30/month price weighs 3 utils.",
    )
    price_sensitivity_cv: float = Field(
        0.5, ge=0, le=5, description="Coefficient of variation of price sensitivity (log-normal). Assumption."
    )
    quality_sensitivity: float = Field(
        4.0, ge=0, description="Mean utility of service quality going from 0 to 1. Assumption."
    )
    quality_sensitivity_cv: float = Field(
        0.3, ge=0, le=5, description="Coefficient of variation of quality sensitivity (log-normal). Assumption."
    )
    image_sensitivity: float = Field(
        1.5, ge=0, description="Mean utility of brand image going from 0 to 1. Assumption."
    )
    image_sensitivity_cv: float = Field(
        0.5, ge=0, le=5, description="Coefficient of variation of image sensitivity (log-normal). Assumption."
    )
    expectation_sd: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Spread of initial quality expectations around the quality a firm offers. Assumption.",
    )
    expectation_adaptation: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of the gap between experience and expectation closed each period. "
        "Source: Oliver (1980), expectation-disconfirmation: expectations adapt to experience; the rate is an "
        "assumption.",
    )
    service_noise: float = Field(
        0.05, ge=0, le=1, description="Standard deviation of experienced quality around the firm's quality. Assumption."
    )
    satisfaction_slope: float = Field(
        10.0,
        gt=0,
        description="Steepness of satisfaction in the gap between experience and expectation. Assumption.",
    )
    satisfaction_offset: float = Field(
        1.0,
        description="Log-odds of satisfaction when experience exactly meets expectation: 1.0 gives 0.73, "
        "'satisfied' but not 'totally satisfied'. Source: Jones & Sasser (1995) zones; the level is an assumption.",
    )
    very_satisfied: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Satisfaction (0..1) from which a customer is 'totally satisfied' and recommends. "
        "Source: Jones & Sasser (1995), the top box of a 5-point scale.",
    )
    dissatisfied: float = Field(
        0.4,
        ge=0,
        le=1,
        description="Satisfaction (0..1) below which a customer is dissatisfied (may complain, warns others). "
        "Source: Jones & Sasser (1995), the zone of defection.",
    )
    complaint_propensity: float = Field(
        0.04,
        ge=0,
        le=1,
        description="Mean probability that a dissatisfied customer complains. "
        "Source: TARP: of 25 dissatisfied customers, 1 complains and 24 leave quietly.",
    )
    complaint_concentration: float = Field(
        20.0, gt=0, description="Concentration of the Beta distribution of complaint propensity. Assumption."
    )
    recovered_satisfaction: float = Field(
        0.75,
        ge=0,
        le=1,
        description="Satisfaction of a customer whose complaint was resolved. "
        "Source: TARP, 54-95% of resolved complainers buy again; the level is an assumption.",
    )
    trust_prior: float = Field(
        0.5, ge=0, le=1, description="Trust in a firm a customer knows nothing about. Assumption."
    )
    trust_gain: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of the gap to full trust closed by a period of kept promises. "
        "Source: Zaheer, McEvily & Perrone (1998): trust builds slowly on kept promises; the rate is an assumption.",
    )
    trust_loss: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Share of trust lost on a failure or a disappointing period. "
        "Source: trust falls fast on a broken promise (Zaheer, McEvily & Perrone 1998); the rate is an assumption.",
    )
    recovery_boost: float = Field(
        0.30,
        ge=0,
        le=1,
        description="Share of the gap to full trust closed when a complaint is resolved. "
        "Source: the service-recovery paradox: a failure handled well can raise trust; the size is an assumption.",
    )
    unrecovered_loss: float = Field(
        0.25, ge=0, le=1, description="Further share of trust lost when a complaint is not resolved. Assumption."
    )
    trust_forgetting: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Share of the gap to the prior closed each period for firms a customer does not use. Assumption.",
    )
    fair_price_rise: float = Field(
        0.03,
        ge=0,
        description="Relative price rise customers accept as fair. Source: Xia, Monroe & Cox (2004): "
        "a price that feels unfair erodes trust, not only value; the level is an assumption.",
    )
    unfair_price_loss: float = Field(
        2.0,
        ge=0,
        description="Share of trust lost per unit of relative price rise above the fair rise (capped at all of it). "
        "Assumption: a 15% rise costs about a quarter of trust.",
    )
    trust_weight: float = Field(
        2.0, ge=0, description="Utility of full trust in a firm, beside its delivered value. Assumption."
    )
    price_tolerance: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of price sensitivity towards the current firm that full trust removes. "
        "Source: Reichheld (1996): loyal customers are less price-sensitive (the price premium).",
    )
    switching_effort: float = Field(
        1.0,
        ge=0,
        description="Mean procedural switching cost (time, effort, learning) in utils, paid on leaving any firm. "
        "Source: Burnham, Frels & Mahajan (2003); the size is an assumption.",
    )
    switching_effort_cv: float = Field(
        0.5, ge=0, le=5, description="Coefficient of variation of switching effort (log-normal). Assumption."
    )
    bond_months: float = Field(
        12.0,
        gt=0,
        description="Months over which a relational bond grows to its full size (time constant). Assumption.",
    )
    review_probability: float = Field(
        0.035,
        ge=0,
        le=1,
        description="Mean probability per period that a customer reconsiders its choice unprompted. "
        "Assumption: with the prompted probability and talk rates, calibrated so the baseline loses "
        "about 15-20% of customers a year, as most businesses do (Reichheld & Sasser 1990).",
    )
    review_concentration: float = Field(
        5.0,
        ge=0,
        description="How alike customers are in that habit: each customer's own unprompted review probability "
        "is Beta-distributed with the mean above and this concentration (smaller: a few restless shoppers and "
        "many who rarely look; 0: everyone alike). Source: heterogeneity in churn propensity, which makes a "
        "cohort's churn fall with tenure as the restless leave first (Fader & Hardie's sorting); the level is an "
        "assumption.",
    )
    delighted_review_factor: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of its unprompted review probability that a totally satisfied customer keeps "
        "(0: the delighted do not shop around unless something prompts them). "
        "Source: Jones & Sasser (1995), only the completely satisfied are reliably loyal; the level is an assumption.",
    )
    prompted_review_probability: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Probability of reconsidering after dissatisfaction, an unresolved complaint, a warning "
        "about the current firm, a recommendation of another firm or a price rise. Assumption.",
    )
    talk_satisfied: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Probability per period that a totally satisfied customer recommends its firm. Assumption.",
    )
    talk_dissatisfied: float = Field(
        0.30,
        ge=0,
        le=1,
        description="Probability per period that a dissatisfied customer warns others about its firm. "
        "Source: TARP (bad experiences are told about twice as often as good ones); the level is an assumption.",
    )
    reach_satisfied: int = Field(
        8,
        ge=0,
        le=200,
        description="Contacts a recommendation reaches. Source: service-quality studies: "
        "1 satisfied customer brings 8 potential deals.",
    )
    reach_dissatisfied: int = Field(
        25,
        ge=0,
        le=200,
        description=(
            "Contacts a warning reaches. Source: service-quality studies: 1 dissatisfied customer sways 25 people."
        ),
    )
    word_of_mouth_gain: float = Field(
        0.05, ge=0, le=1, description="Share of the gap to full trust a recommendation closes. Assumption."
    )
    word_of_mouth_loss: float = Field(
        0.10,
        ge=0,
        le=1,
        description="Share of trust a warning removes. Assumption: warnings weigh twice recommendations.",
    )
    segment_shares: tuple[float, float, float] = Field(
        (0.2, 0.5, 0.3),
        description="Shares of heavy, medium and light spenders. Source: the 80/20 concentration of profit in "
        "a minority of customers; "
        "the split is an assumption.",
    )
    segment_spend: tuple[float, float, float] = Field(
        (2.5, 1.0, 0.4),
        description="Spend of heavy, medium and light customers in multiples of the price. "
        "Source: heavy customers spend several times what light ones do (Reichheld & Sasser 1990); "
        "the levels are an assumption.",
    )
    initial_tenure: float = Field(
        24.0,
        ge=0,
        le=1200,
        description="Mean tenure, in periods, of customers already served when a run starts (geometric). "
        "Assumption: a mature market.",
    )

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> Population:
        if any(s < 0 for s in self.segment_shares) or abs(sum(self.segment_shares) - 1.0) > 1e-9:
            raise ValueError("segment_shares must be three non-negative numbers that sum to 1")
        if any(s < 0 for s in self.segment_spend):
            raise ValueError("segment_spend must be three non-negative numbers")
        if self.dissatisfied > self.very_satisfied:
            raise ValueError("dissatisfied must not exceed very_satisfied")
        return self


class Firm(_Parameters):
    """The levers a firm's strategist pulls, and its costs."""

    name: str = Field("A", min_length=1, max_length=40, description="Name shown in results and plots.")
    price: float = Field(30.0, ge=0, description="Price per period for a customer of base spend. Assumption.")
    quality: float = Field(
        0.7, ge=0, le=1, description="Mean service quality delivered, 0 (worst) to 1 (best). Assumption."
    )
    failure_rate: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Probability per customer-period of a service failure. Assumption: one failure every four years.",
    )
    failure_severity: float = Field(0.4, ge=0, le=1, description="Quality lost in a failure (0..1 scale). Assumption.")
    image: float = Field(0.5, ge=0, le=1, description="Brand image at the start, 0..1. Assumption.")
    brand_investment: float = Field(
        0.5, ge=0, description="Brand investment per customer-period; renews image. Assumption."
    )
    care_spend: float = Field(
        1.0,
        ge=0,
        description="Care and retention spend per customer-period (contact, remembering the customer). "
        "Source: the rule that acquiring a customer costs about 6x keeping one: 12 a year against an acquisition "
        "spend of 75.",
    )
    acquisition_spend: float = Field(
        75.0,
        ge=0,
        description="Spend per new customer (commission, welcome offer); prospects value it as a price cut "
        "spread over a year. Source: the rule that a new customer costs 6x keeping one.",
    )
    recovery_rate: float = Field(
        0.5,
        ge=0,
        le=1,
        description=(
            "Probability that a complaint is resolved. Source: TARP, resolution rates; the level is an assumption."
        ),
    )
    recovery_cost: float = Field(20.0, ge=0, description="Cost of resolving one complaint. Assumption.")
    exit_fee: float = Field(
        0.0,
        ge=0,
        description="Fee a customer pays on leaving (financial switching cost). Source: Burnham et al. (2003).",
    )
    contract_months: int = Field(
        0,
        ge=0,
        le=600,
        description="Contract length in periods; the exit fee is waived in the last period of each term. "
        "0 means the fee applies whenever a customer leaves.",
    )
    points_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of each bill returned as loyalty points, forfeited on leaving. "
        "Source: Burnham, Frels & Mahajan (2003): forfeited points are a financial switching cost.",
    )
    points_cap: float = Field(
        100.0, ge=0, description="Most points a customer can hold (they are redeemed beyond it). Assumption."
    )
    silver_after: int = Field(
        12, ge=0, le=100_000, description="Tenure, in periods, that earns the silver tier. Assumption."
    )
    gold_after: int = Field(
        36, ge=0, le=100_000, description="Tenure, in periods, that earns the gold tier. Assumption."
    )
    silver_perk: float = Field(
        0.0,
        ge=0,
        description="Value of silver-tier perks per period, lost on leaving. "
        "Source: membership tiers as financial switching costs (Burnham, Frels & Mahajan 2003).",
    )
    gold_perk: float = Field(0.0, ge=0, description="Value of gold-tier perks per period, lost on leaving.")
    relational_bond: float = Field(
        0.0,
        ge=0,
        description="Utility of the personal bond with a long-standing customer, lost on leaving. "
        "Source: Burnham, Frels & Mahajan (2003), relational switching costs.",
    )
    unit_cost: float = Field(
        12.0, ge=0, description="Cost of goods per unit of spend (per customer of base spend). Assumption."
    )
    serving_cost: float = Field(
        6.0, ge=0, description="Cost of serving a new customer per period; falls with tenure. Assumption."
    )
    save_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of would-be leavers the firm keeps (a save desk, or any direct cut in its defection "
        "hazard), whatever made them leave. Assumption: none by default; the retention-lift study turns it.",
    )
    enters_at: int = Field(
        0,
        ge=0,
        le=100_000,
        description="Month (0-based) the firm opens for business; before it no customer can choose it. "
        "0: in the market from the start.",
    )
    defection_hazard: float = Field(
        0.002,
        ge=0,
        le=1,
        description="Probability per period that a customer leaves for reasons outside the market (moves, dies). "
        "Assumption: about 2.4% a year.",
    )

    @model_validator(mode="after")
    def _tiers_in_order(self) -> Firm:
        if self.gold_after < self.silver_after:
            raise ValueError("gold_after must be at least silver_after")
        return self


# Levers an event may change: every number a firm sets, but its starting image (image then evolves
# with brand investment, which is the lever to change).
ADJUSTABLE_LEVERS = tuple(
    name for name, field in Firm.model_fields.items() if field.annotation is float and name != "image"
)


class Event(_Parameters):
    """A timed change to one firm's lever, or to every firm's (``firm = "all"``).

    Examples: at month 24 firm B cuts its price 15% (``lever = "price"``,
    ``by = -0.15``); at month 36 firm A suffers a six-month outage
    (``lever = "failure_rate"``, ``to = 0.5``, ``months = 6``); at month 48 a
    regulator bans exit fees (``firm = "all"``, ``lever = "exit_fee"``,
    ``to = 0``).
    """

    month: int = Field(ge=0, description="Period (0-based) from which the change applies.")
    firm: str = Field(min_length=1, description='Name of the firm it applies to, or "all".')
    lever: Literal[ADJUSTABLE_LEVERS] = Field(description="Which lever changes.")  # type: ignore[valid-type]
    to: float | None = Field(None, description="New value of the lever.")
    by: float | None = Field(None, gt=-1, description="Relative change: -0.15 cuts the lever by 15%.")
    months: int | None = Field(
        None,
        ge=1,
        description="How long the change lasts; afterwards the lever returns to its value before. "
        "Unset: it lasts to the end.",
    )
    note: str = Field("", description="What the event stands for, shown in reports.")

    @model_validator(mode="after")
    def _one_change(self) -> Event:
        if (self.to is None) == (self.by is None):
            raise ValueError("give exactly one of 'to' (new value) or 'by' (relative change)")
        return self


def _default_firms() -> list[Firm]:
    return [
        Firm(name="A", price=30.0, quality=0.75, image=0.6),
        Firm(name="B", price=27.0, quality=0.68, image=0.5),
        Firm(name="C", price=33.0, quality=0.80, image=0.55),
    ]


class Scenario(_Parameters):
    """A whole market: economics, customers and firms."""

    name: str = Field("baseline", min_length=1, description="Name recorded with every result.")
    description: str = Field("", description="The question this scenario asks, in a sentence.")
    seed: int = Field(1, ge=0, le=2**62, description="Seed of the first replication; replication r uses seed + r.")
    replications: int = Field(
        10,
        ge=1,
        le=10_000,
        description="Replications run by default, each with its own seed (common across scenarios).",
    )
    market: Market = Field(default_factory=Market, description="Size, horizon and shared economics.")
    population: Population = Field(default_factory=Population, description="How customers differ and behave.")
    firms: list[Firm] = Field(
        default_factory=_default_firms,
        min_length=1,
        max_length=MAX_FIRMS,
        description="The competing firms. Assumption: three firms that differ in price, quality and image.",
    )
    events: list[Event] = Field(default_factory=list, description="Timed changes to firms' levers.")

    @model_validator(mode="after")
    def _firm_names_unique(self) -> Scenario:
        names = [f.name for f in self.firms]
        if len(set(names)) != len(names):
            raise ValueError("firm names must be unique")
        for event in self.events:
            if event.firm != "all" and event.firm not in names:
                raise ValueError(
                    f"event at month {event.month} names firm {event.firm!r}; firms are {', '.join(names)} or 'all'"
                )
        return self

    @model_validator(mode="after")
    def _events_keep_levers_valid(self) -> Scenario:
        """Replay the events on copies of the firms' levers, as ``sim.events.EventSchedule`` will.

        In each month temporary changes that end are undone first, then the
        month's events apply in order, a relative change (``by``) to the
        lever's value at that moment. An event that would set a value its
        lever does not allow (a quality above 1, a negative price) is refused
        here rather than in the middle of a run.
        """
        events = self.events
        firms = [firm.model_copy() for firm in self.firms]
        months = sorted({e.month for e in events} | {e.month + e.months for e in events if e.months is not None})
        reverts: list[tuple[int, Firm, str, float]] = []
        for month in months:
            for _, firm, lever, value in [r for r in reverts if r[0] == month]:
                setattr(firm, lever, value)
            reverts = [r for r in reverts if r[0] != month]
            for index, event in enumerate(events):
                if event.month != month:
                    continue
                for firm in firms:
                    if event.firm not in ("all", firm.name):
                        continue
                    before = getattr(firm, event.lever)
                    after = event.to if event.to is not None else before * (1.0 + event.by)
                    problem = _lever_problem(firm, event.lever, after)
                    if problem is not None:
                        change = "to" if event.to is not None else "by"
                        raise ValueError(
                            f"events[{index}].{change} would set {firm.name}'s {event.lever} to {after:g} "
                            f"at month {month}, but {event.lever} {problem}"
                        )
                    setattr(firm, event.lever, after)
                    if event.months is not None:
                        reverts.append((month + event.months, firm, event.lever, before))
        return self

    @property
    def seeds(self) -> list[int]:
        """The seeds of the default replications: ``seed, seed + 1, ...``."""
        return [self.seed + r for r in range(self.replications)]


def _lever_problem(firm: Firm, lever: str, value: float) -> str | None:
    """Why ``lever`` of ``firm`` cannot take ``value`` (``"must be <= 1"``), or None when it can."""
    if not math.isfinite(value):
        return "must be a finite number"
    try:
        Firm.model_validate({**firm.model_dump(), lever: value})
    except ValidationError as error:
        problem = error.errors()[0]
        return (
            problem["msg"]
            .replace("Input should be", "must be")
            .replace("less than or equal to", "<=")
            .replace("greater than or equal to", ">=")
        )
    return None


def parameter_table(group: type[BaseModel]) -> str:
    """A markdown table of a parameter group: each field, its default and where it comes from."""
    lines = ["| parameter | default | meaning and source |", "|---|---|---|"]
    for name, field in group.model_fields.items():
        if field.default_factory is not None:
            continue
        default = field.default
        shown = (
            ", ".join(f"{v:g}" for v in default)
            if isinstance(default, tuple)
            else (f"{default:g}" if isinstance(default, float) else str(default))
        )
        lines.append(f"| `{name}` | {shown} | {field.description} |")
    return "\n".join(lines)
