"""The classroom web app: a market on the projector, its levers in the teacher's hands.

``loyalty app [SCENARIO]`` serves this page with Mesa's SolaraViz on a Solara
server bound to 127.0.0.1. SolaraViz's sidebar holds play, pause, step and
reset, the speed (milliseconds between months while playing) and the
scenario, market size and seed that Reset starts from. The page shows:

- live plots of market share, churn, profit and the Dick & Basu loyalty
  segments, each with a caption saying what to look at;
- for each firm in the market, sliders for price, service quality, failure
  rate, exit fee, complaint recovery and loyalty points, which change the
  running model from the next month;
- buttons for the classic shocks: a price cut, a service outage, a ban on
  exit fees and a competitor entering, each written to ``model.event_log``;
- every customer as a dot coloured by its firm, and for one chosen customer
  what it weighed in its last decision, option by option, and why it stayed
  or left.

The model is ``ClassroomModel``, a ``LoyaltyModel`` that SolaraViz can build
from flat keyword parameters. Every number the page shows comes from the
model's own records and functions: its per-month metrics (the rows of
``results()``), ``option_utilities`` with and without barriers,
``choice_probabilities`` and the ``value`` module.
"""

from __future__ import annotations

import base64
import html
import random
from collections.abc import Callable
from typing import cast

import ipyvuetify
import numpy as np
import solara
import traitlets
from mesa.visualization import Slider, SolaraViz
from mesa.visualization.utils import force_update, update_counter

from sim.app.explain import CustomerView, explain_customer
from sim.app.figures import (
    CUSTOMERS_CAPTION,
    INSPECTOR_CAPTION,
    OUTSIDE_COLOUR,
    PLOTS,
    CustomerPicture,
    PlotPainter,
    _firm_colour,
    customers_picture,
)
from sim.app.model import ClassroomModel, launch_settings, scenario_choices
from sim.behaviour.segments import SPURIOUS
from sim.engine.shocks import OUTAGE_MONTHS, PRICE_CUT, ShockError
from sim.outputs.formatting import number, percent

LEVERS = (
    # lever, label, unit shown, slider min, max, step, scale from lever to slider
    ("price", "price", "", 0.0, None, 0.5, 1.0),
    ("quality", "service quality", "", 0.0, 1.0, 0.01, 1.0),
    ("failure_rate", "failure rate", "%", 0.0, 50.0, 0.5, 100.0),
    ("exit_fee", "exit fee (barrier)", "", 0.0, 150.0, 1.0, 1.0),
    ("recovery_rate", "complaints recovered", "%", 0.0, 100.0, 1.0, 100.0),
    ("points_rate", "loyalty points, % of bill", "%", 0.0, 10.0, 0.1, 100.0),
)
CSS = """
.lsim-page { font-size: 16px; max-width: 1500px; }
.lsim-caption { color: #444; font-size: 15px; line-height: 1.35; margin: 2px 8px 8px 8px; }
.lsim-month { font-size: 26px; font-weight: 700; }
.lsim-question { font-size: 17px; color: #333; }
.lsim-table { border-collapse: collapse; font-size: 15px; width: 100%; }
.lsim-table th, .lsim-table td { padding: 3px 8px; text-align: right; border-bottom: 1px solid #e3e3e3; }
.lsim-table th:first-child, .lsim-table td:first-child { text-align: left; }
.lsim-table th { color: #333; font-weight: 600; }
.lsim-swatch { display: inline-block; width: 12px; height: 12px; border-radius: 6px; margin-right: 6px; }
.lsim-reason { font-size: 17px; background: #f4f6fb; border-left: 4px solid #0072B2; padding: 8px 12px; margin: 8px 0; }
.lsim-events { font-size: 15px; max-height: 260px; overflow-y: auto; margin: 0; padding-left: 18px; }
.lsim-firm-name { font-weight: 700; font-size: 18px; }
.lsim-closed { color: #999; }
.lsim-plots-month { color: #777; font-size: 14px; text-align: right; margin: -8px 4px -8px 0; }
.lsim-drawing { height: 360px; display: flex; align-items: center; justify-content: center; color: #999; }
.lsim-lever-label { font-size: 15px; margin-top: 4px; }
.lsim-lever .v-input__slot { margin-bottom: 0; }
.lsim-lever .v-messages { display: none; }
#customer-facts { font-size: 16px; margin: 8px 0; }
"""


