"""What a month of customers is handed: the scenario's constants, the arrays it reads and writes, the market it sees.

The compiled month (``sim.engine.month``) takes them as named tuples of
arrays; one customer's month takes them by address (``addresses``), checked
here against the types the compiled code reads them as.
"""

from __future__ import annotations

from collections import namedtuple
from typing import NamedTuple

import numpy as np

from sim.engine.parameters import Market, Scenario


class Constants(NamedTuple):
    """The scenario's numbers that the compiled passes use (a customer's month, its segments, the books)."""

    service_noise: float
    satisfaction_offset: float
    performance_weight: float
    adequate_quality: float
    satisfaction_slope: float
    shortfall_weight: float
    tolerance: float
    expectation_adaptation: float
    dissatisfied: float
    recovered_satisfaction: float
    fair_price_rise: float
    unfair_price_loss: float
    trust_gain: float
    trust_loss: float
    recovery_boost: float
    unrecovered_loss: float
    trust_prior: float
    trust_forgetting: float
    word_of_mouth_gain: float
    word_of_mouth_loss: float
    very_satisfied: float
    talk_satisfied: float
    talk_dissatisfied: float
    segment_spend: np.ndarray
    spend_growth: float
    spend_growth_months: float
    delighted_review_factor: float
    prompted_review_probability: float
    promise_weight: float
    reference_adaptation: float
    trust_weight: float
    price_tolerance: float
    loss_aversion: float
    reference_weight: float
    outside_value: float
    perk_months: float
    bond_months: float
    attitude_threshold: float
    patronage_months: float
    serving_cost_floor: float
    serving_cost_months: float

    @classmethod
    def of(cls, scenario: Scenario) -> Constants:
        """The constants of ``scenario``: its population's and market's values, by name."""
        p, m = scenario.population, scenario.market
        values = {name: float(getattr(m, name)) for name in _MARKET_CONSTANTS}
        values.update({name: float(getattr(p, name)) for name in _POPULATION_CONSTANTS})
        values["segment_spend"] = np.asarray(p.segment_spend, dtype=float)
        return cls(**values)


_MARKET_CONSTANTS = tuple(name for name in Constants._fields if name in Market.model_fields)
_POPULATION_CONSTANTS = tuple(
    name for name in Constants._fields if name not in Market.model_fields and name != "segment_spend"
)


MonthArrays = namedtuple(
    "MonthArrays",
    "firm tenure expectation reference_price trust points segment settled outside_proneness review_propensity "
    "complaint_propensity w_quality w_price w_image effort exit_fee_paid referred by_referral served_by_referral "
    "served_firm served_tenure volume satisfaction failed left_outside complained recovered said",
)
"""The customer arrays a month reads or writes (of ``Customers``): all the compiled month is handed."""
MonthMarket = namedtuple(
    "MonthMarket",
    "n_firms price quality delivered_quality quality_norm failure_rate failure_severity image recovery_rate "
    "exit_fee contract_months points_rate points_cap silver_after gold_after silver_perk gold_perk "
    "relational_bond welcome_offer defection_hazard save_rate price_rose fee_fell open",
)
"""What of ``MarketState`` a customer's month reads. Handing the compiled code no more than it reads
matters on the per-agent path, where each customer's call passes every array anew."""


ROW_TYPES = MonthArrays(
    firm="int16",
    tenure="int32",
    expectation="float64",
    reference_price="float64",
    trust="float64",
    points="float64",
    segment="int8",
    settled="bool",
    outside_proneness="float64",
    review_propensity="float64",
    complaint_propensity="float64",
    w_quality="float64",
    w_price="float64",
    w_image="float64",
    effort="float64",
    exit_fee_paid="float64",
    referred="bool",
    by_referral="bool",
    served_by_referral="bool",
    served_firm="int16",
    served_tenure="int32",
    volume="float64",
    satisfaction="float64",
    failed="bool",
    left_outside="bool",
    complained="bool",
    recovered="bool",
    said="int8",
)
"""The type of each customer array one customer's month is handed by address (``addresses``)."""
MARKET_TYPES = {"contract_months": "int64", "price_rose": "bool", "fee_fell": "bool", "open": "bool"}
"""The market's arrays that are not of floats, for ``addresses`` (every other one is)."""


def addresses(inputs: tuple, fresh: np.ndarray) -> np.ndarray:
    """Where in memory each array of a month is, in the order ``month.one_row`` reads them, checked against their types.

    ``inputs`` are a ``Month``'s: its customer arrays (``MonthArrays``), its
    market (``MonthMarket``), the constants and lookups (not by address),
    its draws and the word of mouth heard; ``fresh`` its fresh exposures.

    The customer arrays (``ROW_TYPES``; ``trust`` by option), the market's
    arrays (``MonthMarket``'s, of ``MARKET_TYPES``' types or floats), the
    draws, the word of mouth heard and the fresh exposures. An array of
    another type, shape or layout is refused here: compiled code reading it
    by address would read other numbers than it holds.
    """
    lean, seen, _, _, draws, recommendations, warnings = inputs
    n, options = lean.firm.shape[0], seen.n_firms + 1
    wanted = [(getattr(lean, name), ROW_TYPES[i], (n,)) for i, name in enumerate(MonthArrays._fields)]
    wanted[MonthArrays._fields.index("trust")] = (lean.trust, "float64", (options, n))
    wanted += [
        (getattr(seen, name), MARKET_TYPES.get(name, "float64"), (options,))
        for name in MonthMarket._fields
        if name not in ("n_firms", "quality_norm")
    ]
    wanted += [(row, "float64", (n,)) for row in draws]
    wanted += [(heard, "int32", (options, n)) for heard in (recommendations, warnings)]
    wanted += [(fresh, "float64", (n,))]
    for array, dtype, shape in wanted:
        if not (
            isinstance(array, np.ndarray)
            and array.dtype == np.dtype(dtype)
            and array.shape == shape
            and array.flags.c_contiguous
            and array.flags.writeable
        ):
            got = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else type(array).__name__
            raise TypeError(
                f"a month's arrays by address: expected a C-ordered {dtype} array of shape {shape}, got {got}"
            )
    return np.array([array.ctypes.data for array, _, _ in wanted], dtype=np.intp)
