"""Scenario files: data only, merged through `extends`, every mistake one clear line."""

from pathlib import Path

import pytest

from sim import LoyaltyModel
from sim.engine.scenario_files import SHIPPED, ScenarioError, load_scenario

BASELINE = SHIPPED / "baseline.toml"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def what_if(folder: Path, body: str) -> Path:
    return write(folder, "what_if.toml", f'extends = "{BASELINE}"\n{body}')


def error_of(path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_what_if_overrides_only_what_differs(tmp_path):
    path = what_if(
        tmp_path,
        'name = "cheaper-b"\n[market]\ncustomers = 500\n[[firms]]\nname = "B"\nprice = 24.0\n'
        '[[firms]]\nname = "D"\nprice = 20.0\n',
    )
    scenario = load_scenario(path)
    base = load_scenario(BASELINE)
    assert scenario.name == "cheaper-b" and scenario.market.customers == 500
    assert scenario.market.periods == base.market.periods
    assert [(f.name, f.price) for f in scenario.firms] == [("A", 30.0), ("B", 24.0), ("C", 33.0), ("D", 20.0)]
    assert scenario.firms[1].quality == base.firms[1].quality


def test_events_are_added_to_the_parents_and_applied_at_their_month(tmp_path):
    path = what_if(
        tmp_path,
        "[market]\ncustomers = 200\nperiods = 6\n"
        '[[events]]\nmonth = 2\nfirm = "B"\nlever = "price"\nby = -0.15\n'
        '[[events]]\nmonth = 3\nfirm = "all"\nlever = "failure_rate"\nto = 0.5\nmonths = 2\n',
    )
    scenario = load_scenario(path)
    df = LoyaltyModel(scenario, seed=1).run().results().set_index(["period", "firm"])
    assert df.loc[(1, "B"), "price"] == 27.0 and df.loc[(2, "B"), "price"] == pytest.approx(27.0 * 0.85)
    model_log = LoyaltyModel(scenario, seed=1).run().event_log
    assert model_log[0] == "month 2: B price 27 -> 22.95"
    assert sum("back to 0.02" in line for line in model_log) == 3  # the outage ends for every firm
    failures = df.failures.groupby("period").sum()
    assert failures.loc[3:4].min() > 5 * max(failures.loc[0:2].max(), 1)  # the outage
    assert failures.loc[5] < failures.loc[3:4].min() / 5  # and its end


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[firms]]\nname = "B"\nprice = -3.0\n', "what_if.toml: firms[1].price = -3.0: must be >= 0"),
        ('[population]\nreview_probability = "often"\n', "population.review_probability = 'often': must be a number"),
        ("[market]\ncustomers = 2.5\n", "market.customers = 2.5: must be a whole number"),
        ("[market]\ncustomers = 0\n", "market.customers = 0: must be >= 1"),
        ("[market]\ncustmers = 10\n", "market.custmers: unknown field; did you mean 'customers'?"),
        ("replicatons = 3\n", "replicatons: unknown field; did you mean 'replications'?"),
        ('[[events]]\nmonth = 3\nfirm = "B"\nlever = "prise"\nby = 0.1\n', "events[0].lever = 'prise': must be one of"),
        (
            '[[events]]\nmonth = 3\nfirm = "Z"\nlever = "price"\nby = 0.1\n',
            "names firm 'Z'; firms are A, B, C or 'all'",
        ),
        ('[[events]]\nmonth = 3\nfirm = "B"\nlever = "price"\n', "give exactly one of 'to' (new value) or 'by'"),
    ],
    ids=[
        "out-of-range",
        "wrong-type",
        "not-whole",
        "too-small",
        "unknown-key",
        "unknown-top-key",
        "bad-lever",
        "unknown-firm",
        "event-without-change",
    ],
)
def test_each_mistake_is_one_line_naming_file_field_and_what_is_allowed(tmp_path, body, expected):
    assert expected in error_of(what_if(tmp_path, body))


def test_the_error_names_the_file_that_made_the_mistake(tmp_path):
    write(tmp_path, "parent.toml", f'extends = "{BASELINE}"\n[market]\ndiscount_rate = 3.0\n')
    child = write(tmp_path, "child.toml", 'extends = "parent.toml"\nname = "child"\n')
    assert error_of(child).startswith(f"{tmp_path / 'parent.toml'}: market.discount_rate = 3.0: must be <= 1")


def test_bad_toml_is_reported_with_its_line(tmp_path):
    assert "not valid TOML" in error_of(write(tmp_path, "broken.toml", 'name = "x"\n[market\n'))
    assert "line 2" in error_of(write(tmp_path, "broken.toml", 'name = "x"\n[market\n'))


