"""The scenario loader under random and mutated files: a valid scenario or one clear line, never a crash.

Every example is written to a file beside copies of the shipped scenarios (so
``extends = "baseline.toml"`` resolves) and loaded in this process. The loader
must return a ``Scenario`` or raise ``ScenarioError`` whose message is one
line that starts with the file and then names a field (or, for a file that is
not TOML or not text, says so). Any other exception fails the test. A few
mutants also go through ``loyalty check`` in a subprocess: exit status 2 and
one ``error:`` line on standard error.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import annotated_types as at
import numpy as np
import pydantic
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic.fields import FieldInfo

from sim import LoyaltyModel
from sim.engine.parameters import Firm as FirmLevers
from sim.engine.parameters import Market, Population, Scenario
from sim.engine.scenario_files import SHIPPED, ScenarioError, _describe, load_scenario

SHIPPED_FILES = sorted(SHIPPED.glob("*.toml"))
SHIPPED_RAW = {path.name: tomllib.loads(path.read_text(encoding="utf-8")) for path in SHIPPED_FILES}
SHIPPED_BYTES = {path.name: path.read_bytes() for path in SHIPPED_FILES}

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# What may follow "FILE: " in an error line: a field path (bare or quoted keys, [index]) ...
KEY = r'(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\.)*")'
FIELD = re.compile(rf"^(?P<field>{KEY}(?:\[\d+\]|\.{KEY})*)(?: = .+?)?: \S.*$")
# ... or, for a file that cannot be read as TOML at all, what is wrong with it.
FILE_LEVEL = ("not valid TOML: ", "not UTF-8 text: ", "larger than ", "is not a regular file", "is a folder")
TOP_LEVEL = {*Scenario.model_fields, "extends"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A folder holding copies of every shipped scenario, where the mutants are written."""
    target = tmp_path_factory.mktemp("fuzz")
    for path in SHIPPED_FILES:
        shutil.copy(path, target / path.name)
    return target


def load_or_explain(path: Path, folder: Path) -> Scenario | str:
    """``load_scenario(path)``; a refusal must be one line naming a file in ``folder`` and a field."""
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        message = str(error)
        assert_one_clear_line(message, folder)
        return message
    assert isinstance(scenario, Scenario)
    return scenario


def assert_one_clear_line(message: str, folder: Path) -> None:
    assert len(message.splitlines()) == 1 and message.strip() == message, repr(message)
    assert "Traceback" not in message
    file, sep, rest = message.partition(".toml: ")
    assert sep, f"no file named: {message!r}"
    assert Path(file + ".toml").resolve().parent == folder.resolve(), f"names a file outside the scenarios: {message!r}"
    if rest.startswith(FILE_LEVEL):
        return
    named = FIELD.match(rest)
    assert named, f"names no field: {message!r}"
    top = re.split(r"[.\[]", named["field"], maxsplit=1)[0]
    assert top in TOP_LEVEL or ": unknown field" in rest, f"names no field of a scenario: {message!r}"


# --- writing TOML ------------------------------------------------------------------------------------------------


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(type(value))


def to_toml(document: dict[str, Any]) -> str:
    """TOML text for ``document``: scalars first, then ``[tables]`` and ``[[arrays of tables]]``."""
    lines, tables = [], []
    for key, value in document.items():
        if isinstance(value, dict):
            tables.append(f"\n[{toml_key(key)}]")
            tables += [f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                tables.append(f"\n[[{toml_key(key)}]]")
                tables += [f"{toml_key(k)} = {toml_value(v)}" for k, v in item.items()]
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    return "\n".join(lines + tables) + "\n"


def test_the_toml_writer_round_trips_every_shipped_scenario():
    for name, raw in SHIPPED_RAW.items():
        assert tomllib.loads(to_toml(raw)) == raw, name


# --- strategies --------------------------------------------------------------------------------------------------

scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, -(2**63), 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1e-300, 1e308, -1e308, 1e-320, 0.5, 1.0000001]),
    st.text(max_size=12),
    st.sampled_from(["", "all", "A", "B", "A\nB", " ", "x" * 41, "baseline.toml", "price"]),
    st.booleans(),
)
wild_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
KNOWN_KEYS = {key for raw in SHIPPED_RAW.values() for table in raw.values() if isinstance(table, dict) for key in table}
field_names = st.one_of(
    st.sampled_from(sorted(KNOWN_KEYS | set(Scenario.model_fields) | {"extends", "enters_at", "custmers", "prise"})),
    st.text(min_size=1, max_size=10),
)
bad_extends = st.one_of(
    st.sampled_from(
        [
            "baseline.toml",
            "nowhere.toml",
            "mutant.toml",
            "",
            ".",
            "..",
            "/",
            "baseline",
            "../baseline.toml",
            "a\0b",
            "x" * 300,
            "high_exit_barriers.toml",
            "exit_fee_ban.toml",
        ]
    ),
    wild_values,
)


