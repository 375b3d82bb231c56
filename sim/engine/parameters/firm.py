"""A firm: the levers its strategist pulls, and its costs."""

from __future__ import annotations

from pydantic import Field, model_validator

from sim.engine.parameters.base import MAX_MONEY, Parameters


class Firm(Parameters):
    """The levers a firm's strategist pulls, and its costs."""

    name: str = Field("A", min_length=1, max_length=40, description="Name shown in results and plots.")
    price: float = Field(
        30.0, ge=0, le=MAX_MONEY, description="Price per month for a customer of base spend. Assumption."
    )
    quality: float = Field(
        0.7, ge=0, le=1, description="Mean service quality delivered, 0 (worst) to 1 (best). Assumption."
    )
    failure_rate: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Probability per customer-month of a service failure. Assumption: one failure every four years.",
    )
    failure_severity: float = Field(0.4, ge=0, le=1, description="Quality lost in a failure (0..1 scale). Assumption.")
    image: float = Field(0.5, ge=0, le=1, description="Brand image at the start, 0..1. Assumption.")
    brand_investment: float = Field(
        0.5, ge=0, le=MAX_MONEY, description="Brand investment per customer-month; renews image. Assumption."
    )
    care_spend: float = Field(
        1.0,
        ge=0,
        le=MAX_MONEY,
        description="Care and retention spend per customer-month (contact, remembering the customer). "
        "Source: the rule that acquiring a customer costs about 6x keeping one: 12 a year against an acquisition "
        "spend of 75.",
    )
    acquisition_spend: float = Field(
        75.0,
        ge=0,
        le=MAX_MONEY,
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
    recovery_cost: float = Field(20.0, ge=0, le=MAX_MONEY, description="Cost of resolving one complaint. Assumption.")
    exit_fee: float = Field(
        0.0,
        ge=0,
        le=MAX_MONEY,
        description="Fee a customer pays on leaving (financial switching cost). Source: Burnham et al. (2003).",
    )
    contract_months: int = Field(
        0,
        ge=0,
        le=600,
        description="Contract length in months; the exit fee is waived in the month that ends each term. "
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
        100.0,
        ge=0,
        le=MAX_MONEY,
        description="Most points a customer can hold (they are redeemed beyond it). Assumption.",
    )
    silver_after: int = Field(
        12, ge=0, le=100_000, description="Tenure, in months, that earns the silver tier. Assumption."
    )
    gold_after: int = Field(
        36, ge=0, le=100_000, description="Tenure, in months, that earns the gold tier. Assumption."
    )
    silver_perk: float = Field(
        0.0,
        ge=0,
        le=MAX_MONEY,
        description="Value of silver-tier perks per month, lost on leaving (a financial switching cost). "
        "Source: membership tiers as financial switching costs (Burnham, Frels & Mahajan 2003).",
    )
    gold_perk: float = Field(
        0.0,
        ge=0,
        le=MAX_MONEY,
        description="Value of gold-tier perks per month, lost on leaving (a financial switching cost).",
    )
    relational_bond: float = Field(
        0.0,
        ge=0,
        description="Utility of the personal bond with a long-standing customer, lost on leaving. "
        "Source: Burnham, Frels & Mahajan (2003), relational switching costs.",
    )
    unit_cost: float = Field(
        12.0,
        ge=0,
        le=MAX_MONEY,
        description="Cost of goods per month and unit of spend (per customer of base spend). Assumption.",
    )
    serving_cost: float = Field(
        6.0, ge=0, le=MAX_MONEY, description="Cost of serving a new customer per month; falls with tenure. Assumption."
    )
    save_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of would-be leavers to a rival or to no firm that the firm keeps (a save desk: it cannot "
        "keep those who leave the market for outside reasons). Assumption: none by default; the retention-lift study "
        "turns it.",
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
        description="Probability per month that a customer leaves for reasons outside the market (moves, dies). "
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