def test_a_missing_file_suggests_a_shipped_scenario():
    assert error_of("basline").startswith("basline: no such file; did you mean 'baseline'?")


def test_a_missing_parent_is_reported(tmp_path):
    assert "extends = 'nowhere.toml': no such file" in error_of(
        write(tmp_path, "orphan.toml", 'extends = "nowhere.toml"\n')
    )


def test_a_cycle_of_extends_is_reported(tmp_path):
    write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    assert "makes a cycle: a.toml -> b.toml -> a.toml" in error_of(tmp_path / "a.toml")


def test_scenario_files_are_data_not_code(tmp_path):
    path = what_if(tmp_path, "name = \"__import__('os').system('touch pwned')\"\n")
    assert load_scenario(path).name.startswith("__import__")
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_loads_and_runs_briefly(path):
    scenario = load_scenario(path)
    assert scenario.description, f"{path.name} should say which question it asks"
    small = scenario.model_copy(update={"market": scenario.market.model_copy(update={"customers": 300, "periods": 6})})
    df = LoyaltyModel(small, seed=scenario.seed).run().results()
    assert len(df) == 6 * len(scenario.firms)


# --- hardening, round two: what a careless and a hostile user found ------------------------------------------------


def test_a_what_if_without_a_name_is_named_for_its_own_file_not_its_parent(tmp_path):
    write(tmp_path, "parent.toml", f'extends = "{BASELINE}"\nname = "parent"\n')
    child = write(tmp_path, "my_whatif.toml", 'extends = "parent.toml"\n[[firms]]\nname = "A"\nprice = 31.0\n')
    assert load_scenario(child).name == "my_whatif"
    assert load_scenario(what_if(tmp_path, "")).name == "what_if"
    named = write(tmp_path, "named.toml", 'extends = "parent.toml"\nname = "mine"\n')
    assert load_scenario(named).name == "mine" and load_scenario(tmp_path / "parent.toml").name == "parent"


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b'\xef\xbb\xbfname = "bom"\n[market]\ncustomers = 300\n')
    scenario = load_scenario(path)
    assert scenario.name == "bom" and scenario.market.customers == 300


def test_a_utf16_file_is_named_for_what_it_is(tmp_path):
    path = tmp_path / "wide.toml"
    path.write_bytes('name = "wide"\n'.encode("utf-16"))
    assert error_of(path).endswith(
        "wide.toml: not UTF-8 text: it starts with a UTF-16 byte-order mark; save the file as UTF-8"
    )


def test_a_chain_of_a_thousand_extends_is_refused_in_one_line(tmp_path):
    write(tmp_path, "c0.toml", 'name = "c"\n')
    for i in range(1, 1000):
        write(tmp_path, f"c{i}.toml", f'extends = "c{i - 1}.toml"\n')
    message = error_of(tmp_path / "c999.toml")
    assert message.startswith(f"{tmp_path / 'c999.toml'}: extends: a chain of more than 32 files")
    assert load_scenario(tmp_path / "c31.toml").name == "c31"  # 32 files are fine


@pytest.mark.parametrize("name", ["", "  "])
def test_an_empty_scenario_name_says_so_rather_than_naming_a_folder(name):
    message = error_of(name)
    assert message.startswith(f"scenario {name!r}: empty; give a scenario file or the name of a shipped scenario")
    assert "folder" not in message and "baseline" in message


MONEY = {
    "firms": [
        "price",
        "brand_investment",
        "care_spend",
        "acquisition_spend",
        "recovery_cost",
        "exit_fee",
        "points_cap",
        "silver_perk",
        "gold_perk",
        "unit_cost",
        "serving_cost",
    ],
    "market": ["care_scale", "brand_scale"],
}


@pytest.mark.parametrize(
    ("table", "field"), [(table, field) for table, fields in MONEY.items() for field in fields], ids="-".join
)
def test_every_money_field_is_bounded_so_that_no_run_books_infinite_profit(tmp_path, table, field):
    header = '[[firms]]\nname = "A"\n' if table == "firms" else f"[{table}]\n"
    where = "firms[0]" if table == "firms" else table
    assert error_of(what_if(tmp_path, f"{header}{field} = 1e308\n")).endswith(
        f"what_if.toml: {where}.{field} = 1e+308: must be <= 1000000.0"
    )
    assert getattr(load_scenario(what_if(tmp_path, f"{header}{field} = 1e6\n")), table)  # the bound itself is allowed
