"""Customers and firms as Mesa agents.

A ``Customer`` is a view: its state lives in the model's population arrays,
and its ``step`` runs the one set of behavioural equations on its own row.
The model's ``customer_agents`` makes each when it is first asked for, and
all of them before the per-agent path steps them: a vectorised run of a
million customers builds none it is not asked for. A ``Firm`` holds the
levers a strategist pulls (``firm.levers.price = 27``) and its brand image.
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, overload

import mesa
import numpy as np

from sim.behaviour import brand
from sim.behaviour.segments import SEGMENT_NAMES
from sim.engine.parameters import Firm as FirmLevers

if TYPE_CHECKING:
    from sim.engine.model import LoyaltyModel


class Customer(mesa.Agent):
    """One customer. Its state lives in the model's population arrays."""

    def __init__(self, model: LoyaltyModel, index: int) -> None:
        super().__init__(model)
        self.unique_id = model.n_firms + index + 1  # the firms come first; the same id whenever it is made
        self.index = index

    def step(self) -> None:
        """Live one month: the same equations the vectorised path runs, on one row."""
        self.model.this_month.live(self.index, self.index + 1)

    @property
    def firm(self) -> Firm | None:
        """The firm this customer buys from, or None."""
        k = int(self.model.customers.firm[self.index])
        return self.model.firms[k] if k < len(self.model.firms) else None

    @property
    def tenure(self) -> float:
        """Months with the current firm."""
        return float(self.model.customers.tenure[self.index])

    @property
    def trust(self) -> np.ndarray:
        """Trust in each firm, 0..1 (a view: shape (firms,))."""
        return self.model.customers.trust[: len(self.model.firms), self.index]

    @property
    def satisfaction(self) -> float:
        """Satisfaction last month, 0..1 (NaN when not served)."""
        return float(self.model.customers.satisfaction[self.index])

    @property
    def expectation(self) -> float:
        """Expected service quality of the current firm, 0..1 scale."""
        return float(self.model.customers.expectation[self.index])

    @property
    def segment(self) -> str:
        """Spend segment: heavy, medium or light."""
        return ("heavy", "medium", "light")[int(self.model.customers.segment[self.index])]

    @property
    def loyalty(self) -> str | None:
        """Dick & Basu loyalty towards the current firm (as of the last month's end), or None when not served."""
        code = int(self.model.customers.loyalty[self.index])
        return SEGMENT_NAMES[code] if code >= 0 else None


class CustomerAgents(Sequence[Customer]):
    """The model's customers as Mesa agents, in row order, each made when it is first asked for.

    ``model.customer_agents[7]`` is the agent viewing row 7, the same object
    every time it is asked for; ``materialise`` makes every one (the
    per-agent path does, before its first month). Only the agents made so
    far are in ``model.agents``.
    """

    def __init__(self, model: LoyaltyModel) -> None:
        self._model = model
        self._made: dict[int, Customer] = {}

    def __len__(self) -> int:
        return len(self._model.customers)

    @overload
    def __getitem__(self, index: int) -> Customer: ...

    @overload
    def __getitem__(self, index: slice) -> list[Customer]: ...

    def __getitem__(self, index: int | slice) -> Customer | list[Customer]:
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        k = operator.index(index)
        n = len(self)
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError(f"customer {index} out of range: the market has {n:,} customers")
        agent = self._made.get(k)
        if agent is None:
            agent = self._made[k] = Customer(self._model, k)
        return agent

    def __iter__(self) -> Iterator[Customer]:
        """Every agent, in row order (all made first)."""
        self.materialise()
        return (self._made[k] for k in range(len(self)))

    def __contains__(self, agent: object) -> bool:
        return isinstance(agent, Customer) and self._made.get(agent.index) is agent

    @property
    def made(self) -> int:
        """How many of the agents exist so far."""
        return len(self._made)

    def materialise(self) -> None:
        """Make every agent not yet made, in row order."""
        if len(self._made) == len(self):
            return
        collecting = gc.isenabled()
        gc.disable()  # a million small objects would trigger many full collections
        try:
            for k in range(len(self)):
                if k not in self._made:
                    self._made[k] = Customer(self._model, k)
        finally:
            if collecting:
                gc.enable()


class Firm(mesa.Agent):
    """A firm: its levers, its brand image, and last month's price and exit fee."""

    def __init__(self, model: LoyaltyModel, levers: FirmLevers, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.levers = levers.model_copy()
        self.image = levers.image
        self.previous_price = levers.price
        self.previous_exit_fee = levers.exit_fee

    @property
    def name(self) -> str:
        """The firm's name, as its levers give it."""
        return self.levers.name

    def step(self) -> None:
        """After the month: brand image fades or is renewed; remember price and exit fee."""
        m = self.model.spec.market
        self.image = float(
            brand.update_image(
                self.image,
                self.levers.brand_investment,
                decay=m.brand_decay,
                effect=m.brand_effect,
                scale=m.brand_scale,
            )
        )
        self.previous_price = self.levers.price
        self.previous_exit_fee = self.levers.exit_fee

    def __repr__(self) -> str:
        return f"Firm({self.name!r}, price={self.levers.price}, quality={self.levers.quality})"