def paths(value: Any, where: tuple = ()) -> list[tuple]:
    """Every path into a parsed TOML document, tables and arrays included."""
    found = [where] if where else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*where, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += paths(inner, (*where, i))
    return found


def container(document: Any, where: tuple) -> Any:
    for part in where[:-1]:
        document = document[part]
    return document


def mutate_once(data: st.DataObject, document: dict[str, Any]) -> None:
    """Apply one random mutation to ``document`` in place."""
    kind = data.draw(
        st.sampled_from(
            ["drop", "replace", "scale", "unknown", "duplicate_firm", "rename_firm", "extends", "nest", "events"]
        ),
        label="mutation",
    )
    everywhere = paths(document)
    if kind in ("drop", "replace", "nest", "scale") and everywhere:
        where = data.draw(st.sampled_from(everywhere), label="at")
        parent = container(document, where)
        if kind == "drop":
            del parent[where[-1]]
        elif kind == "replace":
            parent[where[-1]] = data.draw(wild_values, label="value")
        elif kind == "nest":
            parent[where[-1]] = {data.draw(field_names, label="key"): parent[where[-1]]}
        elif isinstance(parent[where[-1]], (int, float)) and not isinstance(parent[where[-1]], bool):
            factor = data.draw(st.sampled_from([-1, 10, 1e6, 1e300, 0.5, 1e-300]), label="factor")
            parent[where[-1]] = parent[where[-1]] * factor
    elif kind == "unknown":
        tables = (
            [document]
            + [v for v in document.values() if isinstance(v, dict)]
            + [item for v in document.values() if isinstance(v, list) for item in v if isinstance(item, dict)]
        )
        table = data.draw(st.sampled_from(tables), label="table")
        table[data.draw(field_names, label="key")] = data.draw(wild_values, label="value")
    elif kind == "duplicate_firm":
        firms = document.setdefault("firms", [])
        if isinstance(firms, list) and firms:
            twin = data.draw(st.sampled_from(firms), label="firm")
            firms.append(dict(twin) if isinstance(twin, dict) else twin)
    elif kind == "rename_firm":
        firms = document.get("firms")
        if isinstance(firms, list) and firms and isinstance(firms[-1], dict):
            firms[-1]["name"] = data.draw(scalars, label="name")
    elif kind == "extends":
        document["extends"] = data.draw(bad_extends, label="extends")
    elif kind == "events":
        document.setdefault("events", [])
        if isinstance(document["events"], list):
            document["events"].append(
                data.draw(
                    st.fixed_dictionaries(
                        {
                            "month": st.one_of(st.integers(-2, 200), scalars),
                            "firm": st.sampled_from(["A", "B", "Z", "all", "D"]),
                            "lever": st.sampled_from(
                                ["price", "quality", "exit_fee", "image", "contract_months", "save_rate"]
                            ),
                        },
                        optional={
                            "to": st.one_of(st.floats(-10, 1e6), scalars),
                            "by": st.one_of(st.floats(-2, 20), scalars),
                            "months": st.one_of(st.integers(-1, 24), scalars),
                        },
                    ),
                    label="event",
                )
            )


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    """A shipped scenario with one to three random mutations, as TOML text."""
    name = draw(st.sampled_from(sorted(SHIPPED_RAW)), label="scenario")
    document = json.loads(json.dumps(SHIPPED_RAW[name]))  # a deep copy
    data = draw(st.data())
    for _ in range(draw(st.integers(1, 3), label="mutations")):
        mutate_once(data, document)
    return to_toml(document)


