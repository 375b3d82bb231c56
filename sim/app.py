"""The classroom web app: a market on the projector, its levers in the teacher's hands.

``loyalty app [SCENARIO]`` serves this page with Mesa's SolaraViz on a Solara
server bound to 127.0.0.1. SolaraViz's sidebar holds play, pause, step and
reset, the speed (milliseconds between months while playing) and the
scenario, market size and seed that Reset starts from. The page shows:

- live plots of market share, churn, profit and the Dick & Basu loyalty
  segments, each with a caption saying what to look at;
- for each firm in the market, sliders for price, service quality, failure
  rate, exit fee, complaint recovery and loyalty points, which change the
  running model from the next month;
- buttons for the classic shocks: a price cut, a service outage, a ban on
  exit fees and a competitor entering, each written to ``model.event_log``;
- every customer as a dot coloured by its firm, and for one chosen customer
  what it weighed in its last decision, option by option, and why it stayed
  or left.

The model is ``ClassroomModel``, a ``LoyaltyModel`` that SolaraViz can build
from flat keyword parameters. Every number the page shows comes from the
model's own records and functions: its per-month metrics (the rows of
``results()``), ``option_utilities`` with and without barriers,
``choice_probabilities`` and the ``value`` module.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import random
import re
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import matplotlib

matplotlib.use("Agg")

import ipyvuetify  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import solara  # noqa: E402
import traitlets  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402
from mesa.visualization import Slider, SolaraViz  # noqa: E402
from mesa.visualization.utils import force_update, update_counter  # noqa: E402

from . import satisfaction, value  # noqa: E402
from .agents import Firm as FirmAgent  # noqa: E402
from .choice import choice_probabilities  # noqa: E402
from .model import LoyaltyModel  # noqa: E402
from .parameters import MAX_FIRMS, Event, Scenario  # noqa: E402
from .parameters import Firm as FirmLevers  # noqa: E402
from .period import option_utilities  # noqa: E402
from .plots import FIRM_COLOURS, SEGMENTS, STYLE  # noqa: E402
from .scenario_files import list_scenarios, load_scenario  # noqa: E402
from .segments import SEGMENT_NAMES, SPURIOUS  # noqa: E402

__all__ = [
    "ClassroomModel", "CustomerView", "OptionView", "ShockError", "Page", "classroom_scenario", "explain_customer",
    "launch_settings",
]

ENV_SCENARIO = "LOYALTY_APP_SCENARIO"
ENV_CUSTOMERS = "LOYALTY_APP_CUSTOMERS"
ENV_SEED = "LOYALTY_APP_SEED"
DEFAULT_CUSTOMERS = 2_000
DEFAULT_SEED = 1

PRICE_CUT = 0.20
"""A price cut takes this share off the firm's price."""
OUTAGE_FAILURE_RATE = 0.5
"""During a service outage half of the firm's customers suffer a failure each month."""
OUTAGE_MONTHS = 2
"""An outage lasts two months; then the failure rate returns to what it was."""
DORMANT = 100_000
"""``enters_at`` of the entrant the app adds: never, unless the 'competitor enters' button opens it."""
LAUNCH_BRAND_INVESTMENT = 1.0
"""Brand investment of an entrant's launch campaign: twice the default 0.5, as in ``new_entrant.toml``."""
ENTRANT_IMAGE = 0.1
"""Brand image of the entrant the app adds: almost unknown, as in ``new_entrant.toml``."""
OUTSIDE_COLOUR = "#C8C8C8"
MOST_DOTS = 4_900
"""The customer picture shows at most this many customers (a 70 x 70 grid)."""

_MONTH = re.compile(r"^month (\d+):")


class ShockError(ValueError):
    """A shock that cannot be applied now (no dormant competitor left, an unknown firm)."""


# --- the model ---------------------------------------------------------------------------------------------------


def classroom_scenario(scenario: str | Scenario = "baseline", customers: int = DEFAULT_CUSTOMERS) -> Scenario:
    """A scenario ready for class: its market resized, and a dormant competitor added if it has none.

    The competitor matches the cheapest firm's price and quality, has almost
    no brand image (0.1) and does not invest in its brand while it waits; it
    opens only when the 'competitor enters' button is pressed
    (``enters_at`` = 100,000). Customers cannot choose it before, so the
    other firms' months are exactly those of the scenario without it.

    Args:
        scenario: a shipped scenario's name, a path to a TOML file, or a
            ``Scenario``.
        customers: number of customers in the market.

    Raises:
        ScenarioError: the file does not exist or is not a valid scenario.
    """
    spec = load_scenario(scenario) if isinstance(scenario, str) else scenario
    raw = spec.model_dump()
    raw["market"]["customers"] = customers
    if not any(f.enters_at > 0 for f in spec.firms) and len(spec.firms) < MAX_FIRMS:
        raw["firms"].append(_entrant(spec).model_dump())
    return Scenario.model_validate(raw)


def _entrant(spec: Scenario) -> FirmLevers:
    names = [f.name for f in spec.firms]
    letters = [n for n in names if len(n) == 1 and n in string.ascii_uppercase]
    if len(letters) == len(names) and max(letters) < "Z":
        name = chr(ord(max(letters)) + 1)
    else:
        name = next(n for n in ("New", "Newcomer", "Entrant", "Challenger") if n not in names)
    cheapest = min(spec.firms, key=lambda f: f.price)
    return FirmLevers(
        name=name, price=cheapest.price, quality=cheapest.quality, image=ENTRANT_IMAGE, brand_investment=0.0,
        enters_at=DORMANT,
    )


