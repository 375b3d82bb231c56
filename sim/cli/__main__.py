"""``python -m sim.cli``: the ``loyalty`` command."""

from sim.cli.main import app

app()
