"""Calibration to an observed cohort retention table.

A subscription business keeps a cohort retention table: of the customers who
joined in some month, the share still active after 1, 2, 3, ... periods. This
module fits the customer heterogeneity of a scenario so that a simulated
cohort reproduces such a table, and projects the cohort forward.

**The observed table** (``read_retention_table``) is a CSV file with columns
``period`` and ``retained`` (share of the starting cohort still active after
``period`` periods; a row for period 0 is optional and must say 1) and
optionally ``customers`` (the size of the cohort the share was measured on).
Lines starting with ``#`` are comments.

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
(``FitParameter``) with common random numbers (the same seeds for every
candidate). It simulates a Latin hypercube of candidates over the whole
range, then smooths each month's simulated churn rate (on the logit scale)
across the candidates with a local quadratic regression (loess), and takes as
estimate the values that maximise the binomial likelihood of the observed
table's fit window under that smooth surface. The likelihood counts, for each
row, the customers at risk and those retained (the shifted-beta-geometric
likelihood of Fader & Hardie, 2007, written as a product of conditional
binomials, so rows may skip periods). Up to three more rounds simulate the
estimate and the bootstrap fits (below) farthest from any candidate so far,
so that candidates gather where the table leaves the parameters plausible,
a curved ridge included; the search stops when the estimate and its interval
move by less than a tenth of the interval's width.

**Uncertainty** comes from a bootstrap that repeats the fit many times, each
time on the observed table resampled binomially (when it gives cohort sizes)
and with the simulation's seeds resampled with replacement: the interval
reflects both the sampling noise of the observed cohort and the simulation's
own noise. Intervals are the 2.5% and 97.5% percentiles. The fitted and
projected curve is the cohort simulated with the calibrated scenario itself;
its band adds to it the percentiles of the bootstrap fits' curves about the
surface's curve at the estimate.

**The reference model** is the shifted-beta-geometric (sBG) model of Fader &
Hardie (2007): every customer has a constant churn rate, Beta-distributed
across customers. The cohort's churn rate nevertheless falls with tenure, as
the quick leavers go first (the sorting effect). It is fitted to the same
table as a baseline, and both models' errors on the hold-out rows are
reported side by side.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pydantic
from scipy import optimize, special
from tqdm.auto import tqdm

from .model import LoyaltyModel, package_version
from .parameters import Firm, Market, Population, Scenario

DEFAULT_FIT = ("population.review_probability=0.005:0.25:log", "population.review_concentration=0.3:30:log")
COLUMNS = ("period", "retained", "customers")
CONFIDENCE = 0.95
EDGE = 0.01  # share of a range within which an estimate counts as on its edge
MAX_ROUNDS = 4  # fits of the surface: after the first, each adds candidates where the bootstrap puts plausible values
DESIGN_REPLICATES = 50  # bootstrap replicates that choose the next candidates (the final interval uses them all)


class CalibrationError(ValueError):
    """A retention table, a parameter range or a setting that cannot be used; one line for the user."""


# --- the observed table ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionTable:
    """A cohort retention table: the share of a starting cohort still active after each period.

    Attributes:
        period: periods since the cohort started, strictly increasing, each >= 1.
        retained: share of the starting cohort still active after each period, 0..1, not rising.
        customers: size of the cohort each share was measured on (None when the table does not say).
        source: where the table came from, for messages and reports.
        sha256: hash of the file it was read from ("" when built in memory).
    """

    period: np.ndarray
    retained: np.ndarray
    customers: np.ndarray | None = None
    source: str = "table"
    sha256: str = ""

    def __len__(self) -> int:
        return int(self.period.size)

    @property
    def last_period(self) -> int:
        """The longest tenure the table reports."""
        return int(self.period[-1])

    def upto(self, last_period: int) -> RetentionTable:
        """The rows with ``period <= last_period``."""
        keep = self.period <= last_period
        customers = None if self.customers is None else self.customers[keep]
        return RetentionTable(self.period[keep], self.retained[keep], customers, self.source, self.sha256)

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Customers at risk at each row and those of them retained.

        Row ``i`` follows the customers active at the previous row (``n_i *
        retained_{i-1}``, with ``retained = 1`` at period 0) to period
        ``period_i`` (``n_i * retained_i``). Without cohort sizes, ``n = 1``:
        the rows weigh equally and the scale of the likelihood is arbitrary.
        """
        n = np.ones(len(self)) if self.customers is None else self.customers.astype(float)
        before = np.concatenate([[1.0], self.retained[:-1]])
        return n * before, n * self.retained


def retention_table(
    period: Sequence[int], retained: Sequence[float], customers: Sequence[int] | None = None, *, source: str = "table",
) -> RetentionTable:
    """A validated ``RetentionTable`` from columns; a row for period 0 (retained 1) is dropped.

    Raises:
        CalibrationError: naming the row and what is allowed.
    """
    rows = [
        {"period": p, "retained": r, **({} if customers is None else {"customers": c})}
        for p, r, c in zip(period, retained, customers if customers is not None else [None] * len(period), strict=True)
    ]
    return _validated(rows, source, lines=list(range(1, len(rows) + 1)), where="row", sha256="")


