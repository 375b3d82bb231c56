"""Scenario fields named by path, and the factors a study varies them over.

One grammar names a number of a scenario everywhere (``loyalty sweep
--vary``, ``loyalty sensitivity --factor``, ``loyalty calibrate --fit`` and
``--set``, and the parameters a validation fact depends on):

- ``market.NAME`` and ``population.NAME``: a field of the market or the customers;
- ``firms.FIRM.NAME``: a lever of the firm called ``FIRM`` (``firms.A.price``);
- ``firm.NAME``: the lever of the firm a study is about (the firm whose joiners a
  calibration follows);
- ``firms[].NAME``: the lever of every firm at once.

A ``Factor`` is a field and what it takes in a study: a range to sample,
a grid of evenly spaced values, or listed values.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydantic

from sim.engine.parameters import Firm, Market, Population, Scenario
from sim.engine.scenario_files import allowed_values

GROUPS: dict[str, type[pydantic.BaseModel]] = {"market": Market, "population": Population, "firms": Firm}
PATH_FORMS = "market.NAME, population.NAME, firms.FIRM.NAME, firm.NAME (the study's firm) or firms[].NAME (every firm)"


class FieldError(ValueError):
    """A path, a spec or a value a study cannot use; the message is one line for the user."""


@dataclass(frozen=True)
class Field:
    """A number in a scenario, named by its path.

    Attributes:
        path: the path as written (see the module docstring).
        group: ``"market"``, ``"population"`` or ``"firms"``.
        name: the parameter's name in ``sim.engine.parameters``.
        firms: indices in ``scenario.firms`` of the firms it sets (empty outside ``firms``).
        whole: the parameter is a whole number (values are rounded and stay ints).
    """

    path: str
    group: str
    name: str
    firms: tuple[int, ...]
    whole: bool

    @property
    def firm(self) -> int | None:
        """Index of the one firm the field belongs to (``None`` outside ``firms``, or for every firm)."""
        return self.firms[0] if len(self.firms) == 1 and not self.path.startswith("firms[]") else None

    def value(self, scenario: Scenario) -> float | int:
        """The field's value in ``scenario`` (for every firm: the first firm's)."""
        owner = scenario.firms[self.firms[0]] if self.group == "firms" else getattr(scenario, self.group)
        return getattr(owner, self.name)

    @property
    def firm_name(self) -> str | None:
        """The firm named by a ``firms.FIRM.NAME`` path."""
        if self.group != "firms" or not self.path.startswith("firms."):
            return None
        return self.path.split(".", 1)[1].rsplit(".", 1)[0]


def resolve_field(scenario: Scenario, path: str, firm: str | None = None) -> Field:
    """Check that ``path`` names a number of ``scenario``.

    Args:
        scenario: the market whose fields are named.
        path: e.g. ``"firms.A.price"``, ``"market.customers"``, ``"firm.exit_fee"``.
        firm: the name of the study's firm, which ``firm.NAME`` refers to.

    Raises:
        FieldError: the path names no such field, a firm that does not exist,
            or a field that is not a single number; the message lists what
            is allowed.
    """
    head, _, rest = path.partition(".")
    names = [f.name for f in scenario.firms]
    if head in ("market", "population") and rest and "." not in rest:
        group, name, firms = head, rest, ()
    elif head == "firms" and "." in rest:
        firm_name, _, name = rest.rpartition(".")
        if firm_name not in names:
            raise FieldError(f"{path}: no firm named {firm_name!r} (firms: {', '.join(names)})")
        group, firms = "firms", (names.index(firm_name),)
    elif head == "firms[]" and rest and "." not in rest:
        group, name, firms = "firms", rest, tuple(range(len(names)))
    elif head == "firm" and rest and "." not in rest:
        if firm is None:
            raise FieldError(f"{path}: firm.NAME names the study's firm, and this study has none; use firms.FIRM.NAME")
        if firm not in names:
            raise FieldError(f"{path}: no firm named {firm!r} (firms: {', '.join(names)})")
        group, name, firms = "firms", rest, (names.index(firm),)
    else:
        raise FieldError(f"{path}: not a field path; use {PATH_FORMS} (firms: {', '.join(names)})")
    model = GROUPS[group]
    numbers = [n for n, f in model.model_fields.items() if f.annotation in (int, float)]
    if name not in model.model_fields:
        close = difflib.get_close_matches(name, numbers, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise FieldError(f"{path}: unknown field{hint} (allowed: {', '.join(numbers)})")
    if name not in numbers:
        raise FieldError(f"{path}: not a single number (allowed: {', '.join(numbers)})")
    return Field(path, group, name, firms, model.model_fields[name].annotation is int)


def with_values(scenario: Scenario, fields: Iterable[Field], values: Iterable[float | int]) -> Scenario:
    """A copy of ``scenario`` with each field set to its value, validated.

    Raises:
        FieldError: a value the scenario does not allow, e.g.
            ``firms.A.price = -3.0: must be >= 0.0``.
    """
    fields, values = list(fields), list(values)
    raw = scenario.model_dump()
    for f, value in zip(fields, values, strict=True):
        owners = [raw["firms"][k] for k in f.firms] if f.group == "firms" else [raw[f.group]]
        for owner in owners:
            owner[f.name] = value
    try:
        return Scenario.model_validate(raw)
    except pydantic.ValidationError as error:
        problem = error.errors()[0]
        loc = tuple(problem["loc"])
        named = [(f, v) for f, v in zip(fields, values, strict=True) if loc in _locs_of(f)]
        shown = named or list(zip(fields, values, strict=True))
        text = ", ".join(f"{f.path} = {v!r}" for f, v in shown)
        raise FieldError(f"{text}: {allowed_values(problem)}") from None


def _locs_of(f: Field) -> list[tuple]:
    return [("firms", k, f.name) for k in f.firms] if f.group == "firms" else [(f.group, f.name)]


@dataclass(frozen=True)
class Factor:
    """A varied field and what it takes: a range (``low``, ``high``, ``points``) or listed ``values``.

    With ``log`` the range is spread evenly on a log scale (grid points and
    samples alike): for a parameter whose effect is felt in ratios, such as a
    concentration over 0.3 to 30.
    """

    field: Field
    low: float | None = None
    high: float | None = None
    points: int | None = None
    values: tuple[float, ...] | None = None
    log: bool = False

    @property
    def path(self) -> str:
        """The varied field's path."""
        return self.field.path

    def grid(self) -> list[float | int]:
        """The values a grid takes: the listed ones, or ``points`` evenly spaced from ``low`` to ``high``.

        Raises:
            FieldError: a range without a number of points, or whole-number
                points that rounding would repeat.
        """
        if self.values is not None:
            return list(self.values)
        if self.points is None:
            raise FieldError(f"{self.path}: a grid needs a number of points: LOW:HIGH:N (or list the values)")
        raw = (np.geomspace if self.log else np.linspace)(self.low, self.high, self.points)
        if not self.field.whole:
            return [float(v) for v in raw]
        whole = [int(v) for v in np.round(raw)]
        if len(set(whole)) < len(whole):
            room = int(math.floor(self.high) - math.ceil(self.low)) + 1
            raise FieldError(
                f"{self.path}: {self.points} points from {self.low:g} to {self.high:g} repeat whole "
                f"numbers; use at most {room}"
            )
        return whole

    def scale(self, unit: np.ndarray) -> np.ndarray:
        """Map numbers in [0, 1) onto the range (rounded for whole-number fields)."""
        if self.low is None or self.high is None:
            raise FieldError(f"{self.path}: a sampled design needs a range LOW:HIGH, not a list of values")
        unit = np.asarray(unit, dtype=float)
        if self.log:
            values = np.exp(np.log(self.low) + unit * (np.log(self.high) - np.log(self.low)))
            return np.round(values).astype(np.int64) if self.field.whole else values
        if self.field.whole:  # each whole number from low to high equally likely
            return np.minimum(np.floor(self.low + unit * (self.high - self.low + 1)), self.high).astype(np.int64)
        return self.low + unit * (self.high - self.low)

    def describe(self) -> dict[str, Any]:
        """The factor as plain data (for manifests and attrs)."""
        if self.values is not None:
            return {"field": self.path, "values": list(self.values)}
        spec = {"field": self.path, "low": self.low, "high": self.high}
        return spec | ({"points": self.points} if self.points is not None else {}) | ({"log": True} if self.log else {})

    @property
    def text(self) -> str:
        """The factor as the command line writes it: ``PATH=LOW:HIGH[:N][:log]`` or ``PATH=V1,V2``."""
        if self.values is not None:
            return f"{self.path}=" + ",".join(f"{v:g}" for v in self.values)
        parts = (
            [f"{self.low:g}", f"{self.high:g}"]
            + ([str(self.points)] if self.points else [])
            + (["log"] if self.log else [])
        )
        return f"{self.path}=" + ":".join(parts)