class ClassroomModel(LoyaltyModel):
    """A ``LoyaltyModel`` built from flat keyword parameters, with the classroom's shocks.

    SolaraViz builds the model again on Reset from the sidebar's values, so
    the constructor takes plain keywords. The market is
    ``classroom_scenario(scenario_name, customers)``: the scenario as written, at
    the chosen size, with a dormant competitor if it has none. The model stops
    (``running`` turns false) at the scenario's horizon.

    Before each month it keeps each customer's points and expectation, the
    two inputs of a decision that the month overwrites, so that
    ``explain_customer`` can show exactly what a customer weighed.

    The scenario parameter is ``scenario_name``, not ``scenario``: Mesa 3.5
    reserves ``scenario`` for an object of its own, which its SolaraViz
    passes to the model on Reset.

    Args:
        scenario_name: a shipped scenario's name or a path to a TOML file.
        customers: number of customers.
        seed: seed of the model's random numbers.
        vectorised: advance all customers at once (the fast path, default).
    """

    def __init__(
        self, scenario_name: str = "baseline", customers: int = DEFAULT_CUSTOMERS, seed: int = DEFAULT_SEED,
        vectorised: bool = True,
    ) -> None:
        super().__init__(classroom_scenario(scenario_name, int(customers)), seed=int(seed), vectorised=vectorised)
        self.scenario_name = scenario_name
        self.horizon = self.spec.market.periods
        self.running = True
        self.points_before: np.ndarray | None = None
        self.expectation_before: np.ndarray | None = None
        self._monthly: tuple[int, pd.DataFrame] | None = None
        self._outage_ends: dict[str, Event] = {}

    def step(self) -> None:
        """One month of the market; afterwards ``running`` says whether the horizon is still ahead."""
        self.points_before = self.customers.points.copy()
        self.expectation_before = self.customers.expectation.copy()
        super().step()
        self.running = self.period < self.horizon

    def monthly(self) -> pd.DataFrame:
        """The metrics so far, one row per month and firm: the columns of ``results()``, without its ``attrs``.

        Built once per month from the model's own records, for the page to
        filter and plot quickly (pandas copies ``attrs``, the whole scenario,
        on every operation). Do not modify it.
        """
        if self._monthly is None or self._monthly[0] != len(self._records):
            records = list(self._records)  # a copy: the plots are drawn in another thread while months run
            names = np.array([f.name for f in self.firms], dtype=object)
            columns = {key: np.concatenate([r[key] for r in records]) for key in records[0]} if records else {"period": []}
            frame = pd.DataFrame({"period": columns.pop("period"), "firm": np.tile(names, len(records)), **columns})
            self._monthly = (len(records), frame)
        return self._monthly[1]

    def open_firms(self) -> list[FirmAgent]:
        """The firms customers can choose this month."""
        return [f for f in self.firms if f.levers.enters_at <= self.period]

    def dormant_firms(self) -> list[FirmAgent]:
        """Firms declared in the market that have not opened yet."""
        return [f for f in self.firms if f.levers.enters_at > self.period]

    def price_cut(self, firm: str, by: float = PRICE_CUT) -> str:
        """Cut ``firm``'s price by the share ``by`` from this month; returns the line logged."""
        levers = self._open_firm(firm).levers
        before = levers.price
        levers.price = round(before * (1.0 - by), 2)
        return self._log(f"{firm} price {before:g} -> {levers.price:g} (price cut of {by:.0%})")

    def service_outage(self, firm: str, failure_rate: float = OUTAGE_FAILURE_RATE, months: int = OUTAGE_MONTHS) -> str:
        """Raise ``firm``'s failure rate for ``months`` months, then restore it; returns the line logged.

        The restoration is an ordinary scheduled event, so the model logs it
        when it happens. A second outage during the first extends it and
        restores the rate from before the first.
        """
        levers = self._open_firm(firm).levers
        before = levers.failure_rate
        pending = self._outage_ends.get(firm)
        if pending is not None and pending.month > self.period:
            before = pending.to
            self.schedule.events.remove(pending)
        end = Event(month=self.period + months, firm=firm, lever="failure_rate", to=before, note="outage over")
        self.schedule.events.append(end)
        self._outage_ends[firm] = end
        shown = levers.failure_rate
        levers.failure_rate = failure_rate
        return self._log(
            f"{firm} failure_rate {shown:g} -> {failure_rate:g} (service outage until month {end.month})"
        )

    def ban_exit_fees(self) -> str:
        """Set every firm's exit fee to 0 from this month; returns the line logged."""
        charged = [(f.name, f.levers.exit_fee) for f in self.firms if f.levers.exit_fee > 0]
        for firm in self.firms:
            firm.levers.exit_fee = 0.0
        was = ", ".join(f"{name} {fee:g}" for name, fee in charged) if charged else "no firm charged one"
        return self._log(f"exit fees banned: every exit_fee -> 0 (was: {was})")

    def competitor_enters(self) -> str:
        """Open the first dormant firm this month, with a launch campaign; returns the line logged.

        A firm that invested nothing in its brand while it waited starts a
        campaign of 1 per customer-month (twice the default), as the
        ``new_entrant`` scenario's entrant does.

        Raises:
            ShockError: every firm is already in the market.
        """
        dormant = self.dormant_firms()
        if not dormant:
            raise ShockError("every firm is already in the market")
        firm = dormant[0]
        self.open_firm(firm.name)
        levers = firm.levers
        if levers.brand_investment == 0:
            levers.brand_investment = LAUNCH_BRAND_INVESTMENT
        return self._log(
            f"{firm.name} opens for business (competitor entering: price {levers.price:g}, "
            f"quality {levers.quality:g}, image {firm.image:.2f}, brand investment {levers.brand_investment:g})"
        )

    def _open_firm(self, name: str) -> FirmAgent:
        try:
            firm = self.firm(name)
        except KeyError as error:
            raise ShockError(str(error.args[0])) from None
        if firm.levers.enters_at > self.period:
            raise ShockError(f"{name} is not in the market yet")
        return firm

    def _log(self, change: str) -> str:
        line = f"month {self.period}: {change}"
        self.event_log.append(line)
        return line


def launch_settings() -> dict[str, object]:
    """The model the page starts with, from the environment ``loyalty app`` sets.

    ``LOYALTY_APP_SCENARIO`` (default ``baseline``), ``LOYALTY_APP_CUSTOMERS``
    (default 2,000) and ``LOYALTY_APP_SEED`` (default 1).
    """
    return {
        "scenario_name": os.environ.get(ENV_SCENARIO, "baseline"),
        "customers": int(os.environ.get(ENV_CUSTOMERS, DEFAULT_CUSTOMERS)),
        "seed": int(os.environ.get(ENV_SEED, DEFAULT_SEED)),
    }


def event_months(model: LoyaltyModel) -> list[int]:
    """Months at which the event log records a change (scheduled events, shocks, entries)."""
    months = {int(m.group(1)) for line in model.event_log if (m := _MONTH.match(line))}
    return sorted(months)


