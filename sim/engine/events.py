"""Timed events: changes to firms' levers at given months, some of them temporary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.engine.parameters import Event, Scenario

if TYPE_CHECKING:
    from sim.engine.agents import Firm


@dataclass
class EventSchedule:
    """Applies a scenario's events to the firms as the months go by.

    ``apply(month, firms)`` is called before each month: temporary changes
    that end that month are undone first, then every event of that month
    changes its lever(s); a temporary one remembers the value it replaced and
    puts it back ``months`` later. The order is the one ``Scenario`` replays
    when it checks that every event keeps its lever valid.

    Args:
        events: the scenario's events.
    """

    events: list[Event]
    _reverts: list[tuple[int, Firm, str, float]] = field(default_factory=list)

    def apply(self, month: int, firms: list[Firm]) -> list[str]:
        """Apply what is due at ``month``; return a line per change, for logs and reports."""
        done = []
        due = [r for r in self._reverts if r[0] == month]
        self._reverts = [r for r in self._reverts if r[0] != month]
        for _, firm, lever, value in due:
            setattr(firm.levers, lever, value)
            done.append(f"month {month}: {firm.name} {lever} back to {value:g}")
        for event in self.events:
            if event.month != month:
                continue
            for firm in firms:
                if event.firm not in ("all", firm.name):
                    continue
                before = getattr(firm.levers, event.lever)
                after = event.to if event.to is not None else before * (1.0 + event.by)
                setattr(firm.levers, event.lever, after)
                if event.months is not None:
                    self._reverts.append((month + event.months, firm, event.lever, before))
                done.append(
                    f"month {month}: {firm.name} {event.lever} {before:g} -> {after:g}"
                    + (f" ({event.note})" if event.note else "")
                )
        return done


def describe(event: Event) -> str:
    """One line for reports: ``month 24: B price -15% (a price war)``."""
    who = "every firm" if event.firm == "all" else event.firm
    change = f"to {event.to:g}" if event.to is not None else f"{event.by:+.0%}"
    lasting = f" for {event.months} months" if event.months else ""
    note = f" ({event.note})" if event.note else ""
    return f"month {event.month}: {who} {event.lever.replace('_', ' ')} {change}{lasting}{note}"


def never_happen(scenario: Scenario) -> list[str]:
    """A line for each event, and each firm's entry, that falls after the run's last month and so never happens.

    A run of ``periods`` periods of ``period_months`` months lives months 0
    to ``periods * period_months - 1``; an event or an ``enters_at`` from the
    month after that on changes nothing, and the run reports the market as if
    it were not there.
    """
    market = scenario.market
    months = market.periods * market.period_months
    ends = f"the run ends after month {months - 1} ({market.periods} period{'s' * (market.periods != 1)})"

    def needed(month: int) -> str:
        return f"give --periods {month // market.period_months + 1} or more"

    lines = [
        f"{scenario.name}: events[{index}] ({describe(event)}) never happens: {ends}; {needed(event.month)}"
        for index, event in enumerate(scenario.events)
        if event.month >= months
    ]
    lines += [
        f"{scenario.name}: firm {firm.name} enters at month {firm.enters_at} and so never opens: {ends}; "
        f"{needed(firm.enters_at)}"
        for firm in scenario.firms
        if firm.enters_at >= months
    ]
    return lines
