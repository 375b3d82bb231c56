"""``python -m sim``: run the built-in baseline market and print a summary table."""

from __future__ import annotations

import argparse
import sys

from sim.engine.model import LoyaltyModel, package_version
from sim.engine.parameters import Firm as FirmLevers
from sim.engine.parameters import Market, Population, Scenario, parameter_table
from sim.experiments.summary import firm_summary
from sim.outputs.reports.runs import printable


def main(argv: list[str] | None = None) -> int:
    """Run the baseline once and print its summary table (or, with ``--parameters``, every parameter)."""
    parser = argparse.ArgumentParser(
        prog="python -m sim",
        description="Run the built-in three-firm baseline market and print what each firm kept and earned.",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--customers", type=int, default=None, help="number of customers (default 10000)")
    parser.add_argument("--periods", type=int, default=None, help="number of months (default 120)")
    parser.add_argument(
        "--per-agent", action="store_true", help="step every Customer agent in turn (slow, same result)"
    )
    parser.add_argument("--parameters", action="store_true", help="print every parameter, its default and its source")
    args = parser.parse_args(argv)
    if args.parameters:
        for group in (Market, Population, FirmLevers):
            print(f"\n## {group.__name__}\n\n{parameter_table(group)}")
        return 0

    scenario = Scenario()
    if args.customers is not None:
        scenario.market.customers = args.customers
    if args.periods is not None:
        scenario.market.periods = args.periods
    model = LoyaltyModel(scenario, seed=args.seed, vectorised=not args.per_agent).run()
    m = scenario.market
    print(
        f"loyalty-sim {package_version()} | scenario {scenario.name!r} | seed {args.seed} | "
        f"{m.customers:,} customers, {m.periods} months, {len(scenario.firms)} firms"
    )
    print(printable(firm_summary(model.results())).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