def read_retention_table(path: str | Path) -> RetentionTable:
    """Read and validate a cohort retention table from a CSV file.

    The file has a header line with ``period`` and ``retained`` and
    optionally ``customers``; blank lines and lines starting with ``#`` are
    skipped.

    Raises:
        CalibrationError: one line naming the file, the line and field, and what is allowed.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CalibrationError(f"{path}: no such file") from None
    except OSError as error:
        raise CalibrationError(f"{path}: cannot be read: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CalibrationError(
            f"{path}: not a UTF-8 text file (expected a CSV with columns period,retained[,customers])"
        ) from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise CalibrationError(
            f"{path}: empty; expected a header line 'period,retained' (optionally ',customers') and one row per period"
        )
    try:
        parsed = list(csv.reader([line for _, line in lines]))
    except csv.Error as error:
        raise CalibrationError(f"{path}: not valid CSV: {error}") from None
    header = [name.strip().lower() for name in parsed[0]]
    header_line = lines[0][0]
    for name in header:
        if name not in COLUMNS:
            raise CalibrationError(
                f"{path}: line {header_line}: unknown column {name!r}; "
                "columns are period, retained and optionally customers"
            )
    if len(set(header)) != len(header):
        raise CalibrationError(f"{path}: line {header_line}: a column is named twice: {','.join(header)}")
    for name in ("period", "retained"):
        if name not in header:
            raise CalibrationError(
                f"{path}: line {header_line}: missing column {name!r}; the header must name period and retained "
                f"(and optionally customers), found: {','.join(header) or 'nothing'}"
            )
    rows, numbers = [], []
    for (number, _), fields in zip(lines[1:], parsed[1:], strict=True):
        if len(fields) != len(header):
            raise CalibrationError(
                f"{path}: line {number}: {len(fields)} fields, expected {len(header)} ({','.join(header)})"
            )
        rows.append(dict(zip(header, (f.strip() for f in fields), strict=True)))
        numbers.append(number)
    digest = hashlib.sha256(raw).hexdigest()
    return _validated(rows, str(path), lines=numbers, where="line", sha256=digest)


def _validated(rows: list[dict], source: str, *, lines: list[int], where: str, sha256: str) -> RetentionTable:
    """Check every row; raise on the first problem with its place and what is allowed."""
    period, retained, customers = [], [], []
    has_customers = bool(rows) and "customers" in rows[0]
    for row, line in zip(rows, lines, strict=True):
        place = f"{source}: {where} {line}"
        p = _number(row["period"], f"{place}: period", whole=True)
        if p < 0:
            raise CalibrationError(f"{place}: period = {p}: must be a whole number >= 0 (periods since the cohort started)")
        r = _number(row["retained"], f"{place}: retained")
        if not 0.0 <= r <= 1.0:
            hint = " (a share such as 0.85, not a percentage)" if 1.0 < r <= 100.0 else ""
            raise CalibrationError(f"{place}: retained = {r:g}: must be a share between 0 and 1{hint}")
        if period and p <= period[-1]:
            raise CalibrationError(
                f"{place}: period = {p} after period {period[-1]}: periods must increase from row to row"
            )
        if p == 0 and r != 1.0:
            raise CalibrationError(f"{place}: retained = {r:g} at period 0: must be 1 (the whole cohort at its start)")
        earlier = retained[-1] if retained else 1.0
        if r > earlier:
            raise CalibrationError(
                f"{place}: retained = {r:g} after {earlier:g}: retention cannot rise "
                "(count continuous survival: a customer who left and came back is not retained)"
            )
        if has_customers:
            c = _number(row["customers"], f"{place}: customers", whole=True)
            if c < 1:
                raise CalibrationError(f"{place}: customers = {c}: must be a whole number >= 1 (the cohort's size)")
            if customers and c > customers[-1]:
                raise CalibrationError(
                    f"{place}: customers = {c} after {customers[-1]}: must not rise (a cohort cannot gain members)"
                )
            customers.append(c)
        period.append(p)
        retained.append(r)
    keep = [i for i, p in enumerate(period) if p > 0]
    if not keep:
        raise CalibrationError(f"{source}: no period after period 0: give the share retained after 1, 2, ... periods")
    return RetentionTable(
        period=np.array([period[i] for i in keep], dtype=int),
        retained=np.array([retained[i] for i in keep], dtype=float),
        customers=np.array([customers[i] for i in keep], dtype=int) if has_customers else None,
        source=source,
        sha256=sha256,
    )


def _number(text: object, place: str, *, whole: bool = False) -> float:
    kind = "a whole number" if whole else "a number"
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CalibrationError(f"{place} = {text!r}: must be {kind}") from None
    if not math.isfinite(value) or (whole and value != int(value)):
        raise CalibrationError(f"{place} = {text!r}: must be {kind}")
    return int(value) if whole else value


def conditional_log_likelihood(table: RetentionTable, survival: np.ndarray) -> float:
    """Log-likelihood of a retention table given a model's survival curve.

    Each row is a binomial draw: of the customers active at the previous row,
    each is still active at this row with probability ``S(k_i) / S(k_{i-1})``.
    For one cohort observed every period this is the likelihood of Fader &
    Hardie (2007, eq. 5): the churners of period t contribute ``P(T = t)`` and
    the survivors ``S(last)``.

    Args:
        table: the observed rows.
        survival: the model's share still active at each of ``table.period``, shape (rows,).

    Returns:
        The log-likelihood (constant binomial coefficients left out).
    """
    at_risk, kept = table.counts()
    return _log_likelihood(at_risk, kept, np.asarray(survival, dtype=float))


def _log_likelihood(at_risk: np.ndarray, kept: np.ndarray, survival: np.ndarray) -> float:
    before = np.empty_like(survival)
    before[0] = 1.0
    before[1:] = survival[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(before > 0, survival / before, 0.0)
    q = np.clip(q, 1e-12, 1 - 1e-12)
    return float(np.dot(kept, np.log(q)) + np.dot(at_risk - kept, np.log1p(-q)))


def resample_table(table: RetentionTable, rng: np.random.Generator) -> RetentionTable:
    """A bootstrap copy of a table with cohort sizes: survivors drawn binomially, row after row.

    Of the customers still active at the previous row, each stays to the next
    with the observed conditional retention.

    Raises:
        CalibrationError: when the table gives no cohort sizes.
    """
    if table.customers is None:
        raise CalibrationError(f"{table.source}: no customers column: the table cannot be resampled")
    n = table.customers.astype(float)
    before = np.concatenate([[1.0], table.retained[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        stay = np.where(before > 0, table.retained / before, 0.0)
    retained = np.empty(len(table))
    share = 1.0
    for i in range(len(table)):
        at_risk = int(round(n[i] * share))
        share = rng.binomial(at_risk, min(max(stay[i], 0.0), 1.0)) / n[i]
        retained[i] = share
    return RetentionTable(table.period, retained, table.customers, table.source, table.sha256)


# --- the shifted-beta-geometric reference model (Fader & Hardie 2007) ---------------------------------------------


def sbg_survival(alpha: float, beta: float, periods: np.ndarray | Sequence[int]) -> np.ndarray:
    """Share of a cohort still active after ``t`` periods under the sBG model.

    Each customer churns with a constant probability ``theta`` per period,
    ``theta ~ Beta(alpha, beta)`` across customers, so
    ``S(t) = B(alpha, beta + t) / B(alpha, beta)`` (Fader & Hardie 2007, eq. 3).

    Args:
        alpha, beta: the Beta distribution's parameters, > 0.
        periods: tenures ``t >= 0``.

    Returns:
        ``S(t)`` for each period, same shape as ``periods``.
    """
    t = np.asarray(periods, dtype=float)
    return np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))


def sbg_churn_probability(alpha: float, beta: float, periods: np.ndarray | Sequence[int]) -> np.ndarray:
    """``P(T = t)``, the share of the starting cohort lost in period ``t >= 1``.

    ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)`` (Fader & Hardie 2007, eq. 2).
    """
    t = np.asarray(periods, dtype=float)
    return np.exp(special.betaln(alpha + 1, beta + t - 1) - special.betaln(alpha, beta))


def sbg_churn_rate(alpha: float, beta: float, periods: np.ndarray | Sequence[int]) -> np.ndarray:
    """The cohort's churn rate in period ``t >= 1``: ``alpha / (alpha + beta + t - 1)``.

    It falls with tenure although no customer's rate changes: the mean churn
    rate of those still active after ``t - 1`` periods (the sorting effect).
    """
    t = np.asarray(periods, dtype=float)
    return alpha / (alpha + beta + t - 1)


def constant_rate_cohort(rates: np.ndarray, periods: np.ndarray | Sequence[int]) -> np.ndarray:
    """Share of a cohort still active after ``t`` periods when customer ``i`` churns at constant rate ``rates[i]``.

    ``S(t) = mean_i (1 - rates_i) ** t``: the expected survival of a cohort of
    customers whose individual churn rates never change. With rates drawn from
    ``Beta(alpha, beta)`` it tends to ``sbg_survival`` as the cohort grows.

    Args:
        rates: each customer's churn probability per period, shape (customers,).
        periods: tenures ``t >= 0``.

    Returns:
        ``S(t)`` for each period.
    """
    t = np.asarray(periods, dtype=float)
    return np.mean((1.0 - np.asarray(rates, dtype=float))[:, None] ** t[None, :], axis=0)


def churn_by_tenure(survival: np.ndarray) -> np.ndarray:
    """The churn rate of each period from a survival curve ``S(1..K)``: ``1 - S(t) / S(t - 1)``, with ``S(0) = 1``."""
    survival = np.asarray(survival, dtype=float)
    before = np.concatenate([[1.0], survival[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before > 0, 1.0 - survival / before, np.nan)


@dataclass(frozen=True)
class SbgFit:
    """A maximum-likelihood sBG fit: churn rates ``~ Beta(alpha, beta)``."""

    alpha: float
    beta: float
    log_likelihood: float

    @property
    def mean_churn(self) -> float:
        """Mean churn rate per period of a newly joined customer, ``alpha / (alpha + beta)``."""
        return self.alpha / (self.alpha + self.beta)

    def survival(self, periods: np.ndarray | Sequence[int]) -> np.ndarray:
        """``S(t)`` at the fitted parameters."""
        return sbg_survival(self.alpha, self.beta, periods)


def fit_sbg(table: RetentionTable, start: SbgFit | None = None) -> SbgFit:
    """Fit the sBG model to a table by maximum likelihood (``conditional_log_likelihood``).

    Searches ``log alpha`` and ``log beta`` with bounded Nelder-Mead from the
    method-of-moments values of the first two rows (Fader & Hardie's
    churn rates ``alpha / (alpha + beta)`` and ``alpha / (alpha + beta + 1)``)
    and from ``alpha = beta = 1``, or from ``start``, and keeps the best.
    """
    at_risk, kept = table.counts()
    t = table.period.astype(float)

    def loss(x: np.ndarray) -> float:
        alpha, beta = math.exp(x[0]), math.exp(x[1])
        survival = np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))
        return -_log_likelihood(at_risk, kept, survival)

    starts = [np.zeros(2)] if start is None else [np.log([start.alpha, start.beta])]
    if start is None:
        churn = churn_by_tenure(table.retained) if table.period[1] == 2 and table.period[0] == 1 else None
        if churn is not None and churn[0] > churn[1] > 0:
            total = churn[1] / (churn[0] - churn[1])  # alpha + beta
            starts.append(np.log([churn[0] * total, (1 - churn[0]) * total]))
    bounds = [(-9.0, 9.0), (-9.0, 12.0)]
    found = [optimize.minimize(loss, np.clip(x, -9.0, 9.0), method="Nelder-Mead", bounds=bounds) for x in starts]
    best = min(found, key=lambda r: r.fun)
    alpha, beta = (float(math.exp(v)) for v in best.x)
    return SbgFit(alpha, beta, -float(best.fun))


# --- the simulated cohort -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortCounts:
    """A simulated cohort by tenure, for ``k = 1..horizon``.

    Attributes:
        at_risk: customers that had stayed ``k - 1`` periods and were followed through period ``k``.
        lost: of them, those who left in period ``k``.
        joined: spells with the firm that started after the warm-up (the cohort's size).
    """

    at_risk: np.ndarray
    lost: np.ndarray
    joined: int

    def __add__(self, other: CohortCounts) -> CohortCounts:
        return CohortCounts(self.at_risk + other.at_risk, self.lost + other.lost, self.joined + other.joined)

    @property
    def churn_rate(self) -> np.ndarray:
        """Share of those at risk lost in each period of tenure (NaN where none was at risk)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.at_risk > 0, self.lost / np.maximum(self.at_risk, 1), np.nan)

    @property
    def survival(self) -> np.ndarray:
        """Kaplan-Meier retention after ``k`` periods: the product of ``1 - churn`` up to ``k``."""
        return np.cumprod(1.0 - np.nan_to_num(self.churn_rate, nan=0.0))


