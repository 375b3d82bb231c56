"""Scenario files: TOML data describing a market, validated before anything runs.

A scenario file holds top-level ``name``, ``description``, ``seed`` and
``replications``, and tables ``[market]``, ``[population]``, ``[[firms]]`` and
``[[events]]`` whose fields are those of ``sim.parameters``. A file may say
``extends = "baseline.toml"`` (relative to itself) and give only what
differs: tables merge field by field, firms merge by name (a firm with a new
name is added), and events are added to the parent's.

Nothing in a file is executed. Any mistake is reported as one line that names
the file, the field, the value and what is allowed, as a ``ScenarioError``.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any

import pydantic

from .parameters import Scenario

SHIPPED = Path(__file__).resolve().parents[1] / "scenarios"

Origin = dict[tuple, Path]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message is one line for the user."""


def find_scenario(name_or_path: str | Path) -> Path:
    """A path as given if it exists, else a shipped scenario by file name or stem."""
    path = Path(name_or_path)
    if path.exists():
        return path
    for candidate in (SHIPPED / path.name, SHIPPED / f"{path.name}.toml"):
        if candidate.exists():
            return candidate
    shipped = sorted(p.stem for p in SHIPPED.glob("*.toml")) if SHIPPED.is_dir() else []
    hint = difflib.get_close_matches(path.stem, shipped, n=1)
    raise ScenarioError(
        f"{name_or_path}: no such file" + (f"; did you mean '{hint[0]}'?" if hint else "")
        + (f" (shipped scenarios: {', '.join(shipped)})" if shipped else "")
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file."""
    path = find_scenario(name_or_path)
    origin: Origin = {}
    raw = _resolve(path, chain=(), origin=origin)
    raw.setdefault("name", path.stem)
    try:
        return Scenario.model_validate(raw)
    except pydantic.ValidationError as error:
        raise ScenarioError(_describe(error, raw, origin, path)) from None


def list_scenarios(folder: Path = SHIPPED) -> list[tuple[Path, Scenario | ScenarioError]]:
    """Every scenario file in ``folder`` with its loaded scenario, or the error that stopped it."""
    found = []
    for path in sorted(folder.glob("*.toml")):
        try:
            found.append((path, load_scenario(path)))
        except ScenarioError as error:
            found.append((path, error))
    return found


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{_short(path)}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{_short(path)}: cannot be read: {error}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{_short(path)}: not valid TOML: {error}") from None


def _resolve(path: Path, chain: tuple[Path, ...], origin: Origin) -> dict[str, Any]:
    """The file's content merged over its ``extends`` chain; ``origin`` learns who set what."""
    path = path.resolve()
    if path in chain:
        loop = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(f"{_short(chain[-1])}: extends = {path.name!r} makes a cycle: {loop}")
    raw = _read(path)
    parent_name = raw.pop("extends", None)
    if parent_name is None:
        _note_origin(raw, (), path, origin)
        return raw
    if not isinstance(parent_name, str):
        raise ScenarioError(f"{_short(path)}: extends = {parent_name!r}: must be a file name in quotes")
    parent_path = path.parent / parent_name
    if not parent_path.exists():
        raise ScenarioError(f"{_short(path)}: extends = {parent_name!r}: no such file next to it")
    base = _resolve(parent_path, (*chain, path), origin)
    return _merge(base, raw, path, origin)


def _merge(base: dict[str, Any], child: dict[str, Any], path: Path, origin: Origin) -> dict[str, Any]:
    merged = dict(base)
    for key, value in child.items():
        if key == "firms" and isinstance(value, list) and isinstance(base.get("firms"), list):
            merged["firms"] = _merge_firms(base["firms"], value, path, origin)
        elif key == "events" and isinstance(value, list) and isinstance(base.get("events"), list):
            start = len(base["events"])
            merged["events"] = base["events"] + value
            for i, event in enumerate(value):
                _note_origin(event, ("events", start + i), path, origin)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
            _note_origin(value, (key,), path, origin)
        else:
            merged[key] = value
            _note_origin(value, (key,), path, origin)
    return merged


def _merge_firms(base: list, child: list, path: Path, origin: Origin) -> list:
    firms = [dict(f) if isinstance(f, dict) else f for f in base]
    for firm in child:
        named = [i for i, f in enumerate(firms) if isinstance(f, dict) and isinstance(firm, dict) and f.get("name") == firm.get("name")]
        index = named[0] if named else len(firms)
        if named:
            firms[index] = {**firms[index], **firm}
        else:
            firms.append(firm)
        _note_origin(firm, ("firms", index), path, origin)
    return firms


def _note_origin(value: Any, where: tuple, path: Path, origin: Origin) -> None:
    origin[where] = path
    if isinstance(value, dict):
        for key, inner in value.items():
            _note_origin(inner, (*where, key), path, origin)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _note_origin(inner, (*where, i), path, origin)


def _describe(error: pydantic.ValidationError, raw: dict, origin: Origin, path: Path) -> str:
    """One line for the first problem: file, field, value, what is allowed."""
    problem = error.errors()[0]
    loc = tuple(problem["loc"])
    source = next((origin[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in origin), path)
    field = _field_name(loc)
    kind = problem["type"]
    if kind == "extra_forbidden":
        return f"{_short(source)}: {field}: unknown field{_did_you_mean(loc)}"
    if kind == "missing":
        return f"{_short(source)}: {field}: required field is missing"
    value = problem.get("input")
    shown = f"{field} = {value!r}" if loc else "scenario"
    return f"{_short(source)}: {shown}: {_allowed(problem)}"


def _field_name(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _did_you_mean(loc: tuple) -> str:
    from .parameters import Event, Firm, Market, Population

    owners = {"market": Market, "population": Population, "firms": Firm, "events": Event}
    model = owners.get(loc[0]) if len(loc) > 1 else Scenario
    if model is None:
        return ""
    allowed = [*model.model_fields, *(["extends"] if model is Scenario else [])]
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{hint} (allowed: {', '.join(allowed)})"


def _allowed(problem: dict) -> str:
    ctx = problem.get("ctx", {})
    bounds = {
        "greater_than_equal": ">= {ge}", "greater_than": "> {gt}", "less_than_equal": "<= {le}", "less_than": "< {lt}",
    }
    kind = problem["type"]
    if kind in bounds:
        return "must be " + bounds[kind].format(**ctx)
    if kind in ("float_type", "float_parsing", "finite_number"):
        return "must be a number"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("string_type", "string_too_short", "string_too_long"):
        return problem["msg"].replace("String", "must be text").replace("Input", "must be text")
    if kind == "literal_error":
        return "must be one of " + ctx.get("expected", "")
    if kind in ("too_long", "too_short", "tuple_type", "list_type", "dict_type", "model_type", "bool_type"):
        return problem["msg"].replace("Input should", "must")
    message = problem["msg"]
    return message.removeprefix("Value error, ").replace("Input should", "must")


def _short(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
