"""A whole market, and the timed events that change its firms' levers."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from sim.engine.parameters.base import MAX_FIRMS, Parameters
from sim.engine.parameters.firm import ADJUSTABLE_LEVERS, Firm
from sim.engine.parameters.market import Market
from sim.engine.parameters.population import Population


class Event(Parameters):
    """A timed change to one firm's lever, or to every firm's (``firm = "all"``).

    Examples: at month 24 firm B cuts its price 15% (``lever = "price"``,
    ``by = -0.15``); at month 36 firm A suffers a six-month outage
    (``lever = "failure_rate"``, ``to = 0.5``, ``months = 6``); at month 48 a
    regulator bans exit fees (``firm = "all"``, ``lever = "exit_fee"``,
    ``to = 0``).
    """

    month: int = Field(ge=0, description="Month (0-based) from which the change applies (the period it falls in).")
    firm: str = Field(min_length=1, description='Name of the firm it applies to, or "all".')
    lever: Literal[ADJUSTABLE_LEVERS] = Field(description="Which lever changes.")  # type: ignore[valid-type]
    to: float | None = Field(None, description="New value of the lever.")
    by: float | None = Field(None, gt=-1, description="Relative change: -0.15 cuts the lever by 15%.")
    months: int | None = Field(
        None,
        ge=1,
        description="How long the change lasts, in months; afterwards the lever returns to its value before. "
        "Unset: it lasts to the end.",
    )
    note: str = Field("", description="What the event stands for, shown in reports.")

    @model_validator(mode="after")
    def _one_change(self) -> Event:
        if (self.to is None) == (self.by is None):
            raise ValueError("give exactly one of 'to' (new value) or 'by' (relative change)")
        return self


def _default_firms() -> list[Firm]:
    # Each firm's brand investment holds its image where it stands (sim.behaviour.brand.holding_investment), so
    # that the market at its opening levers is in its steady state.
    return [
        Firm(name="A", price=30.0, quality=0.75, image=0.6, brand_investment=0.87),
        Firm(name="B", price=27.0, quality=0.68, image=0.5, brand_investment=0.5),
        Firm(name="C", price=33.0, quality=0.80, image=0.55, brand_investment=0.65),
    ]


class Scenario(Parameters):
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