def firms_table_html(model: ClassroomModel) -> str:
    """The firms now: levers and last month's customers, share, churn, profit and loyalty, as an HTML table."""
    results = model.monthly()
    last = results[results.period == model.period - 1].set_index("firm") if model.period else None
    head = (
        "<tr><th>firm</th><th>price</th><th>quality</th><th>failures</th><th>exit fee</th><th>recovered</th>"
        "<th>points</th><th>customers</th><th>share</th><th>churn</th><th>profit</th><th>true loyal</th>"
        "<th>spurious</th></tr>"
    )
    counts = np.bincount(model.customers.firm.astype(np.intp), minlength=model.n_firms + 1)
    body = []
    for k, firm in enumerate(model.firms):
        levers = firm.levers
        is_open = model.is_open(firm)
        name = html.escape(firm.name)
        swatch = f'<span class="lsim-swatch" style="background:{_firm_colour(model, firm.name)}"></span>'
        cells = [
            f"<td>{swatch}{name}{'' if is_open else ' <span class=lsim-closed>(not open)</span>'}</td>",
            f'<td class="price" data-firm="{name}">{levers.price:g}</td>',
            f"<td>{levers.quality:.2f}</td>",
            f"<td>{percent(levers.failure_rate)}</td>",
            f"<td>{levers.exit_fee:g}</td>",
            f"<td>{percent(levers.recovery_rate, 0)}</td>",
            f"<td>{percent(levers.points_rate)}</td>",
            f'<td class="customers" data-firm="{name}">{counts[k]:,}</td>',
        ]
        if last is not None and firm.name in last.index:
            row = last.loc[firm.name]
            n = row["customers"]
            cells += [
                f'<td class="share" data-firm="{name}">{percent(row["market_share"])}</td>',
                f'<td class="churn" data-firm="{name}">{percent(row["churn_rate"]) if row["served"] > 0 else "–"}</td>',
                f'<td class="profit" data-firm="{name}">{number(row["profit"], 0)}</td>',
                f"<td>{percent(row['true_loyal'] / n, 0) if n else '–'}</td>",
                f"<td>{percent(row['spurious_loyal'] / n, 0) if n else '–'}</td>",
            ]
        else:
            cells += [
                '<td class="share">–</td>',
                '<td class="churn">–</td>',
                '<td class="profit">–</td>',
                "<td>–</td>",
                "<td>–</td>",
            ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="lsim-table" id="firm-table">{head}{"".join(body)}</table>'


def customer_table_html(view: CustomerView) -> str:
    """The options a customer weighed, as an HTML table."""
    head = (
        "<tr><th>option</th><th>delivered value</th><th>trust</th><th>+ trust worth</th><th>− barrier</th>"
        "<th>= total</th><th>chance if it reconsiders</th></tr>"
    )
    body = []
    for option in view.options:
        mine = option.name == (view.firm_before or "no one")
        name = html.escape(option.name) + (" (its firm)" if mine and view.firm_before else "")
        if not option.is_open:
            body.append(f'<tr class="lsim-closed"><td>{name}</td><td colspan="6">not in the market yet</td></tr>')
            continue
        trust = "–" if not np.isfinite(option.trust) else f"{option.trust:.2f}"
        worth = "–" if not np.isfinite(option.trust) else f"{option.trust_value:.2f}"
        style = ' style="font-weight:700"' if mine else ""
        body.append(
            f"<tr{style}><td>{name}</td><td>{option.delivered_value:.2f}</td><td>{trust}</td><td>{worth}</td>"
            f"<td>{option.barrier:.2f}</td><td>{option.utility:.2f}</td><td>{percent(option.chance, 0)}</td></tr>"
        )
    return f'<table class="lsim-table" id="customer-table">{head}{"".join(body)}</table>'


def _customer_facts_html(view: CustomerView) -> str:
    when = f"month {view.month}" if view.month is not None else "month 0 (not run yet)"
    before = view.firm_before or "no one"
    now = view.firm_now or "no one"
    moved = f"{before} → {now}" if before != now else now
    parts = ", ".join(f"{k} {v:.2f}" for k, v in view.barrier_parts.items())
    total = sum(view.barrier_parts.values())
    barrier = f"<div>Barrier of leaving {html.escape(before)}: {total:.2f} = {parts}</div>" if parts else ""
    satisfaction_shown = "–" if not np.isfinite(view.satisfaction) else f"{view.satisfaction:.2f}"
    loyalty = view.loyalty or "not a customer"
    return (
        f'<div id="customer-facts"><b>Customer {view.index}</b> in {when}: {html.escape(moved)}. '
        f"Satisfaction {satisfaction_shown}, {view.tenure} months with its firm, {view.segment} spender, "
        f"loyalty: <b>{loyalty}</b>.{barrier}</div>"
    )


def _events_html(model: ClassroomModel) -> str:
    if not model.event_log:
        return (
            '<ul class="lsim-events" id="event-log">'
            "<li>Nothing has happened yet: press a shock button, or run to a scheduled event.</li></ul>"
        )
    items = "".join(f"<li>{html.escape(line)}</li>" for line in reversed(model.event_log))
    return f'<ul class="lsim-events" id="event-log">{items}</ul>'


@solara.component
def PlotPanel(model: ClassroomModel) -> None:
    """The four live plots with their captions, two by two, drawn by a ``PlotPainter``."""
    update_counter.get()
    images = solara.use_reactive(cast("tuple[tuple, int, dict[str, bytes]] | None", None))
    painter = solara.use_memo(lambda: PlotPainter(lambda stamp, months, drawn: images.set((stamp, months, drawn))), [])
    solara.use_effect(lambda: painter.close, [])
    stamp = (id(model), model.period, len(model.event_log))
    asked = solara.use_ref(cast("tuple | None", None))
    if asked.current != stamp:
        asked.current = stamp
        painter.ask(model, stamp)
    current = images.value is not None and images.value[0][0] == id(model)
    drawn = images.value[2] if current else {}
    shown = f"The plots show {images.value[1]} months." if current else "Drawing the plots…"
    solara.HTML(tag="div", unsafe_innerHTML=shown, classes=["lsim-plots-month"], attributes={"id": "plots-month"})
    for pair in (PLOTS[:2], PLOTS[2:]):
        with solara.Columns([1, 1]):
            for key, _, caption in pair:
                with solara.Card(margin=0, classes=["lsim-plot", f"lsim-plot-{key}"]):
                    if key in drawn:
                        solara.Image(drawn[key], width="100%")
                    else:
                        solara.HTML(tag="div", unsafe_innerHTML="drawing…", classes=["lsim-drawing"])
                    solara.HTML(tag="div", unsafe_innerHTML=html.escape(caption), classes=["lsim-caption"])


@solara.component
def Header(model: ClassroomModel) -> None:
    """The scenario, its question, the month, and the firms now."""
    update_counter.get()
    spec = model.spec
    status = "" if model.running else " (the end of this scenario: press Reset to start again)"
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f'<div class="lsim-month" id="month">{html.escape(spec.name)}: {model.period} of {model.horizon} '
            f"months run{status}</div>"
            f'<div class="lsim-question">{html.escape(spec.description)}</div>'
        ),
    )
    solara.HTML(tag="div", unsafe_innerHTML=firms_table_html(model))