# --- one customer, explained -------------------------------------------------------------------------------------


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
    customer who joins a new firm then takes that firm's quality as its new
    expectation. This replays the adaptation with the month's own draws and
    market, for the customers ``index``; for one who did not join a firm it
    equals the expectation stored after the month.
    """
    c, market, p = model.customers, model.market, model.spec.population
    firm = c.served_firm[index].astype(np.intp)
    before = model.expectation_before[index]
    served = firm < market.n_firms
    experience = satisfaction.experienced_quality(
        market.delivered_quality[firm], p.service_noise * model.draws.service_noise[index], c.failed[index],
        market.failure_severity[firm],
    )
    adapted = satisfaction.adapt_expectation(before, experience, rate=p.expectation_adaptation)
    return np.where(served, adapted, before)


def explain_customer(model: ClassroomModel, index: int) -> CustomerView:
    """What customer ``index`` weighed in the month just run, and why it stayed or left.

    The utilities are those of ``sim.period.option_utilities`` on the inputs
    the customer had when it chose: its firm and tenure before the month,
    trust after the month's service and word of mouth, points before the
    month, the expectation it had then and the month's market. Barriers are
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
    decided = model.period > 0 and model.points_before is not None
    if decided:
        firm = c.served_firm[row].astype(np.intp)
        tenure = c.served_tenure[row]
        points = model.points_before[row]
        joined = (c.firm[row] != c.served_firm[row]) & (c.firm[row] != n_firms)
        expectation = np.where(joined, expectation_at_choice(model, row), c.expectation[row])
    else:
        firm = c.firm[row].astype(np.intp)
        tenure = c.tenure[row]
        points = c.points[row]
        expectation = c.expectation[row]
    trust = c.trust[:, index : index + 1]
    rows = slice(index, index + 1)
    args = (c, rows, slice(None), firm, tenure, expectation, trust, points, market, spec)
    with_barriers = option_utilities(*args)[:, 0]
    free = option_utilities(*args, barriers=False)[:, 0]
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
            OptionView(names[k], is_open, delivered, trust_k, trust_value, barrier, float(with_barriers[k]), float(chance[k]))
        )

    parts: dict[str, float] = {}
    if served:
        w_price = float(c.w_price[index])
        fee = market.exit_fee[own] if value.fee_applies(tenure, market.contract_months[own])[0] else 0.0
        parts = {
            "exit fee": w_price * float(fee),
            "points forfeited": w_price * float(points[0]),
            "relational bond": float(
                value.relational_bond(tenure, bond=market.relational_bond[own], months=p.bond_months)[0]
            ),
            "switching effort": float(c.effort[index]),
        }

    now = int(c.firm[index])
    loyalty_code = int(c.loyalty[index])
    view = CustomerView(
        index=index,
        month=model.period - 1 if decided else None,
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
    forced_out = decided and served and bool(model.draws.hazard[index] < market.defection_hazard[own])
    save_rate = float(market.save_rate[own]) if served else 0.0
    return CustomerView(**{**view.__dict__, "reason": _reason(view, own, now, n_firms, forced_out, save_rate)})


def _reason(view: CustomerView, own: int, now: int, n_firms: int, forced_out: bool, save_rate: float) -> str:
    """Why the customer stayed or left, in plain words, from the utilities it weighed."""
    o = view.options
    if view.month is None:
        where = f"starts with {o[own].name} ({view.tenure} months so far)" if own < n_firms else "starts buying from no one"
        return f"Month 0 has not run yet: this customer {where}. Press Step to watch it choose."
    here = "no one" if own == n_firms else o[own].name
    others = [k for k in range(n_firms + 1) if k != own and o[k].is_open]
    best = max(others, key=lambda k: o[k].utility) if others else own
    barrier = o[best].barrier if best != own else 0.0
    label = lambda k: "buying from no one" if k == n_firms else o[k].name  # noqa: E731
    if now != own:
        if own < n_firms and forced_out:
            return f"Left {here} for reasons outside the market (moved away, no longer needs it), not because of any firm."
        gap = o[now].utility - o[own].utility
        free_gap = gap + o[now].barrier
        if own == n_firms:
            start, weighed = f"Started buying from {o[now].name}", f"its value plus trust beat going without by {free_gap:.1f}"
        elif now == n_firms:
            start, weighed = f"Left {here} and now buys from no one", f"going without was worth {free_gap:.1f} more than {here}"
        else:
            start, weighed = f"Left {here} for {o[now].name}", f"{o[now].name}'s value plus trust beat {here}'s by {free_gap:.1f}"
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
            f"the {barrier:.1f} barrier of leaving (fee, points, bond, effort) holds it."
        )
    saved = f", or {here}'s save desk kept it" if save_rate > 0 else ""
    return (
        f"Stayed with {here}, though {label(best)} was worth {o[best].utility - o[own].utility:.1f} more even after "
        f"the barrier: it did not reconsider this month (customers reconsider only now and then, or when something "
        f"prompts them), or its taste this month favoured {here}{saved}."
    )


# --- figures ---------------------------------------------------------------------------------------------------


FIGSIZE = (6.4, 3.6)
DPI = 100
MARGINS = {"left": 0.13, "right": 0.84, "top": 0.89, "bottom": 0.15}
"""Fixed margins (the legend sits right of the axes): an automatic layout would double the drawing time."""
PROJECTOR_STYLE = {
    **STYLE, "font.size": 12, "axes.titlesize": 14, "axes.labelsize": 12, "xtick.labelsize": 12, "ytick.labelsize": 12,
    "legend.fontsize": 12, "legend.handlelength": 1.2,
}
"""The report figures' style, in type large enough to read from the back of a classroom."""
CHURN_SMOOTHING = 6
"""Months averaged in the churn plot's thick lines: a firm of a few hundred customers loses only a handful a month."""


def _firm_colour(model: LoyaltyModel, name: str) -> str:
    index = [f.name for f in model.firms].index(name)
    return FIRM_COLOURS[index % len(FIRM_COLOURS)]


def _new_figure(size: tuple[float, float] = FIGSIZE, right: float = MARGINS["right"]) -> tuple[Figure, Axes]:
    with matplotlib.rc_context(PROJECTOR_STYLE):
        figure = Figure(figsize=size, dpi=DPI)
        figure.subplots_adjust(**{**MARGINS, "right": right})
        axes = figure.add_subplot()
    return figure, axes


def _title(figure: Figure, title: str) -> None:
    # A figure text, not an axes title: placing an axes title measures every tick label, a third of the drawing time.
    figure.text(0.015, 0.975, title, ha="left", va="top", fontsize=PROJECTOR_STYLE["axes.titlesize"], fontweight="bold")


def _months(table: pd.DataFrame) -> int:
    return int(table["period"].max()) + 1 if len(table) else 0


