"""The model described by the ODD protocol (Grimm et al. 2020), generated from the code and a scenario.

``describe(scenario)`` writes the seven ODD elements in Markdown: purpose
and patterns, entities, state variables and scales, process overview and
scheduling, design concepts, initialisation, input data, and submodels.
Nothing in it is kept by hand where the code already says it: the state
variables are the population's array declarations, the parameters their
field descriptions with the scenario's values, the schedule the numbered
steps of ``month_rows`` with the equations each calls, the submodels
those equations' docstrings, and the patterns the validation facts. When
an equation, a parameter or a step changes, the description changes with
it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType

from pydantic import BaseModel

import sim
from sim.engine import month as month_module
from sim.engine.agents import Firm as FirmAgent
from sim.engine.metrics import FLOW_COLUMNS, STOCK_COLUMNS, firm_metrics, loyalty_segments
from sim.engine.model import LoyaltyModel, package_version
from sim.engine.parameters import Firm, Market, Population, Scenario
from sim.engine.population import Customers, MonthDraws, create_customers
from sim.experiments.validation import FACTS

BEHAVIOUR = "sim.behaviour."
STEP = re.compile(r"^\s*# (\d+)\. (.*)$")
CONTINUED = re.compile(r"^\s*#\s{2,}(.*)$")
CALL = re.compile(r"\b(?:(\w+)\.)?(\w+)\(")


@dataclass
class Step:
    """One numbered step of a customer's month: its words, and the functions its code calls."""

    number: int
    text: str
    calls: list[Callable] = field(default_factory=list)


def month_steps() -> list[Step]:
    """The numbered steps of ``month_rows``, read from its source, each with the equations it calls.

    A step is a comment ``# N. words`` (continued on indented comment
    lines); the calls are those of its code up to the next step to functions
    of ``sim.behaviour`` or of the month's own module. A function whose
    summary opens with the name of the equation it computes another way
    (``heard_with``: "``hear_word_of_mouth`` from ...") brings that equation in just before it.
    """
    steps: list[Step] = []
    for line in inspect.getsource(month_module.month_rows).splitlines():
        if match := STEP.match(line):
            steps.append(Step(int(match.group(1)), match.group(2).strip()))
        elif steps and (more := CONTINUED.match(line)) and not steps[-1].calls:
            steps[-1].text += " " + more.group(1).strip()
        elif steps and not line.lstrip().startswith("#"):
            for function in _calls(line, month_module.month_rows):
                for each in (*_computed_another_way(function), function):
                    if each not in steps[-1].calls:
                        steps[-1].calls.append(each)
    return steps


def _computed_another_way(function: Callable) -> list[Callable]:
    """The equation of ``sim.behaviour`` that ``function``'s summary opens with (as ````name````), if any."""
    match = re.match(r"``(\w+)", inspect.getdoc(function) or "")
    candidate = function.__globals__.get(match.group(1)) if match else None
    if inspect.isfunction(candidate) and candidate.__module__.startswith(BEHAVIOUR) and candidate is not function:
        return [candidate]
    return []


def equations_called(function: Callable) -> list[Callable]:
    """The functions of ``sim.behaviour`` (and of ``function``'s own module) that ``function``'s code calls."""
    found: list[Callable] = []
    for line in inspect.getsource(function).splitlines():
        if not line.lstrip().startswith("#"):
            found += [f for f in _calls(line, function) if f not in found and f is not function]
    return found


def _calls(line: str, within: Callable) -> list[Callable]:
    names = within.__globals__
    home = within.__module__
    found = []
    for owner, name in CALL.findall(line):
        target = names.get(owner) if owner else None
        if owner:
            candidate = getattr(target, name, None) if isinstance(target, ModuleType) else None
        else:
            candidate = names.get(name)
        if inspect.isfunction(candidate) and (
            candidate.__module__.startswith(BEHAVIOUR) or candidate.__module__ == home
        ):
            found.append(candidate)
    return found


def describe(scenario: Scenario, *, source: str | None = None) -> str:
    """The ODD description of the model run on ``scenario``, in Markdown.

    Args:
        scenario: the scenario whose values the description states.
        source: where the scenario came from (a file), for the header.
    """
    steps = month_steps()
    sections = [
        f"# ODD protocol: {scenario.name}",
        "",
        f"The model of loyalty-sim {package_version()}, described by the ODD protocol (Overview, Design concepts, "
        "Details; Grimm et al. 2020) for the scenario "
        f"`{scenario.name}`{f' ({source})' if source else ''}. Generated from the code: every table and every "
        "equation below is read from the package, and the values are the scenario's.",
        *_purpose(scenario),
        *_entities(scenario),
        *_process(steps),
        *_design(scenario),
        *_initialisation(scenario),
        *_input(scenario),
        *_submodels(scenario, steps),
    ]
    return "\n".join(sections).rstrip() + "\n"


