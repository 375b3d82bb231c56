"""The market: its size, its horizon and period, and the economics every firm shares."""

from __future__ import annotations

from pydantic import Field, field_validator

from sim.engine.parameters.base import MAX_MONEY, MAX_PERIODS, Parameters

PERIOD_MONTHS = (1, 2, 3, 4, 6, 12)
"""Period lengths a market may have: a whole number of periods in a year, so that a year is always a period boundary."""


class Market(Parameters):
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
        le=MAX_PERIODS,
        description="Number of periods simulated, each ``period_months`` long. Assumption: ten years of months.",
    )
    period_months: int = Field(
        1,
        ge=1,
        le=12,
        description=(
            "Length of one reported period in months (1 monthly, 3 quarterly, 12 annual). Customers live month by "
            "month whatever the period: a period of three months is three months of the same behaviour, its flows "
            "summed and its stocks read at its end, so every figure per month or per year is the same for any "
            "period length. Assumption: monthly reporting, the rhythm of most subscription businesses."
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
        le=MAX_MONEY,
        description="Care spend per customer-month at which 63% of the care effect is reached. Assumption.",
    )
    brand_decay: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Share of brand image lost each month without investment. "
        "Source: Nerlove & Arrow (1962): goodwill built by advertising depreciates unless renewed; the rate is an "
        "assumption.",
    )
    brand_effect: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Most of the gap to a perfect image that one month of brand investment closes. Assumption.",
    )
    brand_scale: float = Field(
        1.0,
        gt=0,
        le=MAX_MONEY,
        description="Brand investment per customer-month at which 63% of the brand effect is reached. Assumption.",
    )
    patronage_months: float = Field(
        12.0,
        ge=0,
        description="Tenure, in months, from which repeat patronage counts as high in the Dick & Basu segments. "
        "Assumption: a year of repeat purchases.",
    )
    attitude_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Relative attitude towards a firm is high when, every switching cost gone (fees, points, tier "
        "perks, bonds, effort, welcome offers), the customer would choose it among all the options (every firm and "
        "buying from no one) with at least this probability. Source: Dick & Basu (1994), relative attitude: the firm "
        "against the alternatives; the level is an assumption (0.5: more likely than all the alternatives together).",
    )
    adequate_quality: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Service quality customers find adequate (0..1): the level at which performance neither raises "
        "nor lowers satisfaction. Source: Zeithaml, Berry & Parasuraman (1993), the adequate service level; the level "
        "is an assumption (the default firm's quality).",
    )
    burn_in_months: int = Field(
        60,
        ge=0,
        le=600,
        description="Months the market runs at its opening levers before month 0, records discarded, so that tenure, "
        "trust, expectations, points and reference prices start near their long-run spread rather than at a guess. "
        "Assumption: five years (0 starts from the drawn population as it is).",
    )

    @field_validator("period_months")
    @classmethod
    def _whole_periods_a_year(cls, months: int) -> int:
        if months not in PERIOD_MONTHS:
            raise ValueError(f"must be one of {', '.join(map(str, PERIOD_MONTHS))} (a whole number of periods a year)")
        return months
