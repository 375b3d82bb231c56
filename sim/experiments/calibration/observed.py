"""The observed cohort retention table: reading and checking it, its likelihood, and bootstrap copies."""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sim.engine.parameters import MAX_PERIODS

COLUMNS = ("period", "retained", "customers")
MAX_COHORT = 10**12
"""The largest cohort a table may give (a trillion customers): beyond it a count is no count of customers."""


class CalibrationError(ValueError):
    """A retention table, a parameter range or a setting that cannot be used; one line for the user."""


@dataclass(frozen=True)
class RetentionTable:
    """A cohort retention table: the share of a starting cohort still active after each period.

    Attributes:
        period: periods since the cohort started, strictly increasing, each >= 1.
        retained: share of the starting cohort still active after each period, 0..1, not rising.
        customers: size of the cohort each share was measured on (None when the table does not say).
        source: where the table came from, for messages and reports.
        sha256: hash of the file it was read from ("" when built in memory).
        period_months: months in one of the table's periods (12: an annual table); None: as long as the
            model's period.
    """

    period: np.ndarray
    retained: np.ndarray
    customers: np.ndarray | None = None
    source: str = "table"
    sha256: str = ""
    period_months: int | None = None

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
        return replace(self, period=self.period[keep], retained=self.retained[keep], customers=customers)

    def steps(self, model_period_months: int) -> int:
        """Model periods in one of the table's periods, for a model whose period lasts ``model_period_months``.

        Raises:
            CalibrationError: when the table's period is not a whole number of model periods.
        """
        months = model_period_months if self.period_months is None else self.period_months
        if months % model_period_months:
            raise CalibrationError(
                f"{self.source}: periods of {months} months are not a whole number of the model's periods of "
                f"{model_period_months} months; give --period-months a multiple of {model_period_months}"
            )
        return months // model_period_months

    def in_model_periods(self, model_period_months: int) -> RetentionTable:
        """The same rows with periods counted in the model's periods (an annual table, monthly: 12, 24, ...)."""
        k = self.steps(model_period_months)
        return replace(self, period=self.period * k, period_months=model_period_months)

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
    period: Sequence[int],
    retained: Sequence[float],
    customers: Sequence[int] | None = None,
    *,
    source: str = "table",
    period_months: int | None = None,
) -> RetentionTable:
    """A validated ``RetentionTable`` from columns; a row for period 0 (retained 1) is dropped.

    ``period_months`` is the length of the table's period, as for ``read_retention_table``.

    Raises:
        CalibrationError: naming the row and what is allowed.
    """
    rows = [
        {"period": p, "retained": r, **({} if customers is None else {"customers": c})}
        for p, r, c in zip(period, retained, customers if customers is not None else [None] * len(period), strict=True)
    ]
    table = _validated(rows, source, lines=list(range(1, len(rows) + 1)), where="row", sha256="")
    return replace(table, period_months=_months(period_months, source))


