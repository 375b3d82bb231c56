"""The fit: scenario parameters searched so that the simulated cohort retains as the observed one did."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.engine.parameters import Scenario
from sim.experiments.calibration.cohorts import CohortCounts, check_run_length, pooled, simulate_cohort
from sim.experiments.calibration.hills import at as _at
from sim.experiments.calibration.hills import margin, other_hills, sbg_story
from sim.experiments.calibration.hills import rivals as rivals_of
from sim.experiments.calibration.observed import (
    CalibrationError,
    RetentionTable,
    conditional_log_likelihood,
    dispersion,
    overdispersed_binomial,
)
from sim.experiments.calibration.sbg import SbgFit, fit_sbg
from sim.experiments.calibration.surface import Surface, bootstrap_sbg, one_blas_thread, spread_out
from sim.experiments.calibration.surface import bootstrap as bootstrap_fits
from sim.experiments.calibration.weibull import WeibullFit, fit_weibull
from sim.experiments.designs import unit_sample
from sim.experiments.evaluator import Evaluator, evaluator
from sim.experiments.fields import Factor, Field, FieldError, make_factor, parse_vary, resolve_field, with_values

DEFAULT_FIT = (
    "population.switching_effort=0.05:40:log",
    "firm.defection_hazard=0.00001:0.1:log",
    "population.outside_proneness_cv=0:4",
)
"""What a cohort table is fitted with by default: how hard leaving the firm is (the switching effort every exit pays,
which sets how many leave for rivals or for no purchase), and how often the firm's customers leave for outside
reasons and how unequally exposed they are to them. A table's early rows say how many leave, its later rows how fast
the rate falls. An all-cause table does not say which kind of exit it was: the split between them follows from the
scenario's other parameters, and the fitted values are conditional on them."""
MAX_FIT = 4
"""The most parameters one calibration fits: each more needs more candidates simulated before the surface is sure."""
CONFIDENCE = 0.95
INERT_EFFORT = 8.0
"""A fitted switching effort from which leaving but for outside reasons is so rare that the levers are inert."""
WORSE = 1.0
"""Log-likelihood by which the simulated estimate may fall short of the best candidate simulated (the simulation's
noise at common seeds) before that candidate replaces it. Small, because the surface is least sure where it promises
most: at 3, estimates whose simulation missed every row of the window by 1-3 points (one of them at the edge of its
range) stood against the candidate that fit it."""
FITTED_SEEDS = 3
"""Times as many seeds as each candidate's that the fitted curve is simulated on (the calibration's seeds first)."""
EDGE = 0.01  # share of a range within which an estimate counts as on its edge
MAX_ROUNDS = 4  # fits of the surface: after the first, each adds candidates where the bootstrap puts plausible values
DESIGN_REPLICATES = 50  # bootstrap replicates that choose the next candidates (the final interval uses them all)


FitParameter = Factor
"""A parameter to fit and the range searched: a ``sim.experiments.fields.Factor`` with a range (``LOW:HIGH``,
optionally ``:log``, searched evenly on a log scale)."""


def parse_fit(texts: Sequence[str] | None, scenario: Scenario, firm: str) -> list[Factor]:
    """Fit parameters from ``PATH=LOW:HIGH[:log]`` texts (default ``DEFAULT_FIT``): one to four, each named once.

    Paths are those of ``sim.experiments.fields``; ``firm.NAME`` is the
    cohort's firm. A fitted parameter must be a number that is not a whole
    number, and both ends of its range must be values the scenario allows.

    Raises:
        CalibrationError: naming the text and what is allowed.
    """
    parameters = []
    for text in texts or DEFAULT_FIT:
        try:
            path, spec = parse_vary(text, "--fit")
            factor = make_factor(scenario, path, spec, "--fit", firm=firm)
            if factor.low is None or factor.points is not None:
                raise FieldError(
                    f"--fit {text}: must be PARAMETER=LOW:HIGH or PARAMETER=LOW:HIGH:log, "
                    "e.g. population.switching_effort_cv=0.1:2"
                )
            if factor.field.whole or factor.field.name == "image":
                raise FieldError(
                    f"--fit {text}: {factor.field.name} cannot be fitted (a whole number, or an "
                    "image that evolves); fit a parameter that is a real number"
                )
            for value in (factor.low, factor.high):
                with_values(scenario, [factor.field], [value])
        except FieldError as error:
            message = str(error)
            raise CalibrationError(message if message.startswith("--fit") else f"--fit {text}: {message}") from None
        parameters.append(factor)
    if not 1 <= len(parameters) <= MAX_FIT:
        raise CalibrationError(f"--fit: give one to {MAX_FIT} parameters, not {len(parameters)}")
    keys = [(p.field.group, p.field.firms, p.field.name) for p in parameters]
    if len(set(keys)) != len(keys):
        raise CalibrationError("--fit: a parameter is named twice")
    return parameters


