"""The classroom web app: its model and shocks, one customer explained, and the page in a real browser.

The browser tests start ``loyalty app`` as a user would, on a free port,
and drive Debian's Chromium (``/usr/bin/chromium``) with Playwright. Without
that browser they are skipped, unless the environment variable ``CI`` is
set, where they fail.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim import LoyaltyModel
from sim.app.explain import expectation_at_choice, explain_customer
from sim.app.figures import customers_picture
from sim.app.model import ClassroomModel, classroom_scenario
from sim.behaviour.choice import logit_choice
from sim.cli import app as cli
from sim.engine.scenario_files import load_scenario
from sim.engine.shocks import OUTAGE_FAILURE_RATE, ShockError

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "results" / "examples" / "app.png"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
APP_SCENARIO, APP_CUSTOMERS, APP_SEED = "high_exit_barriers", 2_000, 1


# --- the model behind the page ---------------------------------------------------------------------------------


def test_the_added_competitor_leaves_the_market_exactly_as_the_scenario_runs_it():
    spec = load_scenario("baseline").model_copy(deep=True)
    spec.market.customers = 600
    plain = LoyaltyModel(spec, seed=4).run(6).results()
    classroom = ClassroomModel("baseline", customers=600, seed=4)
    classroom.run(6)
    assert [f.name for f in classroom.firms] == ["A", "B", "C", "D"]
    with_entrant = classroom.results()
    assert (with_entrant[with_entrant.firm == "D"].customers == 0).all()
    incumbents = with_entrant[with_entrant.firm != "D"].reset_index(drop=True)
    pd.testing.assert_frame_equal(incumbents, plain)


def test_a_scenario_with_its_own_dormant_firm_gets_no_second_one():
    assert [f.name for f in classroom_scenario("new_entrant", 100).firms] == ["A", "B", "C", "D"]


def test_monthly_table_is_the_results_without_attrs():
    model = ClassroomModel("baseline", customers=300, seed=2)
    model.run(3)
    expected = model.results().drop(columns=["scenario", "seed"])
    pd.testing.assert_frame_equal(model.monthly(), expected, check_dtype=False)


def test_price_cut_takes_a_fifth_off_and_is_logged():
    model = ClassroomModel("baseline", customers=200, seed=1)
    model.run(2)
    line = model.price_cut("B")
    assert model.firm("B").levers.price == pytest.approx(27 * 0.8)
    assert line == "month 2: B price 27 -> 21.6 (price cut of 20%)" and model.event_log[-1] == line


def test_outage_lasts_two_months_then_the_failure_rate_returns():
    model = ClassroomModel("baseline", customers=200, seed=1)
    model.run(1)
    model.service_outage("A")
    rates = []
    for _ in range(4):
        model.step()
        rates.append(
            model.monthly().query("firm == 'A'").failures.iloc[-1]
            / model.monthly().query("firm == 'A'").served.iloc[-1]
        )
    assert model.firm("A").levers.failure_rate == pytest.approx(0.02)
    assert rates[0] > 0.3 and rates[1] > 0.3 and rates[2] < 0.15 and rates[3] < 0.15
    assert "month 3: A failure_rate 0.5 -> 0.02 (outage over)" in model.event_log


def test_a_second_outage_extends_the_first_and_restores_the_rate_from_before_it():
    model = ClassroomModel("baseline", customers=200, seed=1)
    model.service_outage("C")
    model.run(1)
    model.service_outage("C")
    model.run(2)
    assert model.firm("C").levers.failure_rate == OUTAGE_FAILURE_RATE
    model.run(1)
    assert model.firm("C").levers.failure_rate == pytest.approx(0.02)


def test_exit_fee_ban_sets_every_fee_to_zero():
    model = ClassroomModel("high_exit_barriers", customers=200, seed=1)
    line = model.ban_exit_fees()
    assert all(f.levers.exit_fee == 0 for f in model.firms)
    assert line == "month 0: exit fees banned: every exit_fee -> 0 (was: A 60)"


def test_competitor_entering_opens_the_dormant_firm_which_then_wins_customers():
    model = ClassroomModel("baseline", customers=1_000, seed=1)
    model.run(2)
    assert model.dormant_firms()[0].name == "D"
    model.competitor_enters()
    model.run(6)
    entrant = model.monthly().query("firm == 'D'").set_index("period").customers
    assert entrant.loc[1] == 0 and entrant.loc[7] > 0
    assert model.firm("D").levers.brand_investment == 1.0
    with pytest.raises(ShockError, match="already in the market"):
        model.competitor_enters()


def test_shocks_name_only_firms_in_the_market():
    model = ClassroomModel("baseline", customers=100, seed=1)
    with pytest.raises(ShockError, match="not in the market yet"):
        model.price_cut("D")
    with pytest.raises(ShockError, match="firms are A, B, C, D"):
        model.service_outage("Z")


def test_the_model_stops_at_the_scenario_horizon():
    model = ClassroomModel("baseline", customers=100, seed=1)
    assert model.horizon == 120
    model.horizon = 3
    model.run(2)
    assert model.running
    model.step()
    assert not model.running


# --- one customer explained ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def market_after_a_few_months():
    model = ClassroomModel("high_exit_barriers", customers=1_500, seed=7)
    model.run(5)
    model.service_outage("A")
    model.step()
    return model


def test_the_utilities_shown_are_those_the_choice_was_drawn_from(market_after_a_few_months):
    model = market_after_a_few_months
    c, n_firms = model.customers, model.n_firms
    moved = np.flatnonzero(c.served_firm != c.firm)
    forced = (c.served_firm < n_firms) & (model.draws.hazard < model.market.defection_hazard[c.served_firm.astype(int)])
    chose = [i for i in moved if not forced[i]]
    assert len(chose) >= 10
    for i in chose:
        view = explain_customer(model, int(i))
        utility = np.array([o.utility for o in view.options])
        assert logit_choice(utility[:, None], model.draws.choice[i : i + 1])[0] == c.firm[i]


def test_replayed_expectation_equals_the_stored_one_for_customers_who_did_not_join_a_firm(market_after_a_few_months):
    model = market_after_a_few_months
    c = model.customers
    stayed = np.flatnonzero(c.served_firm == c.firm)
    np.testing.assert_allclose(expectation_at_choice(model, stayed), c.expectation[stayed], rtol=0, atol=1e-12)


def test_barrier_parts_add_up_to_the_barrier_of_leaving(market_after_a_few_months):
    model = market_after_a_few_months
    served = np.flatnonzero(model.customers.served_firm < model.n_firms)[:200]
    for i in served:
        view = explain_customer(model, int(i))
        leaving = [o.barrier for o in view.options if o.is_open and o.name != view.firm_before]
        assert leaving and all(b == pytest.approx(sum(view.barrier_parts.values())) for b in leaving)
        mine = next(o for o in view.options if o.name == view.firm_before)
        assert mine.barrier == 0
        assert mine.utility == pytest.approx(mine.delivered_value + mine.trust_value)


def test_reasons_name_what_happened(market_after_a_few_months):
    model = market_after_a_few_months
    c, n_firms = model.customers, model.n_firms
    switcher = int(np.flatnonzero((c.served_firm < n_firms) & (c.firm < n_firms) & (c.served_firm != c.firm))[0])
    view = explain_customer(model, switcher)
    assert view.reason.startswith(f"Left {view.firm_before} for {view.firm_now}")
    stayer = int(np.flatnonzero((c.served_firm < n_firms) & (c.served_firm == c.firm))[0])
    assert explain_customer(model, stayer).reason.startswith(f"Stayed with {model.firms[c.firm[stayer]].name}")
    stayed_with_a = np.flatnonzero((c.served_firm == 0) & (c.firm == 0))
    held = [explain_customer(model, int(i)) for i in stayed_with_a]
    held = [view for view in held if "holds it" in view.reason]
    assert held, "some of A's customers should be held by its exit barrier"
    for view in held:
        assert f"the {sum(view.barrier_parts.values()):.1f} barrier of leaving" in view.reason
    assert sum(view.barrier_parts["exit fee"] > 0 for view in held) > len(held) / 2


def test_a_customer_before_the_first_month_is_described_as_it_starts():
    model = ClassroomModel("baseline", customers=50, seed=1)
    view = explain_customer(model, 3)
    assert view.month is None and "Press Step" in view.reason
    with pytest.raises(IndexError, match="customers are 0 to 49"):
        explain_customer(model, 50)


def test_each_dot_of_the_picture_has_its_customers_colour_and_can_be_found_again():
    model = ClassroomModel("baseline", customers=700, seed=1)
    model.step()
    picture = customers_picture(model, selected=None)
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(picture.png)).convert("RGB"))
    width, height = picture.size
    assert pixels.shape == (height, width, 3)
    for index in (0, 1, 350, 699):
        x, y = picture.centre_of(index)
        assert picture.customer_at(x, y) == index
        firm = int(model.customers.firm[index])
        expected = "#C8C8C8" if firm == model.n_firms else ("#0072B2", "#E69F00", "#009E73", "#CC79A7")[firm]
        colour = "#{:02X}{:02X}{:02X}".format(*pixels[int(y * height), int(x * width)])
        assert colour == expected
    assert picture.customer_at(0.001, 0.001) is None


# --- the command --------------------------------------------------------------------------------------------------


def test_app_refuses_an_unknown_scenario_in_one_line():
    result = CliRunner().invoke(cli, ["app", "no_such_market", "--no-browser"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: no_such_market: no such file")


def test_app_refuses_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["app", "--port", str(port), "--no-browser"])
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"error: --port {port}: 127.0.0.1:{port} is already in use (another app?); choose another port\n"
    )


def test_app_serves_127_0_0_1_unless_told_otherwise():
    import inspect

    from sim.cli.classroom import app_command, server_command

    default = inspect.signature(app_command).parameters["host"].default
    assert default == "127.0.0.1"
    command = server_command(default, 8765)
    assert command[command.index("--host") + 1] == "127.0.0.1"


@pytest.mark.parametrize("host", ["", "  ", "127.0.0.1", "localhost", "::1"])
def test_an_empty_host_is_this_machine_and_loopback_needs_no_flag(host):
    from sim.cli.classroom import serving_address

    address, problem = serving_address(host, allow_network=False)
    assert problem is None and address == (host.strip() or "127.0.0.1")


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_host_beyond_this_machine_needs_allow_network(host):
    result = CliRunner().invoke(cli, ["app", "--host", host, "--no-browser"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --host {host}: serves the page beyond this machine, to anyone who can reach it; give "
        "--allow-network to mean it (the default, 127.0.0.1, serves this machine only)\n"
    )


def test_an_address_this_machine_does_not_have_is_named_as_such_not_as_in_use():
    import ipaddress

    have = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    if "10.255.255.1" in have:
        pytest.skip("this machine has 10.255.255.1")
    assert ipaddress.ip_address("10.255.255.1").is_private
    result = CliRunner().invoke(cli, ["app", "--host", "10.255.255.1", "--allow-network", "--no-browser"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --host 10.255.255.1: 10.255.255.1 is not an address of this machine; give one it has\n"
    )
    unknown = CliRunner().invoke(cli, ["app", "--host", "no-such-host.invalid", "--no-browser"])
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: --host no-such-host.invalid: no such host")


def test_the_address_printed_is_one_a_browser_opens():
    from sim.cli.classroom import url_of

    assert url_of("127.0.0.1", 8765) == "http://127.0.0.1:8765/"
    assert url_of("::1", 8765) == "http://[::1]:8765/"
    assert url_of("0.0.0.0", 8765) == "http://127.0.0.1:8765/"


def test_a_launcher_killed_outright_takes_its_server_with_it():
    """SIGKILL of loyalty app once left the Solara server listening on its port."""
    port = _free_port()
    launcher = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "app", "--customers", "200", "--port", str(port), "--no-browser"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert launcher.poll() is None and time.monotonic() < deadline, "loyalty app did not start"
            time.sleep(0.25)
        launcher.kill()
        launcher.wait(timeout=10)
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) != 0:
                    break
            assert time.monotonic() < deadline, "the server still listens after its launcher was killed"
            time.sleep(0.1)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def test_the_page_reads_the_environment_the_launcher_sets(monkeypatch):
    from sim.app.model import launch_settings
    from sim.cli.classroom import server_environment

    monkeypatch.setattr("os.environ", server_environment("exit_fee_ban", 321, 9))
    assert launch_settings() == {"scenario_name": "exit_fee_ban", "customers": 321, "seed": 9}


def test_app_names_the_mesa_it_needs(monkeypatch):
    import mesa

    monkeypatch.setattr(mesa, "__version__", "4.0.0")
    result = CliRunner().invoke(cli, ["app", "--no-browser"])
    assert result.exit_code == 2
    assert "written for Mesa 3.3.x, 3.4.x, 3.5.x's SolaraViz; this environment has Mesa 4.0.0" in result.stderr


# --- the page in a real browser ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``loyalty app`` on a free port, as a user starts it; stopped with Ctrl-C (SIGINT) at the end."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's chromium package to run the browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    log = (tmp_path_factory.mktemp("app") / "output.txt").open("w+")
    script = Path(sys.executable).with_name("loyalty")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from sim.cli import app; app()"]
    process = subprocess.Popen(
        [
            *command,
            "app",
            APP_SCENARIO,
            "--customers",
            str(APP_CUSTOMERS),
            "--seed",
            str(APP_SEED),
            "--port",
            str(port),
            "--no-browser",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            log.seek(0)
            pytest.fail(f"loyalty app did not start: {log.read()}")
        time.sleep(0.25)
    yield process, url, port
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    log.seek(0)
    output = log.read()
    log.close()
    assert process.returncode == 0, output
    assert "loyalty app: stopping" in output
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the server still listens after Ctrl-C"


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    _, url, _ = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        tab = browser.new_page(viewport={"width": 1600, "height": 1000})
        tab.set_default_timeout(60_000)
        tab.goto(url)
        tab.wait_for_selector("#firm-table")
        yield tab
        browser.close()


def _month(page) -> int:
    return int(re.search(r": (\d+) of \d+ months run", page.locator("#month").inner_text()).group(1))


def _step(page) -> None:
    before = _month(page)
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(f"document.querySelector('#month').innerText.includes(': {before + 1} of')")


def _plot_sources(page, months: int | None = None) -> list[str]:
    """The four plot images' sources, once all four are drawn (for ``months`` months, if given) and decoded."""
    if months is not None:
        page.wait_for_function(f"document.querySelector('#plots-month').innerText == 'The plots show {months} months.'")
    page.wait_for_function(
        "[...document.querySelectorAll('.lsim-plot img')].filter(i => i.complete && i.naturalWidth > 0).length == 4"
    )
    return [
        page.locator(f".lsim-plot-{key} img").get_attribute("src") for key in ("share", "churn", "profit", "segments")
    ]


