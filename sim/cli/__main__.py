"""``python -m sim.cli``: the ``loyalty`` command."""

from sim.cli import main

main()