def apply_settings(scenario: Scenario, firm: str, settings: Sequence[str]) -> Scenario:
    """A copy of ``scenario`` with ``PATH=VALUE`` settings applied (paths as for ``parse_fit``).

    Raises:
        CalibrationError: naming the setting and what is allowed.
    """
    fields, values = [], []
    for text in settings:
        path, sep, value_text = text.partition("=")
        try:
            value = float(value_text)
        except ValueError:
            value = math.nan
        if not sep or not math.isfinite(value):
            raise CalibrationError(f"--set {text}: must be PARAMETER=NUMBER, e.g. population.switching_effort_cv=1.2")
        try:
            fields.append(resolve_field(scenario, path.strip(), firm))
        except FieldError as error:
            raise CalibrationError(f"--set {text}: {error}") from None
        values.append(value)
    return fitted_scenario(scenario, fields, values, "--set")


def fitted_scenario(
    scenario: Scenario, fields: Sequence[Field], values: Sequence[float], option: str = "--fit"
) -> Scenario:
    """A copy of ``scenario`` with each field set to its value (validated).

    Raises:
        CalibrationError: a value the scenario does not allow.
    """
    try:
        return with_values(scenario, fields, [float(v) for v in values])
    except FieldError as error:
        raise CalibrationError(f"{option}: {error}") from None


@dataclass
class Calibration:
    """What a calibration found. Intervals are 95% bootstrap percentiles.

    Attributes:
        scenario: the scenario as given.
        calibrated: the scenario with the fitted values (rounded to 4 significant digits).
        firm: the firm whose joiners form the cohort.
        table: the observed table, its periods counted in the model's periods.
        steps: model periods in one of the table's periods as given (12: an annual table, monthly model).
        fit_periods: the last period of the fit window (model periods); later rows are the hold-out.
        parameters: what was fitted.
        estimate, low, high: fitted values and their intervals, one per parameter.
        before: each parameter's value in the scenario as given.
        seeds: the simulation's seeds (common to every candidate).
        horizon, warmup, window: model periods followed, before joiners count, and run on beyond.
        design: every candidate simulated: its values, stage, log-likelihood and cohort size.
        curve: the smoothed surface's retention curve at its optimum (the estimate, unless a better candidate
            simulated replaced it), periods 1..horizon.
        fitted: the cohort simulated with the calibrated scenario itself, per seed: the fitted and projected curve
            (on ``FITTED_SEEDS`` times as many seeds as each candidate, ``seeds`` first).
        band: 95% band (low, high), periods 1..horizon: within the fit window, of the curve (the curve moved by
            each bootstrap fit's surface curve less the surface curve at the estimate); beyond it, a prediction band
            of what the same cohort's table would show there, given its survivors at the window's last row
            (``_predicted``).
        prediction: the median of the band's paths, periods 1..horizon: beyond the fit window, what the table's
            later rows are expected to show, from its survivors at the window's last row (the curve itself starts
            from the simulated cohort's).
        sbg: the sBG fit; ``sbg_low``/``sbg_high`` its bootstrap intervals (alpha, beta), NaN without cohort sizes.
        sbg_band: 95% band of the sBG curve (NaN without cohort sizes).
        weibull: the Weibull reference fit, on the same rows.
        bootstrap: fitted values of each bootstrap replicate, shape (replicates, parameters).
        dispersion: how many times the variance binomial sampling explains the fit window's rows scatter with about
            the fitted curve (``dispersion``; at least 1): the bootstrap resamples the table with it, so the
            intervals and the band carry the rows' year-to-year movement as well as their sampling noise.
        sbg_dispersion: the same about the sBG curve, with which its bootstrap resamples the table.
        notes: caveats for the report (an estimate at the edge of its range, intervals without sampling noise).
    """

    scenario: Scenario
    calibrated: Scenario
    firm: str
    table: RetentionTable
    steps: int
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
    prediction: np.ndarray
    sbg: SbgFit
    sbg_low: np.ndarray
    sbg_high: np.ndarray
    sbg_band: tuple[np.ndarray, np.ndarray]
    weibull: WeibullFit
    bootstrap: np.ndarray
    dispersion: float = 1.0
    sbg_dispersion: float = 1.0
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

    @property
    def weibull_survival(self) -> np.ndarray:
        """The Weibull fit's retention, periods 1..horizon."""
        return self.weibull.survival(np.arange(1, self.horizon + 1))