def _time_axis(axes: Axes, model: ClassroomModel, months: int) -> None:
    axes.set_xlim(0, max(12, months))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    axes.yaxis.set_major_locator(MaxNLocator(nbins=6))
    axes.set_xlabel("month")
    for month in event_months(model):
        if month < months:
            axes.axvline(month, color="#555555", linestyle=":", linewidth=1.2, zorder=0)


def _firm_lines(
    model: ClassroomModel, table: pd.DataFrame | None, column: str, scale: float, title: str, ylabel: str, smooth: int = 0
) -> Figure:
    """One line per firm that has been in the market, of ``column`` times ``scale``, month by month.

    With ``smooth`` > 0 each month is drawn thin and the mean of the last
    ``smooth`` months thick; months in which a firm served no one are gaps.
    ``table`` is ``model.monthly()`` or a snapshot of it (the default: now).
    """
    results = model.monthly() if table is None else table
    with matplotlib.rc_context(PROJECTOR_STYLE):
        figure, axes = _new_figure()
        for firm in model.firms:
            rows = results[(results.firm == firm.name) & (results.period >= firm.levers.enters_at)]
            if rows.empty:
                continue
            series = rows[column].astype(float) * scale
            colour = _firm_colour(model, firm.name)
            if smooth:
                series = series.where(rows["served"] > 0)
                axes.plot(rows["period"], series, color=colour, linewidth=1.0, alpha=0.35)
                series = series.rolling(smooth, min_periods=1).mean()
            axes.plot(
                rows["period"], series, color=colour, label=firm.name, linewidth=2.4, marker="o" if len(rows) < 3 else None,
            )
        _title(figure, title)
        axes.set_ylabel(ylabel)
        axes.set_ylim(bottom=min(0.0, axes.get_ylim()[0]))
        _time_axis(axes, model, _months(results))
        if len(axes.lines):
            axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), ncols=1)
        else:
            axes.text(0.5, 0.5, "Press Step or ▶ to run the first month", transform=axes.transAxes, ha="center", color="#777777")
    return figure


def share_figure(model: ClassroomModel, table: pd.DataFrame | None = None) -> Figure:
    """Market share of each firm (% of customers served by a firm), month by month."""
    return _firm_lines(model, table, "market_share", 100.0, "Market share", "% of customers served")


def churn_figure(model: ClassroomModel, table: pd.DataFrame | None = None) -> Figure:
    """Churn: the share of each firm's customers who left it in the month (%), thin, and its 6-month mean, thick."""
    return _firm_lines(
        model, table, "churn_rate", 100.0, "Churn: customers lost each month", "% of the firm's customers", smooth=CHURN_SMOOTHING
    )


def profit_figure(model: ClassroomModel, table: pd.DataFrame | None = None) -> Figure:
    """Profit of each firm in each month, in thousands."""
    figure = _firm_lines(model, table, "profit", 1e-3, "Profit each month", "thousands")
    axes = figure.axes[0]
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    axes.axhline(0.0, color="#555555", linewidth=0.8)
    return figure


def segments_figure(model: ClassroomModel, table: pd.DataFrame | None = None) -> Figure:
    """Customers of all firms by Dick & Basu loyalty segment, stacked, month by month."""
    results = model.monthly() if table is None else table
    with matplotlib.rc_context(PROJECTOR_STYLE):
        figure, axes = _new_figure(right=0.80)
        if not results.empty:
            columns = [column for column, _, _ in SEGMENTS]
            totals = results.groupby("period")[columns].sum()
            axes.stackplot(
                totals.index, *(totals[c] for c in columns), labels=list(SEGMENT_NAMES),
                colors=[colour for _, _, colour in SEGMENTS], alpha=0.95,
            )
            handles, labels = axes.get_legend_handles_labels()
            axes.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.0, 1.0))
        else:
            axes.text(0.5, 0.5, "Press Step or ▶ to run the first month", transform=axes.transAxes, ha="center", color="#777777")
        _title(figure, "Why customers stay (all firms)")
        axes.set_ylabel("customers")
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        _time_axis(axes, model, _months(results))
    return figure


