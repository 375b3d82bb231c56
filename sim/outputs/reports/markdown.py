"""The pieces every report is made of: Markdown tables, figures with captions, the set-up line, HTML.

Each report is written as Markdown (``report.md``) and as a standalone HTML
page (``report.html``) with the same content.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import mistune
import pandas as pd

from sim.engine.model import package_version
from sim.engine.parameters import Scenario


def to_html(markdown: str, title: str) -> str:
    """A standalone HTML page of a Markdown report."""
    body = mistune.html(markdown)
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;"
        "color:#222}table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
        "text-align:right}img{max-width:100%}code,pre{background:#f4f4f4}h1{font-size:1.6rem}"
    )
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head>\n<body>\n{body}</body></html>\n"
    )


def markdown_table(table: pd.DataFrame) -> str:
    """A table in Markdown: numbers as ``:g``, a ``|`` inside a cell written as ``/``."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:g}"
        return str(value).replace("|", "/")

    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def figure_section(figures: list[Path], captions: Mapping[str, str]) -> list[str]:
    """Markdown lines showing each figure with its caption (``captions`` by file name)."""
    lines = []
    for figure in figures:
        lines += [f"![{figure.stem.replace('_', ' ')}]({figure.name})", "", f"*{captions.get(figure.name, '')}*", ""]
    return lines


def setup_line(scenario: Scenario, seeds: list[int]) -> str:
    """The italic line under a report's title: replications, seeds, market size, firms, package version."""
    m = scenario.market
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    return (
        f"*{len(seeds)} replications ({seed_text}) of {m.customers:,} customers over {m.periods} months, "
        f"{len(scenario.firms)} firms, loyalty-sim {package_version()}.*"
    )