def _purpose(scenario: Scenario) -> list[str]:
    lines = [
        "",
        "## 1. Purpose and patterns",
        "",
        f"**Purpose.** {_first_paragraph(sim.__doc__)} Customers weigh perceived value, trust, price and switching "
        "barriers against competing firms; firms pull the levers strategists pull.",
        "",
        f"**This scenario asks:** {scenario.description or '(no description given)'}",
        "",
        "**Patterns.** The model is judged by whether it reproduces these stylized facts of the loyalty literature, "
        "each checked by an experiment of `loyalty validate-model` (`sim.experiments.validation`):",
        "",
    ]
    lines += [f"- `{name}`: {_first_paragraph(check.__doc__)}" for name, check in FACTS.items()]
    return lines


def _entities(scenario: Scenario) -> list[str]:
    m = scenario.market
    arrays = Customers.array_table()
    lines = [
        "",
        "## 2. Entities, state variables and scales",
        "",
        f"**Entities.** {m.customers:,} customers (Mesa agents, each made when first asked for, whose state "
        "lives in the arrays below), "
        f"{len(scenario.firms)} firms ({', '.join(f.name for f in scenario.firms)}; Mesa agents holding their "
        "levers), and the outside option of buying from no one. Customers are linked by a random contact network "
        f"of {m.contacts} contacts each, over which word of mouth travels.",
        "",
        "**Customer state variables** (`sim.engine.population.Customers`): kind is a trait fixed at the start, "
        "state carried from month to month, or what happened in the last month.",
        "",
        _table(
            ["array", "kind", "meaning", "unit", "shape", "type"],
            [[f"`{a['array']}`", a["kind"], a["meaning"], a["unit"], a["shape"], a["dtype"]] for a in arrays],
        ),
        "",
        "**Firm state variables** (`sim.engine.parameters.Firm`): each firm's levers, which events and strategies "
        "may change during a run, with this scenario's values.",
        "",
        _table(
            ["lever", *[f.name for f in scenario.firms], "meaning and source"],
            [
                [f"`{name}`", *[_shown(getattr(firm, name)) for firm in scenario.firms], info.description or ""]
                for name, info in Firm.model_fields.items()
                if name != "name"
            ],
        ),
        "",
        f"**Scales.** One time step is one month. Reports gather months into periods of {m.period_months} "
        f"month(s); the run lasts {m.periods} periods ({m.periods * m.period_months} months), after "
        f"{m.burn_in_months} unrecorded months of burn-in. Money is in currency units per month, utilities in units "
        "of the taste shock, quality and image on a 0..1 scale. There is no space: who hears whom is set by the "
        "contact network.",
    ]
    return lines


def _process(steps: list[Step]) -> list[str]:
    lines = [
        "",
        "## 3. Process overview and scheduling",
        "",
        f"**Each month** (`LoyaltyModel._month_step`): {_first_paragraph(LoyaltyModel._month_step.__doc__)} "
        "In order: scheduled events change levers; a firm whose entry month has come opens; firm strategies act; "
        "the month's market is read from the firms' levers; the month's random numbers are drawn and last month's "
        "word of mouth is delivered; every customer lives the month (below); the month's metrics and books are "
        "recorded; firms update their brand images.",
        "",
        f"**A customer's month** (`sim.engine.month.month_rows`). {_paragraph(month_module.__doc__, 1)}",
        "",
    ]
    for step in steps:
        called = ", ".join(f"`{_qualified(f)}`" for f in step.calls)
        lines.append(f"{step.number}. {step.text}" + (f" Equations: {called}." if called else ""))
    return lines


def _design(scenario: Scenario) -> list[str]:
    draws = list(MonthDraws._fields)
    sources = _sources((Market, Population, Firm))
    return [
        "",
        "## 4. Design concepts",
        "",
        "**Basic principles.** The equations follow the sources their parameters cite: " + "; ".join(sources) + ".",
        "",
        "**Emergence.** Market shares, churn, retention, profit and the mix of loyalty segments emerge from "
        "customers' individual choices; none is set directly.",
        "",
        "**Adaptation and objectives.** A customer who reconsiders picks the option of highest utility (delivered "
        "value, trust, price felt against its reference price, less any switching barrier) plus a random taste "
        "shock: a multinomial logit. Firms do not adapt unless a scenario's events or a strategy change their "
        "levers.",
        "",
        "**Learning.** Expectations of a firm's quality move towards each experience; reference prices move "
        "towards the price paid; trust builds on kept promises and falls on failures and unfair price rises.",
        "",
        "**Sensing and interaction.** Customers know every firm's price, advertised quality and image; they know "
        "their own firm's service by experience; they hear recommendations and warnings from their contacts.",
        "",
        f"**Stochasticity.** Traits are drawn once (log-normal sensitivities and effort, Beta propensities). Every "
        f"month draws, per customer, one of each: {', '.join(f'`{d}`' for d in draws)}, in a fixed order, so "
        "that results do not depend on the order in which customers act. A run is fixed by its seed "
        f"(this scenario: seed {scenario.seed}, {scenario.replications} replications on consecutive seeds).",
        "",
        "**Collectives.** Dick & Basu's loyalty segments (true, latent, spurious, none) group each firm's "
        "customers by relative attitude, judged with every switching cost taken away, and repeat patronage.",
        "",
        "**Observation.** Per period and firm: "
        + ", ".join(f"`{c}`" for c in (*FLOW_COLUMNS, *STOCK_COLUMNS))
        + " (flows summed over the period's months, stocks at its end), and the derived rates, shares, satisfaction, "
        "discounted profit and closed-form lifetime value of `LoyaltyModel.results()`.",
    ]