@dataclass(frozen=True)
class CustomerPicture:
    """The customer grid as a PNG, and how to find a customer in it.

    Attributes:
        png: the image.
        columns, rows: dots per row and number of rows.
        cell: pixels per dot (square cells).
        margin: white pixels around the grid.
        shown: customers shown (the first ``shown`` rows of the market).
        counts: customers of each firm now, then of no one, shape (F+1,).
    """

    png: bytes
    columns: int
    rows: int
    cell: int
    margin: int
    shown: int
    counts: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """Width and height of the image in pixels."""
        return self.columns * self.cell + 2 * self.margin, self.rows * self.cell + 2 * self.margin

    def customer_at(self, x: float, y: float) -> int | None:
        """The customer under a point given as fractions (0..1) of the image's width and height, or None."""
        width, height = self.size
        column = int(np.floor((x * width - self.margin) / self.cell))
        row = int(np.floor((y * height - self.margin) / self.cell))
        if not (0 <= column < self.columns and 0 <= row < self.rows):
            return None
        index = row * self.columns + column
        return index if index < self.shown else None

    def centre_of(self, index: int) -> tuple[float, float]:
        """Where customer ``index``'s dot is, as fractions of the image's width and height."""
        row, column = divmod(index, self.columns)
        width, height = self.size
        return (self.margin + (column + 0.5) * self.cell) / width, (self.margin + (row + 0.5) * self.cell) / height


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def customers_picture(model: ClassroomModel, selected: int | None = None, width: int = 640) -> CustomerPicture:
    """Every customer as a dot in a grid, coloured by the firm it buys from (grey: no one).

    Dots of customers who changed firm in the last month have a dark ring;
    the selected customer has a large black ring. A market larger than 4,900
    customers shows its first 4,900. Drawn with NumPy into a palette image,
    not with matplotlib, as it is drawn again whenever a customer is picked.

    Args:
        model: the classroom model.
        selected: the customer to ring, if any.
        width: width of the image in pixels (at most; cells are whole pixels).
    """
    c = model.customers
    shown = min(len(c), MOST_DOTS)
    columns = max(1, int(np.ceil(np.sqrt(shown))))
    rows = max(1, int(np.ceil(shown / columns)))
    cell = int(np.clip(width // (columns + 4), 5, 28))
    margin = 2 * cell  # room for the selection ring around a dot on the edge
    # A palette image, one byte a pixel: 0 white, 1 the rim of a switcher, 2 the selection ring, 3... the options.
    white, rim_colour, ring_colour, first = 0, 1, 2, 3
    colours = [(255, 255, 255), (17, 17, 17), (0, 0, 0)]
    colours += [tuple(_rgb(_firm_colour(model, f.name))) for f in model.firms] + [tuple(_rgb(OUTSIDE_COLOUR))]
    firm = c.firm[:shown].astype(np.intp)
    moved = (c.served_firm[:shown] != c.firm[:shown]) if model.period > 0 else np.zeros(shown, dtype=bool)

    # One cell: a disc, with a dark rim for the customers who just switched.
    centre = (cell - 1) / 2.0
    yy, xx = np.mgrid[0:cell, 0:cell]
    distance = np.hypot(xx - centre, yy - centre)
    radius = 0.42 * cell
    disc = distance <= radius
    rim = disc & (distance > radius - max(1.2, cell / 7))

    fill = np.full(rows * columns, white, dtype=np.uint8)
    fill[:shown] = first + firm
    edge = fill.copy()
    edge[:shown][moved] = rim_colour
    tiles = np.where(disc, fill[:, None, None], np.uint8(white))
    tiles = np.where(rim, edge[:, None, None], tiles)
    grid = tiles.reshape(rows, columns, cell, cell).transpose(0, 2, 1, 3).reshape(rows * cell, columns * cell)
    image = np.full((grid.shape[0] + 2 * margin, grid.shape[1] + 2 * margin), white, dtype=np.uint8)
    image[margin:-margin, margin:-margin] = grid

    if selected is not None and 0 <= selected < shown:
        r, k = divmod(selected, columns)
        top, left = r * cell, k * cell  # the selected cell's corner, less the margin: the ring's window
        window = image[top : top + cell + 2 * margin, left : left + cell + 2 * margin]
        yy, xx = np.mgrid[0 : window.shape[0], 0 : window.shape[1]]
        ring = np.abs(np.hypot(xx - (margin + centre), yy - (margin + centre)) - 1.6 * cell) <= max(1.5, cell / 6)
        window[ring] = ring_colour

    from PIL import Image

    picture = Image.fromarray(image, mode="P")
    picture.putpalette([v for rgb in colours for v in rgb])
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    counts = np.bincount(c.firm.astype(np.intp), minlength=model.n_firms + 1)
    return CustomerPicture(buffer.getvalue(), columns, rows, cell, margin, shown, counts)


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


PLOTS: tuple[tuple[str, Callable[[ClassroomModel, pd.DataFrame | None], Figure], str], ...] = (
    (
        "share", share_figure,
        "Each line is one firm's slice of the customers who buy from someone. Watch who gains right after a "
        "dotted line (a shock or event), and whether the gain lasts.",
    ),
    (
        "churn", churn_figure,
        "The share of each firm's customers who left it each month (thin) and over the last six months (thick). "
        "A spike means something pushed customers out; a lower line means customers are held, by value or by barriers.",
    ),
    (
        "profit", profit_figure,
        "What each firm earned in the month after all costs. A price cut buys customers but earns less on each; "
        "winning a customer costs money up front.",
    ),
    (
        "segments", segments_figure,
        "Green customers would choose their firm again even if leaving were free (true and latent loyalty); "
        "orange ones stay only because leaving costs them (spurious). Ban exit fees and watch the orange band.",
    ),
)
CUSTOMERS_CAPTION = (
    "Each dot is one customer, coloured by the firm it buys from (grey: no one). Dots with a dark ring switched "
    "last month; the large ring marks the customer explained on the right. Click a dot to explain it."
)
INSPECTOR_CAPTION = (
    "Delivered value is what a firm gives for its price (quality and image, less price); trust adds to it; the "
    "barrier (exit fee, points, bond, effort) is what leaving its firm costs. A customer who reconsiders picks by "
    "the total, with some month-to-month taste: hence the chances in the last column."
)


# --- the page ------------------------------------------------------------------------------------------------------

LEVERS = (
    # lever, label, unit shown, slider min, max, step, scale from lever to slider
    ("price", "price", "", 0.0, None, 0.5, 1.0),
    ("quality", "service quality", "", 0.0, 1.0, 0.01, 1.0),
    ("failure_rate", "failure rate", "%", 0.0, 50.0, 0.5, 100.0),
    ("exit_fee", "exit fee (barrier)", "", 0.0, 150.0, 1.0, 1.0),
    ("recovery_rate", "complaints recovered", "%", 0.0, 100.0, 1.0, 100.0),
    ("points_rate", "loyalty points, % of bill", "%", 0.0, 10.0, 0.1, 100.0),
)

CSS = """
.lsim-page { font-size: 16px; max-width: 1500px; }
.lsim-caption { color: #444; font-size: 15px; line-height: 1.35; margin: 2px 8px 8px 8px; }
.lsim-month { font-size: 26px; font-weight: 700; }
.lsim-question { font-size: 17px; color: #333; }
.lsim-table { border-collapse: collapse; font-size: 15px; width: 100%; }
.lsim-table th, .lsim-table td { padding: 3px 8px; text-align: right; border-bottom: 1px solid #e3e3e3; }
.lsim-table th:first-child, .lsim-table td:first-child { text-align: left; }
.lsim-table th { color: #333; font-weight: 600; }
.lsim-swatch { display: inline-block; width: 12px; height: 12px; border-radius: 6px; margin-right: 6px; }
.lsim-reason { font-size: 17px; background: #f4f6fb; border-left: 4px solid #0072B2; padding: 8px 12px; margin: 8px 0; }
.lsim-events { font-size: 15px; max-height: 260px; overflow-y: auto; margin: 0; padding-left: 18px; }
.lsim-firm-name { font-weight: 700; font-size: 18px; }
.lsim-closed { color: #999; }
.lsim-plots-month { color: #777; font-size: 14px; text-align: right; margin: -8px 4px -8px 0; }
.lsim-drawing { height: 360px; display: flex; align-items: center; justify-content: center; color: #999; }
.lsim-lever-label { font-size: 15px; margin-top: 4px; }
.lsim-lever .v-input__slot { margin-bottom: 0; }
.lsim-lever .v-messages { display: none; }
#customer-facts { font-size: 16px; margin: 8px 0; }
"""


def _pct(x: float, digits: int = 1) -> str:
    return "–" if not np.isfinite(x) else f"{100 * x:.{digits}f}%"


def _num(x: float, digits: int = 1) -> str:
    return "–" if not np.isfinite(x) else f"{x:,.{digits}f}"


def firms_table_html(model: ClassroomModel) -> str:
    """The firms now: levers and last month's customers, share, churn, profit and loyalty, as an HTML table."""
    results = model.monthly()
    last = results[results.period == model.period - 1].set_index("firm") if model.period else None
    head = (
        "<tr><th>firm</th><th>price</th><th>quality</th><th>failures</th><th>exit fee</th><th>recovered</th>"
        "<th>points</th><th>customers</th><th>share</th><th>churn</th><th>profit</th><th>true loyal</th>"
        "<th>spurious</th></tr>"
    )
    counts = np.bincount(model.customers.firm.astype(np.intp), minlength=model.n_firms + 1)
    body = []
    for k, firm in enumerate(model.firms):
        levers = firm.levers
        is_open = levers.enters_at <= model.period
        name = html.escape(firm.name)
        swatch = f'<span class="lsim-swatch" style="background:{_firm_colour(model, firm.name)}"></span>'
        cells = [
            f'<td>{swatch}{name}{"" if is_open else " <span class=lsim-closed>(not open)</span>"}</td>',
            f'<td class="price" data-firm="{name}">{levers.price:g}</td>',
            f"<td>{levers.quality:.2f}</td>",
            f"<td>{_pct(levers.failure_rate)}</td>",
            f"<td>{levers.exit_fee:g}</td>",
            f"<td>{_pct(levers.recovery_rate, 0)}</td>",
            f"<td>{_pct(levers.points_rate)}</td>",
            f'<td class="customers" data-firm="{name}">{counts[k]:,}</td>',
        ]
        if last is not None and firm.name in last.index:
            row = last.loc[firm.name]
            n = row["customers"]
            cells += [
                f'<td class="share" data-firm="{name}">{_pct(row["market_share"])}</td>',
                f'<td class="churn" data-firm="{name}">{_pct(row["churn_rate"]) if row["served"] > 0 else "–"}</td>',
                f'<td class="profit" data-firm="{name}">{_num(row["profit"], 0)}</td>',
                f"<td>{_pct(row['true_loyal'] / n, 0) if n else '–'}</td>",
                f"<td>{_pct(row['spurious_loyal'] / n, 0) if n else '–'}</td>",
            ]
        else:
            cells += ['<td class="share">–</td>', '<td class="churn">–</td>', '<td class="profit">–</td>', "<td>–</td>", "<td>–</td>"]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="lsim-table" id="firm-table">{head}{"".join(body)}</table>'


def customer_table_html(view: CustomerView) -> str:
    """The options a customer weighed, as an HTML table."""
    head = (
        "<tr><th>option</th><th>delivered value</th><th>trust</th><th>+ trust worth</th><th>− barrier</th>"
        "<th>= total</th><th>chance if it reconsiders</th></tr>"
    )
    body = []
    for option in view.options:
        mine = option.name == (view.firm_before or "no one")
        name = html.escape(option.name) + (" (its firm)" if mine and view.firm_before else "")
        if not option.is_open:
            body.append(f'<tr class="lsim-closed"><td>{name}</td><td colspan="6">not in the market yet</td></tr>')
            continue
        trust = "–" if not np.isfinite(option.trust) else f"{option.trust:.2f}"
        worth = "–" if not np.isfinite(option.trust) else f"{option.trust_value:.2f}"
        style = ' style="font-weight:700"' if mine else ""
        body.append(
            f"<tr{style}><td>{name}</td><td>{option.delivered_value:.2f}</td><td>{trust}</td><td>{worth}</td>"
            f"<td>{option.barrier:.2f}</td><td>{option.utility:.2f}</td><td>{_pct(option.chance, 0)}</td></tr>"
        )
    return f'<table class="lsim-table" id="customer-table">{head}{"".join(body)}</table>'


def _customer_facts_html(view: CustomerView) -> str:
    when = f"month {view.month}" if view.month is not None else "month 0 (not run yet)"
    before = view.firm_before or "no one"
    now = view.firm_now or "no one"
    moved = f"{before} → {now}" if before != now else now
    parts = ", ".join(f"{k} {v:.2f}" for k, v in view.barrier_parts.items())
    total = sum(view.barrier_parts.values())
    barrier = f"<div>Barrier of leaving {html.escape(before)}: {total:.2f} = {parts}</div>" if parts else ""
    satisfaction_shown = "–" if not np.isfinite(view.satisfaction) else f"{view.satisfaction:.2f}"
    loyalty = view.loyalty or "not a customer"
    return (
        f'<div id="customer-facts"><b>Customer {view.index}</b> in {when}: {html.escape(moved)}. '
        f"Satisfaction {satisfaction_shown}, {view.tenure} months with its firm, {view.segment} spender, "
        f"loyalty: <b>{loyalty}</b>.{barrier}</div>"
    )


def _events_html(model: ClassroomModel) -> str:
    if not model.event_log:
        return (
            '<ul class="lsim-events" id="event-log">'
            "<li>Nothing has happened yet: press a shock button, or run to a scheduled event.</li></ul>"
        )
    items = "".join(f"<li>{html.escape(line)}</li>" for line in reversed(model.event_log))
    return f'<ul class="lsim-events" id="event-log">{items}</ul>'


def scenario_choices(current: str) -> list[str]:
    """The shipped scenarios that load, by name, and ``current`` if it is a file of the user's."""
    names = [path.stem for path, loaded in list_scenarios() if isinstance(loaded, Scenario)]
    return names if current in names else [current, *names]


class PlotPainter:
    """Draws the four plots in a thread of its own, always for the latest month asked for.

    Drawing four matplotlib figures takes a few hundred milliseconds; done in
    the page's own render it would hold up every click and every month of
    play. The painter keeps one request, the newest: while it draws, the
    months that pass replace each other, and when it is done it draws the
    latest. The numbers, the customers and the controls never wait for it.

    All four plots of one delivery are drawn from one snapshot of the
    model's monthly table, so they always show the same months.

    Args:
        deliver: called from the painter's thread with the stamp asked for,
            the number of months the plots show and the images,
            ``{plot key: PNG bytes}``.
    """

    def __init__(self, deliver: Callable[[tuple, int, dict[str, bytes]], None]) -> None:
        self._deliver = deliver
        self._wanted: tuple[ClassroomModel, tuple] | None = None
        self._closed = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="loyalty-plot-painter", daemon=True)
        self._thread.start()

    def ask(self, model: ClassroomModel, stamp: tuple) -> None:
        """Draw ``model``'s plots as soon as the painter is free (replacing any request not yet started)."""
        with self._condition:
            self._wanted = (model, stamp)
            self._condition.notify()

    def close(self) -> None:
        """Stop the thread once it has finished what it is drawing."""
        with self._condition:
            self._closed = True
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._wanted is None and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
                model, stamp = self._wanted
                self._wanted = None
            try:
                table = model.monthly()
                images = {key: png(draw(model, table)) for key, draw, _ in PLOTS}
            except Exception:  # a failed drawing must not end the painter; the page shows the last images
                logging.getLogger(__name__).exception("drawing the plots failed")
                continue
            self._deliver(stamp, _months(table), images)


@solara.component
def PlotPanel(model: ClassroomModel) -> None:
    """The four live plots with their captions, two by two, drawn by a ``PlotPainter``."""
    update_counter.get()
    images = solara.use_reactive(cast("tuple[tuple, int, dict[str, bytes]] | None", None))
    painter = solara.use_memo(lambda: PlotPainter(lambda stamp, months, drawn: images.set((stamp, months, drawn))), [])
    solara.use_effect(lambda: painter.close, [])
    stamp = (id(model), model.period, len(model.event_log))
    asked = solara.use_ref(cast("tuple | None", None))
    if asked.current != stamp:
        asked.current = stamp
        painter.ask(model, stamp)
    current = images.value is not None and images.value[0][0] == id(model)
    drawn = images.value[2] if current else {}
    shown = f"The plots show {images.value[1]} months." if current else "Drawing the plots…"
    solara.HTML(tag="div", unsafe_innerHTML=shown, classes=["lsim-plots-month"], attributes={"id": "plots-month"})
    for pair in (PLOTS[:2], PLOTS[2:]):
        with solara.Columns([1, 1]):
            for key, _, caption in pair:
                with solara.Card(margin=0, classes=["lsim-plot", f"lsim-plot-{key}"]):
                    if key in drawn:
                        solara.Image(drawn[key], width="100%")
                    else:
                        solara.HTML(tag="div", unsafe_innerHTML="drawing…", classes=["lsim-drawing"])
                    solara.HTML(tag="div", unsafe_innerHTML=html.escape(caption), classes=["lsim-caption"])


@solara.component
def Header(model: ClassroomModel) -> None:
    """The scenario, its question, the month, and the firms now."""
    update_counter.get()
    spec = model.spec
    status = "" if model.running else " (the end of this scenario: press Reset to start again)"
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f'<div class="lsim-month" id="month">{html.escape(spec.name)}: {model.period} of {model.horizon} '
            f"months run{status}</div>"
            f'<div class="lsim-question">{html.escape(spec.description)}</div>'
        ),
    )
    solara.HTML(tag="div", unsafe_innerHTML=firms_table_html(model))