def make_factor(scenario: Scenario, path: str, spec: object, source: str = "--vary", firm: str | None = None) -> Factor:
    """A factor from its spec, as written on the command line or in a ``[sweep.vary]`` table.

    Args:
        scenario: the market the path refers to.
        path: the field's path.
        spec: ``"LOW:HIGH:N"``, ``"LOW:HIGH"``, ``"V1,V2,..."`` or ``"V"``
            (text), each range optionally ending in ``:log``; ``[LOW, HIGH,
            N]`` or ``[LOW, HIGH]`` (a list); ``{low=, high=, points=, log=}``
            or ``{values=[...]}`` (a table); or one number.
        source: where the spec came from, for error messages.
        firm: the study's firm, which ``firm.NAME`` refers to.

    Raises:
        FieldError: one line naming the source, the path and what is allowed.
    """
    field = resolve_field(scenario, path, firm)
    where = (
        f"{source} {path}={shown_spec(spec)}" if source.startswith("--") else f"{source}: {path} = {shown_spec(spec)}"
    )
    try:
        low, high, points, values, log = _parse_spec(spec)
    except ValueError as error:
        raise FieldError(f"{where}: {error}") from None
    if values is not None:
        if field.whole:
            if any(v != round(v) for v in values):
                raise FieldError(f"{where}: {path} takes whole numbers")
            values = tuple(int(round(v)) for v in values)
        if len(set(values)) < len(values):
            raise FieldError(f"{where}: a value is listed twice")
        return Factor(field, values=values)
    if not low < high:
        raise FieldError(f"{where}: LOW must be below HIGH")
    if field.whole and (low != round(low) or high != round(high)):
        raise FieldError(f"{where}: {path} takes whole numbers")
    if log and low <= 0:
        raise FieldError(f"{where}: a log scale needs LOW > 0")
    return Factor(field, low=low, high=high, points=points, log=log)


