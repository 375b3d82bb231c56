"""``loyalty app``: the classroom web app, served on this machine."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import webbrowser
from typing import Annotated

import typer

from sim.cli.options import fail, load

ENV_SCENARIO = "LOYALTY_APP_SCENARIO"
"""The environment variable that tells the page which scenario to start with."""
ENV_CUSTOMERS = "LOYALTY_APP_CUSTOMERS"
"""The environment variable that tells the page how many customers to start with."""
ENV_SEED = "LOYALTY_APP_SEED"
"""The environment variable that tells the page the seed to start with."""
DEFAULT_CUSTOMERS = 2_000
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
SUPPORTED_MESA = ((3, 3), (3, 4), (3, 5))
"""Mesa versions whose SolaraViz the page is written for (its browser tests pass on 3.3.1 and 3.5.1)."""
LOOPBACK = ("127.0.0.1", "localhost", "::1")
READY_SECONDS = 120.0
"""How long to wait for the server to answer before giving up."""


def server_command(host: str, port: int) -> list[str]:
    """The command that serves the page: Solara in production mode, no browser, no version check online."""
    return [
        sys.executable,
        "-W",
        "ignore:Cookies with samesite:UserWarning",
        "-m",
        "solara",
        "run",
        "sim.app.page:Page",
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
        "--log-level",
        "warning",
    ]


def server_environment(scenario: str, customers: int, seed: int) -> dict[str, str]:
    """The environment the server runs in: the model to start with, and no telemetry.

    ``sim.app.model.launch_settings`` reads the model's settings back.

    Solara's check of hook rules is off: it warns about Mesa's own SolaraViz
    code at every start, which is noise to a teacher.
    """
    return {
        **os.environ,
        ENV_SCENARIO: scenario,
        ENV_CUSTOMERS: str(customers),
        ENV_SEED: str(seed),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_CHECK_HOOKS": "off",
    }


def _mesa_problem() -> str | None:
    import mesa

    parts = tuple(int(p) for p in mesa.__version__.split(".")[:2] if p.isdigit())
    if parts[:2] in SUPPORTED_MESA:
        return None
    wanted = ", ".join(f"{a}.{b}.x" for a, b in SUPPORTED_MESA)
    return f"the classroom app is written for Mesa {wanted}'s SolaraViz; this environment has Mesa {mesa.__version__}"


def _port_taken(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port`` (a second app, another server)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(
                socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
            )  # as the server does: a closing socket is no obstacle
            try:
                probe.bind(address)
            except OSError:
                return True
    return False


def _wait_until_ready(url: str, server: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    return False


def app_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name to start with.")] = "baseline",
    host: Annotated[
        str, typer.Option(help="Address to listen on; the default serves this machine only.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    customers: Annotated[int, typer.Option(min=10, max=200_000, help="Customers in the market.")] = DEFAULT_CUSTOMERS,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed of the model (default: the scenario's).")] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser on the page.")] = False,
) -> None:
    """Start the classroom web app: play a market, pull its levers, shock it, and ask a customer why.

    The page runs until Ctrl-C. Scenario, market size and seed can be changed
    on the page too (they apply on Reset).
    """
    problem = _mesa_problem()
    if problem:
        fail(problem)
    loaded = load(scenario, customers=customers)
    first_seed = loaded.seed if seed is None else seed
    if _port_taken(host, port):
        fail(f"--port {port}: {host}:{port} is already in use (another app?); choose another port")
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    server = subprocess.Popen(server_command(host, port), env=server_environment(scenario, customers, first_seed))

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        typer.echo(
            f"loyalty app: {loaded.name}, {customers:,} customers, seed {first_seed}; starting on {host}:{port} ..."
        )
        if host not in LOOPBACK:
            typer.echo(
                f"note: --host {host} serves the page beyond this machine: anyone who can reach it can run and change "
                "the model"
            )
        if not _wait_until_ready(url, server, READY_SECONDS):
            code = server.poll()
            why = (
                f" (it exited with status {code}; is the port in use?)"
                if code is not None
                else f" within {READY_SECONDS:.0f} s"
            )
            fail(f"the web server did not start on {host}:{port}{why}")
        typer.echo(f"open {url} in a browser (Ctrl-C stops the app)")
        if not no_browser:
            webbrowser.open(url)
        if server.wait() != 0:
            fail(f"the web server stopped with status {server.returncode}")
    except KeyboardInterrupt:
        typer.echo("\nloyalty app: stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.terminate()
                try:
                    server.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