def _initialisation(scenario: Scenario) -> list[str]:
    return [
        "",
        "## 5. Initialisation",
        "",
        f"{_first_paragraph(create_customers.__doc__)} {_first_paragraph(LoyaltyModel._burn_in.__doc__)}",
        "",
        f"In this scenario: {scenario.market.customers:,} customers, an initial tenure of mean "
        f"{_shown(scenario.population.initial_tenure)} months, and {scenario.market.burn_in_months} months of "
        "burn-in.",
    ]


def _input(scenario: Scenario) -> list[str]:
    lines = [
        "",
        "## 6. Input data",
        "",
        "No external data drive a run. The scenario's timed events change firms' levers from a given month:",
        "",
    ]
    if not scenario.events:
        return [*lines[:-2], "No external data drive a run, and this scenario schedules no events."]
    rows = [
        [
            str(e.month),
            e.firm,
            f"`{e.lever}`",
            _shown(e.to) if e.to is not None else f"by {e.by:+g}",
            "to the end" if e.months is None else f"{e.months} months",
            e.note or "",
        ]
        for e in scenario.events
    ]
    return [*lines, _table(["month", "firm", "lever", "change", "lasting", "note"], rows)]


OBSERVERS = (LoyaltyModel._live_month, firm_metrics, loyalty_segments, FirmAgent.step)
"""Code outside a customer's month whose equations the submodels include: word of mouth delivered, the books, the
segments, the firms' brand images."""


def _submodels(scenario: Scenario, steps: list[Step]) -> list[str]:
    lines = ["", "## 7. Submodels", ""]
    seen: list[Callable] = []
    pending = [f for step in steps for f in step.calls] + [f for o in OBSERVERS for f in equations_called(o)]
    while pending:
        function = pending.pop(0)
        if function in seen:
            continue
        seen.append(function)
        if not function.__module__.startswith(BEHAVIOUR):  # an engine function: include the equations it calls
            pending += equations_called(function)
    lines += [
        "The equations of a customer's month (section 3), of the word of mouth delivered before it, and of the "
        "books and loyalty segments recorded after it, module by module, as their docstrings state them.",
        "",
    ]
    modules: dict[str, list[Callable]] = {}
    for function in seen:
        modules.setdefault(function.__module__, []).append(function)
    for name, functions in modules.items():
        module = inspect.getmodule(functions[0])
        lines += [f"### `{name}`", "", _paragraph(module.__doc__, 1) if module else "", ""]
        for function in functions:
            doc = inspect.getdoc(function) or ""
            lines += [f"**`{function.__name__}{inspect.signature(function)}`**", "", doc, ""]
    lines += ["### Parameters", "", "Every parameter with its default, this scenario's value, and its source.", ""]
    for title, group, values in (
        ("Market", Market, scenario.market),
        ("Population", Population, scenario.population),
    ):
        lines += [f"#### {title}", "", _parameter_table(group, values), ""]
    return lines


def _parameter_table(group: type[BaseModel], values: BaseModel) -> str:
    rows = [
        [f"`{name}`", _shown(info.default), _shown(getattr(values, name)), info.description or ""]
        for name, info in group.model_fields.items()
    ]
    return _table(["parameter", "default", "this scenario", "meaning and source"], rows)


def _sources(groups: Iterable[type[BaseModel]]) -> list[str]:
    found: list[str] = []
    for group in groups:
        for info in group.model_fields.values():
            for cited in re.findall(r"Source: ([^;]+?)(?:[;.]\s|[.;]?$)", info.description or ""):
                cited = cited.strip().rstrip(".")
                if cited not in found:
                    found.append(cited)
    return found


def _qualified(function: Callable) -> str:
    return f"{function.__module__.removeprefix('sim.')}.{function.__name__}"


def _first_paragraph(doc: str | None) -> str:
    return _paragraph(doc, 0)


def _paragraph(doc: str | None, index: int) -> str:
    parts = [" ".join(p.split()) for p in inspect.cleandoc(doc or "").split("\n\n") if p.strip()]
    return parts[index] if index < len(parts) else ""


def _shown(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return ", ".join(_shown(v) for v in value)
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
