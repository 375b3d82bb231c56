"""The classic shocks a teacher fires at a running market: a price cut, an outage, a fee ban, an entrant.

Each function changes a running ``LoyaltyModel`` from the next month, writes
one line to ``model.event_log`` and returns it. They are what the classroom
app's buttons call, and work as well on any model from a notebook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.engine.parameters import Event

if TYPE_CHECKING:
    from sim.engine.agents import Firm
    from sim.engine.model import LoyaltyModel

PRICE_CUT = 0.20
"""A price cut takes this share off the firm's price."""
OUTAGE_FAILURE_RATE = 0.5
"""During a service outage half of the firm's customers suffer a failure each month."""
OUTAGE_MONTHS = 2
"""An outage lasts two months; then the failure rate returns to what it was."""
OUTAGE_OVER = "outage over"
"""The note of the scheduled event that ends an outage."""
LAUNCH_BRAND_INVESTMENT = 1.0
"""Brand investment of an entrant's launch campaign: twice the default 0.5, as in ``new_entrant.toml``."""


class ShockError(ValueError):
    """A shock that cannot be applied now (no dormant competitor left, an unknown firm)."""


def price_cut(model: LoyaltyModel, firm: str, by: float = PRICE_CUT) -> str:
    """Cut ``firm``'s price by the share ``by`` from this month; returns the line logged."""
    levers = _open_firm(model, firm).levers
    before = levers.price
    levers.price = round(before * (1.0 - by), 2)
    return _log(model, f"{firm} price {before:g} -> {levers.price:g} (price cut of {by:.0%})")


def service_outage(
    model: LoyaltyModel, firm: str, failure_rate: float = OUTAGE_FAILURE_RATE, months: int = OUTAGE_MONTHS
) -> str:
    """Raise ``firm``'s failure rate for ``months`` months, then restore it; returns the line logged.

    The restoration is an ordinary scheduled event, so the model logs it
    when it happens. A second outage during the first extends it and
    restores the rate from before the first.
    """
    levers = _open_firm(model, firm).levers
    before = levers.failure_rate
    pending = [e for e in model.schedule.events if e.firm == firm and e.note == OUTAGE_OVER and e.month > model.period]
    for end in pending:
        before = end.to
        model.schedule.events.remove(end)
    end = Event(month=model.period + months, firm=firm, lever="failure_rate", to=before, note=OUTAGE_OVER)
    model.schedule.events.append(end)
    shown = levers.failure_rate
    levers.failure_rate = failure_rate
    return _log(model, f"{firm} failure_rate {shown:g} -> {failure_rate:g} (service outage until month {end.month})")


def ban_exit_fees(model: LoyaltyModel) -> str:
    """Set every firm's exit fee to 0 from this month; returns the line logged."""
    charged = [(f.name, f.levers.exit_fee) for f in model.firms if f.levers.exit_fee > 0]
    for firm in model.firms:
        firm.levers.exit_fee = 0.0
    was = ", ".join(f"{name} {fee:g}" for name, fee in charged) if charged else "no firm charged one"
    return _log(model, f"exit fees banned: every exit_fee -> 0 (was: {was})")


def competitor_enters(model: LoyaltyModel) -> str:
    """Open the first dormant firm this month, with a launch campaign; returns the line logged.

    A firm that invested nothing in its brand while it waited starts a
    campaign of 1 per customer-month (twice the default), as the
    ``new_entrant`` scenario's entrant does.

    Raises:
        ShockError: every firm is already in the market.
    """
    dormant = model.dormant_firms()
    if not dormant:
        raise ShockError("every firm is already in the market")
    firm = dormant[0]
    model.open_firm(firm.name)
    levers = firm.levers
    if levers.brand_investment == 0:
        levers.brand_investment = LAUNCH_BRAND_INVESTMENT
    return _log(
        model,
        f"{firm.name} opens for business (competitor entering: price {levers.price:g}, "
        f"quality {levers.quality:g}, image {firm.image:.2f}, brand investment {levers.brand_investment:g})",
    )


def _open_firm(model: LoyaltyModel, name: str) -> Firm:
    try:
        firm = model.firm(name)
    except KeyError as error:
        raise ShockError(str(error.args[0])) from None
    if not model.is_open(firm):
        raise ShockError(f"{name} is not in the market yet")
    return firm


def _log(model: LoyaltyModel, change: str) -> str:
    line = f"month {model.period}: {change}"
    model.event_log.append(line)
    return line
