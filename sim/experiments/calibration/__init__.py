"""Calibration to an observed cohort retention table.

A subscription business keeps a cohort retention table: of the customers who
joined in some month, the share still active after 1, 2, 3, ... periods. This
module fits the customer heterogeneity of a scenario so that a simulated
cohort reproduces such a table, and projects the cohort forward.

**The observed table** (``read_retention_table``) is a CSV file with columns
``period`` and ``retained`` (share of the starting cohort still active after
``period`` periods; a row for period 0 is optional and must say 1) and
optionally ``customers`` (the size of the cohort the share was measured on).
Lines starting with ``#`` are comments. Rows may skip periods, and a table's
period may be longer than the model's (``period_months``: an annual table of a
monthly model); the fit reads the simulated cohort at the table's rows.

**The simulated cohort** (``simulate_cohort``) is every customer who joins the
firm after a warm-up, in a run of the scenario with the firm competing as
usual: customers join it by their own choice, so the cohort is the kind of
customer the firm actually wins. Each is followed from the month it joined;
it is retained after ``k`` periods if it has stayed with the firm without a
break for ``k`` periods (continuous survival: a customer who leaves is lost
to its cohort even if it comes back, and a return starts a new spell, counted
with the customers who join that month). Joiners of every month after the
warm-up are pooled by tenure; those still with the firm when the run ends are
censored, and the retention curve is the Kaplan-Meier product of the monthly
retention rates.

**The fit** (``calibrate``) searches the named parameters within their ranges
(``FitParameter``; by default ``DEFAULT_FIT``: the switching effort every exit
but one for outside reasons pays, and the firm's outside hazard and how
unequally customers are exposed to it; an all-cause table does not say which
kind of exit it saw, so the split between them is the scenario's) with common random numbers (the same seeds for every
candidate). It simulates a Latin hypercube of candidates over the whole
range and, when the outside hazard and its spread are fitted, the candidate
at which the model tells the sBG fit's story (a Gamma-spread outside hazard
with the sBG's mean and spread, leaving for rivals made rare: its
continuous-time twin), so that a table the sBG model fits well is not lost
on a hill a sparse first design misses; then it smooths each month's
simulated churn rate (on the logit scale)
across the candidates with a local quadratic regression (loess), and takes as
estimate the values that maximise the binomial likelihood of the observed
table's fit window under that smooth surface. Where few candidates lie near
its optimum the surface can promise a fit that a simulation there does not
give: the estimate is simulated, and if it fits the window worse than the best
candidate simulated (by more than the simulation's noise), that candidate is
the estimate instead, and the report says so. The likelihood counts, for each
row, the customers at risk and those retained (the shifted-beta-geometric
likelihood of Fader & Hardie, 2007, written as a product of conditional
binomials, so rows may skip periods). The surface weighs each candidate's
churn at a tenure by how much its simulated cohort says about it, so that a
candidate whose cohort has all but died out does not bend the tail. Up to
three more rounds simulate the estimate, the top of any other hill of the
surface that the table cannot rule out (an all-cause table often fits two
stories about as well: many leaving for outside reasons, the prone first, or
a steady trickle leaving for rivals, and the two project differently), and
the bootstrap fits (below) farthest from any candidate so far, so that
candidates gather where the table leaves the parameters plausible, a curved
ridge included; the search stops when the estimate and its interval move by
less than a tenth of the interval's width.

**Uncertainty** comes from a bootstrap that repeats the fit many times, each
time on the observed table resampled (when it gives cohort sizes) and with
the simulation's seeds resampled with replacement: the interval reflects both
the sampling noise of the observed cohort and the simulation's own noise. A
real table's rows scatter about any smooth curve more than sampling explains
(the economy, a campaign, a change of policy move a whole year's retention),
so the table is resampled with the dispersion its fit window shows about the
fitted curve (``dispersion``: Pearson's statistic over its degrees of
freedom, at least 1), beta-binomially, as quasi-likelihood widens its
intervals. Each refit searches from the estimate and, where its resampled
table likes the top of another hill better, from that one too, so that the
interval reaches another hill of the likelihood when the data allow it.
Intervals are the 2.5% and 97.5% percentiles. The fitted and projected curve
is the cohort simulated with the calibrated scenario itself; within the fit
window its band is the curve moved by each bootstrap fit's curve about the
surface's curve at the estimate. Beyond the window (the held-out rows and
the projection) it is a prediction band of what the same cohort's table
would show given the rows fitted: the survivors at the window's last row are
known, and each replicate follows them with the model's conditional
retention as its own fit moves it, drawing who stays with the same
dispersion.

**The reference model** is the shifted-beta-geometric (sBG) model of Fader &
Hardie (2007): every customer has a constant churn rate, Beta-distributed
across customers. The cohort's churn rate nevertheless falls with tenure, as
the quick leavers go first (the sorting effect). It is fitted to the same
table as a baseline, and both models' errors on the hold-out rows are
reported side by side, with those of a second reference, a Weibull lifetime
fitted by ``lifelines`` (``fit_weibull``), whose hazard changes with tenure for
every customer alike.
"""

from sim.experiments.calibration.cohorts import CohortCounts, pooled, sample_cohort, simulate_cohort, simulate_cohorts
from sim.experiments.calibration.fit import (
    DEFAULT_FIT,
    Calibration,
    FitParameter,
    apply_settings,
    calibrate,
    default_fit_periods,
    fitted_scenario,
    parse_fit,
)
from sim.experiments.calibration.observed import (
    CalibrationError,
    RetentionTable,
    conditional_log_likelihood,
    read_retention_table,
    resample_table,
    retention_table,
)
from sim.experiments.calibration.sbg import (
    SbgFit,
    churn_by_tenure,
    constant_rate_cohort,
    fit_sbg,
    sbg_churn_probability,
    sbg_churn_rate,
    sbg_survival,
)
from sim.experiments.calibration.summaries import curve_table, holdout_table, parameter_table
from sim.experiments.calibration.weibull import WeibullFit, fit_weibull

__all__ = [
    "DEFAULT_FIT",
    "Calibration",
    "CalibrationError",
    "CohortCounts",
    "FitParameter",
    "RetentionTable",
    "SbgFit",
    "WeibullFit",
    "apply_settings",
    "calibrate",
    "churn_by_tenure",
    "conditional_log_likelihood",
    "constant_rate_cohort",
    "curve_table",
    "default_fit_periods",
    "fit_sbg",
    "fit_weibull",
    "fitted_scenario",
    "holdout_table",
    "parameter_table",
    "parse_fit",
    "pooled",
    "read_retention_table",
    "resample_table",
    "retention_table",
    "sample_cohort",
    "sbg_churn_probability",
    "sbg_churn_rate",
    "sbg_survival",
    "simulate_cohort",
    "simulate_cohorts",
]
