"""The loyalty model: customers choosing among firms, month after month."""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version

import mesa
import numpy as np
import pandas as pd

from sim.behaviour import accounting, trust, word_of_mouth
from sim.behaviour.satisfaction import care_effect
from sim.engine.agents import Customer, Firm
from sim.engine.events import EventSchedule
from sim.engine.metrics import firm_metrics, loyalty_segments
from sim.engine.parameters import Scenario
from sim.engine.period import live_one_period
from sim.engine.population import MarketState, blocks, create_customers, draw_period

Strategy = Callable[[Firm, "LoyaltyModel"], None]
"""A firm's strategy: called as ``strategy(firm, model)`` at the start of every
month, after scheduled events and before customers act; it may change
``firm.levers`` (price, quality, ...) from what it sees in ``model``."""


def package_version() -> str:
    """Installed version of loyalty-sim (``"unknown"`` when run from a bare tree)."""
    try:
        return version("loyalty-sim")
    except PackageNotFoundError:
        return "unknown"


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else repr(value)


class LoyaltyModel(mesa.Model):
    """Customers weighing value, trust and barriers against competing firms.

    Each ``step`` is one period: firms show their levers; customers hear last
    period's word of mouth, are served, judge the service, complain or not,
    update trust, talk, and choose; firms book the period and their brand
    images fade or are renewed; the period's metrics are recorded.

    The scenario the model runs is kept as ``model.spec`` (recent Mesa
    versions reserve ``model.scenario`` for a concept of their own).

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
        self.period_discount_rate = accounting.period_discount_rate(
            self.spec.market.discount_rate, self.spec.market.period_months
        )

        self.firms: list[Firm] = [Firm(self, levers, k) for k, levers in enumerate(self.spec.firms)]
        self.strategies = dict(strategies or {})
        unknown = sorted(set(self.strategies) - {f.name for f in self.firms})
        if unknown:
            raise ValueError(
                f"strategies name unknown firm(s) {', '.join(unknown)}; firms are "
                f"{', '.join(f.name for f in self.firms)}"
            )
        self.market = self._market_state()
        self.contacts = word_of_mouth.contact_network(self.rng, self.spec.market.customers, self.spec.market.contacts)
        self.customers = create_customers(self.spec, self.market, self.rng)
        self.customers.loyalty[:] = loyalty_segments(self.customers, self.market, self.spec)
        self._add_customer_agents()
        self.schedule = EventSchedule(list(self.spec.events))
        self.event_log: list[str] = []
        self.draws = None
        self.recommendations = self.warnings = None
        self._records: list[dict[str, np.ndarray]] = []
        self._cumulative_profit = np.zeros(len(self.firms))

    def _add_customer_agents(self) -> None:
        collecting = gc.isenabled()
        gc.disable()  # a million small objects would trigger many full collections
        try:
            self.customer_agents = [Customer(self, i) for i in range(len(self.customers))]
        finally:
            if collecting:
                gc.enable()

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

    def open_firms(self) -> list[Firm]:
        """The firms customers can choose this month."""
        return [f for f in self.firms if f.levers.enters_at <= self.period]

    def dormant_firms(self) -> list[Firm]:
        """Firms declared in the market that have not opened yet."""
        return [f for f in self.firms if f.levers.enters_at > self.period]

    @property
    def records(self) -> list[dict[str, np.ndarray]]:
        """The metrics recorded so far: one dict of per-firm arrays per period (the rows of ``results()``)."""
        return list(self._records)

    def open_firm(self, name: str) -> None:
        """Let a firm that has not yet entered the market open this month (a competitor entering)."""
        firm = self.firm(name)
        if firm.levers.enters_at > self.period:
            firm.levers.enters_at = self.period

    def _market_state(self) -> MarketState:
        """Gather the firms' current levers into arrays of shape (F+1,)."""
        p = self.spec.population

        def lever(name: str, outside: float = 0.0) -> np.ndarray:
            return np.array([getattr(f.levers, name) for f in self.firms] + [outside], dtype=float)

        price = lever("price")
        previous = np.array([f.previous_price for f in self.firms] + [0.0])
        previous_fee = np.array([f.previous_exit_fee for f in self.firms] + [0.0])
        m = self.spec.market
        quality = lever("quality")
        care = care_effect(lever("care_spend"), effect=m.care_effect, scale=m.care_scale)  # 0 for the outside option
        return MarketState(
            n_firms=len(self.firms),
            price=price,
            quality=quality,
            delivered_quality=quality + care,
            failure_rate=lever("failure_rate"),
            failure_severity=lever("failure_severity"),
            image=np.array([f.image for f in self.firms] + [0.0]),
            recovery_rate=lever("recovery_rate"),
            exit_fee=lever("exit_fee"),
            contract_months=lever("contract_months").astype(np.int64),
            points_rate=lever("points_rate"),
            points_cap=lever("points_cap"),
            silver_after=lever("silver_after"),
            gold_after=lever("gold_after"),
            silver_perk=lever("silver_perk"),
            gold_perk=lever("gold_perk"),
            relational_bond=lever("relational_bond"),
            welcome_offer=lever("acquisition_spend") / 12.0,
            defection_hazard=lever("defection_hazard"),
            save_rate=lever("save_rate"),
            unit_cost=lever("unit_cost"),
            serving_cost=lever("serving_cost"),
            care_spend=lever("care_spend"),
            brand_investment=lever("brand_investment"),
            recovery_cost=lever("recovery_cost"),
            acquisition_spend=lever("acquisition_spend"),
            unfair_loss=trust.unfair_price_loss(
                previous, price, fair_rise=p.fair_price_rise, penalty=p.unfair_price_loss
            ),
            terms_changed=(price > previous) | (lever("exit_fee") < previous_fee),
            open=np.array([f.levers.enters_at <= self.period for f in self.firms] + [True]),
        )

    def step(self) -> None:
        """One period of the market."""
        self.event_log += self.schedule.apply(self.period, self.firms)
        self.event_log += [
            f"month {self.period}: {f.name} enters the market"
            for f in self.firms
            if f.levers.enters_at == self.period > 0
        ]
        self._apply_strategies()
        self.market = self._market_state()
        self.draws = draw_period(self.rng, len(self.customers))
        p = self.spec.population
        self.recommendations, self.warnings = word_of_mouth.deliver(
            self.contacts,
            self.customers.said,
            self.customers.served_firm,
            options=self.n_firms + 1,
            reach_satisfied=p.reach_satisfied,
            reach_dissatisfied=p.reach_dissatisfied,
        )
        if self.vectorised:
            for rows in blocks(len(self.customers)):
                live_one_period(
                    self.customers, rows, self.market, self.spec, self.draws, self.recommendations, self.warnings
                )
        else:
            self.agents_by_type[Customer].shuffle_do("step")
        self._record()
        for firm in self.firms:
            firm.step()
        self.period += 1

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
                f"month {self.period}: {firm.name} {lever} {_shown(before[lever])} -> {_shown(after[lever])} "
                f"(strategy {label})"
                for lever in before
                if after[lever] != before[lever]
            ]

    def run(self, periods: int | None = None) -> LoyaltyModel:
        """Run ``periods`` periods (default: the scenario's horizon); returns the model."""
        for _ in range(self.spec.market.periods if periods is None else periods):
            self.step()
        return self

    def _record(self) -> None:
        row = firm_metrics(self.customers, self.market, self.spec, self.period)
        discount = accounting.discount_factor(self.period_discount_rate, self.period)
        row["discounted_profit"] = row["profit"] * discount
        self._cumulative_profit = self._cumulative_profit + row["discounted_profit"]
        row["cumulative_discounted_profit"] = self._cumulative_profit.copy()
        self._records.append(row)

    def release(self) -> None:
        """Let Mesa forget this model once its results are taken.

        Mesa keeps a registry of agent ids per model, which holds every model a
        process ever built: a worker that runs many replications would grow in
        memory. The model's records stay readable; its agents are gone.
        """
        getattr(mesa.Agent, "_ids", {}).pop(self, None)

    def results(self) -> pd.DataFrame:
        """Tidy per-period results: one row per period and firm.

        ``df.attrs`` records the scenario (as a dict), seed and package version.
        """
        names = [f.name for f in self.firms]
        frames = [
            pd.DataFrame({"period": r["period"], "firm": names, **{k: v for k, v in r.items() if k != "period"}})
            for r in self._records
        ]
        if frames:
            df = pd.concat(frames, ignore_index=True)
        else:
            df = pd.DataFrame(columns=["period", "firm"])
        df.insert(0, "scenario", self.spec.name)
        df.insert(1, "seed", self.seed)
        df.attrs.update(scenario=self.spec.model_dump(mode="json"), seed=self.seed, version=package_version())
        return df