@solara.component
def LeverPanel(model: ClassroomModel) -> None:
    """For each firm in the market, a slider per lever; a change applies from the next month."""
    update_counter.get()

    def setter(firm, lever: str, scale: float) -> Callable[[float], None]:
        def on_value(shown: float) -> None:
            setattr(firm.levers, lever, round(float(shown) / scale, 6))
            force_update()

        return on_value

    highest_price = max(f.levers.price for f in model.firms)
    top_price = float(np.ceil(2 * highest_price / 10) * 10)
    with solara.Card("Levers: each firm's choices, from next month", margin=0, classes=["lsim-levers"]):
        with solara.Columns([1] * max(1, len(model.open_firms()))):
            for firm in model.open_firms():
                with solara.Column(classes=[f"lsim-levers-{firm.name}"], gap="0px"):
                    solara.HTML(
                        tag="div",
                        unsafe_innerHTML=(
                            f'<span class="lsim-swatch" style="background:{_firm_colour(model, firm.name)}"></span>'
                            f'<span class="lsim-firm-name">{html.escape(firm.name)}</span>'
                        ),
                    )
                    for lever, label, unit, low, high, step, scale in LEVERS:
                        shown = getattr(firm.levers, lever) * scale
                        top = max(high if high is not None else top_price, shown)
                        solara.HTML(
                            tag="div",
                            unsafe_innerHTML=f"{html.escape(label)}: <b>{shown:g}{unit}</b>",
                            classes=["lsim-lever-label"],
                        )
                        with solara.Div(classes=["lsim-lever", f"lsim-lever-{firm.name}-{lever}"]):
                            solara.SliderFloat(
                                "",
                                value=shown,
                                min=low,
                                max=top,
                                step=step,
                                on_value=setter(firm, lever, scale),
                                thumb_label=False,
                            )


