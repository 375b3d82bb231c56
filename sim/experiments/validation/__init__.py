"""The model's check of itself: stylized facts of the loyalty literature, reproduced on replications.

Rand & Rust (2011) ask of an agent-based model in marketing that it be
verified (does the code do what the documentation says?) and validated (does
the model produce the patterns seen in real markets?). This module runs the
validation half as a suite of small experiments, one per stylized fact of
the loyalty literature the model was built on. Each experiment runs the model over several replications (one
seed each; two arms of a comparison share their seeds: common random
numbers), measures what the fact is about from the customers' arrays or the
firms' books, never from the parameters themselves, and returns one row: the
claim and its source, the measured value with a 95% interval over
replications, the pass criterion in words and as the code that decides it,
pass or fail, and the parameters the fact depends on.

A user who changes a parameter listed under a fact's ``depends_on`` may lose
that fact; ``loyalty validate-model --scenario FILE`` re-runs the suite on
a scenario's market and customers to show which facts still hold.

Example:
    >>> from sim.experiments.validation import validate_model
    >>> facts = validate_model(fast=True, workers=2)        # doctest: +SKIP
    >>> facts[["fact", "value", "low", "high", "passed"]]   # doctest: +SKIP
"""

from sim.experiments.validation.lab import FAST, FULL, Experiments, FactResult, Validation, parameter_exists, passes
from sim.experiments.validation.suite import FACTS, run_validation, validate_model

__all__ = [
    "FACTS",
    "FAST",
    "FULL",
    "Experiments",
    "FactResult",
    "Validation",
    "parameter_exists",
    "passes",
    "run_validation",
    "validate_model",
]
