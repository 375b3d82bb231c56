"""The pinned baseline: a fresh run of shipped scenarios reproduces the stored outputs exactly.

A change that moves these numbers on purpose rewrites them with
``tests/update_baseline.py`` and says why in its commit; any other
difference is a bug. Both are computed with the floating-point kernels
every x86-64 processor has (``portable_environment``), so that the
comparison holds on any machine.
"""

import pandas as pd

from tests.update_baseline import COLUMNS, SCENARIOS, SEEDS, portable_outputs, read_baseline


def test_a_fresh_run_reproduces_the_pinned_baseline_exactly():
    stored = read_baseline()
    fresh = portable_outputs()
    assert set(stored.scenario) == set(SCENARIOS) and set(stored.seed) == set(SEEDS)
    pd.testing.assert_frame_equal(fresh.reset_index(drop=True), stored, check_exact=True, check_dtype=False)


def test_the_pinned_baseline_covers_switching_loyalty_and_complaints():
    stored = read_baseline()
    for column in ("gains", "spurious_loyal", "latent_loyal", "complaints", "referrals"):
        assert stored[column].sum() > 0, column
    assert list(COLUMNS) == [c for c in stored.columns if c not in ("scenario", "seed", "period", "firm")]
