"""``loyalty app``: the classroom web app, served on this machine."""

from __future__ import annotations

import ctypes
import errno
import ipaddress
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
PR_SET_PDEATHSIG = 1
"""Linux's prctl option that signals a process when its parent dies."""
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


def serving_address(host: str, allow_network: bool) -> tuple[str, str | None]:
    """The address to listen on, and why it cannot be used (None when it can).

    An empty host is this machine's loopback, as by default. A host that
    resolves to anything but loopback addresses (``0.0.0.0``, ``::``, this
    machine's name on the network) serves the page to whoever can reach this
    machine, and needs ``--allow-network``.
    """
    host = host.strip() or DEFAULT_HOST
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError, ValueError) as error:
        return host, f"--host {host}: no such host or address ({getattr(error, 'strerror', None) or error})"
    if not all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in found):
        if not allow_network:
            return host, (
                f"--host {host}: serves the page beyond this machine, to anyone who can reach it; give "
                "--allow-network to mean it (the default, 127.0.0.1, serves this machine only)"
            )
    return host, None


def _bind_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port``, found by binding there first (None when it can)."""
    shown = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: a closing socket is fine
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return f"--port {port}: {shown} is already in use (another app?); choose another port"
                if error.errno == errno.EADDRNOTAVAIL:
                    return f"--host {host}: {address[0]} is not an address of this machine; give one it has"
                if error.errno == errno.EACCES:
                    return (
                        f"--port {port}: listening on {shown} needs privileges this user lacks; choose a port >= 1024"
                    )
                return f"--host {host} --port {port}: cannot listen on {shown}: {error.strerror or error}"
    return None


def url_of(host: str, port: int) -> str:
    """The page's address in a browser (an address that listens everywhere is reached on 127.0.0.1)."""
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def die_with_this_process() -> None:
    """In a child about to run the server: have Linux end it (SIGTERM) when the launcher dies, even by SIGKILL."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the launcher's own handlers still stop the server
        return
    if os.getppid() != parent:  # the launcher died before the signal was asked for
        os._exit(1)


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
        str,
        typer.Option(
            help="Address to listen on; the default (and an empty one) serves this machine only. Any other "
            "needs --allow-network."
        ),
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    customers: Annotated[int, typer.Option(min=10, max=200_000, help="Customers in the market.")] = DEFAULT_CUSTOMERS,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed of the model (default: the scenario's).")] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser on the page.")] = False,
    allow_network: Annotated[
        bool,
        typer.Option(
            "--allow-network",
            help="Let --host serve the page beyond this machine: anyone who can reach it can run and change the model.",
        ),
    ] = False,
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
    host, problem = serving_address(host, allow_network)
    problem = problem or _bind_problem(host, port)
    if problem:
        fail(problem)
    url = url_of(host, port)
    server = subprocess.Popen(
        server_command(host, port),
        env=server_environment(scenario, customers, first_seed),
        preexec_fn=die_with_this_process,  # one prctl call between fork and exec
    )

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        typer.echo(f"loyalty app: {loaded.name}, {customers:,} customers, seed {first_seed}; starting on {url} ...")
        if allow_network and serving_address(host, False)[1] is not None:
            typer.echo(
                f"note: --host {host} serves the page beyond this machine: anyone who can reach it can run and change "
                "the model"
            )
        if not _wait_until_ready(url, server, READY_SECONDS):
            code = server.poll()
            why = (
                f" (it exited with status {code}; what it printed above says why)"
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