SPEC_FORMS = (
    "use LOW:HIGH:N (a grid of N points), LOW:HIGH (a range to sample) or V1,V2,... (listed values); "
    "add :log to spread a range on a log scale"
)
Spec = tuple[float | None, float | None, int | None, tuple[float, ...] | None, bool]


def _parse_spec(spec: object) -> Spec:
    if isinstance(spec, bool):
        raise ValueError(SPEC_FORMS)
    if isinstance(spec, int | float):
        return None, None, None, (_number(spec),), False
    if isinstance(spec, str):
        text = spec.strip()
        if ":" in text:
            parts = [part.strip() for part in text.split(":")]
            log = parts[-1].lower() == "log"
            if log:
                parts = parts[:-1]
            if len(parts) not in (2, 3):
                raise ValueError(SPEC_FORMS)
            return _range(*parts, log=log)
        return None, None, None, tuple(_number(part) for part in text.split(",")), False
    if isinstance(spec, list | tuple):
        if len(spec) not in (2, 3):
            raise ValueError("a list is [LOW, HIGH, N] or [LOW, HIGH]; list values as { values = [...] }")
        return _range(*spec)
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"low", "high", "points", "values", "log"}
        if unknown:
            raise ValueError(f"unknown key {sorted(unknown)[0]!r} (allowed: low, high, points, values, log)")
        if "values" in spec:
            if set(spec) != {"values"} or not isinstance(spec["values"], list) or not spec["values"]:
                raise ValueError("values = [...] lists the values, alone")
            return None, None, None, tuple(_number(v) for v in spec["values"]), False
        if "low" not in spec or "high" not in spec:
            raise ValueError("a range needs low and high")
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise ValueError("log = true or false")
        return _range(spec["low"], spec["high"], *([spec["points"]] if "points" in spec else []), log=log)
    raise ValueError(SPEC_FORMS)


def _range(low: object, high: object, points: object = None, *, log: bool = False) -> Spec:
    count = None
    if points is not None:
        number = _number(points)
        if number != int(number) or number < 2:
            raise ValueError(f"N = {shown_spec(points)}: the number of points must be a whole number >= 2")
        count = int(number)
    return _number(low), _number(high), count, None, log


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def shown_spec(value: object) -> str:
    """A spec as it was written: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def parse_vary(text: str, option: str = "--vary") -> tuple[str, str]:
    """Split a command-line ``PATH=SPEC`` into the path and the spec.

    Raises:
        FieldError: no ``=``, or an empty side.
    """
    path, equals, spec = text.rpartition("=")
    if not equals or not path.strip() or not spec.strip():
        raise FieldError(f"{option} {text}: write PATH=SPEC, e.g. firms.A.price=24:36:7; {SPEC_FORMS}")
    return path.strip(), spec.strip()
