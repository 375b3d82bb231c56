"""The loyalty model: customers choosing among firms, month after month."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import NamedTuple

import mesa
import numpy as np
import pandas as pd

from sim.behaviour import accounting, word_of_mouth
from sim.behaviour.satisfaction import care_effect
from sim.engine.agents import Customer, CustomerAgents, Firm
from sim.engine.events import EventSchedule
from sim.engine.metrics import firm_metrics, loyalty_segments, period_metrics
from sim.engine.month import Month
from sim.engine.parameters import Firm as FirmLevers
from sim.engine.parameters import Scenario
from sim.engine.population import MarketState, create_customers, draw_month

Strategy = Callable[[Firm, "LoyaltyModel"], None]
"""A firm's strategy: called as ``strategy(firm, model)`` at the start of every
month, after scheduled events and before customers act; it may change
``firm.levers`` (price, quality, ...) from what it sees in ``model``."""


TRAIT_STREAM = 1989
"""Second key of the generator of the traits drawn apart from the rest (``create_customers``'s ``traits``)."""
CLV_MONTHS = 12
"""Months over which the ``clv`` column pools margin and retention."""
RUN_SEGMENTS = ("every period", "last period")
"""When ``LoyaltyModel.run`` takes the loyalty segments."""
_LEVERS_READ = tuple(name for name in MarketState._fields if name in FirmLevers.model_fields and name != "image")
"""The firms' levers a month's ``MarketState`` holds as they are set (a firm's image evolves: ``Firm.image``)."""


def package_version() -> str:
    """Installed version of loyalty-sim (``"unknown"`` when run from a bare tree)."""
    try:
        return version("loyalty-sim")
    except PackageNotFoundError:
        return "unknown"


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else repr(value)


class MonthSpace(NamedTuple):
    """The arrays a model's months draw their random numbers and count their word of mouth into, one set per model."""

    draws: tuple[np.ndarray, np.ndarray]
    heard: tuple[np.ndarray, np.ndarray]
    fresh: np.ndarray


class LoyaltyModel(mesa.Model):
    """Customers weighing value, trust and barriers against competing firms.

    Customers live month by month. In each month scheduled events and
    strategies change firms' levers; customers hear last month's word of
    mouth, are served, judge the service, complain or not, update trust,
    talk, and choose; firms book the month and their brand images fade or
    are renewed. Each ``step`` is one period of ``Market.period_months``
    months, recorded as one row per firm (``sim.engine.metrics.period_metrics``).
    Before month 0 the market lives ``Market.burn_in_months`` unrecorded
    months at its opening levers, so that the run starts from a settled
    history rather than from the drawn guess.

    The scenario the model runs is kept as ``model.spec`` (recent Mesa
    versions reserve ``model.scenario`` for a concept of their own). Its
    customers are Mesa agents in ``model.customer_agents``, each made when
    first asked for (``model.customer_agents[7]``), all of them when the
    per-agent path runs; firms are agents from the start.

    Args:
        scenario: the market; ``Scenario()`` gives a three-firm baseline.
        seed: seed of the model's random number generators.
        vectorised: advance all customers at once (default), or call
            ``Customer.step`` on each agent in random order (same results,
            much slower; what a class sees on screen).
        strategies: firm name -> ``Strategy``; each is called for its firm
            at the start of every month, and what it changes is logged in
            ``event_log``. A strategy must draw any randomness it needs
            from ``model.rng`` for runs to stay reproducible.

    Example:
        >>> model = LoyaltyModel(Scenario(), seed=1)
        >>> model.run(12)
        >>> model.results().groupby("firm").churn_rate.mean()  # doctest: +SKIP
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        seed: int = 0,
        vectorised: bool = True,
        strategies: Mapping[str, Strategy] | None = None,
    ) -> None:
        super().__init__(rng=seed)
        self.spec = scenario if scenario is not None else Scenario()
        self.seed = seed
        self.vectorised = vectorised
        self.period = 0
        self.month = 0
        self.monthly_discount_rate = accounting.period_discount_rate(self.spec.market.discount_rate, 1)

        self.firms: list[Firm] = [Firm(self, levers, k) for k, levers in enumerate(self.spec.firms)]
        self.strategies = dict(strategies or {})
        unknown = sorted(set(self.strategies) - {f.name for f in self.firms})
        if unknown:
            raise ValueError(
                f"strategies name unknown firm(s) {', '.join(unknown)}; firms are "
                f"{', '.join(f.name for f in self.firms)}"
            )
        self.customers = None
        self.market = self._market_state()
        self.contacts = word_of_mouth.contact_network(self.rng, self.spec.market.customers, self.spec.market.contacts)
        self.customers = create_customers(
            self.spec, self.market, self.rng, traits=np.random.default_rng([seed, TRAIT_STREAM])
        )
        self.draws = None  # this month's random numbers (MonthDraws): the same arrays, drawn into anew each month
        self.recommendations = self.warnings = None  # this month's word of mouth heard, likewise counted anew
        self.this_month: Month | None = None
        self._space: MonthSpace | None = None
        self._burn_in(self.spec.market.burn_in_months)
        self.market = self._market_state()
        self.customers.loyalty[:], self.customers.preferred[:] = loyalty_segments(
            self.customers, self.market, self.spec
        )
        self._segmented = True  # the segments are those of the last month's end (``step``)
        self.customer_agents = CustomerAgents(self)
        ids = getattr(mesa.Agent, "_ids", None)  # Mesa's count of agent ids: other agents come after the customers
        if ids is not None:
            ids[self] = itertools.count(self.n_firms + len(self.customers) + 1)
        if not vectorised:
            self.customer_agents.materialise()
        self.schedule = EventSchedule(list(self.spec.events))
        self.event_log: list[str] = []
        self._records: list[dict[str, np.ndarray]] = []
        self._last_year: deque[dict[str, np.ndarray]] = deque(maxlen=CLV_MONTHS)
        self._cumulative_profit = np.zeros(len(self.firms))

    def _burn_in(self, months: int) -> None:
        """Let the drawn population live ``months`` months at the opening levers before month 0.

        Nothing is recorded, no event or strategy applies and brand images
        stay as the scenario sets them: the market's history before the run,
        so that tenure, trust, expectations, points and reference prices
        start near the spread they settle to rather than at the drawn guess.
        """
        for _ in range(months):
            self.market = self._market_state()
            self._live_month(vectorised=True)

    @property
    def n_firms(self) -> int:
        """Number of firms in the market, open or not yet."""
        return len(self.firms)

    def firm(self, name: str) -> Firm:
        """The firm called ``name``."""
        for firm in self.firms:
            if firm.name == name:
                return firm
        raise KeyError(f"no firm {name!r}; firms are {', '.join(f.name for f in self.firms)}")

    def is_open(self, firm: Firm) -> bool:
        """Whether customers can choose ``firm`` this month (its ``enters_at`` month or later)."""
        return firm.levers.enters_at <= self.month

    def open_firms(self) -> list[Firm]:
        """The firms customers can choose this month."""
        return [f for f in self.firms if self.is_open(f)]

    def dormant_firms(self) -> list[Firm]:
        """Firms declared in the market that have not opened yet."""
        return [f for f in self.firms if not self.is_open(f)]

    @property
    def records(self) -> list[dict[str, np.ndarray]]:
        """The metrics recorded so far: one dict of per-firm arrays per period (the rows of ``results()``)."""
        return list(self._records)

    def open_firm(self, name: str) -> None:
        """Let a firm that has not yet entered the market open from this month (a competitor entering)."""
        firm = self.firm(name)
        if not self.is_open(firm):
            firm.levers.enters_at = self.month

    def _market_state(self) -> MarketState:
        """Gather the firms' current levers into arrays of shape (F+1,)."""
        # One table of every lever read, firms by rows and the outside option's zeros last; each lever is then one
        # contiguous row of its transpose.
        table = np.zeros((len(self.firms) + 1, len(_LEVERS_READ)))
        table[:-1] = [[getattr(f.levers, name) for name in _LEVERS_READ] for f in self.firms]
        lever = dict(zip(_LEVERS_READ, table.T.copy(), strict=True))
        lever["contract_months"] = lever["contract_months"].astype(np.int64)
        m = self.spec.market
        previous = np.array([f.previous_price for f in self.firms] + [0.0])
        previous_fee = np.array([f.previous_exit_fee for f in self.firms] + [0.0])
        care = care_effect(lever["care_spend"], effect=m.care_effect, scale=m.care_scale)  # 0 for the outside option
        delivered = lever["quality"] + care
        is_open = np.array([self.is_open(f) for f in self.firms] + [True])
        return MarketState(
            **lever,
            n_firms=len(self.firms),
            delivered_quality=delivered,
            quality_norm=self._quality_norm(delivered, is_open),
            image=np.array([f.image for f in self.firms] + [0.0]),
            welcome_offer=lever["acquisition_spend"] / 12.0,
            price_rose=lever["price"] > previous,
            fee_fell=lever["exit_fee"] < previous_fee,
            open=is_open,
        )

    def _quality_norm(self, delivered: np.ndarray, is_open: np.ndarray) -> float:
        """The quality the market delivers on average: open firms' delivered quality weighted by their customers."""
        firms = self.n_firms
        weights = np.zeros(firms)
        if self.customers is not None:
            weights = np.bincount(self.customers.firm.astype(np.intp), minlength=firms + 1)[:firms].astype(float)
        weights = np.where(is_open[:firms], weights, 0.0)
        if weights.sum() == 0:
            weights = is_open[:firms].astype(float)
        return float(np.dot(weights, delivered[:firms]) / weights.sum()) if weights.sum() > 0 else 0.0

    def step(self, record: bool = True, segments: bool = True) -> None:
        """One period of the market: ``period_months`` months, recorded as one row per firm.

        With ``segments`` false the period's rows leave the loyalty segments
        out (NaN), and so does every month after one without them its losses
        by segment: the month's segment pass, the costliest after the
        customers' month itself, is spared, and nothing else changes (no
        customer's month reads the segments). ``run(segments="last period")``
        uses it; a subclass that overrides ``step`` takes both arguments.

        With ``record`` false the customers and the firms live the period
        exactly as they would otherwise, with the same numbers, but nothing is
        booked: the period leaves no row in ``results()``, adds nothing to
        the books (discounted profit, ``clv``) and leaves the loyalty segments
        (``customers.loyalty``, ``customers.preferred``) as the last recorded
        month left them, none of which a customer's month reads. It is for a
        caller that reads only the customers' arrays, such as a cohort's
        spells (``sim.experiments.calibration.simulate_cohort``), and spares
        it the month's sums and segments. A strategy sees the recorded periods only.
        """
        if not record:
            for _ in range(self.spec.market.period_months):
                self._month_step(book=False)
            self._segmented = False
            self.period += 1
            return
        # Arguments passed only when not the defaults, so that a subclass's month that takes none still runs.
        lived = (
            self._month_step() if segments else self._month_step(segments=False)
            for _ in range(self.spec.market.period_months)
        )
        months, booked = zip(*lived, strict=True)
        self._record(list(months), list(booked))
        self.period += 1

    def _month_step(
        self, book: bool = True, segments: bool = True
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
        """One month: events, entries and strategies, then the customers.

        Returns the month's metrics and what the model books on them: its
        discounted profit and the ``clv`` at the month's end (with ``book``
        false: nothing, and neither is computed; see ``step``).
        """
        self.event_log += self.schedule.apply(self.month, self.firms)
        self.event_log += [
            f"month {self.month}: {f.name} enters the market"
            for f in self.firms
            if self.month > 0 and f.levers.enters_at == self.month
        ]
        self._apply_strategies()
        self.market = self._market_state()
        self._live_month(self.vectorised)
        booked = self._book_month(segments) if book else None
        for firm in self.firms:
            firm.step()
        self.month += 1
        return booked

    def _book_month(self, segments: bool = True) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The month's metrics, and its discounted profit and ``clv`` booked on them."""
        row = firm_metrics(
            self.customers,
            self.market,
            self.spec,
            constants=self.this_month.constants,
            segments=segments,
            leavers_by_segment=self._segmented,
        )
        self._segmented = segments
        self._last_year.append(row)
        booked = {
            "discounted_profit": row["profit"] * accounting.discount_factor(self.monthly_discount_rate, self.month),
            "clv": self._lifetime_value(list(self._last_year)),
        }
        return row, booked

    def _live_month(self, vectorised: bool) -> None:
        """Draw the month's random numbers, deliver last month's word of mouth, and let every customer live it."""
        n, options = len(self.customers), self.n_firms + 1
        if self._space is None:  # made once, reused every month: no month maps and faults in arrays of its own
            self._space = MonthSpace(
                (np.empty(n), np.empty((8, n))),
                (np.empty((options, n), np.int32), np.empty((options, n), np.int32)),
                np.empty(n),
            )
        self.draws = draw_month(self.rng, n, into=self._space.draws)
        p = self.spec.population
        self.recommendations, self.warnings = word_of_mouth.deliver(
            self.contacts,
            self.customers.said,
            self.customers.served_firm,
            options=options,
            reach_satisfied=p.reach_satisfied,
            reach_dissatisfied=p.reach_dissatisfied,
            into=self._space.heard,
        )
        self.this_month = Month(
            self.customers,
            self.market,
            self.spec,
            self.draws,
            self.recommendations,
            self.warnings,
            fresh=self._space.fresh,
        )
        if vectorised:
            self.this_month.live(0, len(self.customers))
        else:
            self.customer_agents.materialise()
            self.agents_by_type[Customer].shuffle_do("step")

    def _apply_strategies(self) -> None:
        for firm in self.firms:
            strategy = self.strategies.get(firm.name)
            if strategy is None:
                continue
            before = firm.levers.model_dump()
            strategy(firm, self)
            after = firm.levers.model_dump()
            label = getattr(strategy, "__name__", type(strategy).__name__)
            self.event_log += [
                f"month {self.month:g}: {firm.name} {lever} {_shown(before[lever])} -> {_shown(after[lever])} "
                f"(strategy {label})"
                for lever in before
                if after[lever] != before[lever]
            ]

    def run(self, periods: int | None = None, *, segments: str = "every period") -> LoyaltyModel:
        """Run ``periods`` periods (default: the scenario's horizon); returns the model.

        ``segments="last period"`` takes the loyalty segments in the last
        period only (the others' segment columns are NaN; see ``step``): for
        a caller that reads them only at the end, such as a sweep's summary
        of a run.
        """
        if segments not in RUN_SEGMENTS:
            raise ValueError(f"segments = {segments!r}: must be one of {', '.join(map(repr, RUN_SEGMENTS))}")
        count = self.spec.market.periods if periods is None else periods
        for done in range(count):
            if segments == "every period" or done == count - 1:
                self.step()
            else:
                self.step(segments=False)
        return self

    def _record(self, months: list[dict[str, np.ndarray]], booked: list[dict[str, np.ndarray]]) -> None:
        row = {
            "period": np.full(self.n_firms, self.period),
            "month": np.full(self.n_firms, self.month - len(months)),
            "months": np.full(self.n_firms, len(months)),
            **period_metrics(months),
        }
        row["discounted_profit"] = sum(b["discounted_profit"] for b in booked)
        self._cumulative_profit = self._cumulative_profit + row["discounted_profit"]
        row["cumulative_discounted_profit"] = self._cumulative_profit.copy()
        row["clv"] = booked[-1]["clv"]
        self._records.append(row)

    def _lifetime_value(self, window: list[dict[str, np.ndarray]]) -> np.ndarray:
        """Expected discounted margin of a customer at each firm's current retention and margin.

        ``CLV = m (1 + d) / (1 + d - r)`` with the margin per customer-month
        ``m`` (profit before acquisition spend, per customer served) and the
        monthly retention ``r`` (one less losses over customers served) both
        pooled over the last ``CLV_MONTHS`` months, so that one month's swing
        does not swing it; ``d`` is the monthly discount rate.
        """
        served = sum(r["served"] for r in window)
        with np.errstate(invalid="ignore", divide="ignore"):
            margin = sum(r["profit"] + r["cost_acquisition"] for r in window) / served
            retention = 1.0 - sum(r["losses"] for r in window) / served
        return accounting.closed_form_clv(margin, retention, self.monthly_discount_rate)

    def release(self) -> None:
        """Let Mesa forget this model once its results are taken.

        Mesa keeps a registry of agent ids per model, which holds every model a
        process ever built: a worker that runs many replications would grow in
        memory. The model's records stay readable; its agents are gone.
        """
        getattr(mesa.Agent, "_ids", {}).pop(self, None)

    def results(self) -> pd.DataFrame:
        """Tidy per-period results: one row per period and firm.

        ``month`` is the period's first month and ``months`` its length.

        ``df.attrs`` records the scenario (as a dict), seed and package version.
        """
        names = [f.name for f in self.firms]
        if self._records:
            columns = {"period": np.concatenate([r["period"] for r in self._records])}
            columns["firm"] = np.array(names * len(self._records), dtype=object)
            for name in self._records[0]:
                if name != "period":
                    columns[name] = np.concatenate([r[name] for r in self._records])
            df = pd.DataFrame(columns)  # one array per column: far quicker than a frame per period
        else:
            df = pd.DataFrame(columns=["period", "firm"])
        df.insert(0, "scenario", self.spec.name)
        df.insert(1, "seed", self.seed)
        df.attrs.update(scenario=self.spec.model_dump(mode="json"), seed=self.seed, version=package_version())
        return df