def default_fit_periods(table: RetentionTable) -> int:
    """The last period of the first two thirds of the table's rows (at least two rows, at least one left over).

    In the table's periods (those of ``table.period``).
    """
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
    scheduler: str | None = None,
    runner: Evaluator | None = None,
    progress: bool = False,
    random_seed: int = 0,
) -> Calibration:
    """Fit scenario parameters so that the firm's simulated joiners retain as the observed cohort did.

    Args:
        scenario: the market to calibrate.
        table: the observed cohort retention table.
        firm: the firm whose joiners form the simulated cohort (default: the first).
        parameters: what to fit, with ranges (default: ``DEFAULT_FIT``).
        fit_periods: last period of the fit window, in the table's periods (default: ``default_fit_periods``);
            later rows are held out to check the projection.
        seeds: the simulation's seeds, common to every candidate (default: the scenario's).
        horizon: the table's periods to project (default: the table's last period and a year more).
        warmup: model periods before joiners count (see ``simulate_cohort``).
        window: model periods run beyond warm-up and horizon (see ``simulate_cohort``).
        bootstrap: bootstrap replicates for the intervals.
        workers: processes running simulations (1: this process).
        scheduler: address of a running Dask scheduler to run them on instead.
        runner: the evaluator to run them on (left running); overrides ``workers`` and ``scheduler``.
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
    model_months = scenario.market.period_months
    steps = table.steps(model_months)
    table_months = steps * model_months
    year = max(1, -(-12 // table_months))  # the table's periods in a year, at least one
    horizon = table.last_period + year if horizon is None else int(horizon)
    if horizon < table.last_period:
        raise CalibrationError(f"--horizon {horizon}: must reach the table's last period, {table.last_period}")
    check_run_length(horizon * steps, warmup, window)
    own, own_fit = table, table.upto(fit_periods)
    table, fit_periods, horizon = table.in_model_periods(model_months), fit_periods * steps, horizon * steps
    if bootstrap < 20:
        raise CalibrationError(f"--bootstrap {bootstrap}: must be at least 20 for a 95% interval")

    rng = np.random.default_rng([random_seed, 2007])
    observed = table.upto(fit_periods)
    lows = _to_search(parameters, [p.low for p in parameters])
    highs = _to_search(parameters, [p.high for p in parameters])
    d = len(parameters)
    first, more = 4 + 4 * d, d + 4
    bar = tqdm(
        total=(first + more + 1) * len(seeds),
        desc=f"calibrating {scenario.name}",
        unit="run",
        disable=not progress,
        leave=False,
    )
    runner = runner if runner is not None else evaluator(workers, scheduler)
    simulator = _Simulator(scenario, firm, parameters, seeds, horizon, warmup, window, runner, bar)

    def simulate(search: np.ndarray) -> list[list[CohortCounts]]:
        return simulator(_from_search(parameters, search))

    tail = (1 - CONFIDENCE) / 2 * 100
    notes: list[str] = []
    sbg = fit_sbg(own_fit, period=steps)
    with bar, runner, one_blas_thread():
        # A Latin hypercube over the whole range, and where the fit has the parameters for it the sBG fit's own
        # story told in the model's terms; then rounds of candidates where the bootstrap puts plausible values.
        # The search runs on each parameter's search scale (log where asked).
        points = lows + unit_sample("lhs", d, first, rng) * (highs - lows)
        told = sbg_story(parameters, sbg, table_months, scenario, 2 * INERT_EFFORT)
        if told is not None:
            points = np.vstack([points, np.clip(_to_search(parameters, told), lows, highs)])
            bar.total += len(seeds)
        counts = simulate(points)
        stage = [1] * len(points)
        estimate = low = high = None
        for round_ in range(MAX_ROUNDS):
            surface = Surface.fit(points, counts, lows, highs)
            simulated = [conditional_log_likelihood(observed, _at(pooled(c).survival, observed.period)) for c in counts]
            starts = [points[int(np.argmax(simulated))]] + ([estimate] if estimate is not None else [])
            previous = (estimate, low, high)
            estimate = surface.best(observed, starts)
            factor = dispersion(observed, _at(surface.survival(estimate), observed.period), d)
            hills: list[np.ndarray] = []
            if table.customers is None:  # no sampling noise to weigh hills by: the best candidates, as they come
                rivals = rivals_of(points, simulated, lows, highs)
            else:
                allowed = margin(factor, d)
                rivals = rivals_of(points, simulated, lows, highs, allowed)
                estimate, hills = other_hills(surface, observed, estimate, rivals, allowed, points)
            replicates, _ = bootstrap_fits(
                surface,
                table,
                observed,
                estimate,
                min(bootstrap, DESIGN_REPLICATES),
                rng,
                rivals,
                runner,
                factor,
            )
            low, high = np.percentile(replicates, [tail, 100 - tail], axis=0)
            if round_ > 0 and _settled(previous, (estimate, low, high)) or round_ == MAX_ROUNDS - 1:
                break
            # The next candidates: the estimate, the top of every other hill the table finds about as plausible
            # (so that the bootstrap can weigh the hills on simulations, not on the surface's guess between them),
            # and bootstrap fits far from every candidate so far.
            scale = highs - lows
            taken = np.vstack([(points - lows) / scale, (np.vstack([estimate, *hills]) - lows) / scale])
            new = spread_out((replicates - lows) / scale, taken, max(0, more - 1 - len(hills))).reshape(-1, d)
            new = np.vstack([estimate, *hills, lows + new * scale])
            bar.total = bar.n + (len(new) + 1) * len(seeds)
            bar.refresh()
            counts += simulate(new)
            points = np.vstack([points, new])
            stage += [round_ + 2] * len(new)

        replicates, curves = bootstrap_fits(surface, table, observed, estimate, bootstrap, rng, rivals, runner, factor)
        curve = surface.survival(estimate)
        replicates = _from_search(parameters, replicates)
        low, high = np.percentile(replicates, [tail, 100 - tail], axis=0)
        rounded = _rounded(_from_search(parameters, estimate))
        # The fitted curve is simulated on more seeds than each candidate, those first, so that its tail, which the
        # hold-out check and the projection read, carries less of the simulation's noise.
        more_seeds = seeds + [max(seeds) + 1 + i for i in range((FITTED_SEEDS - 1) * len(seeds))]
        bar.total += len(more_seeds) - len(seeds)  # the total so far counted the fitted curve on the seeds
        bar.refresh()
        fitted = simulator(rounded[None, :], more_seeds)[0]
        # The surface smooths the candidates; where few lie near its optimum it can promise a fit that a simulation
        # there does not give. The estimate must simulate about as well as the best candidate simulated, on the
        # same seeds. ``simulated`` holds every candidate's log-likelihood: the last round added none after it.
        promised = conditional_log_likelihood(observed, _at(pooled(fitted[: len(seeds)]).survival, observed.period))
        best = _better_candidate(promised, simulated)
        if best is not None:
            notes.append(
                "The smoothed surface's optimum simulated worse than the best candidate (log-likelihood "
                f"{promised:.1f} against {simulated[best]:.1f} in the fit window): the estimate is that candidate, "
                "and the intervals, found on the surface, are centred on the optimum it promised."
            )
            rounded = _rounded(_from_search(parameters, points[best]))
            bar.total += len(more_seeds)
            fitted = simulator(rounded[None, :], more_seeds)[0]
        estimate = rounded
        calibrated = fitted_scenario(scenario, [p.field for p in parameters], rounded)
        paths = _predicted(pooled(fitted).survival, curves, curve, observed, random_seed, factor)
        band = tuple(np.percentile(paths, [tail, 100 - tail], axis=0))
        prediction = np.median(paths, axis=0)

    calibrated = calibrated.model_copy(
        update={
            "name": f"{scenario.name}_calibrated",
            "description": (scenario.description + " " if scenario.description else "")
            + f"Calibrated to the cohort retention table {Path(table.source).name} (joiners of {firm}): "
            + ", ".join(f"{p.path} = {v:g}" for p, v in zip(parameters, rounded, strict=True))
            + ".",
        }
    )
    covered = (_to_search(parameters, high) - _to_search(parameters, low)) / (highs - lows)
    searched_estimate = _to_search(parameters, estimate)
    for i, (p, est, searched, share) in enumerate(zip(parameters, estimate, searched_estimate, covered, strict=True)):
        if share > 0.5:
            notes.append(
                f"The table says little about {p.path}: its 95% interval covers {share:.0%} of the range "
                "searched, and the estimate is only the best of many values that fit about as well."
            )
        elif min(searched - lows[i], highs[i] - searched) <= EDGE * (highs[i] - lows[i]):
            notes.append(f"{p.path} = {est:.4g} is at the edge of its range {p.low:g}:{p.high:g}: widen the range.")
        if p.field.name == "switching_effort" and est >= INERT_EFFORT:
            notes.append(
                f"{p.path} = {est:.3g}: so hard to leave that almost nobody leaves but for outside reasons; the "
                "scenario's levers (quality, price, service) then barely move churn, and the fit cannot tell this "
                "value from any larger one."
            )
    if table.customers is None:
        notes.append(
            f"{table.source} gives no cohort size (customers column): intervals reflect the simulation's noise "
            "only, not the sampling noise of the observed cohort, and the sBG fit has none."
        )
    if len(seeds) < 5:
        notes.append(
            f"Only {len(seeds)} seeds: the bootstrap over seeds understates the simulation's noise; use 5 or more."
        )

    sbg_low = sbg_high = np.full(2, np.nan)
    sbg_band = (np.full(horizon, np.nan), np.full(horizon, np.nan))
    sbg_factor = dispersion(own_fit, sbg.survival(own_fit.period * steps), 2)
    if table.customers is not None:
        draws, curves = bootstrap_sbg(sbg, own, own_fit, horizon, bootstrap, rng, sbg_factor)
        sbg_low, sbg_high = np.percentile(draws, [tail, 100 - tail], axis=0)
        sbg_band = tuple(np.percentile(curves, [tail, 100 - tail], axis=0))

    design = pd.DataFrame(_from_search(parameters, points), columns=[p.path for p in parameters])
    design.insert(0, "stage", stage)
    design["log_likelihood"] = simulated
    design["cohort"] = [pooled(c).joined for c in counts]
    before = np.array([float(p.field.value(scenario)) for p in parameters])
    return Calibration(
        scenario=scenario,
        calibrated=calibrated,
        firm=firm,
        table=table,
        steps=steps,
        fit_periods=fit_periods,
        parameters=parameters,
        estimate=rounded,
        low=low,
        high=high,
        before=before,
        seeds=seeds,
        horizon=horizon,
        warmup=warmup,
        window=window,
        design=design,
        curve=curve,
        fitted=fitted,
        band=band,
        prediction=prediction,
        sbg=sbg,
        sbg_low=sbg_low,
        sbg_high=sbg_high,
        sbg_band=sbg_band,
        weibull=fit_weibull(own_fit, period=steps),
        bootstrap=replicates,
        dispersion=factor,
        sbg_dispersion=sbg_factor,
        notes=notes,
    )


def _predicted(
    model: np.ndarray,
    curves: np.ndarray,
    curve: np.ndarray,
    observed: RetentionTable,
    random_seed: int,
    factor: float = 1.0,
) -> np.ndarray:
    """Bootstrap paths of the model's curve in the fit window ``observed``, and beyond it of what its table would show.

    Within the fit window a path is the model's curve moved by one bootstrap
    fit's offset (its surface curve ``curves[b]`` less the surface curve at
    the estimate, ``curve``). Beyond it, a held-out row is a measurement on
    the same finite cohort, whose survivors at the window's last row ``T``
    are known: ``n * R_obs(T)`` of them (``n`` the cohort size of that row).
    Replicate ``b`` follows them with the model's conditional retention
    ``S(k) / S(T)`` moved as its own fit moves it (times ``C_b(k) / C_b(T)``
    over ``C(k) / C(T)``): a draw from the bootstrap's spread of fits, then
    the survivors drawn from it, the predictive distribution of the rows to
    come given the rows fitted. The survivors vary ``factor`` times as much
    as a binomial's (``overdispersed_binomial``): the window's rows' scatter
    about the curve beyond sampling. Without cohort sizes there is no
    sampling noise: a path beyond the window is ``R_obs(T)`` times the
    replicate's conditional retention. Only the window's rows are read: the
    rows to come are taken to measure the cohort its last row measured
    (``n`` customers at the start).
    """
    paths = np.clip(model + curves - curve, 0.0, 1.0)
    last = observed.last_period
    later = np.arange(len(model)) >= last  # periods after the window's last row (index k - 1 for period k)

    def conditional(survival: np.ndarray) -> np.ndarray:
        return survival[..., later] / np.maximum(survival[..., [last - 1]], 1e-12)

    with np.errstate(divide="ignore", invalid="ignore"):
        moved = np.where(conditional(curve) > 0, conditional(curves) / conditional(curve), 1.0)
    kept = np.clip(conditional(model) * moved, 0.0, 1.0)
    if observed.customers is None:
        paths[:, later] = observed.retained[-1] * kept
        return paths
    size = int(observed.customers[-1])
    known = int(round(size * observed.retained[-1]))
    rng = np.random.default_rng([random_seed, 2007, 1])  # its own stream: the bootstrap's draws stay as they were
    paths[:, later] = overdispersed_binomial(rng, np.full(kept.shape, known), kept, factor) / size
    return paths


def _better_candidate(promised: float, simulated: Sequence[float]) -> int | None:
    """The best candidate simulated, if the estimate's simulation fell short of it by more than ``WORSE``; else None."""
    best = int(np.argmax(simulated))
    return best if promised < simulated[best] - WORSE else None


