"""One customer's decision, explained: what it weighed, option by option, and why it stayed or left.

Usable from a notebook without the web page: ``explain_customer(model, index)``
returns a ``CustomerView`` whose numbers come from the model's own functions
(``option_utilities`` with and without barriers, ``choice_probabilities``
and ``sim.behaviour.value``), so what it shows is what the customer compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.app.model import ClassroomModel
from sim.behaviour import satisfaction, value
from sim.behaviour.choice import choice_probabilities
from sim.behaviour.segments import SEGMENT_NAMES
from sim.engine.month import utilities_of


@dataclass(frozen=True)
class OptionView:
    """One option as a customer weighed it.

    Attributes:
        name: the firm's name, or "no one" for buying from no firm.
        is_open: whether customers could choose it.
        delivered_value: customer delivered value (Kotler's CDV) in utils;
            for the customer's own firm its own view (the quality it expects,
            the price weighed less the more it trusts the firm, tier perks);
            for buying from no one, the outside option's value.
        trust: trust in the firm, 0..1 (NaN for buying from no one).
        trust_value: what that trust is worth, ``trust_weight * trust``.
        barrier: utility given up by leaving the current firm for this option.
        utility: ``delivered_value + trust_value - barrier``, what the choice compares.
        chance: logit probability of this option when the customer reconsiders.
    """

    name: str
    is_open: bool
    delivered_value: float
    trust: float
    trust_value: float
    barrier: float
    utility: float
    chance: float


@dataclass(frozen=True)
class CustomerView:
    """What one customer weighed in its latest decision, and what came of it.

    Attributes:
        index: the customer's row.
        month: the month of the decision (``None`` before the first month).
        firm_before, firm_now: the firm it bought from before and after
            (``None`` for no one).
        options: every option as it weighed them, firms first.
        barrier_parts: the exit barrier of its firm in utils, by kind: fee,
            points, bond and effort (empty when it bought from no one).
        satisfaction: satisfaction in that month, 0..1 (NaN if not served).
        tenure: months with its current firm now.
        segment: spend segment (heavy, medium, light).
        loyalty: Dick & Basu loyalty to its current firm now (true, latent,
            spurious, none), or ``None`` when it buys from no one.
        reason: why it stayed or left, in plain words.
    """

    index: int
    month: int | None
    firm_before: str | None
    firm_now: str | None
    options: list[OptionView]
    barrier_parts: dict[str, float]
    satisfaction: float
    tenure: int
    segment: str
    loyalty: str | None
    reason: str


def expectation_at_choice(model: ClassroomModel, index: np.ndarray) -> np.ndarray:
    """The quality customers expected of their firm when they chose, in the month just run.

    A month adapts expectation to experience before the choice, and a
    customer who joins a new firm then forms a new expectation of it. This
    replays the adaptation with the month's own draws and market, for the
    customers ``index``; for one who did not join a firm it equals the
    expectation stored after the month.
    """
    c, market, p = model.customers, model.market, model.spec.population
    firm = c.served_firm[index].astype(np.intp)
    before = model.expectation_before[index]
    served = firm < market.n_firms
    experience = satisfaction.experienced_quality(
        market.delivered_quality[firm],
        p.service_noise * model.draws.service_noise[index],
        c.failed[index],
        market.failure_severity[firm],
    )
    adapted = satisfaction.adapt_expectation(before, experience, rate=p.expectation_adaptation)
    return np.where(served, adapted, before)


def explain_customer(model: ClassroomModel, index: int) -> CustomerView:
    """What customer ``index`` weighed in the month just run, and why it stayed or left.

    The utilities are those of ``sim.engine.month.option_utilities`` (``utilities_of``) on the inputs
    the customer had when it chose: its firm and tenure before the month,
    trust after the month's service and word of mouth, points and reference
    price before the month, the expectation it had then and the month's
    market. Barriers are
    the difference between the utilities without and with them, and split by
    kind with ``sim.value``. Before the first month, the customer's present
    state and market are shown instead.

    Args:
        model: the running classroom model.
        index: the customer's row, ``0 <= index < customers``.
    """
    c, market, spec = model.customers, model.market, model.spec
    p = spec.population
    n_firms = market.n_firms
    if not 0 <= index < len(c):
        raise IndexError(f"customer {index} does not exist; customers are 0 to {len(c) - 1}")
    row = np.array([index])
    decided = model.month > 0 and model.points_before is not None
    if decided:
        firm = c.served_firm[row].astype(np.intp)
        tenure = c.served_tenure[row]
        points = model.points_before[row]
        reference = model.reference_before[row]
        joined = (c.firm[row] != c.served_firm[row]) & (c.firm[row] != n_firms)
        expectation = np.where(joined, expectation_at_choice(model, row), c.expectation[row])
    else:
        firm = c.firm[row].astype(np.intp)
        tenure = c.tenure[row]
        points = c.points[row]
        reference = c.reference_price[row]
        expectation = c.expectation[row]
    trust = c.trust[:, index : index + 1]
    args = (c, row, firm, tenure, expectation, trust, points, reference, market, spec)
    with_barriers = utilities_of(*args)[:, 0]
    free = utilities_of(*args, barriers=False, offers=True)[:, 0]
    chance = choice_probabilities(with_barriers)

    own = int(firm[0])
    served = own < n_firms
    names = [f.name for f in model.firms] + ["no one"]
    options = []
    for k in range(n_firms + 1):
        is_open = bool(market.open[k])
        trust_k = float(trust[k, 0]) if k < n_firms else float("nan")
        trust_value = p.trust_weight * trust_k if k < n_firms else 0.0
        delivered = float(free[k] - trust_value) if is_open else float("nan")
        barrier = float(free[k] - with_barriers[k]) if is_open else float("nan")
        options.append(
            OptionView(
                names[k], is_open, delivered, trust_k, trust_value, barrier, float(with_barriers[k]), float(chance[k])
            )
        )

    parts: dict[str, float] = {}
    if served:
        w_price = float(c.w_price[index])
        fee = market.exit_fee[own] if value.fee_applies(tenure, market.contract_months[own])[0] else 0.0
        parts = {
            "exit fee": w_price * float(fee),
            "points forfeited": w_price * float(points[0]),
            "tier perks": w_price
            * p.perk_months
            * float(
                value.tier_perk(
                    tenure,
                    silver_after=market.silver_after[own],
                    gold_after=market.gold_after[own],
                    silver_perk=market.silver_perk[own],
                    gold_perk=market.gold_perk[own],
                )[0]
            ),
            "relational bond": float(
                value.relational_bond(tenure, bond=market.relational_bond[own], months=p.bond_months)[0]
            ),
            "switching effort": float(c.effort[index]),
        }

    now = int(c.firm[index])
    loyalty_code = int(c.loyalty[index])
    view = CustomerView(
        index=index,
        month=model.month - 1 if decided else None,
        firm_before=names[own] if served else None,
        firm_now=names[now] if now < n_firms else None,
        options=options,
        barrier_parts=parts,
        satisfaction=float(c.satisfaction[index]) if decided else float("nan"),
        tenure=int(c.tenure[index]),
        segment=("heavy", "medium", "light")[int(c.segment[index])],
        loyalty=SEGMENT_NAMES[loyalty_code] if loyalty_code >= 0 else None,
        reason="",
    )
    forced_out = decided and served and bool(c.left_outside[index])
    save_rate = float(market.save_rate[own]) if served else 0.0
    return CustomerView(**{**view.__dict__, "reason": _reason(view, own, now, n_firms, forced_out, save_rate)})


def _reason(view: CustomerView, own: int, now: int, n_firms: int, forced_out: bool, save_rate: float) -> str:
    """Why the customer stayed or left, in plain words, from the utilities it weighed."""
    o = view.options
    if view.month is None:
        where = (
            f"starts with {o[own].name} ({view.tenure} months so far)" if own < n_firms else "starts buying from no one"
        )
        return f"Month 0 has not run yet: this customer {where}. Press Step to watch it choose."
    here = "no one" if own == n_firms else o[own].name
    others = [k for k in range(n_firms + 1) if k != own and o[k].is_open]
    best = max(others, key=lambda k: o[k].utility) if others else own
    barrier = o[best].barrier if best != own else 0.0
    label = lambda k: "buying from no one" if k == n_firms else o[k].name  # noqa: E731
    if now != own:
        if own < n_firms and forced_out:
            return (
                f"Left {here} for reasons outside the market (moved away, no longer needs it), not because of any firm."
            )
        gap = o[now].utility - o[own].utility
        free_gap = gap + o[now].barrier
        if own == n_firms:
            start, weighed = (
                f"Started buying from {o[now].name}",
                f"its value plus trust beat going without by {free_gap:.1f}",
            )
        elif now == n_firms:
            start, weighed = (
                f"Left {here} and now buys from no one",
                f"going without was worth {free_gap:.1f} more than {here}",
            )
        else:
            start, weighed = (
                f"Left {here} for {o[now].name}",
                f"{o[now].name}'s value plus trust beat {here}'s by {free_gap:.1f}",
            )
        if gap >= 0:
            barrier_words = f", more than the {o[now].barrier:.1f} barrier of leaving" if o[now].barrier > 0 else ""
            return f"{start}: {weighed}{barrier_words}."
        after = f" after the {o[now].barrier:.1f} barrier of leaving" if o[now].barrier > 0 else ""
        return (
            f"{start}, although{after} it was worth {-gap:.1f} less: "
            "a customer's taste varies from month to month, and this month it tipped the choice."
        )
    if own == n_firms:
        if o[best].utility <= o[own].utility:
            return (
                f"Buys from no one: the best firm, {label(best)}, is worth {o[own].utility - o[best].utility:.1f} "
                "less than going without."
            )
        return (
            f"Buys from no one, though {label(best)} would be worth {o[best].utility - o[own].utility:.1f} more: "
            "customers reconsider only now and then, or when something prompts them."
        )
    free_lead = o[own].utility - (o[best].utility + barrier)
    if free_lead >= 0:
        return (
            f"Stayed with {here}: it still gives the highest value plus trust, {free_lead:.1f} ahead of "
            f"{label(best)}, even if leaving were free."
        )
    if o[own].utility >= o[best].utility:
        return (
            f"Stayed with {here}, though {label(best)} would be worth {-free_lead:.1f} more if leaving were free: "
            f"the {barrier:.1f} barrier of leaving (fee, points, perks, bond, effort) holds it."
        )
    saved = f", or {here}'s save desk kept it" if save_rate > 0 else ""
    return (
        f"Stayed with {here}, though {label(best)} was worth {o[best].utility - o[own].utility:.1f} more even after "
        f"the barrier: it did not reconsider this month (customers reconsider only now and then, or when something "
        f"prompts them), or its taste this month favoured {here}{saved}."
    )