SPLICES = st.sampled_from(
    [
        b"\xff",
        b"\xc3",
        b"\xed\xa0\x80",
        b"\x00",
        b"\n[market]\n",
        b"\n[[firms]]\n",
        b" = ",
        b'"',
        b"nan",
        b"[[",
    ]
)


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    """A shipped scenario's bytes with lines dropped or repeated, or bytes (often not UTF-8) spliced in."""
    text = bytearray(draw(st.sampled_from(sorted(SHIPPED_BYTES.values())), label="scenario"))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["splice", "drop_line", "repeat_line", "truncate"]))
        at = draw(st.integers(0, len(text)))
        if kind == "splice":
            text[at : at + draw(st.integers(0, 8))] = draw(st.binary(min_size=1, max_size=6) | SPLICES)
        elif kind in ("drop_line", "repeat_line"):
            start = text.rfind(b"\n", 0, at) + 1
            end = text.find(b"\n", at)
            end = len(text) if end < 0 else end + 1
            text[start:end] = b"" if kind == "drop_line" else text[start:end] * 2
        else:
            del text[at:]
    return bytes(text)


toml_fragments = st.sampled_from(
    [
        "\n",
        "[market]\n",
        "[population]\n",
        "[[firms]]\n",
        "[[events]]\n",
        "[firms]\n",
        "name = ",
        "customers = ",
        "price = ",
        "extends = ",
        "seed = ",
        "lever = ",
        "firm = ",
        "to = ",
        "by = ",
        '"baseline.toml"',
        '"A"',
        '"all"',
        '"price"',
        "1",
        "-1",
        "0.5",
        "1e400",
        "nan",
        "inf",
        "-inf",
        "true",
        "[",
        "]",
        "{",
        "}",
        ", ",
        "=",
        '"',
        "'''",
        "1979-05-27",
        "0x10",
        "a.b = 1",
        " ",
        "# comment",
    ]
)
toml_like_text = st.lists(st.one_of(toml_fragments, st.text(max_size=6)), max_size=30).map("".join)


def write(folder: Path, content: str | bytes, name: str = "mutant.toml") -> Path:
    path = folder / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8", errors="surrogatepass"))
    else:
        path.write_bytes(content)
    return path


# --- the properties ----------------------------------------------------------------------------------------------


@FUZZ
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300), toml_like_text))
def test_random_text_and_bytes_load_or_give_one_clear_line(folder, content):
    load_or_explain(write(folder, content), folder)


@FUZZ
@given(content=mutated_documents())
def test_mutated_shipped_scenarios_load_or_give_one_clear_line(folder, content):
    load_or_explain(write(folder, content), folder)


@FUZZ
@given(content=mutated_bytes())
def test_damaged_shipped_files_load_or_give_one_clear_line(folder, content):
    load_or_explain(write(folder, content), folder)


MAY_BE_MISSING = {"satisfaction", "trust", "tenure", "clv"}  # means over no customers, and CLV without churn


def extremes(field: FieldInfo) -> list[float]:
    """The edges of what a numeric field allows, and large values where it has no upper edge."""
    low = next((m.ge for m in field.metadata if isinstance(m, at.Ge)), None)
    above = next((m.gt for m in field.metadata if isinstance(m, at.Gt)), None)
    high = next((m.le for m in field.metadata if isinstance(m, at.Le)), None)
    values = [low] if low is not None else [above + 1e-6] if above is not None else [-1e3, -1e6]
    values += [high] if high is not None else [1e3, 1e6]
    return [int(v) if field.annotation is int else float(v) for v in values]


NUMERIC_FIELDS = [
    (table, name, extremes(field))
    for table, model in (("market", Market), ("population", Population), ("firms", FirmLevers))
    for name, field in model.model_fields.items()
    if field.annotation in (int, float) and name not in {"customers", "periods"}
]


@st.composite
def extreme_but_valid_documents(draw: st.DrawFn) -> str:
    """A shipped scenario with one to four numeric fields pushed to the edge of what the schema allows."""
    name = draw(st.sampled_from(sorted(SHIPPED_RAW)), label="scenario")
    document = json.loads(json.dumps(SHIPPED_RAW[name]))
    for _ in range(draw(st.integers(1, 4), label="changes")):
        table, field, values = draw(st.sampled_from(NUMERIC_FIELDS), label="field")
        value = draw(st.sampled_from(values), label="value")
        if table == "firms":
            firms = document.setdefault("firms", [{"name": "A"}])
            firm = draw(st.sampled_from(firms), label="firm")
            firm[field] = value
        else:
            document.setdefault(table, {})[field] = value
    return to_toml(document)


