"""A scenario written as a TOML file that ``loyalty check`` and ``loyalty run`` read back to the same scenario."""

from __future__ import annotations

import math
import re

from sim.engine.parameters import Scenario

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