def pooled(counts: Iterable[CohortCounts]) -> CohortCounts:
    """The cohorts of several replications taken together."""
    counts = list(counts)
    total = counts[0]
    for more in counts[1:]:
        total = total + more
    return total


def simulate_cohort(
    scenario: Scenario, firm: str, seed: int, *, horizon: int, warmup: int = 12, window: int = 12,
) -> CohortCounts:
    """Follow the customers who join ``firm`` in one run of ``scenario``, month by month of tenure.

    The market runs for ``warmup + horizon + window`` periods. Every spell
    with the firm that starts after the warm-up (a customer choosing the firm,
    from a rival or from no firm) is followed until the customer leaves,
    ``horizon`` periods have passed, or the run ends (censored). A spell that
    starts in period ``t`` (the customer chose the firm at its end) and ends in
    period ``t + d`` has been retained for ``d - 1`` periods and is lost in
    its ``d``-th.

    Args:
        scenario: the market.
        firm: name of the firm whose joiners form the cohort.
        seed: the run's seed.
        horizon: longest tenure followed, in periods.
        warmup: periods before joiners count, so that the market settles.
        window: periods the run goes on beyond ``warmup + horizon``; more
            joiners are followed to the longest tenures.

    Returns:
        Customers at risk and lost by tenure, and the number of spells.
    """
    target = [f.name for f in scenario.firms].index(firm)
    model = LoyaltyModel(scenario, seed=seed)
    n = len(model.customers)
    started = np.full(n, -1, dtype=np.int64)  # period in which the followed spell began, -1 if none
    lost = np.zeros(horizon + 1, dtype=np.int64)
    censored = np.zeros(horizon + 1, dtype=np.int64)
    joined = 0
    periods = warmup + horizon + window
    for t in range(periods):
        before = model.customers.firm == target
        model.step()
        now = model.customers.firm == target
        followed = started >= 0
        left = followed & ~now
        np.add.at(lost, t - started[left], 1)
        started[left] = -1
        aged = (started >= 0) & (t - started >= horizon)
        censored[horizon] += int(aged.sum())
        started[aged] = -1
        if warmup <= t < periods - 1:  # a spell that starts in the last period could not be followed
            new = now & ~before
            started[new] = t
            joined += int(new.sum())
    still = started >= 0
    np.add.at(censored, (periods - 1) - started[still], 1)
    model.remove_all_agents()  # Mesa keeps every model it made; let the agents go at least
    # At risk in period k: spells lost in period k or later, or followed for at least k periods.
    ends = lost + censored
    at_risk = np.cumsum(ends[::-1])[::-1][1:]
    return CohortCounts(at_risk.astype(float), lost[1:].astype(float), joined)


def simulate_cohorts(
    scenario: Scenario, firm: str, seeds: Sequence[int], *, horizon: int, warmup: int = 12, window: int = 12,
    workers: int = 1, progress: bool = False,
) -> CohortCounts:
    """The firm's joiners in one run per seed, pooled (see ``simulate_cohort``)."""
    bar = tqdm(total=len(seeds), desc=f"cohort of {firm}", unit="run", disable=not progress, leave=False)
    with bar:
        simulate = _Simulator(scenario, firm, [], seeds, horizon, warmup, window, workers, bar)
        return pooled(simulate(np.zeros((1, 0)))[0])


