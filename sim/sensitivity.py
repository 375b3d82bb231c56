"""Global sensitivity: which lever moves churn, retention and profit most (Sobol' indices).

Each named factor (a firm's lever or a trait of the customers, by path) is
drawn over its range in a Saltelli sample (Saltelli 2002; Saltelli et al.
2010), every point runs on the same seeds through the sweep machinery
(``sim.sweep``, on Dask), the replications of each point are averaged, and
``SALib.analyze.sobol`` estimates per outcome:

- the first-order index ``S1``: the share of the outcome's variance that the
  factor accounts for alone;
- the total index ``ST``: the share it accounts for alone and through its
  interactions with the others. A factor with ``ST`` near 0 can be left at
  any value in its range.

Intervals are bootstrap intervals over the sample. The sample has
``N * (D + 2)`` points for ``N`` base samples and ``D`` factors; the Sobol'
sequence under it is balanced only when ``N`` is a power of 2.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .model import package_version
from .parameters import Scenario
from .sweep import (
    DEFAULT_STORE, Design, Factor, SweepError, SweepFailed, TaskRunner, design_from_unit, focus_firm, load_sweep_file,
    make_factor, resolve_field, run_task, sweep, with_values,
)

if TYPE_CHECKING:
    from distributed import Client
    from matplotlib.figure import Figure

__all__ = ["OUTCOMES", "Sensitivity", "plot_sensitivity", "publish_sensitivity", "sensitivity", "sensitivity_findings",
           "sensitivity_report"]

# Name on the command line -> (column of the sweep table, label).
OUTCOMES = {
    "churn": ("monthly_churn_pct", "monthly churn"),
    "retention": ("annual_retention_pct", "annual retention"),
    "discounted_profit": ("discounted_profit", "discounted profit"),
    "profit": ("profit_per_month", "profit per month"),
    "share": ("final_share_pct", "final market share"),
    "satisfaction": ("satisfaction", "satisfaction"),
    "true_loyal": ("true_loyal_pct", "truly loyal share"),
    "spurious_loyal": ("spurious_loyal_pct", "spuriously loyal share"),
}
DEFAULT_OUTCOMES = ("churn", "retention", "discounted_profit")
DEFAULT_SAMPLES = 64
NEGLIGIBLE = 0.01


@dataclass(frozen=True)
class Sensitivity:
    """Sobol' indices of outcomes of one firm, with the runs they come from.

    Attributes:
        scenario: the market, as run (before the factors were set).
        firm: the firm whose outcomes are analysed.
        design: the Saltelli sample (``design.points``: one row per point).
        seeds: the replications run at every point.
        indices: one row per outcome and factor: ``outcome`` (command-line
            name), ``column``, ``factor``, ``S1``, ``S1_low``, ``S1_high``,
            ``ST``, ``ST_low``, ``ST_high`` and ``rank`` (1 = largest ``ST``).
        runs: the sweep's tidy table (every point, seed and firm).
        skipped: outcome -> why it has no indices (undefined at some points,
            or the same at every point).
        confidence: level of the intervals.
    """

    scenario: Scenario
    firm: str
    design: Design
    seeds: list[int]
    indices: pd.DataFrame
    runs: pd.DataFrame
    skipped: dict[str, str]
    confidence: float = 0.95

    @property
    def samples(self) -> int:
        return int(self.design.samples or 0)

    def ranking(self, outcome: str) -> list[str]:
        """The factors from most to least influential on ``outcome`` (by total index)."""
        rows = self.indices[self.indices["outcome"] == outcome].sort_values("rank")
        return list(rows["factor"])


def sensitivity(
    scenario: Scenario | str | Path,
    factors: Mapping[str, object] | None = None,
    *,
    samples: int = DEFAULT_SAMPLES,
    outcomes: Iterable[str] = DEFAULT_OUTCOMES,
    firm: str | None = None,
    seeds: Iterable[int] | None = None,
    periods: int | None = None,
    workers: int | None = None,
    scheduler: str | Client | None = None,
    store: str | Path | None = DEFAULT_STORE,
    retries: int = 2,
    progress: bool = False,
    task: TaskRunner = run_task,
    confidence: float = 0.95,
) -> Sensitivity:
    """Sobol' first-order and total indices of a firm's outcomes to the named factors.

    Args:
        scenario: the market, or a scenario file whose ``[sweep.vary]``
            ranges are the factors unless ``factors`` is given.
        factors: path -> range, e.g. ``{"firms.A.price": "20:40",
            "population.price_sensitivity": (0.05, 0.2)}``.
        samples: base samples ``N``; the design has ``N * (factors + 2)``
            points. Use a power of 2.
        outcomes: names from ``OUTCOMES`` (default: churn, retention,
            discounted profit).
        firm: the firm whose outcomes are analysed (default: the firm of the
            first firm lever among the factors, else the first firm).
        seeds: replications run at every point and averaged (default: the
            scenario's seeds); the same at every point.
        periods, workers, scheduler, store, retries, progress, task: as in
            ``sim.sweep.sweep``.
        confidence: level of the bootstrap intervals.

    Raises:
        SweepError: a bad factor, outcome, firm or sample size.
        SweepFailed: runs failed after their retries (the indices need every
            point; the finished runs are stored, so running again retries only
            the failed ones).
    """
    from SALib.analyze import sobol as sobol_analysis
    from SALib.sample import sobol as sobol_sample

    spec = None
    if not isinstance(scenario, Scenario):
        scenario, spec = load_sweep_file(scenario)
    if factors is None:
        factors, source = (spec.vary, spec.source) if spec else ({}, "--factor")
    else:
        source = "--factor"
    if not factors:
        raise SweepError("no factors: give --factor PATH=LOW:HIGH (at least one), or a [sweep.vary] table in the scenario")
    if periods is not None:
        scenario = with_values(scenario, [resolve_field(scenario, "market.periods")], [periods])
    chosen = _outcomes(outcomes)
    if firm is not None and firm not in [f.name for f in scenario.firms]:
        raise SweepError(f"--firm {firm}: must be one of {', '.join(f.name for f in scenario.firms)}")
    made = tuple(_ranged(make_factor(scenario, path, value, source), value, source) for path, value in factors.items())
    if samples < 2:
        raise SweepError(f"--samples {samples}: must be at least 2 (a power of 2, e.g. 64)")
    if samples & (samples - 1):
        below = 1 << (samples.bit_length() - 1)
        warnings.warn(f"--samples {samples} is not a power of 2: the Sobol' sequence is balanced only for powers of 2 "
                      f"(e.g. {below} or {below * 2})", UserWarning, stacklevel=2)
    problem = {"num_vars": len(made), "names": [f.path for f in made], "bounds": [[0.0, 1.0]] * len(made)}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
        unit = sobol_sample.sample(problem, samples, calc_second_order=False, seed=scenario.seed)
    design = design_from_unit("saltelli", made, unit, samples, scenario.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # failed runs are raised below with their inputs
        runs = sweep(scenario, design=design, seeds=seeds, workers=workers, scheduler=scheduler, store=store,
                     retries=retries, progress=progress, task=task)
    failures = runs.attrs["failures"]
    if failures:
        raise SweepFailed(
            f"{len(failures)} of {runs.attrs['tasks']['total']} runs failed; the indices need every point. "
            f"The finished runs are stored: run again to retry the failed ones. First: {failures[0]['error']}", failures)
    firm = focus_firm(runs, firm)
    mine = runs[runs["firm"] == firm].groupby("point")
    rows, skipped = [], {}
    for name in chosen:
        column, _ = OUTCOMES[name]
        y = mine[column].mean().reindex(range(len(design.points))).to_numpy(dtype=float)
        if not np.isfinite(y).all():
            skipped[name] = f"undefined at {int((~np.isfinite(y)).sum())} points (firm {firm} served no one there)"
            continue
        if np.ptp(y) == 0:
            skipped[name] = "the same at every point: no factor moves it"
            continue
        found = sobol_analysis.analyze(problem, y, calc_second_order=False, conf_level=confidence,
                                       seed=scenario.seed)
        order = np.argsort(-found["ST"], kind="stable")
        rank = np.empty(len(made), dtype=int)
        rank[order] = np.arange(1, len(made) + 1)
        for i, f in enumerate(made):
            rows.append({
                "outcome": name, "column": column, "factor": f.path,
                "S1": found["S1"][i], "S1_low": found["S1"][i] - found["S1_conf"][i],
                "S1_high": found["S1"][i] + found["S1_conf"][i],
                "ST": found["ST"][i], "ST_low": found["ST"][i] - found["ST_conf"][i],
                "ST_high": found["ST"][i] + found["ST_conf"][i], "rank": int(rank[i]),
            })
    columns = ["outcome", "column", "factor", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high", "rank"]
    indices = pd.DataFrame(rows, columns=columns)
    return Sensitivity(scenario, firm, design, list(runs.attrs["seeds"]), indices, runs, skipped, confidence)


def _outcomes(names: Iterable[str]) -> list[str]:
    chosen = []
    columns = {column: name for name, (column, _) in OUTCOMES.items()}
    for name in names:
        key = name.strip().replace("-", "_")
        key = columns.get(key, key)
        if key not in OUTCOMES:
            raise SweepError(f"--outcome {name}: must be one of {', '.join(OUTCOMES)}")
        if key not in chosen:
            chosen.append(key)
    if not chosen:
        raise SweepError(f"no outcome: name one or more of {', '.join(OUTCOMES)}")
    return chosen


def _ranged(factor: Factor, spec: object, source: str) -> Factor:
    if factor.values is not None:
        shown = spec if isinstance(spec, str) else repr(spec)
        where = f"{source} {factor.path}={shown}" if source.startswith("--") else f"{source}: {factor.path} = {shown}"
        raise SweepError(f"{where}: a sensitivity factor needs a range LOW:HIGH, not a list of values")
    return factor


# --- findings ---------------------------------------------------------------------------------------------------


def sensitivity_findings(result: Sensitivity) -> list[str]:
    """Plain sentences: which factor to pull first, which can be left alone, and where interactions matter."""
    found = []
    indices = result.indices
    headline = "discounted_profit" if "discounted_profit" in set(indices["outcome"]) else (
        indices["outcome"].iloc[0] if len(indices) else None)
    if headline is not None:
        found.append(_pull_first(result, headline))
    for outcome in pd.unique(indices["outcome"]):
        found.append(_outcome_sentence(result, outcome))
    for outcome, why in result.skipped.items():
        found.append(f"No indices for {OUTCOMES[outcome][1]}: it is {why}.")
    return found


def _pull_first(result: Sensitivity, outcome: str) -> str:
    """Which of the firm's own levers to pull first for ``outcome``, and whether the data can tell."""
    rows = result.indices[result.indices["outcome"] == outcome].sort_values("rank")
    label = OUTCOMES[outcome][1]
    firm = result.firm
    top = rows.iloc[0]
    levers = rows[rows["factor"].str.startswith(f"firms.{firm}.")]
    text = ""
    if not top.factor.startswith(f"firms.{firm}."):
        text = (f"**{top.factor}** accounts for the largest share of the variation in {firm}'s {label} "
                f"(total index {_index(top, 'ST')}), but it is not a lever {firm} pulls. ")
        if levers.empty:
            return text + f"None of the factors is one of {firm}'s levers."
    pick = levers.iloc[0]
    text += (f"**Pull {pick.factor} first**: of {firm}'s levers it accounts for the largest share of the variation in "
             f"{firm}'s {label} over these ranges (total index {_index(pick, 'ST')}).")
    if len(levers) > 1 and levers.iloc[1].ST_high >= pick.ST_low:
        runner = levers.iloc[1]
        text += (f" {runner.factor} ({_index(runner, 'ST')}) cannot be told apart from it at {result.samples} base "
                 "samples: more samples would separate them.")
    return text


def _outcome_sentence(result: Sensitivity, outcome: str) -> str:
    rows = result.indices[result.indices["outcome"] == outcome].sort_values("rank")
    label = OUTCOMES[outcome][1]
    order = ", then ".join(f"{r.factor} ({_index(r, 'ST')})" for r in rows.itertuples() if r.ST >= NEGLIGIBLE)
    text = f"{label.capitalize()} of {result.firm}: " + (order or "no factor reaches a total index of 0.01") + "."
    idle = [r.factor for r in rows.itertuples() if r.ST < NEGLIGIBLE]
    if idle:
        text += f" {', '.join(idle)} barely {'matters' if len(idle) == 1 else 'matter'} (total index below {NEGLIGIBLE})."
    first_order = float(rows["S1"].clip(lower=0).sum())
    if len(rows) > 1 and first_order < 0.8:
        text += (f" The first-order indices add up to only {first_order:.2f}: the rest comes from interactions between "
                 f"the factors, or from sampling error at {result.samples} base samples.")
    return text


def _index(row: Any, name: str) -> str:
    from .summary import format_interval

    return format_interval(getattr(row, name), getattr(row, f"{name}_low"), getattr(row, f"{name}_high"), 2)


# --- figure, report and results folder --------------------------------------------------------------------------


S1_COLOUR = "#9ECAE1"
ST_COLOUR = "#08519C"


def plot_sensitivity(result: Sensitivity, folder: Path) -> list[Path]:
    """Write ``sensitivity.png`` (ranked bars of ``ST`` and ``S1`` per outcome) into ``folder``; return its path."""
    from .plots import draw_and_save

    if result.indices.empty:
        return []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [draw_and_save(lambda: sensitivity_figure(result), folder / "sensitivity.png")]


def sensitivity_figure(result: Sensitivity) -> Figure:
    """One panel per outcome: factors ranked by total index, bars of ``ST`` and ``S1`` with their intervals."""
    import matplotlib.pyplot as plt

    from .plots import DPI, FIGSIZE

    outcomes = list(pd.unique(result.indices["outcome"]))
    factors = len(result.design.factors)
    height = max(FIGSIZE[1], 1.3 + len(outcomes) * (0.42 * factors + 0.8))
    figure, axes = plt.subplots(len(outcomes), 1, figsize=(FIGSIZE[0], height), dpi=DPI, squeeze=False, sharex=True)
    high = max(1.0, float(result.indices[["S1_high", "ST_high"]].max().max()))
    low = min(0.0, float(result.indices[["S1_low", "ST_low"]].min().min()))
    for ax, outcome in zip(axes[:, 0], outcomes):
        rows = result.indices[result.indices["outcome"] == outcome].sort_values("rank", ascending=False)
        y = np.arange(len(rows))
        for offset, name, colour, label in ((0.2, "ST", ST_COLOUR, "total (ST): alone and with others"),
                                            (-0.2, "S1", S1_COLOUR, "first-order (S1): alone")):
            errors = np.vstack([rows[name] - rows[f"{name}_low"], rows[f"{name}_high"] - rows[name]])
            ax.barh(y + offset, rows[name], height=0.38, color=colour, label=label, xerr=errors, capsize=2.5,
                    error_kw={"elinewidth": 1.0, "ecolor": "#333333"})
        ax.set_yticks(y, rows["factor"])
        ax.tick_params(axis="y", length=0)
        ax.axvline(0, color="#555555", linewidth=0.8)
        ax.set_xlim(low - 0.02, high + 0.05)
        ax.grid(axis="x", color="#E5E5E5")
        ax.grid(axis="y", visible=False)
        ax.set_title(f"{OUTCOMES[outcome][1].capitalize()} of firm {result.firm}", loc="left")
    axes[-1, 0].set_xlabel("share of the outcome's variance")
    note = (f"Scenario {result.scenario.name}. Sobol' indices from {result.samples} base samples: "
            f"{len(result.design.points):,} points x {_count(len(result.seeds), 'replication')} on the same seeds. "
            f"Whiskers: {result.confidence:.0%} bootstrap intervals.")
    figure.suptitle(f"Which factor moves firm {result.firm}'s outcomes most", x=0.01, ha="left")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper right", bbox_to_anchor=(0.995, 1.0), ncol=1, fontsize=9)
    figure.text(0.01, 0.005, note, ha="left", va="bottom", fontsize=9, color="#666666")
    figure.tight_layout(rect=(0, 0.3 / height, 1, 1 - 0.1 / height))
    return figure


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def sensitivity_report(result: Sensitivity, figures: list[Path], command: str = "") -> str:
    """Markdown report of a sensitivity analysis."""
    from .report import _markdown_table
    from .sweep import _design_table

    s = result.scenario
    runs = len(result.design.points) * len(result.seeds)
    seeds = result.seeds
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    lines = [f"# Sensitivity: {s.name}, firm {result.firm}", ""]
    if s.description:
        lines += [f"**The market.** {s.description}", ""]
    lines += [
        f"*Sobol' indices from a Saltelli sample of {result.samples} base samples over "
        f"{len(result.design.factors)} factors: "
        f"{len(result.design.points):,} points x {_count(len(seeds), 'replication')} ({seed_text}) = {runs:,} runs of "
        f"{s.market.customers:,} customers over {s.market.periods} months, loyalty-sim {package_version()}. "
        "Every point ran on "
        "the same seeds (common random numbers) and its replications were averaged.*", "",
        "## What the analysis says", "",
    ]
    lines += [f"- {finding}" for finding in sensitivity_findings(result)]
    lines += ["", "## Factors", "", _markdown_table(_design_table(result.design.describe(), s)), "", "## Indices", ""]
    for outcome in pd.unique(result.indices["outcome"]):
        rows = result.indices[result.indices["outcome"] == outcome].sort_values("rank")
        text = pd.DataFrame({
            "rank": rows["rank"], "factor": rows["factor"],
            "total (ST)": [_index(r, "ST") for r in rows.itertuples()],
            "first-order (S1)": [_index(r, "S1") for r in rows.itertuples()],
        })
        lines += [f"**{OUTCOMES[outcome][1].capitalize()}**", "", _markdown_table(text), ""]
    lines += [f"Intervals are {result.confidence:.0%} bootstrap intervals. S1: share of the outcome's variance a factor "
              "accounts for alone; ST: alone and through interactions. A factor whose ST is near 0 can be set anywhere "
              "in its range.", ""]
    for figure in figures:
        lines += [f"![{figure.stem}]({figure.name})", "",
                  "*Factors ranked by their total index for each outcome (dark bars); light bars: the part each "
                  "accounts for alone. Whiskers: bootstrap intervals.*", ""]
    lines += ["## Reproduce", "", "```", command or f"loyalty sensitivity {s.name}", "```", ""]
    return "\n".join(lines)


def publish_sensitivity(result: Sensitivity, out: Path | str, command: str = "", **facts: object) -> Path:
    """Write a sensitivity results folder atomically: indices, runs, figure, report, manifest; return its path."""
    from .report import to_html
    from .run_folder import RunFolder

    with RunFolder(out, f"{result.scenario.name}-sensitivity") as folder:
        folder.write_table("indices", result.indices)
        folder.write_table("runs", result.runs)
        figures = plot_sensitivity(result, folder.path)
        markdown = sensitivity_report(result, figures, command)
        folder.write_text("report.md", markdown)
        folder.write_text("report.html", to_html(markdown, f"Sensitivity: {result.scenario.name}"))
        folder.write_manifest(
            scenario=result.scenario.model_dump(mode="json"), seeds=result.seeds, firm=result.firm,
            design=result.design.describe(), outcomes=list(pd.unique(result.indices["outcome"])),
            skipped=result.skipped, tasks=result.runs.attrs.get("tasks"), store=result.runs.attrs.get("store"), **facts,
        )
    return folder.final
