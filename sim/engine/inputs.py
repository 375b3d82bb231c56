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
from sim.engine.population import Customers


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
"""What of ``MarketState`` a customer's month reads."""


ROW_TYPES = MonthArrays(*(Customers.__dataclass_fields__[name].metadata["dtype"] for name in MonthArrays._fields))
"""The type of each customer array a month reads, as ``Customers`` declares it (``addresses`` checks them)."""
MARKET_TYPES = {"contract_months": "int64", "price_rose": "bool", "fee_fell": "bool", "open": "bool"}
"""The market's arrays that are not of floats, for ``addresses`` (every other one is)."""


def addresses(inputs: tuple, fresh: np.ndarray) -> tuple[np.ndarray, int]:
    """Where in memory each array of a month is, in the order ``month.one_row`` reads them, and the customers.

    ``inputs`` are a ``Month``'s: its customer arrays (``MonthArrays``, of
    ``ROW_TYPES``; ``trust`` by option), its market (``MonthMarket``'s
    arrays, of ``MARKET_TYPES``' types or floats), the constants and lookups
    (not taken by address), its draws and the word of mouth heard;
    ``fresh`` its fresh exposures. An array of another type, shape or
    layout, or one the month writes that cannot be written, is refused
    here, by name: compiled code reading it by address would read other
    numbers than it holds, or write where it should not.
    """
    lean, seen, _, _, draws, recommendations, warnings = inputs
    n, options = lean.firm.shape[0], seen.n_firms + 1
    # In the order ``one_row`` reads them: (where, the array, its type, its shape, whether the month writes it).
    slots = [
        (f"customers.{name}", getattr(lean, name), ROW_TYPES[i], (options, n) if name == "trust" else (n,), True)
        for i, name in enumerate(MonthArrays._fields)
    ]
    slots += [
        (f"market.{name}", getattr(seen, name), MARKET_TYPES.get(name, "float64"), (options,), False)
        for name in MonthMarket._fields
        if name not in ("n_firms", "quality_norm")
    ]
    slots += [(f"draws.{name}", getattr(draws, name), "float64", (n,), False) for name in draws._fields]
    slots += [
        (name, heard, "int32", (options, n), False)
        for name, heard in [("recommendations", recommendations), ("warnings", warnings)]
    ]
    slots.append(("the fresh exposures", fresh, "float64", (n,), True))
    for place, array, dtype, shape, writes in slots:
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{place}: a month's arrays by address: expected an array, got {type(array).__name__}")
        wrong = [
            f"type {array.dtype}, not {dtype}" * (array.dtype != np.dtype(dtype)),
            f"shape {array.shape}, not {shape}" * (array.shape != shape),
            "not C-ordered" * (not array.flags.c_contiguous),
            "not aligned" * (not array.flags.aligned),
            "read-only, and the month writes it" * (writes and not array.flags.writeable),
        ]
        if any(wrong):
            raise TypeError(f"{place}: a month's arrays by address: {', '.join(w for w in wrong if w)}")
    return np.array([slot[1].ctypes.data for slot in slots], dtype=np.intp), n