@solara.component
def LeverPanel(model: ClassroomModel) -> None:
    """For each firm in the market, a slider per lever; a change applies from the next month."""
    update_counter.get()

    def setter(firm, lever: str, scale: float) -> Callable[[float], None]:
        def on_value(shown: float) -> None:
            setattr(firm.levers, lever, round(float(shown) / scale, 6))
            force_update()

        return on_value

    highest_price = max(f.levers.price for f in model.firms)
    top_price = float(np.ceil(2 * highest_price / 10) * 10)
    with solara.Card("Levers: each firm's choices, from next month", margin=0, classes=["lsim-levers"]):
        with solara.Columns([1] * max(1, len(model.open_firms()))):
            for firm in model.open_firms():
                with solara.Column(classes=[f"lsim-levers-{firm.name}"], gap="0px"):
                    solara.HTML(
                        tag="div",
                        unsafe_innerHTML=(
                            f'<span class="lsim-swatch" style="background:{_firm_colour(model, firm.name)}"></span>'
                            f'<span class="lsim-firm-name">{html.escape(firm.name)}</span>'
                        ),
                    )
                    for lever, label, unit, low, high, step, scale in LEVERS:
                        shown = getattr(firm.levers, lever) * scale
                        top = max(high if high is not None else top_price, shown)
                        solara.HTML(
                            tag="div", unsafe_innerHTML=f"{html.escape(label)}: <b>{shown:g}{unit}</b>",
                            classes=["lsim-lever-label"],
                        )
                        with solara.Div(classes=["lsim-lever", f"lsim-lever-{firm.name}-{lever}"]):
                            solara.SliderFloat(
                                "", value=shown, min=low, max=top, step=step, on_value=setter(firm, lever, scale),
                                thumb_label=False,
                            )


