"""The suite: every fact in report order, and the function that runs them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd
from tqdm.auto import tqdm

from sim.engine.parameters import Scenario
from sim.experiments.evaluator import Evaluator, evaluator
from sim.experiments.validation.customers import complaint_recovery, complaints, satisfaction_loyalty, word_of_mouth
from sim.experiments.validation.economics import acquisition_cost, lifetime_value, retention_profit
from sim.experiments.validation.lab import FAST, FULL, Experiments, FactResult, Validation, _resized
from sim.experiments.validation.loyalty import cohort_churn, exit_barriers, price_elasticity
from sim.experiments.validation.mechanisms import (
    lock_in_latent,
    period_retention,
    promotion_end,
    quality_satisfaction,
    service_failures,
    tier_perks,
)

FACTS: dict[str, Callable[[Experiments], FactResult]] = {
    "quality_satisfaction": quality_satisfaction,
    "service_failures": service_failures,
    "satisfaction_loyalty": satisfaction_loyalty,
    "complaints": complaints,
    "complaint_recovery": complaint_recovery,
    "word_of_mouth": word_of_mouth,
    "promotion_end": promotion_end,
    "price_elasticity": price_elasticity,
    "cohort_churn": cohort_churn,
    "exit_barriers": exit_barriers,
    "tier_perks": tier_perks,
    "lock_in_latent": lock_in_latent,
    "acquisition_cost": acquisition_cost,
    "retention_profit": retention_profit,
    "lifetime_value": lifetime_value,
    "period_retention": period_retention,
}
"""Every fact, in report order: identifier -> the function that checks it."""


def run_validation(
    fast: bool = False,
    replications: int | None = None,
    seed: int = 1,
    workers: int = 1,
    *,
    scheduler: str | None = None,
    runner: Evaluator | None = None,
    customers: int | None = None,
    scenario: Scenario | None = None,
    facts: Iterable[str] | None = None,
    progress: bool = False,
) -> Validation:
    """Run the stylized-facts suite; see ``validate_model`` for the arguments.

    Returns:
        A ``Validation`` with one ``FactResult`` per fact (``sim.outputs`` draws
        its figures and writes its report).
    """
    chosen = list(FACTS) if facts is None else list(facts)
    unknown = [name for name in chosen if name not in FACTS]
    if unknown:
        raise ValueError(f"facts: unknown {', '.join(map(repr, unknown))}; facts are {', '.join(FACTS)}")
    sizes = FAST if fast else FULL
    replications = sizes["replications"] if replications is None else replications
    if replications < 2:
        raise ValueError(f"replications = {replications}: at least 2 are needed for an interval")
    base = Scenario() if scenario is None else scenario.model_copy(update={"events": []})
    base = _resized(base, customers=sizes["customers"] if customers is None else customers)
    base = base.model_copy(update={"market": base.market.model_copy(update={"period_months": 1})})
    seeds = [seed + r for r in range(replications)]
    runner = runner if runner is not None else evaluator(min(workers, replications), scheduler)
    lab = Experiments(base, seeds, runner=runner, fast=fast)
    results = []
    with runner, tqdm(total=len(chosen), desc="validate-model", unit="fact", disable=not progress, leave=False) as bar:
        for name in chosen:
            bar.set_postfix_str(name)
            results.append(FACTS[name](lab))
            bar.update()
    return Validation(scenario=base, seeds=seeds, fast=fast, workers=runner.workers, facts=results)


def validate_model(
    fast: bool = False,
    replications: int | None = None,
    seed: int = 1,
    workers: int = 1,
    *,
    scheduler: str | None = None,
    runner: Evaluator | None = None,
    customers: int | None = None,
    scenario: Scenario | None = None,
    facts: Iterable[str] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Check the model against the stylized facts of the loyalty literature.

    Args:
        fast: the small version (3,000 customers, 4 replications), as the
            test suite runs it, instead of the full one (10,000 customers,
            10 replications).
        replications: replications per experiment (at least 2); default by
            version.
        seed: seed of the first replication; replication r uses seed + r,
            in every experiment and arm (common random numbers).
        workers: processes that run replications.
        scheduler: address of a running Dask scheduler to run them on instead.
        runner: the evaluator to run them on (left running); overrides ``workers`` and ``scheduler``.
        customers: customers of the competitive market (default by version).
        scenario: the market and customers to check (default: the built-in
            three-firm baseline), without its timed events. Its market and
            population carry into every experiment; its firms into those run
            on its competitive market (all but the exit-fee ban, which uses
            the firms of ``scenarios/exit_fee_ban.toml``, and the one-firm
            cohorts of the lifetime-value facts). It is checked month by
            month (``period_months`` 1): customers live by the month whatever
            the period, and the facts are stated per month.
        facts: identifiers of the facts to check (default: all, see ``FACTS``).
        progress: show a progress bar.

    Returns:
        One row per fact (see ``FactResult.row``): fact, claim, source, the
        measured value with its 95% interval, the criterion in words and as
        code, ``passed``, and ``depends_on``. ``attrs`` record the scenario,
        seeds and package version.
    """
    return run_validation(
        fast,
        replications,
        seed,
        workers,
        scheduler=scheduler,
        runner=runner,
        customers=customers,
        scenario=scenario,
        facts=facts,
        progress=progress,
    ).table()