@solara.component
def ShockPanel(model: ClassroomModel) -> None:
    """Buttons for the classic shocks, and the log of what happened when."""
    update_counter.get()
    names = [f.name for f in model.open_firms()]
    target, set_target = solara.use_state(names[0])
    if target not in names:
        target = names[0]
    message, set_message = solara.use_state("")

    def shock(apply: Callable[[], str]) -> Callable[[], None]:
        def on_click() -> None:
            try:
                apply()
                set_message("")
            except ShockError as error:
                set_message(str(error))
            force_update()

        return on_click

    dormant = model.dormant_firms()
    with solara.Card("Shocks: they hit from the next month", margin=0, classes=["lsim-shocks"]):
        with solara.Row(style={"align-items": "center", "gap": "10px"}):
            solara.HTML(tag="span", unsafe_innerHTML="Firm hit by a price cut or an outage:")
            solara.ToggleButtonsSingle(value=target, values=names, on_value=set_target)
        with solara.Row(style={"flex-wrap": "wrap", "gap": "8px", "margin-top": "8px"}):
            solara.Button(
                f"Price cut −{PRICE_CUT:.0%} at {target}",
                color="primary",
                on_click=shock(lambda: model.price_cut(target)),
            )
            solara.Button(
                f"Service outage at {target}", color="primary", on_click=shock(lambda: model.service_outage(target))
            )
            solara.Button("Ban exit fees", color="primary", on_click=shock(model.ban_exit_fees))
            solara.Button(
                f"Competitor {dormant[0].name} enters" if dormant else "No competitor left to enter",
                color="primary",
                on_click=shock(model.competitor_enters),
                disabled=not dormant,
            )
        if message:
            solara.Warning(message)
        solara.HTML(
            tag="div",
            classes=["lsim-caption"],
            unsafe_innerHTML=html.escape(
                f"A price cut takes {PRICE_CUT:.0%} off the price; an outage makes half the firm's customers suffer a "
                f"failure each month for {OUTAGE_MONTHS} months; the ban sets every exit fee to 0; the competitor "
                "opens with the cheapest firm's price and quality but no reputation."
            ),
        )
        solara.HTML(tag="div", unsafe_innerHTML="<b>What happened when</b>", style="margin-top: 6px")
        solara.HTML(tag="div", unsafe_innerHTML=_events_html(model))


class _ClickableImage(ipyvuetify.VuetifyTemplate):
    """An image that reports where it was clicked, as fractions of its width and height."""

    src = traitlets.Unicode("").tag(sync=True)
    alt = traitlets.Unicode("").tag(sync=True)
    handler = traitlets.Callable(None, allow_none=True)  # not "on_...": the page's framework reserves those names

    @traitlets.default("template")
    def _template(self) -> str:
        return (
            '<template><img :src="src" :alt="alt" class="lsim-grid" style="width: 100%; cursor: crosshair" '
            '@click="pick({x: $event.offsetX / $event.target.clientWidth, '
            'y: $event.offsetY / $event.target.clientHeight})" /></template>'
            "<script>module.exports = {};</script>"
        )

    def vue_pick(self, where: dict) -> None:
        """Called by the browser with ``{"x": ..., "y": ...}`` on a click."""
        if self.handler is not None:
            self.handler(float(where["x"]), float(where["y"]))


def _legend_html(model: ClassroomModel, picture: CustomerPicture) -> str:
    items = [
        f'<span style="margin-right: 14px"><span class="lsim-swatch" '
        f'style="background:{_firm_colour(model, f.name)}"></span>'
        f"{html.escape(f.name)}: {picture.counts[k]:,}</span>"
        for k, f in enumerate(model.firms)
        if model.is_open(f) or picture.counts[k] > 0
    ]
    items.append(
        f'<span style="margin-right: 14px"><span class="lsim-swatch" style="background:{OUTSIDE_COLOUR}"></span>'
        f"no one: {picture.counts[-1]:,}</span>"
    )
    items.append(
        '<span><span class="lsim-swatch" style="background: white; border: 2px solid #111"></span>switched last '
        "month</span>"
    )
    shown = (
        ""
        if picture.shown == len(model.customers)
        else f" (the first {picture.shown:,} of {len(model.customers):,} shown)"
    )
    return f'<div id="customer-legend">{"".join(items)}{shown}</div>'


