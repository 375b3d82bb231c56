"""The validation report: one row per stylized fact, the sentences that say what was measured, and a section per fact.

``sim.experiments.validation`` measures; this module writes: each fact's
``model`` and ``note`` templates filled in with its measured intervals
(``sim.outputs.formatting.render``), the facts table of ``facts.csv``, the
terminal table, and the Markdown report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.engine.model import package_version
from sim.experiments.validation.lab import FactResult, Validation
from sim.experiments.validation.suite import FACTS
from sim.outputs.figures.validation import CAPTIONS, plot_validation
from sim.outputs.folders import publish
from sim.outputs.formatting import interval, render


def model_text(fact: FactResult) -> str:
    """What the model produced for a fact, in words, with its measured intervals."""
    return render(fact.model, fact.measures)


def note_text(fact: FactResult) -> str:
    """A fact's note (what the model does not show, how to read the number), with its measured intervals."""
    return render(fact.note, fact.measures) if fact.note else ""


def headline(fact: FactResult) -> str:
    """The headline value and its interval, in its unit: ``3.8% [2.9, 4.6]``, ``+31.7% [+29.2, +34.1]``."""
    if fact.unit == "share":
        return interval(fact.value, fact.low, fact.high, 1, scale=100.0, unit="%")
    if fact.unit == "%":
        return interval(fact.value, fact.low, fact.high, 1, signed=True, unit="%")
    return interval(fact.value, fact.low, fact.high, 2, unit=" points" if fact.unit == "points" else "")


def facts_table(validation: Validation) -> pd.DataFrame:
    """One row per fact: its numbers and verdict, and the model's result and the note in words (``facts.csv``)."""
    table = validation.table()
    table.insert(table.columns.get_loc("criterion"), "model", [model_text(f) for f in validation.facts])
    table.insert(table.columns.get_loc("setup"), "note", [note_text(f) for f in validation.facts])
    return table


def publish_validation(validation: Validation, out: Path | str) -> Path:
    """Write the validation's results folder atomically: facts, measurements, figures, report, manifest."""
    v = validation
    return publish(
        out,
        f"validation-{v.scenario.name}",
        tables={"facts": facts_table(v), "measurements": v.measurements()},
        figures=lambda folder: plot_validation(v, folder),
        report=lambda figures: validation_report(v, figures),
        title="Stylized facts: does the model reproduce them?",
        scenario=v.scenario.model_dump(mode="json"),
        seeds=v.seeds,
        fast=v.fast,
        reproduce=reproduce_command(v),
        facts={
            f.fact: {
                "passed": f.passed,
                "value": f.value,
                "low": f.low,
                "high": f.high,
                "rule": f.rule,
                "setup": f.setup,
                "scenarios": f.scenarios,
            }
            for f in v.facts
        },
    )


def validation_report(validation: Validation, figures: list[Path]) -> str:
    """The validation report as markdown: a table of facts, then one section per fact with its figure."""
    v = validation
    passed = sum(f.passed for f in v.facts)
    seeds = f"seeds {v.seeds[0]}-{v.seeds[-1]}"
    lines = [
        "# Does the model reproduce what the loyalty literature reports?",
        "",
        f"*{'Fast' if v.fast else 'Full'} version: {len(v.seeds)} replications ({seeds}) per experiment, market "
        f"'{v.scenario.name}' with {v.scenario.market.customers:,} customers, loyalty-sim {package_version()}.*",
        "",
        f"**{passed} of {len(v.facts)} stylized facts pass.** Each fact is an experiment run on replications; "
        "where two "
        "arms are compared they share their seeds (common random numbers). Numbers are means over replications with "
        "95% intervals in brackets. Following Rand & Rust (2011), this is the model's macro-face and empirical-output "
        "validation.",
        "",
        _table(v.facts),
        "",
    ]
    by_name = {p.stem: p for p in figures}
    for f in v.facts:
        lines += [
            f"## {f.title} ({'pass' if f.passed else 'FAIL'})",
            "",
            f"**Literature.** {f.claim} *{f.source}.*",
            "",
            f"**Model.** {model_text(f)}.",
            "",
            f"**Criterion.** {f.criterion}: `{f.rule}`.",
            "",
            f"**Experiment.** {_first_paragraph(FACTS[f.fact].__doc__)} ({f.setup}.)",
            "",
        ]
        if f.note:
            lines += [f"**Note.** {note_text(f)}", ""]
        lines += [f"**Depends on** {', '.join(f'`{p}`' for p in f.depends_on)}. {f.gives_up}", ""]
        if f.fact in by_name:
            lines += [f"![{f.title}]({by_name[f.fact].name})", "", f"*{CAPTIONS[f.fact]}*", ""]
    lines += ["## Reproduce", "", "```", reproduce_command(v), "```", ""]
    return "\n".join(lines)


def reproduce_command(validation: Validation) -> str:
    """The command line that reruns this validation."""
    v = validation
    parts = ["loyalty validate-model"] + (["--fast"] if v.fast else [])
    parts += [f"--replications {len(v.seeds)}", f"--seed {v.seeds[0]}", f"--customers {v.scenario.market.customers}"]
    if v.scenario.name != "baseline":
        parts.append(f"--scenario {v.scenario.name}")
    checked = [f.fact for f in v.facts]
    if checked != list(FACTS):
        parts += [f"--only {name}" for name in checked]
    return " ".join(parts)


def terminal_table(validation: Validation) -> str:
    """The facts as a plain-text table for the terminal."""
    rows = [(f.fact, "pass" if f.passed else "FAIL", headline(f), f.measure) for f in validation.facts]
    widths = [max(len(r[i]) for r in [("fact", "", "model", "measure"), *rows]) for i in range(3)]
    header = f"{'fact':<{widths[0]}}  {'':<{widths[1]}}  {'model [95% interval]':<{widths[2]}}  measure"
    return "\n".join([header] + [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}" for a, b, c, d in rows])


def _first_paragraph(doc: str | None) -> str:
    paragraphs = [" ".join(p.split()) for p in (doc or "").split("\n\n")]
    return paragraphs[1] if len(paragraphs) > 1 else paragraphs[0]


def _table(facts: list[FactResult]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "/").replace("\n", " ")

    lines = [
        "| fact | literature | model [95% interval] | criterion | result | depends on |",
        "|---|---|---|---|---|---|",
    ]
    for f in facts:
        value = f"{f.measure}: **{headline(f)}**"
        lines.append(
            f"| {cell(f.title)} | {cell(f.claim)} *{cell(f.source)}* | {cell(value)} | {cell(f.criterion)} | "
            f"{'pass' if f.passed else '**FAIL**'} | {cell(', '.join(f.depends_on))} |"
        )
    return "\n".join(lines)