@settings(FUZZ, max_examples=40)
@given(content=extreme_but_valid_documents())
def test_extreme_values_the_loader_accepts_run_with_finite_results(folder, content):
    """What the loader accepts, a run can use: a tiny market runs through every event, and its books stay finite."""
    scenario = load_or_explain(write(folder, content), folder)
    assume(isinstance(scenario, Scenario))  # a cross-field rule refused the combination
    last_change = max((e.month + (e.months or 0) for e in scenario.events), default=0)
    periods = min(scenario.market.periods, last_change + 2, 60)
    tiny = scenario.model_copy(update={"market": scenario.market.model_copy(update={"customers": 40})})
    results = LoyaltyModel(tiny, seed=scenario.seed).run(periods).results()
    assert len(results) == periods * len(scenario.firms)
    numbers = results.drop(columns=sorted(MAY_BE_MISSING)).select_dtypes("number")
    assert np.isfinite(numbers.to_numpy()).all(), numbers.columns[~np.isfinite(numbers).all()].tolist()
    assert results.churn_rate.between(0, 1).all() and results.market_share.between(0, 1).all()


# --- specific mutations the fuzzing must keep covering -----------------------------------------------------------


def shipped_with(folder: Path, body: str, name: str = "mutant.toml") -> str:
    """The error line for a what-if of the baseline with ``body``."""
    message = load_or_explain(write(folder, f'extends = "baseline.toml"\n{body}', name), folder)
    assert isinstance(message, str), "expected a refusal"
    return message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[firms]]\nname = "B"\nprice = nan\n', "mutant.toml: firms[1].price = nan: must be a finite number"),
        ("[market]\noutside_value = -inf\n", "mutant.toml: market.outside_value = -inf: must be a finite number"),
        (
            "[population]\nsegment_shares = [nan, 0.5, 0.5]\n",
            "mutant.toml: population.segment_shares[0] = nan: must be a finite number",
        ),
        (
            "[market]\ncustomers = true\n",
            "mutant.toml: market.customers = true: must be a whole number, not true or false",
        ),
        (
            '[[firms]]\nname = "A"\nsilver_after = 100000000000000000000000\n',
            "mutant.toml: firms[0].silver_after = 100000000000000000000000: "
            "is beyond the 64-bit range of TOML integers",
        ),
        (
            '[[firms]]\nname = "D"\n[[firms]]\nname = "D"\nprice = 5.0\n',
            "mutant.toml: firms[1].name = 'D': firm names must be unique (firms[0] has the same name)",
        ),
        (
            '[[events]]\nmonth = 3\nfirm = "A"\nlever = "quality"\nto = 5.0\n',
            "mutant.toml: events[0].to = 5.0: would set A's quality to 5 at month 3",
        ),
        (
            '[[events]]\nmonth = 3\nfirm = "all"\nlever = "quality"\nby = 0.5\n',
            "mutant.toml: events[0].by = 0.5: would set A's quality to 1.125 at month 3",
        ),
        (
            '[[events]]\nmonth = 3\nfirm = "B"\nlever = "price"\nto = 1e308\n[[events]]\nmonth = 4\nfirm = "B"\n'
            'lever = "price"\nby = 9.0\n',
            "mutant.toml: events[0].to = 1e+308: would set B's price to 1e+308 at month 3, "
            "but price must be <= 1000000",
        ),
        (
            '[[events]]\nmonth = 3\nfirm = "B"\nlever = "price"\nto = 1e6\n[[events]]\nmonth = 4\nfirm = "B"\n'
            'lever = "price"\nby = 9.0\n',
            "mutant.toml: events[1].by = 9.0: would set B's price to 1e+07 at month 4, but price must be <= 1000000",
        ),
        ('[[firms]]\nname = "A"\nprice = 1e308\n', "mutant.toml: firms[0].price = 1e+308: must be <= 1000000.0"),
        ('[market]\n"custo\\nmers" = 5\n', 'mutant.toml: market."custo\\nmers": unknown field'),
        (
            '[[firms]]\nname = "A"\ngold_after = 1\n',
            "mutant.toml: firms[0].gold_after = 1: gold_after must be at least silver_after",
        ),
        (
            "[population]\nsegment_shares = [0.5, 0.5, 0.5]\n",
            "mutant.toml: population.segment_shares = [0.5, 0.5, 0.5]: segment_shares must be three",
        ),
        (
            '[[events]]\nmonth = 3\nfirm = "Z"\nlever = "price"\nby = 0.1\n',
            "mutant.toml: events[0].firm = 'Z': event at month 3 names firm 'Z'; firms are A, B, C or 'all'",
        ),
        ("[market]\ncustomers = " + "[" * 40 + "]" * 40 + "\n", "mutant.toml: market.customers[0][0][0]"),
        ("[market]\ncustomers = " + "[" * 3000 + "]" * 3000 + "\n", "mutant.toml: not valid TOML: "),
        ('name = "' + "x" * 500 + '"\n[market]\ncustomers = -1\n', "mutant.toml: market.customers = -1: must be >= 1"),
    ],
    ids=[
        "nan",
        "inf",
        "nan-in-tuple",
        "bool-for-int",
        "huge-int",
        "firm-twice-in-a-file",
        "event-out-of-range",
        "relative-event-out-of-range",
        "event-overflows",
        "event-beyond-the-money-bound",
        "price-beyond-the-money-bound",
        "newline-in-key",
        "cross-field-rule",
        "shares-rule",
        "event-names-unknown-firm",
        "nested-where-scalar-goes",
        "nested-beyond-the-parser",
        "long-name-is-fine",
    ],
)
def test_hostile_values_are_refused_in_one_line_naming_the_field(folder, body, expected):
    message = shipped_with(folder, body)
    assert expected in message, message


