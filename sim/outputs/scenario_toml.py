"""A scenario written as a TOML file that ``loyalty check`` and ``loyalty run`` read back to the same scenario.

``scenario_toml`` writes every field, a file complete in itself.
``derived_toml`` writes a scenario that differs from one read from a file as
an edit of that file (with ``tomlkit``, which keeps its layout): its comments,
its ``extends`` (pointed at the same parent from the new place) and every
value it sets stay as they were; only what differs is set, each value with a
comment saying why.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit

from sim.engine.parameters import Scenario
from sim.engine.scenario_files import ScenarioError, load_scenario

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def scenario_toml(scenario: Scenario, comment: str = "") -> str:
    """A scenario as a TOML file that ``load_scenario`` reads back to an equal scenario.

    Every field is written, so the file stands alone (no ``extends``);
    fields that are unset (``None``) are left out.

    Args:
        scenario: the scenario.
        comment: text written first, each line as a ``#`` comment.
    """
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    if lines:
        lines.append("")
    _toml_table(scenario.model_dump(exclude_none=True), (), lines)
    return "\n".join(lines).rstrip("\n") + "\n"


def _toml_table(table: dict, path: tuple[str, ...], lines: list[str]) -> None:
    def is_table(v: object) -> bool:
        return isinstance(v, dict)

    def is_array_of_tables(v: object) -> bool:
        return isinstance(v, list | tuple) and len(v) > 0 and all(isinstance(i, dict) for i in v)

    for key, value in table.items():
        if not is_table(value) and not is_array_of_tables(value):
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in table.items():
        if is_table(value):
            lines += ["", f"[{'.'.join(_toml_key(k) for k in (*path, key))}]"]
            _toml_table(value, (*path, key), lines)
    for key, value in table.items():
        if is_array_of_tables(value):
            for item in value:
                lines += ["", f"[[{'.'.join(_toml_key(k) for k in (*path, key))}]]"]
                _toml_table(item, (*path, key), lines)


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        if any(isinstance(v, dict) for v in value):
            raise TypeError("a list that mixes tables and values cannot be written as TOML")
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def derived_toml(
    source: Path | str,
    scenario: Scenario,
    target: Path | str,
    comment: str = "",
    notes: Mapping[str, str] | None = None,
) -> str:
    """``scenario`` as an edit of the scenario file ``source``, to be written at ``target``; comments kept.

    What ``scenario`` changes from what ``source`` says is set in a copy of
    the file (top-level fields, ``[market]``, ``[population]``, and a firm's
    levers in its ``[[firms]]`` table, added for a firm the file inherits), a
    relative ``extends`` is pointed at the same parent from ``target``'s
    folder, and the file is read back there: when it does not give
    ``scenario`` exactly (a change of firms or events, which an edit cannot
    state), the complete file of ``scenario_toml`` is returned instead.

    Args:
        source: the scenario file ``scenario`` was derived from.
        scenario: the scenario to write.
        target: where the file will be written.
        comment: text written first, each line as a ``#`` comment.
        notes: dotted path of a field (``market.customers``, ``firms.A.price``) -> a comment for its line.
    """
    source, target = Path(source), Path(target)
    complete = scenario_toml(scenario, comment)
    try:
        original = load_scenario(source)
        document = tomlkit.parse(source.read_text(encoding="utf-8").removeprefix("\ufeff"))
    except (ScenarioError, OSError, ValueError):
        return complete
    changes = _differences(original, scenario)
    if changes is None:
        return complete
    for where, value in changes:
        _set(document, where, value, (notes or {}).get(".".join(where)))
    parent = document.get("extends")
    if isinstance(parent, str) and not Path(parent).is_absolute():
        moved = os.path.relpath((source.parent / parent).resolve(), target.parent.resolve())
        document["extends"] = Path(moved).as_posix()
    header = [f"# {line}".rstrip() for line in comment.splitlines()]
    text = "\n".join([*header, ""]) + "\n" + tomlkit.dumps(document) if header else tomlkit.dumps(document)
    return text if _reads_back(text, scenario, target) else complete


def _differences(original: Scenario, scenario: Scenario) -> list[tuple[tuple[str, ...], Any]] | None:
    """(path, new value) for every field that differs; None when firms or events differ, which no edit can set."""
    if [f.name for f in original.firms] != [f.name for f in scenario.firms] or original.events != scenario.events:
        return None
    before, after = original.model_dump(), scenario.model_dump()
    changes: list[tuple[tuple[str, ...], Any]] = [
        ((key,), after[key]) for key in ("name", "description", "seed", "replications") if before[key] != after[key]
    ]
    for group in ("market", "population"):
        changes += [((group, k), v) for k, v in after[group].items() if before[group][k] != v]
    for old, new in zip(before["firms"], after["firms"], strict=True):
        changes += [(("firms", new["name"], k), v) for k, v in new.items() if old[k] != v]
    return changes


def _set(document: tomlkit.TOMLDocument, where: tuple[str, ...], value: Any, note: str | None) -> None:
    value = list(value) if isinstance(value, tuple) else value
    if len(where) == 1:
        owner = document
    elif where[0] == "firms":
        firms = document.get("firms")
        if firms is None:
            firms = tomlkit.aot()
            document["firms"] = firms
        owner = next((t for t in firms if t.get("name") == where[1]), None)
        if owner is None:
            owner = tomlkit.table()
            owner["name"] = where[1]
            firms.append(owner)
    else:
        if where[0] not in document:
            document[where[0]] = tomlkit.table()
        owner = document[where[0]]
    item = tomlkit.item(value)
    if note:
        item.comment(note)
    owner[where[-1]] = item


def _reads_back(text: str, scenario: Scenario, target: Path) -> bool:
    """Whether ``text``, as a file in ``target``'s folder, loads to ``scenario`` exactly."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.check-", suffix=".toml", dir=target.parent)
    except OSError:
        return False
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        return load_scenario(name) == scenario
    except (ScenarioError, OSError):
        return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
