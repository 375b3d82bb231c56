"""Many runs: studies that return numbers (dataclasses and DataFrames) and never write text or files.

``evaluator`` (where runs go: this process, worker processes or Dask),
``fields`` and ``designs`` (what a study varies, and at which points),
``intervals`` (means with intervals, paired differences), ``replications``,
``summary`` (per-firm outcomes of replications), ``lift`` (what a retention
gain is worth), ``sweep`` and ``sensitivity``, ``calibration`` (to a cohort
retention table) and ``validation`` (the stylized facts).
"""