@solara.component
def ShockPanel(model: ClassroomModel) -> None:
    """Buttons for the classic shocks, and the log of what happened when."""
    update_counter.get()
    names = [f.name for f in model.open_firms()]
    target, set_target = solara.use_state(names[0])
    if target not in names:
        target = names[0]
    message, set_message = solara.use_state("")

    def shock(apply: Callable[[], str]) -> Callable[[], None]:
        def on_click() -> None:
            try:
                apply()
                set_message("")
            except ShockError as error:
                set_message(str(error))
            force_update()

        return on_click

    dormant = model.dormant_firms()
    with solara.Card("Shocks: they hit from the next month", margin=0, classes=["lsim-shocks"]):
        with solara.Row(style={"align-items": "center", "gap": "10px"}):
            solara.HTML(tag="span", unsafe_innerHTML="Firm hit by a price cut or an outage:")
            solara.ToggleButtonsSingle(value=target, values=names, on_value=set_target)
        with solara.Row(style={"flex-wrap": "wrap", "gap": "8px", "margin-top": "8px"}):
            solara.Button(
                f"Price cut −{PRICE_CUT:.0%} at {target}", color="primary", on_click=shock(lambda: model.price_cut(target))
            )
            solara.Button(
                f"Service outage at {target}", color="primary", on_click=shock(lambda: model.service_outage(target))
            )
            solara.Button("Ban exit fees", color="primary", on_click=shock(model.ban_exit_fees))
            solara.Button(
                f"Competitor {dormant[0].name} enters" if dormant else "No competitor left to enter",
                color="primary", on_click=shock(model.competitor_enters), disabled=not dormant,
            )
        if message:
            solara.Warning(message)
        solara.HTML(
            tag="div", classes=["lsim-caption"],
            unsafe_innerHTML=html.escape(
                f"A price cut takes {PRICE_CUT:.0%} off the price; an outage makes half the firm's customers suffer a "
                f"failure each month for {OUTAGE_MONTHS} months; the ban sets every exit fee to 0; the competitor "
                "opens with the cheapest firm's price and quality but no reputation."
            ),
        )
        solara.HTML(tag="div", unsafe_innerHTML="<b>What happened when</b>", style="margin-top: 6px")
        solara.HTML(tag="div", unsafe_innerHTML=_events_html(model))


