"""Hardening, round two: what a careless and a hostile user found, each refused or warned of in one line.

Every refusal is one line on standard error that starts ``error:``, exits
with status 2, prints no traceback and leaves nothing behind; a warning is a
line that starts ``warning:`` and the command goes on.
"""

from __future__ import annotations

import signal

import pytest
from typer.testing import CliRunner

from sim.cli import app

QUICK = ["--customers", "200", "--periods", "3", "-r", "1", "-j", "1"]


@pytest.fixture(autouse=True)
def keep_sigterm():
    """Commands that run turn SIGTERM into an exit; put the test process's own handler back afterwards."""
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def loyalty(*args: str):
    return CliRunner().invoke(app, list(args))


def refused(result, starts: str) -> str:
    """The one error line of a refused command, checked."""
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    line = result.stderr.strip().removeprefix("error: ")
    assert line.startswith(starts), line
    return line


# --- wrong answers given calmly ------------------------------------------------------------------------------------


@pytest.mark.parametrize("points", ["-50", "0"])
def test_a_lift_that_is_no_gain_is_refused_before_anything_runs(tmp_path, points):
    result = loyalty("lift", "baseline", "--points", points, *QUICK, "--out", str(tmp_path / "out"))
    refused(result, f"points = {float(points):g}: a gain in retention must be a positive number of percentage points")
    assert not (tmp_path / "out").exists()