def test_the_server_listens_on_127_0_0_1_only(server):
    import psutil

    process, _, port = server
    listening = [
        c.laddr
        for p in [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening and {a.ip for a in listening} == {"127.0.0.1"} and {a.port for a in listening} == {port}


def test_the_page_loads_with_its_title_plots_and_captions(page):
    assert page.title() == "Customer loyalty in class · loyalty-sim"
    assert page.locator("#month").inner_text().startswith("high_exit_barriers: 0 of 120 months run")
    assert len(set(_plot_sources(page))) == 4
    widths = page.eval_on_selector_all(".lsim-plot img", "images => images.map(i => i.naturalWidth)")
    assert widths == [640] * 4
    assert page.locator(".lsim-plot .lsim-caption").count() == 4
    for control in ("Reset", "Step", "▶"):
        assert page.get_by_role("button", name=control, exact=True).count() == 1


def test_moving_a_price_slider_changes_the_firms_price(page):
    price = page.locator('#firm-table td.price[data-firm="B"]')
    before = price.inner_text()
    thumb = page.locator(".lsim-lever-B-price [role=slider]")
    thumb.focus()
    thumb.press("ArrowLeft")
    page.wait_for_function(f"document.querySelector('#firm-table td.price[data-firm=\"B\"]').innerText != '{before}'")
    assert float(price.inner_text()) == float(before) - 0.5
    page.wait_for_function(
        "price => document.querySelector('.lsim-levers-B .lsim-lever-label b').innerText == price",
        arg=price.inner_text(),
    )


def test_a_step_advances_the_month_and_changes_a_plot_and_a_number(page):
    month = _month(page)
    plots = _plot_sources(page, months=month)
    numbers = (
        "[...document.querySelectorAll('#firm-table td.customers, #firm-table td.share')].map(td => "
        "td.innerText).join(' ')"
    )
    before = page.evaluate(numbers)
    _step(page)
    assert _month(page) == month + 1
    _plot_sources(page, months=month + 1)
    # Each image and cell is its own widget on the page: wait for every one of them to arrive.
    page.wait_for_function(
        "old => ['share', 'churn', 'profit', 'segments'].every((key, i) =>"
        " document.querySelector(`.lsim-plot-${key} img`).getAttribute('src') != old[i])",
        arg=plots,
    )
    page.wait_for_function(f"before => {numbers} != before", arg=before)
    assert page.evaluate(numbers) != before


def test_a_shock_button_adds_a_line_to_what_happened(page):
    month = _month(page)
    page.get_by_role("button", name="Ban exit fees").click()
    page.wait_for_function("document.querySelector('#event-log li').innerText.includes('exit fees banned')")
    assert (
        page.locator("#event-log li").first.inner_text()
        == f"month {month}: exit fees banned: every exit_fee -> 0 (was: A 60)"
    )
    page.wait_for_function("document.querySelector('#firm-table tr:nth-child(2) td:nth-child(5)').innerText == '0'")


def test_clicking_a_customer_shows_what_it_weighs(page):
    picture = customers_picture(ClassroomModel(APP_SCENARIO, customers=APP_CUSTOMERS, seed=APP_SEED))
    x, y = 0.5, 0.5
    expected = picture.customer_at(x, y)
    grid = page.locator("img.lsim-grid")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    grid.click(position={"x": x * box["width"], "y": y * box["height"]})
    page.wait_for_function(f"document.querySelector('#customer-facts').innerText.startsWith('Customer {expected} ')")
    table = page.locator("#customer-table")
    assert table.locator("tr").count() == 1 + 5  # header, four firms and buying from no one
    assert "delivered value" in table.inner_text() and "barrier" in table.inner_text()
    assert page.locator("#customer-reason").inner_text()


def test_a_customer_who_just_left_is_explained_and_the_page_is_photographed(page):
    while _month(page) < 8:
        _step(page)
    page.get_by_role("button", name="Pick one who just left").click()
    page.wait_for_function(
        "document.querySelector('#customer-reason').innerText.startsWith('Left ')"
        " && /^Customer \\d+ in month 7: \\w+ → /.test(document.querySelector('#customer-facts').innerText)"
    )
    number = re.match(r"Customer (\d+) ", page.locator("#customer-facts").inner_text()).group(1)
    page.wait_for_function("n => document.querySelector('.lsim-inspector input').value == n", arg=number)
    _plot_sources(page, months=8)
    page.evaluate("() => { for (const e of document.querySelectorAll('*')) { if (e.scrollTop) e.scrollTop = 0; } }")
    height = page.evaluate("document.querySelector('.lsim-page').getBoundingClientRect().bottom")
    page.set_viewport_size({"width": 1600, "height": int(height) + 24})
    page.wait_for_timeout(500)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 100_000


def test_reset_starts_the_scenario_chosen_in_the_sidebar_again(page):
    page.locator(".v-select", has_text="Scenario (applies on Reset)").click()
    page.locator(".v-menu__content .v-list-item", has_text=re.compile(r"^\s*baseline\s*$")).click()
    page.get_by_role("button", name="Reset", exact=True).click()
    page.wait_for_function("document.querySelector('#month').innerText.startsWith('baseline: 0 of 120 months run')")
    page.wait_for_function("document.querySelector('#event-log li').innerText.startsWith('Nothing has happened yet')")
    page.wait_for_function("document.querySelector('#firm-table td.price[data-firm=\"B\"]').innerText == '27'")
    _plot_sources(page, months=0)