class _ClickableImage(ipyvuetify.VuetifyTemplate):
    """An image that reports where it was clicked, as fractions of its width and height."""

    src = traitlets.Unicode("").tag(sync=True)
    alt = traitlets.Unicode("").tag(sync=True)
    handler = traitlets.Callable(None, allow_none=True)  # not "on_...": the page's framework reserves those names

    @traitlets.default("template")
    def _template(self) -> str:
        return (
            '<template><img :src="src" :alt="alt" class="lsim-grid" style="width: 100%; cursor: crosshair" '
            '@click="pick({x: $event.offsetX / $event.target.clientWidth, '
            'y: $event.offsetY / $event.target.clientHeight})" /></template>'
            "<script>module.exports = {};</script>"
        )

    def vue_pick(self, where: dict) -> None:
        """Called by the browser with ``{"x": ..., "y": ...}`` on a click."""
        if self.handler is not None:
            self.handler(float(where["x"]), float(where["y"]))


def _legend_html(model: ClassroomModel, picture: CustomerPicture) -> str:
    items = [
        f'<span style="margin-right: 14px"><span class="lsim-swatch" style="background:{_firm_colour(model, f.name)}"></span>'
        f"{html.escape(f.name)}: {picture.counts[k]:,}</span>"
        for k, f in enumerate(model.firms)
        if f.levers.enters_at <= model.period or picture.counts[k] > 0
    ]
    items.append(
        f'<span style="margin-right: 14px"><span class="lsim-swatch" style="background:{OUTSIDE_COLOUR}"></span>'
        f"no one: {picture.counts[-1]:,}</span>"
    )
    items.append(
        '<span><span class="lsim-swatch" style="background: white; border: 2px solid #111"></span>switched last month</span>'
    )
    shown = "" if picture.shown == len(model.customers) else f" (the first {picture.shown:,} of {len(model.customers):,} shown)"
    return f'<div id="customer-legend">{"".join(items)}{shown}</div>'


@solara.component
def CustomerPanel(model: ClassroomModel) -> None:
    """The customers as dots, and one customer's decision explained: click a dot, type a number or pick one."""
    update_counter.get()
    selected = solara.use_reactive(0)
    # Its own generator, not the model's: picking a customer must not change the run. Seeded, so that a replay
    # of the same session picks the same customers.
    picker = solara.use_memo(lambda: random.Random(model.seed), [])
    note, set_note = solara.use_state("")
    index = min(max(int(selected.value or 0), 0), len(model.customers) - 1)
    picture = solara.use_memo(lambda: customers_picture(model, index), dependencies=[id(model), model.period, index])

    def pick(candidates: np.ndarray, none_left: str) -> None:
        if candidates.size:
            selected.set(int(picker.choice(candidates)))
            set_note("")
        else:
            set_note(none_left)

    def clicked(x: float, y: float) -> None:
        customer = picture.customer_at(x, y)
        if customer is not None:
            selected.set(customer)
            set_note("")

    c = model.customers
    leavers = np.flatnonzero((c.served_firm < model.n_firms) & (c.served_firm != c.firm)) if model.period else np.array([], int)
    spurious = np.flatnonzero(c.loyalty == SPURIOUS)
    view = explain_customer(model, index)
    with solara.Columns([5, 6]):
        with solara.Card("The customers", margin=0, classes=["lsim-customers"]):
            _ClickableImage.element(
                src="data:image/png;base64," + base64.b64encode(picture.png).decode("ascii"),
                alt=f"{len(c):,} customers coloured by firm", handler=clicked,
            )
            solara.HTML(tag="div", unsafe_innerHTML=_legend_html(model, picture), style="margin: 6px 8px; font-size: 15px")
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(CUSTOMERS_CAPTION), classes=["lsim-caption"])
        with solara.Card("One customer: what it weighs", margin=0, classes=["lsim-inspector"]):
            with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "8px"}):
                solara.InputInt("customer number", value=selected, style={"max-width": "160px"})
                solara.Button(
                "Pick one who just left", outlined=True, on_click=lambda: pick(leavers, "No one left a firm last month.")
            )
                solara.Button(
                    "Pick a spuriously loyal one", outlined=True,
                    on_click=lambda: pick(spurious, "No customer is spuriously loyal right now."),
                )
            if note:
                solara.Info(note)
            solara.HTML(tag="div", unsafe_innerHTML=_customer_facts_html(view))
            solara.HTML(tag="div", unsafe_innerHTML=customer_table_html(view))
            solara.HTML(
                tag="div", unsafe_innerHTML=html.escape(view.reason), classes=["lsim-reason"],
                attributes={"id": "customer-reason"},
            )
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(INSPECTOR_CAPTION), classes=["lsim-caption"])


@solara.component
def Dashboard(model: solara.Reactive[ClassroomModel]) -> None:
    """The page beside SolaraViz's sidebar: numbers, plots, shocks, levers and customers."""
    current = model.value
    solara.Style(CSS)
    with solara.Column(classes=["lsim-page"]):
        Header(current)
        PlotPanel(current)
        with solara.Columns([1, 1]):
            ShockPanel(current)
            LeverPanel(current)
        CustomerPanel(current)


@solara.component
def Page() -> None:
    """The classroom page: SolaraViz's controls in the sidebar, the market beside them.

    Each browser session gets its own model, built from ``launch_settings()``;
    SolaraViz's Reset builds a new one from the sidebar's scenario, size and
    seed. SolaraViz draws no components itself: the market's panels follow
    it, laid out for a projector.
    """
    settings = launch_settings()
    first = solara.use_memo(lambda: ClassroomModel(**settings), [])
    model = solara.use_reactive(first)
    solara.Title("Customer loyalty in class · loyalty-sim")
    choices = scenario_choices(str(settings["scenario_name"]))
    customers, seed = int(settings["customers"]), int(settings["seed"])
    model_params = {
        "scenario_name": {
            "type": "Select", "value": settings["scenario_name"], "values": choices, "label": "Scenario (applies on Reset)",
        },
        "customers": Slider("Customers (on Reset)", customers, 200, max(10_000, customers), 100),
        "seed": Slider("Seed (on Reset)", seed, 0, max(99, seed), 1),
    }
    SolaraViz(
        model, components=[], model_params=model_params, name="Customer loyalty: a market in class", play_interval=150
    )
    Dashboard(model)
