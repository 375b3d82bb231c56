"""Scenario files: TOML data describing a market, validated before anything runs.

A scenario file holds top-level ``name``, ``description``, ``seed`` and
``replications``, and tables ``[market]``, ``[population]``, ``[[firms]]`` and
``[[events]]`` whose fields are those of ``sim.parameters``. A file may say
``extends = "baseline.toml"`` (relative to itself) and give only what
differs: tables merge field by field, firms merge by name (a firm with a new
name is added), and events are added to the parent's.

A file may also hold tables that other commands read, such as ``[sweep]``
for ``loyalty sweep``; ``load_scenario`` leaves them out and
``load_scenario_file`` returns them.

Nothing in a file is executed. Any mistake is reported as one line that names
the file, the field, the value and what is allowed, as a ``ScenarioError``.
Beyond the schema of ``sim.parameters``, a file is refused when a number is
``nan`` or ``inf``, when ``true``/``false`` stands where a number goes, when
an integer lies outside TOML's 64-bit range, when one file gives the same
firm twice, when it leaves the market with no firm, and when an event would
set a lever to a value the lever does not allow (a quality above 1, a
negative price): such a scenario would pass a check and then fail, or
compute nonsense, in the middle of a run. Files over 1 MiB, or nested more
than 16 levels deep, are refused before they are parsed or walked, and so
is a chain of more than 32 files that extend one another. A UTF-8 byte-order
mark at the start of a file (as some Windows editors write) is accepted.

A file's ``name`` is its own: a what-if that does not set one is named for
its file's stem, not for the file it extends.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import tomllib
import types
import typing
import unicodedata
from pathlib import Path
from typing import Any

import pydantic

from sim.engine.parameters import Event, Firm, Market, Population, Scenario

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"
MAX_FILE_BYTES = 1 << 20
"""Largest scenario file read (1 MiB); real ones are a few kilobytes."""
MAX_NESTING = 16
"""Deepest nesting of tables and arrays a scenario file may have; the schema needs 3."""
MAX_EXTENDS = 32
"""Longest chain of files extending one another; the shipped scenarios need 3."""
TOML_INT_RANGE = (-(2**63), 2**63 - 1)
"""Integers TOML promises to hold losslessly (64-bit signed)."""
LONGEST_VALUE_SHOWN = 60
OTHER_TABLES = ("sweep",)
"""Top-level tables a scenario file may hold for other commands (``loyalty sweep`` reads ``[sweep]``)."""
Origin = dict[tuple, Path]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


def find_scenario(name_or_path: str | Path) -> Path:
    """A path as given if it exists, else a shipped scenario by file name or stem."""
    if not str(name_or_path).strip():
        shipped = sorted(p.stem for p in SHIPPED.glob("*.toml")) if SHIPPED.is_dir() else []
        raise ScenarioError(
            f"scenario {str(name_or_path)!r}: empty; give a scenario file or the name of a shipped scenario"
            + (f" ({', '.join(shipped)})" if shipped else "")
        )
    path = Path(name_or_path)
    if _exists(path):
        return path
    for candidate in (SHIPPED / path.name, SHIPPED / f"{path.name}.toml"):
        if _exists(candidate):
            return candidate
    shipped = sorted(p.stem for p in SHIPPED.glob("*.toml")) if SHIPPED.is_dir() else []
    hint = difflib.get_close_matches(path.stem, shipped, n=1)
    raise ScenarioError(
        f"{_shown_text(str(name_or_path))}: no such file"
        + (f"; did you mean '{hint[0]}'?" if hint else "")
        + (f" (shipped scenarios: {', '.join(shipped)})" if shipped else "")
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file.

    Args:
        name_or_path: a path to a TOML file, or the name of a shipped
            scenario (``"baseline"``, ``"price_war.toml"``).

    Returns:
        The validated scenario; its ``name`` defaults to the file's stem.
        Tables that other commands read (``[sweep]``) are left out.

    Raises:
        ScenarioError: anything wrong with the file, in one line that names
            the file and the field (or the line, for broken TOML).
    """
    return load_scenario_file(name_or_path)[0]