def read_retention_table(path: str | Path, period_months: int | None = None) -> RetentionTable:
    """Read and validate a cohort retention table from a CSV file.

    The file has a header line with ``period`` and ``retained`` and
    optionally ``customers``; blank lines and lines starting with ``#`` are
    skipped. Rows may skip periods (an annual table of a monthly model:
    periods 12, 24, ...; or ``period_months=12`` and periods 1, 2, ...).

    Args:
        path: the CSV file.
        period_months: months in one of the table's periods (default: as long as the model's period).

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
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
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
    table = _validated(rows, str(path), lines=numbers, where="line", sha256=digest)
    return replace(table, period_months=_months(period_months, str(path)))


def _months(period_months: int | None, source: str) -> int | None:
    if period_months is not None and not (isinstance(period_months, int) and 1 <= period_months <= 120):
        raise CalibrationError(
            f"{source}: --period-months {period_months}: must be a whole number of months from 1 to 120 "
            "(1 monthly, 3 quarterly, 12 annual)"
        )
    return period_months


def _validated(rows: list[dict], source: str, *, lines: list[int], where: str, sha256: str) -> RetentionTable:
    """Check every row; raise on the first problem with its place and what is allowed."""
    period, retained, customers = [], [], []
    has_customers = bool(rows) and "customers" in rows[0]
    for row, line in zip(rows, lines, strict=True):
        place = f"{source}: {where} {line}"
        p = _number(row["period"], f"{place}: period", whole=True)
        if not 0 <= p <= MAX_PERIODS:
            raise CalibrationError(
                f"{place}: period = {p:.6g}: must be a whole number from 0 to {MAX_PERIODS:,} (periods since the "
                "cohort started; the longest horizon a run may have)"
            )
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
            if not 1 <= c <= MAX_COHORT:
                raise CalibrationError(
                    f"{place}: customers = {c:.6g}: must be a whole number from 1 to {MAX_COHORT:.0e} "
                    "(the cohort's size)"
                )
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
    q = _staying(survival)
    return float(np.dot(kept, np.log(q)) + np.dot(at_risk - kept, np.log1p(-q)))


def _staying(survival: np.ndarray) -> np.ndarray:
    """Each row's conditional retention ``S(k_i) / S(k_{i-1})`` from a curve read at the rows (kept off 0 and 1)."""
    before = np.empty_like(survival)
    before[0] = 1.0
    before[1:] = survival[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(before > 0, survival / before, 0.0)
    return np.clip(q, 1e-12, 1 - 1e-12)


def dispersion(table: RetentionTable, survival: np.ndarray, fitted: int) -> float:
    """How much more a table's rows vary about a model's curve than binomial sampling alone would make them.

    The Pearson statistic of the rows' conditional binomials (``conditional_log_likelihood``) divided by their
    degrees of freedom, ``rows - fitted`` (at least one), and never below 1: the dispersion factor of a
    quasi-binomial model (McCullagh & Nelder 1989, section 4.5). A real cohort's retention moves from year to year
    with things no model of tenure sees (the economy, a competitor's campaign, a change of policy), and the large
    cohorts of real tables make binomial noise small beside them: a factor of 2 says the rows scatter about the
    curve with twice the variance that sampling explains. 1 without cohort sizes (no sampling noise to compare with).

    Args:
        table: the observed rows.
        survival: the model's share still active at each of ``table.period``, shape (rows,).
        fitted: parameters fitted to these rows.
    """
    if table.customers is None:
        return 1.0
    at_risk, kept = table.counts()
    q = _staying(np.asarray(survival, dtype=float))
    seen = at_risk > 0  # a row with no one left at risk says nothing
    pearson = float(np.sum((kept[seen] - at_risk[seen] * q[seen]) ** 2 / (at_risk[seen] * q[seen] * (1 - q[seen]))))
    return max(1.0, pearson / max(1, int(seen.sum()) - fitted))


def overdispersed_binomial(
    rng: np.random.Generator, trials: np.ndarray | int, p: np.ndarray | float, factor: float
) -> np.ndarray:
    """Binomial draws whose variance is ``factor`` times the binomial's: beta-binomial, with the same mean.

    Each draw's success probability is itself drawn from a Beta with mean ``p`` and intra-class correlation
    ``(factor - 1) / (trials - 1)``, so the variance is ``factor * n p (1 - p)`` (capped where that correlation
    would reach 1). With ``factor`` 1 these are the plain binomial draws, from the same stream.
    """
    trials = np.asarray(trials)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    if factor <= 1.0:
        return rng.binomial(trials, p)
    rho = np.clip((factor - 1.0) / np.maximum(trials - 1, 1), 1e-12, 0.999)
    size = (1 - rho) / rho
    inner = np.clip(p, 1e-12, 1 - 1e-12)
    drawn = rng.beta(inner * size, (1 - inner) * size)
    return rng.binomial(trials, np.where((p > 0) & (p < 1), drawn, p))


def resample_table(table: RetentionTable, rng: np.random.Generator, factor: float = 1.0) -> RetentionTable:
    """A bootstrap copy of a table with cohort sizes: survivors drawn binomially, row after row.

    Of the customers still active at the previous row, each stays to the next
    with the observed conditional retention. With a dispersion ``factor``
    above 1 (``dispersion``) each row's draw varies that many times as much
    (``overdispersed_binomial``): the rows' scatter beyond sampling noise.

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
        share = int(overdispersed_binomial(rng, at_risk, min(max(stay[i], 0.0), 1.0), factor)) / n[i]
        retained[i] = share
    return replace(table, retained=retained)
