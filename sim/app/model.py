"""The classroom's model: a ``LoyaltyModel`` that Mesa's SolaraViz builds from the sidebar, with the shocks.

``ClassroomModel`` is what the page runs: the scenario as written at the
chosen size, a dormant competitor added for the 'competitor enters' button,
the classic shocks of ``sim.engine.shocks`` as methods, and each customer's
inputs kept before a month so that ``sim.app.explain`` can show what it
weighed.
"""

from __future__ import annotations

import os
import re
import string

import numpy as np
import pandas as pd

from sim.cli.classroom import DEFAULT_CUSTOMERS, ENV_CUSTOMERS, ENV_SCENARIO, ENV_SEED
from sim.engine import shocks
from sim.engine.model import LoyaltyModel
from sim.engine.parameters import MAX_FIRMS, Scenario
from sim.engine.parameters import Firm as FirmLevers
from sim.engine.scenario_files import list_scenarios, load_scenario

DEFAULT_SEED = 1
DORMANT = 100_000
"""``enters_at`` of the entrant the app adds: never, unless the 'competitor enters' button opens it."""
ENTRANT_IMAGE = 0.1
"""Brand image of the entrant the app adds: almost unknown, as in ``new_entrant.toml``."""
_MONTH = re.compile(r"^month (\d+):")


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
        name=name,
        price=cheapest.price,
        quality=cheapest.quality,
        image=ENTRANT_IMAGE,
        brand_investment=0.0,
        enters_at=DORMANT,
    )


class ClassroomModel(LoyaltyModel):
    """A ``LoyaltyModel`` built from flat keyword parameters, with the classroom's shocks.

    SolaraViz builds the model again on Reset from the sidebar's values, so
    the constructor takes plain keywords. The market is
    ``classroom_scenario(scenario_name, customers)``: the scenario as written, at
    the chosen size, with a dormant competitor if it has none. The model stops
    (``running`` turns false) at the scenario's horizon.

    Before each month it keeps each customer's points, expectation and
    reference price, the inputs of a decision that the month overwrites, so that
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
        self,
        scenario_name: str = "baseline",
        customers: int = DEFAULT_CUSTOMERS,
        seed: int = DEFAULT_SEED,
        vectorised: bool = True,
    ) -> None:
        super().__init__(classroom_scenario(scenario_name, int(customers)), seed=int(seed), vectorised=vectorised)
        self.scenario_name = scenario_name
        self.horizon = self.spec.market.periods
        self.running = True
        self.points_before: np.ndarray | None = None
        self.expectation_before: np.ndarray | None = None
        self.reference_before: np.ndarray | None = None
        self._monthly: tuple[int, pd.DataFrame] | None = None

    def step(self, record: bool = True, segments: bool = True) -> None:
        """One period of the market; afterwards ``running`` says whether the horizon is still ahead."""
        super().step(record, segments)
        self.running = self.period < self.horizon

    def _month_step(
        self, book: bool = True, segments: bool = True
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
        self.points_before = self.customers.points.copy()
        self.expectation_before = self.customers.expectation.copy()
        self.reference_before = self.customers.reference_price.copy()
        return super()._month_step(book, segments)

    def monthly(self) -> pd.DataFrame:
        """The metrics so far, one row per month and firm: the columns of ``results()``, without its ``attrs``.

        Built once per month from the model's own records, for the page to
        filter and plot quickly (pandas copies ``attrs``, the whole scenario,
        on every operation). Do not modify it.
        """
        records = self.records  # a copy: the plots are drawn in another thread while months run
        if self._monthly is None or self._monthly[0] != len(records):
            names = np.array([f.name for f in self.firms], dtype=object)
            columns = (
                {key: np.concatenate([r[key] for r in records]) for key in records[0]}
                if records
                else {"period": [], "month": [], "months": []}
            )
            frame = pd.DataFrame({"period": columns.pop("period"), "firm": np.tile(names, len(records)), **columns})
            self._monthly = (len(records), frame)
        return self._monthly[1]

    def price_cut(self, firm: str, by: float = shocks.PRICE_CUT) -> str:
        """Cut ``firm``'s price by the share ``by`` from this month (``sim.engine.shocks.price_cut``)."""
        return shocks.price_cut(self, firm, by)

    def service_outage(
        self, firm: str, failure_rate: float = shocks.OUTAGE_FAILURE_RATE, months: int = shocks.OUTAGE_MONTHS
    ) -> str:
        """A service outage at ``firm`` (``sim.engine.shocks.service_outage``)."""
        return shocks.service_outage(self, firm, failure_rate, months)

    def ban_exit_fees(self) -> str:
        """Set every firm's exit fee to 0 from this month (``sim.engine.shocks.ban_exit_fees``)."""
        return shocks.ban_exit_fees(self)

    def competitor_enters(self) -> str:
        """Open the first dormant firm, with a launch campaign (``sim.engine.shocks.competitor_enters``)."""
        return shocks.competitor_enters(self)


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


def scenario_choices(current: str) -> list[str]:
    """The shipped scenarios that load, by name, and ``current`` if it is a file of the user's."""
    names = [path.stem for path, loaded in list_scenarios() if isinstance(loaded, Scenario)]
    return names if current in names else [current, *names]