def sample_cohort(survival: np.ndarray, customers: int, rng: np.random.Generator) -> np.ndarray:
    """Retention of a cohort of ``customers`` drawn period by period from a retention curve.

    Of those still active after ``k - 1`` periods, each stays through period
    ``k`` with probability ``S(k) / S(k - 1)``: the table a business with a
    cohort of that size would observe.

    Returns:
        Customers still active after each period, shape like ``survival``.
    """
    stay = 1.0 - np.nan_to_num(churn_by_tenure(survival), nan=1.0)
    active = np.empty(len(survival), dtype=np.int64)
    alive = customers
    for k, p in enumerate(stay):
        alive = int(rng.binomial(alive, min(max(p, 0.0), 1.0)))
        active[k] = alive
    return active


def cohort_table_csv(counts: CohortCounts, *, sample: int | None = None, sample_seed: int = 0, comment: str = "") -> str:
    """A retention table as CSV text, readable by ``read_retention_table``.

    Args:
        counts: the simulated cohort.
        sample: if given, the table of a cohort of this many customers drawn
            from the simulated curve (``sample_cohort``), with a ``customers``
            column; otherwise the simulated curve itself.
        sample_seed: seed of the draw.
        comment: written first, each line as a ``#`` comment.
    """
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    survival = counts.survival
    if sample is None:
        lines += ["period,retained", "0,1"] + [f"{k},{s:.6f}" for k, s in enumerate(survival, start=1)]
    else:
        active = sample_cohort(survival, sample, np.random.default_rng([sample_seed, 1]))
        lines += ["period,retained,customers", f"0,1,{sample}"]
        lines += [f"{k},{a / sample:.6f},{sample}" for k, a in enumerate(active, start=1)]
    return "\n".join(lines) + "\n"


# --- parameters to fit -------------------------------------------------------------------------------------------

_GROUPS = {"market": Market, "population": Population, "firm": Firm, "firms": Firm}


