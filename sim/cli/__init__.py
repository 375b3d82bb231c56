"""The ``loyalty`` command line: ``sim.cli.main.app``, with the options its commands share in ``options``."""

from sim.cli.main import app

__all__ = ["app"]