def _rounded(values: np.ndarray) -> np.ndarray:
    """Values to 4 significant digits, as the calibrated scenario records them."""
    return np.array([float(f"{v:.4g}") for v in values])


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
    return bool(
        np.all(np.abs(e1 - e0) < 0.1 * width)
        and np.all(np.abs(l1 - l0) < 0.1 * width)
        and np.all(np.abs(h1 - h0) < 0.1 * width)
    )


class _Simulator:
    """Runs the cohort of each candidate on every seed, on the study's evaluator."""

    def __init__(
        self,
        scenario: Scenario,
        firm: str,
        parameters: Sequence[Factor],
        seeds: Sequence[int],
        horizon: int,
        warmup: int,
        window: int,
        runner: Evaluator,
        bar: tqdm,
    ) -> None:
        self.scenario, self.firm, self.parameters, self.seeds = scenario, firm, list(parameters), list(seeds)
        self.horizon, self.warmup, self.window = horizon, warmup, window
        self.runner, self.bar = runner, bar

    def __call__(self, points: np.ndarray, seeds: Sequence[int] | None = None) -> list[list[CohortCounts]]:
        """Per point, the cohort counts of each seed (seeds in order; default the calibration's)."""
        seeds = self.seeds if seeds is None else list(seeds)
        fields = [p.field for p in self.parameters]
        scenarios = [fitted_scenario(self.scenario, fields, point) for point in points]
        calls = [(s, self.firm, seed, self.horizon, self.warmup, self.window) for s in scenarios for seed in seeds]
        results = self.runner.map(simulate_cohort, calls, progress=self.bar)
        k = len(seeds)
        return [results[i * k : (i + 1) * k] for i in range(len(points))]