def test_a_whole_scenario_rule_is_blamed_on_the_field_its_message_names(tmp_path):
    """A rule over the whole scenario (loc ``()``) that starts its message with a path names that field."""

    class WithRule(pydantic.BaseModel):
        events: list[dict]

        @pydantic.model_validator(mode="after")
        def _rule(self) -> WithRule:
            raise ValueError("events[1].by would set B's price to inf at month 4, but price must be a finite number")

    raw = {"events": [{"by": 0.1}, {"by": 9.0}]}
    with pytest.raises(pydantic.ValidationError) as caught:
        WithRule.model_validate(raw)
    line = _describe(caught.value, raw, {}, tmp_path / "rule.toml")
    assert line.endswith(
        "rule.toml: events[1].by = 9.0: would set B's price to inf at month 4, but price must be a finite number"
    )


def test_a_file_that_is_not_utf8_names_the_line(folder):
    message = load_or_explain(write(folder, b'name = "ok"\n[market]\ncustomers = 10\n# caf\xe9\n'), folder)
    assert message.endswith("mutant.toml: not UTF-8 text: byte 0xe9 on line 4; save the file as UTF-8")


def test_broken_extends_are_refused_naming_extends(folder):
    for target, expected in [
        ("nowhere.toml", "extends = 'nowhere.toml': no such file next to it"),
        (".", "extends = '.': not a scenario file"),
        ("x" * 300, "extends = 'xxxxxxxx"),
        ("", "extends = '': must be a file name in quotes"),
        ("mutant.toml", "mutant.toml: extends = 'mutant.toml' makes a cycle"),
    ]:
        message = load_or_explain(write(folder, f'extends = "{target}"\n'), folder)
        assert expected in message, message
    message = load_or_explain(write(folder, "extends = 3\n"), folder)
    assert "extends = 3: must be a file name in quotes" in message


def test_a_path_the_system_cannot_look_up_is_no_such_file():
    for name in ("x" * 5000, "a\0b"):
        with pytest.raises(ScenarioError, match="no such file"):
            load_scenario(name)


def test_a_huge_file_is_refused_before_it_is_parsed(folder):
    message = load_or_explain(write(folder, "# " + "x" * (1 << 20) + "\n"), folder)
    assert "larger than 1 MiB" in message


MUTANTS_FOR_THE_COMMAND = {
    "nan-price": '[[firms]]\nname = "B"\nprice = nan\n',
    "unknown-key-with-newline": '[market]\n"a\\nb" = 1\n',
    "not-utf8": b"[market]\ncustomers = \xff\n",
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS_FOR_THE_COMMAND))
def test_the_check_command_exits_2_with_one_error_line(folder, mutant):
    body = MUTANTS_FOR_THE_COMMAND[mutant]
    content = body if isinstance(body, bytes) else f'extends = "baseline.toml"\n{body}'
    path = write(folder, content, f"{mutant}.toml")
    result = subprocess.run([sys.executable, "-m", "sim.cli", "check", str(path)], capture_output=True, text=True)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and f"{mutant}.toml: " in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