def load_scenario_file(name_or_path: str | Path) -> tuple[Scenario, dict[str, Any]]:
    """``load_scenario``, also returning the tables that other commands read.

    Returns:
        The validated scenario, and the tables of ``OTHER_TABLES`` the file
        (merged over its ``extends`` chain) has, as written: for example
        ``{"sweep": {"vary": {...}}}``. Their contents are for the command
        that reads them to check.
    """
    path = find_scenario(name_or_path)
    origin: Origin = {}
    raw = _resolve(path, chain=(), origin=origin)
    other = {name: raw.pop(name) for name in OTHER_TABLES if name in raw}
    raw.setdefault("name", path.stem)
    _check_numbers(raw, origin, path)
    try:
        scenario = Scenario.model_validate(raw)
    except pydantic.ValidationError as error:
        raise ScenarioError(_describe(error, raw, origin, path)) from None
    return scenario, other


def scenario_chain(name_or_path: str | Path) -> list[Path]:
    """The file a scenario name stands for and every file it extends, nearest first: the files a command reads.

    Followed as far as the files can be read, without validating them (a
    broken file is reported by ``load_scenario``).
    """
    path = find_scenario(name_or_path).resolve()
    chain: list[Path] = []
    while path not in chain and len(chain) <= MAX_EXTENDS:
        chain.append(path)
        try:
            parent = _read(path).get("extends")
        except ScenarioError:
            break
        if not isinstance(parent, str) or not parent.strip() or not _exists(path.parent / parent):
            break
        path = (path.parent / parent).resolve()
    return chain


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
        if not path.exists():
            raise ScenarioError(f"{short_path(path)}: no such file")
        if path.is_dir():
            raise ScenarioError(f"{short_path(path)}: is a folder, not a scenario file")
        if not path.is_file():
            raise ScenarioError(f"{short_path(path)}: is not a regular file")
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ScenarioError(f"{short_path(path)}: cannot be read: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"{short_path(path)}: larger than {MAX_FILE_BYTES >> 20} MiB; a scenario file is a few kilobytes"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioError(
            f"{short_path(path)}: not UTF-8 text: it starts with a UTF-16 byte-order mark; save the file as UTF-8"
        )
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark is no part of the TOML
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ScenarioError(
            f"{short_path(path)}: not UTF-8 text: byte 0x{data[error.start]:02x} on line {line}; save the file as UTF-8"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{short_path(path)}: not valid TOML: {error}") from None
    except RecursionError:
        raise ScenarioError(f"{short_path(path)}: not valid TOML: arrays or tables nested too deeply") from None
    too_deep = _deeper_than(raw, MAX_NESTING)
    if too_deep is not None:
        raise ScenarioError(f"{short_path(path)}: {_field_name(too_deep)}: nested more than {MAX_NESTING} levels deep")
    return raw


def _resolve(path: Path, chain: tuple[Path, ...], origin: Origin) -> dict[str, Any]:
    """The file's content merged over its ``extends`` chain; ``origin`` learns who set what."""
    path = path.resolve()
    if path in chain:
        loop = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(f"{short_path(chain[-1])}: extends = {path.name!r} makes a cycle: {loop}")
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(
            f"{short_path(chain[0])}: extends: a chain of more than {MAX_EXTENDS} files extending one another "
            f"(stopped at {short_path(path)}); extend a file that holds the whole scenario"
        )
    raw = _read(path)
    parent_name = raw.pop("extends", None)
    _check_firms_given_once(raw, path)
    if parent_name is None:
        _note_origin(raw, (), path, origin)
        return raw
    if not isinstance(parent_name, str) or not parent_name.strip():
        raise ScenarioError(f"{short_path(path)}: extends = {_shown_value(parent_name)}: must be a file name in quotes")
    parent_path = path.parent / parent_name
    if not _exists(parent_path):
        raise ScenarioError(f"{short_path(path)}: extends = {_shown_value(parent_name)}: no such file next to it")
    if not parent_path.is_file():
        raise ScenarioError(f"{short_path(path)}: extends = {_shown_value(parent_name)}: not a scenario file")
    base = _resolve(parent_path, (*chain, path), origin)
    base.pop("name", None)  # a name belongs to its file: a what-if without one is named for its own stem
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
    for position, firm in enumerate(child):
        if isinstance(firm, dict) and "name" not in firm:
            raise ScenarioError(
                f"{short_path(path)}: firms[{position}].name: required field is missing; a file that extends another "
                "names each firm it changes or adds"
            )
        named = [
            i
            for i, f in enumerate(firms)
            if isinstance(f, dict) and isinstance(firm, dict) and f.get("name") == firm.get("name")
        ]
        index = named[0] if named else len(firms)
        if named:
            firms[index] = {**firms[index], **firm}
        else:
            firms.append(firm)
        _note_origin(firm, ("firms", index), path, origin)
    return firms


def _check_firms_given_once(raw: dict[str, Any], path: Path) -> None:
    """Refuse a file that gives the same firm in two ``[[firms]]`` tables (they would silently merge)."""
    firms = raw.get("firms")
    if not isinstance(firms, list):
        return
    seen: dict[object, int] = {}
    for index, firm in enumerate(firms):
        name = firm.get("name") if isinstance(firm, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            raise ScenarioError(
                f"{short_path(path)}: firms[{index}].name = {_shown_value(name)}: firm names must be unique "
                f"(firms[{seen[name]}] has the same name); give each firm one [[firms]] table"
            )
        seen[name] = index


def _note_origin(value: Any, where: tuple, path: Path, origin: Origin) -> None:
    origin[where] = path
    if isinstance(value, dict):
        for key, inner in value.items():
            _note_origin(inner, (*where, key), path, origin)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _note_origin(inner, (*where, i), path, origin)


def _deeper_than(value: Any, limit: int) -> tuple | None:
    """Where ``value`` nests tables and arrays more than ``limit`` deep, or None (no recursion)."""
    stack: list[tuple[Any, tuple]] = [(value, ())]
    while stack:
        item, where = stack.pop()
        if len(where) > limit:
            return where[:limit]
        if isinstance(item, dict):
            stack.extend((inner, (*where, key)) for key, inner in item.items())
        elif isinstance(item, list):
            stack.extend((inner, (*where, i)) for i, inner in enumerate(item))
    return None


def _check_numbers(raw: dict[str, Any], origin: Origin, path: Path) -> None:
    """Refuse numbers the schema would take but a run cannot use: nan, inf, booleans, huge integers."""
    stack: list[tuple[Any, tuple]] = [(raw, ())]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, dict):
            stack.extend((inner, (*loc, key)) for key, inner in reversed(value.items()))
            continue
        if isinstance(value, list):
            stack.extend((inner, (*loc, i)) for i, inner in reversed(list(enumerate(value))))
            continue
        expected = _expected_type(Scenario, loc)
        if expected not in (int, float):
            continue
        if isinstance(value, bool):
            problem = f"must be a {'whole number' if expected is int else 'number'}, not true or false"
        elif isinstance(value, float) and not math.isfinite(value):
            problem = "must be a finite number"
        elif isinstance(value, int) and not TOML_INT_RANGE[0] <= value <= TOML_INT_RANGE[1]:
            problem = "is beyond the 64-bit range of TOML integers"
        else:
            continue
        source = short_path(_source(loc, origin, path))
        raise ScenarioError(f"{source}: {_field_name(loc)} = {_shown_value(value)}: {problem}")


def _expected_type(annotation: Any, loc: tuple) -> Any:
    """The type the schema expects at ``loc`` inside ``annotation`` (optional types unwrapped), or None."""
    for part in loc:
        annotation = _unwrap_optional(annotation)
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            annotation = field.annotation
        elif typing.get_origin(annotation) in (list, tuple) and isinstance(part, int):
            args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
            if not args:
                return None
            fixed = typing.get_origin(annotation) is tuple and len(args) > 1
            annotation = args[part] if fixed and part < len(args) else args[0]
        else:
            return None
    return _unwrap_optional(annotation)


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return inner[0] if len(inner) == 1 else annotation
    return annotation


def _describe(error: pydantic.ValidationError, raw: dict, origin: Origin, path: Path) -> str:
    """One line for the first problem: file, field, value, what is allowed."""
    problem = error.errors()[0]
    loc = tuple(problem["loc"])
    kind = problem["type"]
    if kind == "value_error":
        loc, message = _blame(loc, _message(problem), raw)
    else:
        message = None
    source = _source(loc, origin, path)
    field = _field_name(loc)
    if kind == "extra_forbidden":
        return f"{short_path(source)}: {field}: unknown field{_did_you_mean(loc)}"
    if kind == "missing":
        return f"{short_path(source)}: {field}: required field is missing"
    if message is None:
        message = allowed_values(problem)
    if not loc:
        return f"{short_path(source)}: scenario: {message}"
    found, value = _lookup(raw, loc)
    if not found:
        value = problem.get("input")
    if isinstance(value, dict):
        return f"{short_path(source)}: {field}: {message}"
    return f"{short_path(source)}: {field} = {_shown_value(value)}: {message}"


def _blame(loc: tuple, message: str, raw: dict) -> tuple[tuple, str]:
    """The field a cross-field rule points at.

    That is the field its message starts with (``gold_after must be ...``, or
    a path such as ``events[2].by would set ...``), a duplicated firm name, or
    an event's unknown firm.
    """
    named = _LEADING_PATH.match(message)
    if named:
        path = tuple(int(part) if part.isdigit() else part for part in re.findall(r"\w+", named["path"]))
        if _lookup(raw, (*loc, *path))[0]:
            return (*loc, *path), message[named.end() :]
    if not loc:
        firms = raw.get("firms") if isinstance(raw.get("firms"), list) else []
        unnamed = Firm.model_fields["name"].default
        names = [f.get("name", unnamed) if isinstance(f, dict) else None for f in firms]
        for index, name in enumerate(names):
            if name is not None and name in names[:index]:
                return ("firms", index, "name"), f"{message} (firms[{names.index(name)}] has the same name)"
        known = {name for name in names if isinstance(name, str)} | {"all"}
        events = raw.get("events") if isinstance(raw.get("events"), list) else []
        for index, event in enumerate(events):
            if isinstance(event, dict) and event.get("firm") not in known and f"{event.get('firm')!r}" in message:
                return ("events", index, "firm"), message
        return loc, message
    found, value = _lookup(raw, loc)
    first_word = message.split(" ", 1)[0]
    if found and isinstance(value, dict) and first_word in value:
        return (*loc, first_word), message
    return loc, message


_LEADING_PATH = re.compile(r"^(?P<path>[a-z_]+(?:\[\d+\])+(?:\.[a-z_]+)*) ")


def _lookup(raw: Any, loc: tuple) -> tuple[bool, Any]:
    value = raw
    for part in loc:
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return False, None
    return True, value


def _source(loc: tuple, origin: Origin, path: Path) -> Path:
    """The file that set the value at ``loc`` (or the nearest table around it)."""
    return next((origin[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in origin), path)


def _field_name(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        key = str(part) if str(part).isidentifier() and str(part).isascii() else json.dumps(str(part))
        text += f".{key}" if text else key
    return text


def _did_you_mean(loc: tuple) -> str:
    owners = {"market": Market, "population": Population, "firms": Firm, "events": Event}
    model = owners.get(loc[0]) if len(loc) > 1 else Scenario
    if model is None:
        return ""
    allowed = [*model.model_fields, *(["extends", *OTHER_TABLES] if model is Scenario else [])]
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{hint} (allowed: {', '.join(allowed)})"


def _message(problem: dict) -> str:
    return problem["msg"].removeprefix("Value error, ").replace("Input should", "must")


def allowed_values(problem: dict) -> str:
    """What a pydantic validation problem allows, in words: ``must be >= 0``, ``must be a number``."""
    ctx = problem.get("ctx", {})
    bounds = {
        "greater_than_equal": ">= {ge}",
        "greater_than": "> {gt}",
        "less_than_equal": "<= {le}",
        "less_than": "< {lt}",
    }
    kind = problem["type"]
    if kind in bounds:
        return "must be " + bounds[kind].format(**ctx)
    if kind in ("float_type", "float_parsing", "finite_number"):
        return "must be a number"
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return "must be a whole number"
    if kind == "string_type":
        return "must be text in quotes"
    if kind in ("string_too_short", "string_too_long"):
        return problem["msg"].replace("String should", "must")
    if kind == "literal_error":
        return "must be one of " + ctx.get("expected", "")
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item{'s' if ctx.get('min_length') != 1 else ''}"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind in ("tuple_type", "list_type", "dict_type", "model_type", "bool_type"):
        return problem["msg"].replace("Input should", "must")
    return _message(problem)


def _shown_value(value: Any) -> str:
    """A value as TOML-ish text for an error line: short, on one line."""
    text = ("true" if value else "false") if isinstance(value, bool) else repr(value)
    if len(text) > LONGEST_VALUE_SHOWN:
        text = text[: LONGEST_VALUE_SHOWN - 3] + "..."
    return text


def _shown_text(text: str) -> str:
    return text if len(text) <= LONGEST_VALUE_SHOWN else text[: LONGEST_VALUE_SHOWN - 3] + "..."


def _one_line(message: str) -> str:
    """``message`` with line breaks and other control characters escaped, so it prints as one line."""
    return "".join(
        c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
        for c in message
    )


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; a name the system cannot even look up (too long, a NUL byte) does not."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def short_path(path: Path) -> str:
    """A path relative to the working folder where it lies under it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)
