"""The customers: how they differ, and the behavioural constants they share."""

from __future__ import annotations

from pydantic import Field, model_validator

from sim.engine.parameters.base import Parameters


class Population(Parameters):
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
        description="Spread of initial quality expectations around those the firm's promise and the market's norm "
        "give. Assumption.",
    )
    promise_weight: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Weight of a firm's own promise (the quality it delivers before noise and failures) against the "
        "market's norm (the share-weighted quality of the open firms) in what a customer joining it expects. Source: "
        "Zeithaml, Berry & Parasuraman (1993): expectations form from explicit promises, word of mouth and past "
        "experience; the weight is an assumption.",
    )
    expectation_adaptation: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of the gap between experience and expectation closed each month. "
        "Source: Oliver (1980), expectation-disconfirmation: expectations adapt to experience; the rate is an "
        "assumption.",
    )
    service_noise: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Standard deviation of a month's experienced quality around the firm's quality. Assumption.",
    )
    satisfaction_slope: float = Field(
        10.0,
        gt=0,
        description="Log-odds of satisfaction per unit of experience above expectation, beyond the zone of "
        "tolerance (disconfirmation). Source: Oliver (1980); the size is an assumption.",
    )
    shortfall_weight: float = Field(
        2.0,
        ge=1,
        le=10,
        description="How many times more an experience below expectation weighs than one above it. Source: Anderson "
        "& Sullivan (1993): shortfalls weigh more than surpluses; the size is an assumption (about twice, as losses "
        "do in prospect theory).",
    )
    tolerance: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Half-width of the zone of indifference: a gap between experience and expectation smaller than "
        "this (0..1 quality scale) neither pleases nor disappoints. Source: Woodruff, Cadotte & Jenkins (1983), the "
        "zone of indifference around experience-based norms; the width is an assumption (one month's service noise).",
    )
    performance_weight: float = Field(
        6.0,
        ge=0,
        description="Log-odds of satisfaction per unit of experienced quality above the adequate level "
        "(Market.adequate_quality), whatever was expected: perceived performance drives satisfaction directly. "
        "Source: Churchill & Surprenant (1982); Fornell et al. (1996), the ACSI, where perceived quality is the main "
        "driver; the size is an assumption.",
    )
    satisfaction_offset: float = Field(
        1.0,
        description="Log-odds of satisfaction when an adequate experience meets expectation: 1.0 gives 0.73, "
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
        description="Share of the gap to full trust closed by a month of kept promises. "
        "Source: Zaheer, McEvily & Perrone (1998): trust builds slowly on kept promises; the rate is an assumption.",
    )
    trust_loss: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Share of trust lost on a failure or a disappointing month. "
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
        description="Share of the gap to the prior closed each month for firms a customer does not use. Assumption.",
    )
    fair_price_rise: float = Field(
        0.03,
        ge=0,
        description="Rise of a firm's price above the customer's reference price that it accepts as fair. Source: "
        "Xia, Monroe & Cox (2004), Bolton, Warlop & Alba (2003): fairness is judged against a reference, and a price "
        "that feels unfair erodes trust, not only value; the level is an assumption.",
    )
    unfair_price_loss: float = Field(
        1.0,
        ge=0,
        description="Share of trust lost per unit of relative rise above the reference price beyond the fair rise "
        "(capped at all of it), in the month the price rises; the same share is the chance that the rise alone makes "
        "the customer reconsider (Xia, Monroe & Cox 2004: unfairness leads to search and switching). Assumption: a "
        "15% rise costs an eighth of trust and sends one customer in eight shopping.",
    )
    reference_adaptation: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of the gap between the price paid and the customer's reference price closed each month. "
        "Source: Kalyanaram & Winer (1995); Mazumdar, Raj & Sinha (2005): reference prices adapt to prices paid; the "
        "rate is an assumption (a half-life of about a year for a monthly bill).",
    )
    loss_aversion: float = Field(
        2.0,
        ge=1,
        le=10,
        description="How many times more a price above the reference weighs than a price the same amount below it. "
        "Source: Kahneman & Tversky (1979); Kalyanaram & Winer (1995): losses weigh about twice as much as gains.",
    )
    reference_weight: float = Field(
        0.5,
        ge=0,
        le=5,
        description="Weight of the gap between its firm's price and its reference price, felt as a gain or a loss, in "
        "a customer's utility of staying, as a share of its price sensitivity. Source: Kalyanaram & Winer (1995), "
        "reference price effects; the size is an assumption.",
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
    perk_months: float = Field(
        12.0,
        ge=0,
        le=600,
        description="Months of its tier's perks a customer counts as lost on leaving (the perks are a financial "
        "switching cost, Burnham, Frels & Mahajan 2003). Assumption: a year's perks, the least it would take to earn "
        "a tier again elsewhere.",
    )
    review_probability: float = Field(
        0.035,
        ge=0,
        le=1,
        description="Mean probability per month that a customer reconsiders its choice unprompted. "
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
    settled_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of customers who, while they have a provider, never reconsider it unprompted nor when "
        "they hear a rival recommended: they look around only when their own firm gives them reason (a bad "
        "experience, an unresolved complaint, a warning heard about it, an unfair price rise, a fall in its exit fee). "
        "Without a provider they shop as their habit says, and settle with whichever firm they choose. Source: a "
        "stayer-like inert segment, after the mover-stayer models of brand switching (Colombo & Morrison 1989); one "
        "source of the long-lived core that keeps real cohorts' retention rising with tenure; 0 by default (every "
        "customer's habit as drawn). Assumption; calibrate can fit it to a cohort table.",
    )
    outside_proneness_cv: float = Field(
        0.0,
        ge=0,
        le=10,
        description="How unequally customers are exposed to reasons outside the market for leaving (moving, "
        "closing down): each customer's exposure, a multiplier of its firm's defection_hazard with mean 1, is "
        "outside_shared_share plus the rest of the mean spread by a Gamma with this coefficient of variation (0: "
        "everyone alike; 1: exponential; larger: a few very prone customers and many who almost never face such a "
        "reason beyond the shared share; the exposure's own coefficient of variation is (1 - outside_shared_share) "
        "times this). Source: unobserved heterogeneity in churn rates makes a cohort's rate fall with tenure (the "
        "sorting of Fader & Hardie 2007); a Gamma on this part of the hazard is this model's assumption. 0 by "
        "default; calibration fits it to a cohort table.",
    )
    outside_shared_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the outside hazard that every customer faces alike; the rest of each customer's "
        "exposure is spread by outside_proneness_cv. A cohort's rate of leaving for outside reasons still falls as "
        "the prone leave first, but it levels off at this share of defection_hazard instead of falling on towards "
        "zero (0: the spread covers the whole exposure; 1: everyone alike, whatever the cv). Fitted to an all-cause "
        "cohort table, the floor also takes up any steady churn the market itself does not produce (for an insurer, "
        "much of the late surrender), which the firm's levers then do not move. Source: a background rate that the "
        "sorting does not touch, as in Makeham's law of mortality beside the Gamma frailty of Vaupel, Manton & "
        "Stallard (1979); the insurance cohorts in scenarios/data keep about 95% a year from their fifth year on. "
        "The floor is this model's assumption; 0 by default; calibration can fit it to a cohort table.",
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
        description="Probability that one prompt makes a customer reconsider: a month of dissatisfaction, an "
        "unresolved complaint, each warning heard about its firm, each recommendation of another firm, a fall in "
        "the exit fee. Assumption.",
    )
    talk_satisfied: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Probability per month that a totally satisfied customer recommends its firm. Assumption.",
    )
    talk_dissatisfied: float = Field(
        0.30,
        ge=0,
        le=1,
        description="Probability per month that a dissatisfied customer warns others about its firm. "
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
        60.0,
        ge=0,
        le=1200,
        description="Mean tenure, in months, of customers already served when the burn-in starts (geometric). "
        "Assumption: a mature market; about the mean tenure the baseline settles to (47 to 88 months by firm after "
        "30 years), so that the burn-in starts near it.",
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
