"""loyalty-sim: what keeps customers loyal, and what that loyalty is worth.

>>> from sim import LoyaltyModel, Scenario
>>> model = LoyaltyModel(Scenario(), seed=42).run(24)
>>> df = model.results()   # tidy: one row per period and firm

The package is layered; each layer imports only the layers listed before it:

- ``sim.behaviour``: the pure array equations of customer behaviour;
- ``sim.engine``: one run (parameters, scenario files, population, the period, the model);
- ``sim.experiments``: many runs (evaluators, replications, lift, sweeps, calibration, validation);
- ``sim.outputs``: words, figures, reports and results folders;
- ``sim.cli`` and ``sim.app``: the ``loyalty`` command and the classroom page.

``sweep`` and ``sensitivity`` here are the studies of ``sim.experiments`` with
their finished runs kept on disk (``results/.sweeps`` by default), so that a
sweep run again resumes where it stopped. Importing ``sim`` loads nothing
heavy: the model loads on first use of one of its names, the studies when
first called.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from sim.engine.agents import Customer, Firm
    from sim.engine.model import LoyaltyModel, Strategy, package_version
    from sim.engine.parameters import Event, Market, Population, Scenario
    from sim.engine.parameters import Firm as FirmLevers
    from sim.engine.scenario_files import load_scenario
    from sim.experiments.sensitivity import Sensitivity

_LAZY = {
    "Customer": ("sim.engine.agents", "Customer"),
    "Firm": ("sim.engine.agents", "Firm"),
    "LoyaltyModel": ("sim.engine.model", "LoyaltyModel"),
    "Strategy": ("sim.engine.model", "Strategy"),
    "package_version": ("sim.engine.model", "package_version"),
    "Event": ("sim.engine.parameters", "Event"),
    "Market": ("sim.engine.parameters", "Market"),
    "Population": ("sim.engine.parameters", "Population"),
    "Scenario": ("sim.engine.parameters", "Scenario"),
    "FirmLevers": ("sim.engine.parameters", "Firm"),
    "load_scenario": ("sim.engine.scenario_files", "load_scenario"),
}
"""Names the package gives, each loaded from its module on first use: ``import sim`` itself loads nothing heavy,
so that the ``loyalty`` command can take over Ctrl-C before NumPy, pandas and Mesa load."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Customer",
    "Event",
    "Firm",
    "FirmLevers",
    "LoyaltyModel",
    "Market",
    "Population",
    "Scenario",
    "Strategy",
    "load_scenario",
    "package_version",
    "sensitivity",
    "sweep",
]

DEFAULT_STORE = Path("results") / ".sweeps"
"""Where ``sweep`` and ``sensitivity`` keep finished runs unless told otherwise."""


def sweep(
    scenario: Scenario | str | Path,
    vary: dict[str, object] | None = None,
    *,
    store: str | Path | None = DEFAULT_STORE,
    **options: Any,
) -> pd.DataFrame:
    """Run a scenario at every point of a design, on the same seeds, on Dask; one tidy table.

    The arguments are those of ``sim.experiments.sweep.sweep``, but ``store``
    is a folder: finished tasks are kept under it (``None`` keeps nothing).
    """
    from sim.experiments import sweep as study  # studies load on first use: importing the model stays light
    from sim.outputs.store import opener  # and so does the store of finished runs

    return study.sweep(scenario, vary, store=opener(store) if store is not None else None, **options)


def sensitivity(
    scenario: Scenario | str | Path,
    factors: dict[str, object] | None = None,
    *,
    store: str | Path | None = DEFAULT_STORE,
    **options: Any,
) -> Sensitivity:
    """Sobol' first-order and total indices of a firm's outcomes to the named factors.

    The arguments are those of ``sim.experiments.sensitivity.sensitivity``,
    but ``store`` is a folder, as for ``sweep``.
    """
    from sim.experiments import sensitivity as study  # studies load on first use: importing the model stays light
    from sim.outputs.store import opener  # and so does the store of finished runs

    return study.sensitivity(scenario, factors, store=opener(store) if store is not None else None, **options)