@solara.component
def CustomerPanel(model: ClassroomModel) -> None:
    """The customers as dots, and one customer's decision explained: click a dot, type a number or pick one."""
    update_counter.get()
    selected = solara.use_reactive(0)
    # Its own generator, not the model's: picking a customer must not change the run. Seeded, so that a replay
    # of the same session picks the same customers.
    picker = solara.use_memo(lambda: random.Random(model.seed), [])
    note, set_note = solara.use_state("")
    index = min(max(int(selected.value or 0), 0), len(model.customers) - 1)
    picture = solara.use_memo(lambda: customers_picture(model, index), dependencies=[id(model), model.period, index])

    def pick(candidates: np.ndarray, none_left: str) -> None:
        if candidates.size:
            selected.set(int(picker.choice(candidates)))
            set_note("")
        else:
            set_note(none_left)

    def clicked(x: float, y: float) -> None:
        customer = picture.customer_at(x, y)
        if customer is not None:
            selected.set(customer)
            set_note("")

    c = model.customers
    leavers = (
        np.flatnonzero((c.served_firm < model.n_firms) & (c.served_firm != c.firm))
        if model.period
        else np.array([], int)
    )
    spurious = np.flatnonzero(c.loyalty == SPURIOUS)
    view = explain_customer(model, index)
    with solara.Columns([5, 6]):
        with solara.Card("The customers", margin=0, classes=["lsim-customers"]):
            _ClickableImage.element(
                src="data:image/png;base64," + base64.b64encode(picture.png).decode("ascii"),
                alt=f"{len(c):,} customers coloured by firm",
                handler=clicked,
            )
            solara.HTML(
                tag="div", unsafe_innerHTML=_legend_html(model, picture), style="margin: 6px 8px; font-size: 15px"
            )
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(CUSTOMERS_CAPTION), classes=["lsim-caption"])
        with solara.Card("One customer: what it weighs", margin=0, classes=["lsim-inspector"]):
            with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "8px"}):
                solara.InputInt("customer number", value=selected, style={"max-width": "160px"})
                solara.Button(
                    "Pick one who just left",
                    outlined=True,
                    on_click=lambda: pick(leavers, "No one left a firm last month."),
                )
                solara.Button(
                    "Pick a spuriously loyal one",
                    outlined=True,
                    on_click=lambda: pick(spurious, "No customer is spuriously loyal right now."),
                )
            if note:
                solara.Info(note)
            solara.HTML(tag="div", unsafe_innerHTML=_customer_facts_html(view))
            solara.HTML(tag="div", unsafe_innerHTML=customer_table_html(view))
            solara.HTML(
                tag="div",
                unsafe_innerHTML=html.escape(view.reason),
                classes=["lsim-reason"],
                attributes={"id": "customer-reason"},
            )
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(INSPECTOR_CAPTION), classes=["lsim-caption"])


@solara.component
def Dashboard(model: solara.Reactive[ClassroomModel]) -> None:
    """The page beside SolaraViz's sidebar: numbers, plots, shocks, levers and customers."""
    current = model.value
    solara.Style(CSS)
    with solara.Column(classes=["lsim-page"]):
        Header(current)
        PlotPanel(current)
        with solara.Columns([1, 1]):
            ShockPanel(current)
            LeverPanel(current)
        CustomerPanel(current)


@solara.component
def Page() -> None:
    """The classroom page: SolaraViz's controls in the sidebar, the market beside them.

    Each browser session gets its own model, built from ``launch_settings()``;
    SolaraViz's Reset builds a new one from the sidebar's scenario, size and
    seed. SolaraViz draws no components itself: the market's panels follow
    it, laid out for a projector.
    """
    settings = launch_settings()
    first = solara.use_memo(lambda: ClassroomModel(**settings), [])
    model = solara.use_reactive(first)
    solara.Title("Customer loyalty in class · loyalty-sim")
    choices = scenario_choices(str(settings["scenario_name"]))
    customers, seed = int(settings["customers"]), int(settings["seed"])
    model_params = {
        "scenario_name": {
            "type": "Select",
            "value": settings["scenario_name"],
            "values": choices,
            "label": "Scenario (applies on Reset)",
        },
        "customers": Slider("Customers (on Reset)", customers, 200, max(10_000, customers), 100),
        "seed": Slider("Seed (on Reset)", seed, 0, max(99, seed), 1),
    }
    SolaraViz(
        model, components=[], model_params=model_params, name="Customer loyalty: a market in class", play_interval=150
    )
    Dashboard(model)
