"""What the command-line tests share."""

import signal

import pytest


@pytest.fixture(autouse=True)
def keep_sigterm():
    """Commands that run turn SIGTERM into an exit; put the test process's own handler back afterwards."""
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)
