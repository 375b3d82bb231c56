"""The researcher's commands: ``loyalty describe``, the model's ODD description for a scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.options import fail, load
from sim.engine.scenario_files import find_scenario
from sim.outputs.folders import write_atomically
from sim.outputs.odd import describe as odd_description


def describe(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")] = "baseline",
    out: Annotated[
        Path | None, typer.Option("--out", help="Markdown file to write (default: print to the terminal).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out file.")] = False,
) -> None:
    """Write the model's ODD protocol (Grimm et al. 2020) for a scenario, generated from the code, in Markdown."""
    loaded = load(scenario)
    source = find_scenario(scenario)
    if out is not None:
        if out.resolve() == source.resolve():
            fail(f"--out {out}: is the scenario file itself; choose another file")
        if out.is_dir():
            fail(f"--out {out}: is a folder; give a file name, e.g. {out / (loaded.name + '_odd.md')}")
        if out.exists() and not force:
            fail(f"--out {out}: already exists; give --force to replace it")
        if not out.parent.is_dir():
            fail(f"--out {out}: folder {out.parent} does not exist")
    try:
        display = source.relative_to(Path.cwd())
    except ValueError:
        display = source
    text = odd_description(loaded, source=str(display))
    if out is None:
        typer.echo(text, nl=False)
        return
    write_atomically(out, text)
    typer.echo(f"{out}: the ODD description of {loaded.name}, {len(text.splitlines()):,} lines")
