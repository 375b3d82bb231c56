"""Customers and firms as Mesa agents.

A ``Customer`` is a view: its state lives in the model's population arrays,
and its ``step`` runs the one set of behavioural equations on its own row. A
``Firm`` holds the levers a strategist pulls (``firm.levers.price = 27``) and
its brand image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.behaviour import brand
from sim.behaviour.segments import SEGMENT_NAMES
from sim.engine.month import live_one_month
from sim.engine.parameters import Firm as FirmLevers

if TYPE_CHECKING:
    from sim.engine.model import LoyaltyModel


class Customer(mesa.Agent):
    """One customer. Its state lives in the model's population arrays."""

    def __init__(self, model: LoyaltyModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    def step(self) -> None:
        """Live one month: the same equations the vectorised path runs, on one row."""
        m = self.model
        live_one_month(
            m.customers,
            slice(self.index, self.index + 1),
            m.market,
            m.spec,
            m.draws,
            m.recommendations,
            m.warnings,
        )

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
