"""The ``loyalty`` command: every subcommand registered on one Typer app.

The command modules define plain functions and import only
``sim.cli.options`` of the command line; this module registers them, so
that no command module imports another or this one.
"""

from __future__ import annotations

import typer

from sim.cli import calibration, classroom, research, runs, sweeps, validation
from sim.outputs.figures.style import draw_to_files

app = typer.Typer(
    help="loyalty-sim: what keeps customers loyal, and what that loyalty is worth.\n\n"
    "Scenarios are TOML files (see scenarios/README.md); give a path or the name of a shipped one, "
    "e.g. 'baseline' or 'price_war'. Results go to a new folder under results/.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _before_any_command() -> None:
    # Commands write figures to files and never open a window. Chosen here, not on import, so that
    # a notebook or a test process that imports the package keeps its own backend.
    draw_to_files()


app.command("list")(runs.list_command)
app.command()(runs.check)
app.command()(runs.run)
app.command()(runs.compare)
app.command()(runs.lift)
app.command("sweep")(sweeps.sweep_command)
app.command("sensitivity")(sweeps.sensitivity_command)
app.command()(calibration.calibrate)
app.command()(calibration.cohort)
app.command("validate-model")(validation.validate_model_command)
app.command("app")(classroom.app_command)
app.command()(research.describe)
app.command()(research.export)