@dataclass(frozen=True)
class FitParameter:
    """A scenario parameter to fit, and the range searched.

    ``path`` is ``population.NAME``, ``market.NAME``, ``firm.NAME`` (the
    cohort's firm) or ``firms.FIRM.NAME``; the field must be a number. With
    ``log`` the range is searched evenly on a log scale (for a parameter whose
    effect is felt in ratios, such as a concentration over 0.3 to 30).
    """

    path: str
    low: float
    high: float
    log: bool = False

    @classmethod
    def parse(cls, text: str, scenario: Scenario, firm: str) -> FitParameter:
        """Read ``PATH=LOW:HIGH`` or ``PATH=LOW:HIGH:log`` (e.g. ``population.review_concentration=0.3:30:log``).

        Raises:
            CalibrationError: naming the text and what is allowed.
        """
        path, sep, bounds = text.partition("=")
        parts = bounds.split(":")
        if not sep or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2].strip() != "log"):
            raise CalibrationError(
                f"--fit {text}: must be PARAMETER=LOW:HIGH or PARAMETER=LOW:HIGH:log, "
                "e.g. population.switching_effort_cv=0.1:2"
            )
        try:
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise CalibrationError(f"--fit {text}: LOW and HIGH must be numbers, e.g. 0.1:2") from None
        if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
            raise CalibrationError(f"--fit {text}: LOW must be below HIGH, both finite")
        log = len(parts) == 3
        if log and low <= 0:
            raise CalibrationError(f"--fit {text}: a log scale needs LOW > 0")
        parameter = cls(path.strip(), low, high, log)
        try:
            parameter.locate(scenario, firm)
        except CalibrationError as error:
            raise CalibrationError(f"--fit {text}: {error}") from None
        for value in (low, high):
            try:
                with_values(scenario, firm, [parameter], [value])
            except CalibrationError as error:
                raise CalibrationError(f"--fit {text}: {error}") from None
        return parameter

    @property
    def text(self) -> str:
        """The parameter and its range as ``--fit`` takes them."""
        return f"{self.path}={self.low:g}:{self.high:g}" + (":log" if self.log else "")

    def locate(self, scenario: Scenario, firm: str) -> tuple[tuple, str]:
        """Where the parameter lives in ``scenario.model_dump()``: (keys, field name).

        Raises:
            CalibrationError: for an unknown group, firm or field, or a field that is not a number (the
                message says what is wrong, without naming the path).
        """
        parts = self.path.split(".")
        group = parts[0]
        names = [f.name for f in scenario.firms]
        if group not in _GROUPS or (group == "firms" and len(parts) != 3) or (group != "firms" and len(parts) != 2):
            raise CalibrationError(
                "must be population.NAME, market.NAME, firm.NAME (the cohort's firm) or firms.FIRM.NAME"
            )
        if group == "firms" and parts[1] not in names:
            raise CalibrationError(f"no firm {parts[1]!r}; firms are {', '.join(names)}")
        name = parts[-1]
        model = _GROUPS[group]
        numbers = [n for n, f in model.model_fields.items() if f.annotation is float and n != "image"]
        if name not in numbers:
            import difflib

            close = difflib.get_close_matches(name, numbers, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            what = "not a field" if name not in model.model_fields else "not a number that can be fitted"
            raise CalibrationError(f"{what} of {group}{hint} (numbers: {', '.join(numbers)})")
        if group == "market":
            return ("market",), name
        if group == "population":
            return ("population",), name
        index = names.index(firm if group == "firm" else parts[1])
        return ("firms", index), name

    def value(self, scenario: Scenario, firm: str) -> float:
        """The parameter's value in ``scenario``."""
        keys, name = self.locate(scenario, firm)
        table = scenario.model_dump()
        for key in keys:
            table = table[key]
        return float(table[name])


def with_values(scenario: Scenario, firm: str, parameters: Sequence[FitParameter], values: Sequence[float]) -> Scenario:
    """A copy of ``scenario`` with each parameter set to its value (validated).

    Raises:
        CalibrationError: a value the scenario does not allow.
    """
    raw = scenario.model_dump()
    for parameter, value in zip(parameters, values, strict=True):
        keys, name = parameter.locate(scenario, firm)
        table = raw
        for key in keys:
            table = table[key]
        table[name] = float(value)
    try:
        return Scenario.model_validate(raw)
    except pydantic.ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(map(str, problem["loc"]))
        message = problem["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        raise CalibrationError(f"{where} = {problem.get('input')!r}: {message}") from None


def parse_fit(texts: Sequence[str] | None, scenario: Scenario, firm: str) -> list[FitParameter]:
    """Fit parameters from ``PATH=LOW:HIGH`` texts (default ``DEFAULT_FIT``): one to three, each named once."""
    parameters = [FitParameter.parse(t, scenario, firm) for t in (texts or DEFAULT_FIT)]
    if not 1 <= len(parameters) <= 3:
        raise CalibrationError(f"--fit: give one to three parameters, not {len(parameters)}")
    keys = [p.locate(scenario, firm) for p in parameters]
    if len(set(keys)) != len(keys):
        raise CalibrationError("--fit: a parameter is named twice")
    return parameters


def apply_settings(scenario: Scenario, firm: str, settings: Sequence[str]) -> Scenario:
    """A copy of ``scenario`` with ``PATH=VALUE`` settings applied (paths as for ``FitParameter``).

    Raises:
        CalibrationError: naming the setting and what is allowed.
    """
    parameters, values = [], []
    for text in settings:
        path, sep, value_text = text.partition("=")
        try:
            value = float(value_text)
        except ValueError:
            value = math.nan
        if not sep or not math.isfinite(value):
            raise CalibrationError(f"--set {text}: must be PARAMETER=NUMBER, e.g. population.switching_effort_cv=1.2")
        parameter = FitParameter(path.strip(), value, value)
        try:
            parameter.locate(scenario, firm)
        except CalibrationError as error:
            raise CalibrationError(f"--set {text}: {error}") from None
        parameters.append(parameter)
        values.append(value)
    try:
        return with_values(scenario, firm, parameters, values)
    except CalibrationError as error:
        raise CalibrationError(f"--set: {error}") from None


# --- the fit ----------------------------------------------------------------------------------------------------


@dataclass
class Calibration:
    """What a calibration found. Intervals are 95% bootstrap percentiles.

    Attributes:
        scenario: the scenario as given.
        calibrated: the scenario with the fitted values (rounded to 4 significant digits).
        firm: the firm whose joiners form the cohort.
        table: the observed table.
        fit_periods: the last period of the fit window; later rows are the hold-out.
        parameters: what was fitted.
        estimate, low, high: fitted values and their intervals, one per parameter.
        before: each parameter's value in the scenario as given.
        seeds: the simulation's seeds (common to every candidate).
        horizon, warmup, window: periods followed, before joiners count, and run on beyond.
        design: every candidate simulated: its values, stage, log-likelihood and cohort size.
        curve: the smoothed surface's retention curve at the estimate, periods 1..horizon.
        fitted: the cohort simulated with the calibrated scenario itself, per seed: the fitted and projected curve.
        band: 95% band of that curve (low, high), periods 1..horizon: the curve plus the 2.5% and 97.5%
            percentiles of the bootstrap fits' surface curves less the surface curve at the estimate.
        sbg: the sBG fit; ``sbg_low``/``sbg_high`` its bootstrap intervals (alpha, beta), NaN without cohort sizes.
        sbg_band: 95% band of the sBG curve (NaN without cohort sizes).
        bootstrap: fitted values of each bootstrap replicate, shape (replicates, parameters).
        notes: caveats for the report (an estimate at the edge of its range, intervals without sampling noise).
    """

    scenario: Scenario
    calibrated: Scenario
    firm: str
    table: RetentionTable
    fit_periods: int
    parameters: list[FitParameter]
    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    before: np.ndarray
    seeds: list[int]
    horizon: int
    warmup: int
    window: int
    design: pd.DataFrame
    curve: np.ndarray
    fitted: list[CohortCounts]
    band: tuple[np.ndarray, np.ndarray]
    sbg: SbgFit
    sbg_low: np.ndarray
    sbg_high: np.ndarray
    sbg_band: tuple[np.ndarray, np.ndarray]
    bootstrap: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def fit_table(self) -> RetentionTable:
        """The rows the fit used."""
        return self.table.upto(self.fit_periods)

    @property
    def model_survival(self) -> np.ndarray:
        """Retention of the cohort simulated with the calibrated scenario, periods 1..horizon, all seeds pooled."""
        return pooled(self.fitted).survival

    @property
    def model_churn(self) -> np.ndarray:
        """Churn rate by tenure of the cohort simulated with the calibrated scenario, all seeds pooled."""
        return pooled(self.fitted).churn_rate

    @property
    def sbg_survival(self) -> np.ndarray:
        """The sBG fit's retention, periods 1..horizon."""
        return self.sbg.survival(np.arange(1, self.horizon + 1))


def default_fit_periods(table: RetentionTable) -> int:
    """The last period of the first two thirds of the table's rows (at least two rows, at least one left over)."""
    rows = min(max(2, math.ceil(2 * len(table) / 3)), len(table) - 1)
    return int(table.period[rows - 1])


def calibrate(
    scenario: Scenario,
    table: RetentionTable,
    *,
    firm: str | None = None,
    parameters: Sequence[FitParameter] | None = None,
    fit_periods: int | None = None,
    seeds: Sequence[int] | None = None,
    horizon: int | None = None,
    warmup: int = 12,
    window: int = 12,
    bootstrap: int = 200,
    workers: int = 1,
    progress: bool = False,
    random_seed: int = 0,
) -> Calibration:
    """Fit scenario parameters so that the firm's simulated joiners retain as the observed cohort did.

    Args:
        scenario: the market to calibrate.
        table: the observed cohort retention table.
        firm: the firm whose joiners form the simulated cohort (default: the first).
        parameters: what to fit, with ranges (default: ``DEFAULT_FIT``).
        fit_periods: last period of the fit window (default: ``default_fit_periods``);
            later rows are held out to check the projection.
        seeds: the simulation's seeds, common to every candidate (default: the scenario's).
        horizon: periods to project (default: the table's last period + 12).
        warmup, window: see ``simulate_cohort``.
        bootstrap: bootstrap replicates for the intervals.
        workers: processes running simulations (1: this process).
        progress: show a progress bar.
        random_seed: seed of the search design and of the bootstrap.

    Returns:
        A ``Calibration``.

    Raises:
        CalibrationError: settings that cannot be used, one line each.
    """
    firm = firm if firm is not None else scenario.firms[0].name
    names = [f.name for f in scenario.firms]
    if firm not in names:
        raise CalibrationError(f"--firm {firm}: no such firm in {scenario.name}; firms are {', '.join(names)}")
    if len(table) < 3:
        raise CalibrationError(
            f"{table.source}: {len(table)} period(s) after period 0: "
            "at least 3 are needed (to fit on some and check the rest)"
        )
    parameters = list(parameters) if parameters is not None else parse_fit(None, scenario, firm)
    seeds = list(seeds) if seeds is not None else scenario.seeds
    if len(seeds) < 2:
        raise CalibrationError("--replications: at least 2 seeds are needed (the bootstrap resamples them)")
    fit_periods = default_fit_periods(table) if fit_periods is None else int(fit_periods)
    fit_rows = int(np.sum(table.period <= fit_periods))
    if fit_periods > table.last_period or fit_rows < max(2, len(parameters)):
        raise CalibrationError(
            f"--fit-periods {fit_periods}: must leave at least {max(2, len(parameters))} rows of {table.source} to fit "
            f"and be at most its last period, {table.last_period}"
        )
    horizon = table.last_period + 12 if horizon is None else int(horizon)
    if horizon < table.last_period:
        raise CalibrationError(f"--horizon {horizon}: must reach the table's last period, {table.last_period}")
    if bootstrap < 20:
        raise CalibrationError(f"--bootstrap {bootstrap}: must be at least 20 for a 95% interval")

    rng = np.random.default_rng([random_seed, 2007])
    observed = table.upto(fit_periods)
    lows = _to_search(parameters, [p.low for p in parameters])
    highs = _to_search(parameters, [p.high for p in parameters])
    d = len(parameters)
    first, more = 4 + 4 * d, d + 4
    bar = tqdm(total=(first + more + 1) * len(seeds), desc=f"calibrating {scenario.name}", unit="run",
               disable=not progress, leave=False)
    simulator = _Simulator(scenario, firm, parameters, seeds, horizon, warmup, window, workers, bar)

    def simulate(search: np.ndarray) -> list[list[CohortCounts]]:
        return simulator(_from_search(parameters, search))

    tail = (1 - CONFIDENCE) / 2 * 100
    notes: list[str] = []
    with bar:
        # A Latin hypercube over the whole range, then rounds of candidates where the bootstrap puts plausible
        # values. The search runs on each parameter's search scale (log where asked).
        points = _latin_hypercube(first, lows, highs, rng)
        counts = simulate(points)
        stage = [1] * first
        estimate = low = high = None
        for round_ in range(MAX_ROUNDS):
            surface = _Surface.fit(points, counts, lows, highs)
            simulated = [conditional_log_likelihood(observed, _at(pooled(c).survival, observed.period)) for c in counts]
            starts = [points[int(np.argmax(simulated))]] + ([estimate] if estimate is not None else [])
            previous = (estimate, low, high)
            estimate = surface.best(observed, starts)
            replicates, _ = _bootstrap(surface, table, observed, estimate, min(bootstrap, DESIGN_REPLICATES), rng)
            low, high = np.percentile(replicates, [tail, 100 - tail], axis=0)
            if round_ > 0 and _settled(previous, (estimate, low, high)) or round_ == MAX_ROUNDS - 1:
                break
            scale = highs - lows
            taken = np.vstack([(points - lows) / scale, (estimate - lows) / scale])
            new = _spread_out((replicates - lows) / scale, taken, more - 1)
            new = np.vstack([estimate, lows + new * scale])
            bar.total = bar.n + (len(new) + 1) * len(seeds)
            bar.refresh()
            counts += simulate(new)
            points = np.vstack([points, new])
            stage += [round_ + 2] * len(new)

        replicates, curves = _bootstrap(surface, table, observed, estimate, bootstrap, rng)
        curve = surface.survival(estimate)
        replicates = _from_search(parameters, replicates)
        low, high = np.percentile(replicates, [tail, 100 - tail], axis=0)
        estimate = _from_search(parameters, estimate)
        rounded = np.array([float(f"{v:.4g}") for v in estimate])
        calibrated = with_values(scenario, firm, parameters, rounded)
        fitted = simulator(rounded[None, :])[0]
        spread = np.percentile(curves - curve, [tail, 100 - tail], axis=0)
        band = tuple(np.clip(pooled(fitted).survival + spread, 0.0, 1.0))

    calibrated = calibrated.model_copy(update={
        "name": f"{scenario.name}_calibrated",
        "description": (scenario.description + " " if scenario.description else "")
        + f"Calibrated to the cohort retention table {Path(table.source).name} (joiners of {firm}): "
        + ", ".join(f"{p.path} = {v:g}" for p, v in zip(parameters, rounded, strict=True)) + ".",
    })
    covered = (_to_search(parameters, high) - _to_search(parameters, low)) / (highs - lows)
    for p, est, share in zip(parameters, estimate, covered, strict=True):
        if share > 0.5:
            notes.append(f"The table says little about {p.path}: its 95% interval covers {share:.0%} of the range "
                         "searched, and the estimate is only the best of many values that fit about as well.")
        elif min(est - p.low, p.high - est) <= EDGE * (p.high - p.low):
            notes.append(f"{p.path} = {est:.4g} is at the edge of its range {p.low:g}:{p.high:g}: widen the range.")
    if table.customers is None:
        notes.append(f"{table.source} gives no cohort size (customers column): intervals reflect the simulation's noise "
                     "only, not the sampling noise of the observed cohort, and the sBG fit has none.")
    if len(seeds) < 5:
        notes.append(f"Only {len(seeds)} seeds: the bootstrap over seeds understates the simulation's noise; "
                     "use 5 or more.")

    sbg = fit_sbg(observed)
    sbg_low = sbg_high = np.full(2, np.nan)
    sbg_band = (np.full(horizon, np.nan), np.full(horizon, np.nan))
    if table.customers is not None:
        draws, curves = _bootstrap_sbg(sbg, table, observed, horizon, bootstrap, rng)
        sbg_low, sbg_high = np.percentile(draws, [tail, 100 - tail], axis=0)
        sbg_band = tuple(np.percentile(curves, [tail, 100 - tail], axis=0))

    design = pd.DataFrame(_from_search(parameters, points), columns=[p.path for p in parameters])
    design.insert(0, "stage", stage)
    design["log_likelihood"] = [conditional_log_likelihood(observed, _at(pooled(c).survival, observed.period))
                                for c in counts]
    design["cohort"] = [pooled(c).joined for c in counts]
    before = np.array([p.value(scenario, firm) for p in parameters])
    return Calibration(
        scenario=scenario, calibrated=calibrated, firm=firm, table=table, fit_periods=fit_periods,
        parameters=parameters, estimate=rounded, low=low, high=high, before=before, seeds=seeds, horizon=horizon,
        warmup=warmup, window=window, design=design, curve=curve, fitted=fitted, band=band, sbg=sbg,
        sbg_low=sbg_low, sbg_high=sbg_high, sbg_band=sbg_band, bootstrap=replicates, notes=notes,
    )


def _at(survival: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """A curve over periods 1..K read at some of them."""
    return survival[np.asarray(periods) - 1]


def _to_search(parameters: Sequence[FitParameter], values: np.ndarray) -> np.ndarray:
    """Values (rows of candidates) on the scale each parameter is searched on: log where asked."""
    values = np.asarray(values, dtype=float)
    logs = np.array([p.log for p in parameters])
    return np.where(logs, np.log(np.where(logs, values, 1.0)), values)


def _from_search(parameters: Sequence[FitParameter], search: np.ndarray) -> np.ndarray:
    """The inverse of ``_to_search``."""
    search = np.asarray(search, dtype=float)
    logs = np.array([p.log for p in parameters])
    return np.where(logs, np.exp(np.where(logs, search, 0.0)), search)


def _settled(before: tuple, after: tuple) -> bool:
    """Whether the estimate and interval moved by less than a tenth of the interval's width since the last round."""
    (e0, l0, h0), (e1, l1, h1) = before, after
    width = np.maximum(h1 - l1, 1e-12)
    return bool(np.all(np.abs(e1 - e0) < 0.1 * width) and np.all(np.abs(l1 - l0) < 0.1 * width)
                and np.all(np.abs(h1 - h0) < 0.1 * width))


def _latin_hypercube(n: int, low: np.ndarray, high: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``n`` points in the box: each parameter's range cut in ``n`` slices, one point per slice, slices shuffled."""
    d = low.size
    slots = np.stack([rng.permutation(n) for _ in range(d)], axis=1)
    unit = (slots + rng.random((n, d))) / n
    return low + unit * (high - low)


class _Simulator:
    """Runs the cohort of each candidate on every seed, in this process or in worker processes."""

    # Mesa keeps a reference to every model a process makes, so workers are replaced after this many runs.
    RUNS_PER_WORKER = 12

    def __init__(self, scenario: Scenario, firm: str, parameters: Sequence[FitParameter], seeds: Sequence[int],
                 horizon: int, warmup: int, window: int, workers: int, bar: tqdm) -> None:
        self.scenario, self.firm, self.parameters, self.seeds = scenario, firm, list(parameters), list(seeds)
        self.horizon, self.warmup, self.window = horizon, warmup, window
        self.workers, self.bar = workers, bar

    def __call__(self, points: np.ndarray) -> list[list[CohortCounts]]:
        """Per point, the cohort counts of each seed (seeds in order)."""
        scenarios = [with_values(self.scenario, self.firm, self.parameters, point) for point in points]
        tasks = [(s, seed) for s in scenarios for seed in self.seeds]
        kwargs = dict(horizon=self.horizon, warmup=self.warmup, window=self.window)
        results: list[CohortCounts] = []
        if self.workers <= 1:
            for s, seed in tasks:
                results.append(simulate_cohort(s, self.firm, seed, **kwargs))
                self.bar.update()
        else:
            from .replications import _process_context

            batch = self.workers * self.RUNS_PER_WORKER
            for start in range(0, len(tasks), batch):
                with ProcessPoolExecutor(max_workers=self.workers, mp_context=_process_context()) as pool:
                    futures = [pool.submit(simulate_cohort, s, self.firm, seed, **kwargs)
                               for s, seed in tasks[start:start + batch]]
                    for future in futures:
                        results.append(future.result())
                        self.bar.update()
        k = len(self.seeds)
        return [results[i * k:(i + 1) * k] for i in range(len(points))]


@dataclass
class _Surface:
    """Each tenure's simulated churn rate (logit scale) as a smooth function of the parameters.

    At a query point the surface is a local quadratic regression (loess) on
    the nearest candidates simulated, weighted by the tricube of their
    distance (parameters scaled to their ranges): it follows a curved ridge
    of the likelihood where one quadratic over the whole range could not.
    ``counts`` holds each candidate's per-seed cohort counts, shape
    (candidates, seeds, 2, horizon), so that the bootstrap can rebuild the
    surface on seeds drawn with replacement.
    """

    low: np.ndarray
    high: np.ndarray
    points: np.ndarray
    counts: np.ndarray
    logits: np.ndarray

    @classmethod
    def fit(cls, points: np.ndarray, counts: list[list[CohortCounts]], low: np.ndarray, high: np.ndarray) -> _Surface:
        stacked = np.array([[[c.at_risk, c.lost] for c in per_seed] for per_seed in counts])
        empty = np.flatnonzero((stacked[:, :, 0].sum(axis=1) == 0).any(axis=0))
        if empty.size:
            raise CalibrationError(
                f"at some candidate values no simulated joiner stays {empty[0] + 1} periods: the simulated cohorts are "
                "too small; use more --customers or --replications, or a shorter --horizon"
            )
        surface = cls(low, high, (points - low) / (high - low), stacked, np.empty(0))
        surface.logits = surface.refit(np.ones(stacked.shape[1]))
        return surface

    @property
    def neighbours(self) -> int:
        """Candidates each local regression uses: twice its coefficients and two more, or all there are."""
        d = self.points.shape[1]
        return min(len(self.points), (d + 1) * (d + 2) + 2)

    def refit(self, seed_weights: np.ndarray) -> np.ndarray:
        """Empirical logits of each candidate's churn by tenure, the seeds weighted (bootstrap: times drawn)."""
        totals = np.einsum("s,psch->pch", seed_weights, self.counts)
        at_risk, lost = totals[:, 0], totals[:, 1]
        return np.log((lost + 0.5) / (at_risk - lost + 0.5))

    def survival(self, x: np.ndarray, logits: np.ndarray | None = None) -> np.ndarray:
        """Retention after 1..horizon periods at parameter values ``x``."""
        u = (np.asarray(x, dtype=float) - self.low) / (self.high - self.low)
        offset = self.points - u
        distance = np.sqrt((offset**2).sum(axis=1))
        near = np.argpartition(distance, self.neighbours - 1)[: self.neighbours]
        reach = distance[near].max() * 1.1 + 1e-9
        weight = (1 - (distance[near] / reach) ** 3) ** 3
        features = _quadratic_features(offset[near]) * np.sqrt(weight)[:, None]
        targets = (self.logits if logits is None else logits)[near] * np.sqrt(weight)[:, None]
        gram = features.T @ features
        gram[np.diag_indices_from(gram)] += 1e-8 * np.trace(gram)  # a touch of ridge keeps sparse neighbourhoods stable
        coefficients = np.linalg.solve(gram, features.T @ targets)
        return np.cumprod(1.0 - special.expit(coefficients[0]))

    def best(self, table: RetentionTable, starts: Iterable[np.ndarray], logits: np.ndarray | None = None) -> np.ndarray:
        """The parameter values in the range that maximise the table's likelihood under the surface."""
        at_risk, kept = table.counts()
        rows = table.period - 1

        def loss(x: np.ndarray) -> float:
            return -_log_likelihood(at_risk, kept, self.survival(x, logits)[rows])

        bounds = list(zip(self.low, self.high, strict=True))
        found = [optimize.minimize(loss, np.clip(s, self.low, self.high), method="Nelder-Mead", bounds=bounds)
                 for s in starts]
        return np.asarray(min(found, key=lambda r: r.fun).x, dtype=float)


def _quadratic_features(u: np.ndarray) -> np.ndarray:
    """Columns 1, u_i and u_i * u_j (i <= j) of points ``u`` (points by parameters)."""
    d = u.shape[1]
    columns = [np.ones(len(u))] + [u[:, i] for i in range(d)] + [u[:, i] * u[:, j] for i in range(d) for j in range(i, d)]
    return np.stack(columns, axis=1)


def _spread_out(candidates: np.ndarray, taken: np.ndarray, count: int) -> np.ndarray:
    """``count`` of the candidates, each in turn the one farthest from those taken so far (scaled coordinates)."""
    chosen = []
    taken = np.array(taken, dtype=float)
    for _ in range(min(count, len(candidates))):
        gap = np.min(np.linalg.norm(candidates[:, None, :] - taken[None, :, :], axis=2), axis=1)
        pick = int(np.argmax(gap))
        chosen.append(candidates[pick])
        taken = np.vstack([taken, candidates[pick]])
    return np.array(chosen)


def _bootstrap(
    surface: _Surface, table: RetentionTable, observed: RetentionTable, estimate: np.ndarray, replicates: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Refit on resampled seeds and a resampled table: each replicate's fitted values and surface curve."""
    seeds = surface.counts.shape[1]
    values, curves = [], []
    for _ in range(replicates):
        weights = np.bincount(rng.integers(seeds, size=seeds), minlength=seeds).astype(float)
        logits = surface.refit(weights)
        window = resample_table(table, rng).upto(observed.last_period) if table.customers is not None else observed
        x = surface.best(window, [estimate], logits)
        values.append(x)
        curves.append(surface.survival(x, logits))
    return np.array(values), np.array(curves)


def _bootstrap_sbg(
    fit: SbgFit, table: RetentionTable, observed: RetentionTable, horizon: int, replicates: int, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """sBG fits to resampled tables: (alpha, beta) of each replicate and its curve over 1..horizon."""
    periods = np.arange(1, horizon + 1)
    values, curves = [], []
    for _ in range(replicates):
        refit = fit_sbg(resample_table(table, rng).upto(observed.last_period), start=fit)
        values.append((refit.alpha, refit.beta))
        curves.append(refit.survival(periods))
    return np.array(values), np.array(curves)


# --- tables --------------------------------------------------------------------------------------------------------


def parameter_table(calibration: Calibration) -> pd.DataFrame:
    """Fitted parameters with 95% intervals: the simulation's and the sBG reference model's."""
    c = calibration
    rows = [
        {"model": "simulation", "parameter": p.path, "estimate": est, "low": lo, "high": hi, "before": b,
         "searched_low": p.low, "searched_high": p.high, "scale": "log" if p.log else "linear"}
        for p, est, lo, hi, b in zip(c.parameters, c.estimate, c.low, c.high, c.before, strict=True)
    ]
    a, b = c.sbg.alpha, c.sbg.beta
    rows.append({"model": "sBG", "parameter": "alpha", "estimate": a, "low": c.sbg_low[0], "high": c.sbg_high[0]})
    rows.append({"model": "sBG", "parameter": "beta", "estimate": b, "low": c.sbg_low[1], "high": c.sbg_high[1]})
    table = pd.DataFrame(rows)
    table.attrs.update(_attrs(c))
    return table


def curve_table(calibration: Calibration) -> pd.DataFrame:
    """Observed, fitted and projected retention and churn by period, 0..horizon (shares, 0..1).

    Columns: ``period``; ``observed`` (NaN where the table has no row) and
    ``window`` ("fit", "hold-out" or "" where not observed); ``model`` (the
    cohort simulated with the calibrated scenario, all seeds pooled) with its
    bootstrap band ``model_low``/``model_high`` and ``at_risk``, the simulated
    customers each of its periods is measured on; ``surface``, the smoothed
    surface's curve at the estimate; ``sbg`` with ``sbg_low``/``sbg_high``;
    and the churn rate each period: ``observed_churn`` (per period, between
    rows), ``model_churn`` and ``sbg_churn``.
    """
    c = calibration
    periods = np.arange(0, c.horizon + 1)
    observed = pd.Series(np.nan, index=periods)
    observed[c.table.period] = c.table.retained
    window = pd.Series("", index=periods)
    window[c.table.period] = np.where(c.table.period <= c.fit_periods, "fit", "hold-out")
    observed_churn = pd.Series(np.nan, index=periods)
    before_period = np.concatenate([[0], c.table.period[:-1]])
    before_share = np.concatenate([[1.0], c.table.retained[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        per_period = 1 - (c.table.retained / before_share) ** (1 / (c.table.period - before_period))
    observed_churn[c.table.period] = per_period
    counts = pooled(c.fitted)

    def from_one(curve: np.ndarray, start: float) -> np.ndarray:
        return np.concatenate([[start], curve])

    table = pd.DataFrame({
        "period": periods,
        "observed": observed.to_numpy(),
        "window": window.to_numpy(),
        "model": from_one(c.model_survival, 1.0),
        "model_low": from_one(c.band[0], 1.0),
        "model_high": from_one(c.band[1], 1.0),
        "at_risk": from_one(counts.at_risk, np.nan),
        "surface": from_one(c.curve, 1.0),
        "sbg": from_one(c.sbg_survival, 1.0),
        "sbg_low": from_one(c.sbg_band[0], 1.0 if c.table.customers is not None else np.nan),
        "sbg_high": from_one(c.sbg_band[1], 1.0 if c.table.customers is not None else np.nan),
        "observed_churn": observed_churn.to_numpy(),
        "model_churn": from_one(c.model_churn, np.nan),
        "sbg_churn": from_one(sbg_churn_rate(c.sbg.alpha, c.sbg.beta, periods[1:]), np.nan),
    })
    table.attrs.update(_attrs(c))
    return table


def holdout_table(calibration: Calibration) -> pd.DataFrame:
    """Errors of the simulation and of the sBG model against the observed rows, in the fit window and the hold-out.

    Errors are in percentage points of the starting cohort: mean absolute
    error, root mean squared error and the largest error (fitted minus
    observed, signed) over the window's rows.
    """
    c = calibration
    rows = []
    for model, curve in (("simulation", c.model_survival), ("sBG", c.sbg_survival)):
        fitted = _at(curve, c.table.period)
        for window, mask in (("fit", c.table.period <= c.fit_periods), ("hold-out", c.table.period > c.fit_periods)):
            error = 100 * (fitted[mask] - c.table.retained[mask])
            rows.append({
                "model": model, "window": window, "rows": int(mask.sum()),
                "periods": f"{c.table.period[mask][0]}-{c.table.period[mask][-1]}" if mask.any() else "",
                "mean_abs_error_pts": float(np.mean(np.abs(error))) if mask.any() else np.nan,
                "rmse_pts": float(np.sqrt(np.mean(error**2))) if mask.any() else np.nan,
                "largest_error_pts": float(error[np.argmax(np.abs(error))]) if mask.any() else np.nan,
            })
    table = pd.DataFrame(rows)
    table.attrs.update(_attrs(c))
    return table


def _attrs(c: Calibration) -> dict:
    return {"scenario": c.calibrated.model_dump(mode="json"), "seeds": list(c.seeds), "version": package_version(),
            "retention_file": c.table.source, "retention_sha256": c.table.sha256}


# --- writing a scenario as TOML -----------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def scenario_toml(scenario: Scenario, comment: str = "") -> str:
    """A scenario as a TOML file that ``load_scenario`` reads back to an equal scenario.

    Every field is written, so the file stands alone (no ``extends``);
    fields that are unset (``None``) are left out.

    Args:
        scenario: the scenario.
        comment: text written first, each line as a ``#`` comment.
    """
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    if lines:
        lines.append("")
    _toml_table(scenario.model_dump(exclude_none=True), (), lines)
    return "\n".join(lines).rstrip("\n") + "\n"


def _toml_table(table: dict, path: tuple[str, ...], lines: list[str]) -> None:
    def is_table(v: object) -> bool:
        return isinstance(v, dict)

    def is_array_of_tables(v: object) -> bool:
        return isinstance(v, list | tuple) and len(v) > 0 and all(isinstance(i, dict) for i in v)

    for key, value in table.items():
        if not is_table(value) and not is_array_of_tables(value):
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in table.items():
        if is_table(value):
            lines += ["", f"[{'.'.join(_toml_key(k) for k in (*path, key))}]"]
            _toml_table(value, (*path, key), lines)
    for key, value in table.items():
        if is_array_of_tables(value):
            for item in value:
                lines += ["", f"[[{'.'.join(_toml_key(k) for k in (*path, key))}]]"]
                _toml_table(item, (*path, key), lines)


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        if any(isinstance(v, dict) for v in value):
            raise TypeError("a list that mixes tables and values cannot be written as TOML")
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def write_text_atomically(path: Path, text: str) -> None:
    """Write a file through a temporary file beside it and a rename, so it is never seen half written."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)

