"""What a command writes: never an input, never an existing file without --force, and checked before anything runs.

A results folder that cannot be written (``--out`` a file, a folder nobody
may write, a name too long for the file system) and an output file that is
one of the command's inputs, that exists, or lies in a folder that is a
file, are refused in one line with exit status 2 before any simulation
starts, and leave nothing behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.engine.scenario_files import SHIPPED, load_scenario
from sim.outputs.folders import OutputError, check_results_folder, safe_name
from sim.outputs.scenario_toml import derived_toml

QUICK = ["--customers", "200", "--periods", "3", "-r", "1", "-j", "1"]
TABLE = "period,retained\n1,0.9\n2,0.85\n3,0.8\n4,0.76\n"


def loyalty(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def refused(result, line: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {line}\n", result.stderr
    assert result.stdout == ""  # nothing ran: not even the first line of a summary


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder in which no folder can be created: read-only for a user, a folder of /sys for root."""
    if os.geteuid() == 0:
        return Path("/sys/loyalty-sim-results")
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o555)
    return folder / "results"


def what_if(tmp_path: Path, name: str = "my_whatif.toml", body: str = "") -> Path:
    path = tmp_path / name
    path.write_text(f'# my own what-if\nextends = "{SHIPPED / "baseline.toml"}"\n{body}')
    return path


COMMANDS = {
    "run": ["run", "baseline", *QUICK],
    "compare": ["compare", "baseline", "price_war", *QUICK],
    "lift": ["lift", "baseline", *QUICK],
    "sweep": ["sweep", "baseline", "--vary", "firms.A.price=25,30", *QUICK],
    "sensitivity": ["sensitivity", "baseline", "--factor", "firms.A.price=25:35", "--customers", "200"],
    "validate-model": ["validate-model", "--fast"],
    "calibrate": ["calibrate", "baseline", "--retention", "{table}", "--customers", "200"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_results_folder_is_checked_before_anything_runs(tmp_path, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("table.csv").write_text(TABLE)
    Path("afile").write_text("not a folder\n")
    args = [a.replace("{table}", "table.csv") for a in COMMANDS[command]]
    refused(loyalty(*args, "--out", "afile"), "--out afile: afile is a file, not a folder")
    refused(loyalty(*args, "--out", "afile/results"), "--out afile/results: afile is a file, not a folder")
    locked = unwritable_folder(tmp_path)
    result = loyalty(*args, "--out", locked)
    assert result.exit_code == 2 and result.stderr.startswith(f"error: --out {locked}: cannot write there: ")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["afile", "table.csv", *(["locked"] * (locked.parent == tmp_path / "locked"))]
    )


def test_the_check_of_a_results_folder_leaves_no_folder_behind(tmp_path):
    check_results_folder(tmp_path / "a" / "b" / "c", "baseline")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OutputError, match="is a file, not a folder"):
        (tmp_path / "file").write_text("")
        check_results_folder(tmp_path / "file" / "c", "baseline")


def test_a_scenario_name_of_300_characters_runs_and_gets_a_folder_the_file_system_takes(tmp_path):
    long = what_if(tmp_path, "long.toml", f'name = "{"x" * 300}"\n')
    result = loyalty("run", long, *QUICK, "--out", tmp_path / "results")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "results").iterdir()
    assert folder.name.startswith("x" * 80) and len(folder.name.encode()) < 120
    assert (folder / "report.html").exists()
    assert safe_name("y" * 300) != safe_name("y" * 299) and len(safe_name("é" * 300).encode()) <= 96


def test_cohort_refuses_a_folder_for_its_file_and_leaves_nothing_in_it_or_beside_it(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    refused(
        loyalty("cohort", "baseline", "--out", folder, "--customers", "200"),
        f"--out {folder}: is a folder; give the name of the file to write",
    )
    assert list(tmp_path.iterdir()) == [folder] and list(folder.iterdir()) == []


def test_cohort_names_a_file_where_a_folder_should_be(tmp_path):
    (tmp_path / "afile").write_text("")
    target = tmp_path / "afile" / "x.csv"
    refused(
        loyalty("cohort", "baseline", "--out", target, "--customers", "200"),
        f"--out {target}: {tmp_path / 'afile'} is a file, not a folder",
    )
    missing = tmp_path / "nowhere" / "x.csv"
    refused(
        loyalty("cohort", "baseline", "--out", missing, "--customers", "200"),
        f"--out {missing}: no such folder {tmp_path / 'nowhere'}",
    )


def test_cohort_never_writes_over_a_scenario_file_it_reads_even_with_force(tmp_path):
    scenario = what_if(tmp_path)
    before = scenario.read_bytes()
    for extra in ([], ["--force"]):
        refused(
            loyalty("cohort", scenario, "--out", scenario, "--customers", "200", *extra),
            f"--out {scenario}: is the scenario file this command reads; write to another file",
        )
    parent = SHIPPED / "baseline.toml"
    refused(
        loyalty("cohort", scenario, "--out", parent, "--customers", "200", "--force"),
        f"--out {parent}: is a scenario file this command reads; write to another file",
    )
    assert scenario.read_bytes() == before


def test_cohort_refuses_an_existing_file_unless_forced(tmp_path):
    existing = tmp_path / "cohort.csv"
    existing.write_text("keep me\n")
    args = ["cohort", "baseline", "--out", existing, "--months", "3", "--customers", "300", "-r", "2", "-j", "1"]
    refused(loyalty(*args), f"--out {existing}: already exists; give --force to replace it")
    assert existing.read_text() == "keep me\n"
    result = loyalty(*args, "--force")
    assert result.exit_code == 0, result.output
    assert existing.read_text().splitlines()[-1].startswith("3,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.csv"]  # no partial file beside it


def test_calibrate_never_writes_over_its_scenario_or_its_table(tmp_path):
    scenario = what_if(tmp_path)
    table = tmp_path / "table.csv"
    table.write_text(TABLE)
    before = scenario.read_bytes(), table.read_bytes()
    common = ["calibrate", scenario, "--retention", table, "--customers", "200", "--out", tmp_path / "results"]
    for extra in ([], ["--force"]):
        refused(
            loyalty(*common, "--write", scenario, *extra),
            f"--write {scenario}: is the scenario file this command reads; write to another file",
        )
        refused(
            loyalty(*common, "--write", table, *extra),
            f"--write {table}: is the retention table this command reads; write to another file",
        )
    existing = tmp_path / "calibrated.toml"
    existing.write_text("# mine\n")
    refused(loyalty(*common, "--write", existing), f"--write {existing}: already exists; give --force to replace it")
    assert (scenario.read_bytes(), table.read_bytes()) == before and existing.read_text() == "# mine\n"
    assert not (tmp_path / "results").exists()


# --- a scenario derived from a file keeps the file's comments -------------------------------------------------------


def test_a_derived_scenario_keeps_the_files_comments_and_points_extends_at_the_same_parent(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "base.toml").write_text(
        (SHIPPED / "baseline.toml").read_text().replace('name = "baseline"', 'name = "base"')
    )
    source = mine / "what_if.toml"
    source.write_text(
        '# Why this what-if exists.\nextends = "base.toml"\nname = "what_if"\n\n[[firms]]\n'
        '# B cuts its price.\nname = "B"\nprice = 24.0 # a quarter off\n'
    )
    scenario = load_scenario(source)
    changed = scenario.model_copy(
        update={
            "name": "what_if_tuned",
            "market": scenario.market.model_copy(update={"customers": 2_000}),
            "population": scenario.population.model_copy(update={"review_probability": 0.0123}),
            "firms": [f.model_copy(update={"care_spend": 2.5}) if f.name == "C" else f for f in scenario.firms],
        }
    )
    target = tmp_path / "elsewhere" / "tuned.toml"
    target.parent.mkdir()
    text = derived_toml(source, changed, target, "A header", {"market.customers": "--customers 2000"})
    target.write_text(text)
    assert load_scenario(target) == changed
    assert text.startswith("# A header\n\n# Why this what-if exists.\n")
    for kept in ("# B cuts its price.", "price = 24.0 # a quarter off", 'extends = "../mine/base.toml"'):
        assert kept in text
    assert "customers = 2000 # --customers 2000" in text and "review_probability = 0.0123" in text
    assert 'name = "C"\ncare_spend = 2.5' in text  # a firm the file inherits gets a table of its own


def test_a_scenario_no_edit_can_state_is_written_complete(tmp_path):
    source = what_if(tmp_path)
    scenario = load_scenario(source)
    fewer = scenario.model_copy(update={"firms": scenario.firms[:2]})
    text = derived_toml(source, fewer, tmp_path / "fewer.toml", "complete")
    assert "extends" not in text and text.startswith("# complete\n")
    (tmp_path / "fewer.toml").write_text(text)
    assert load_scenario(tmp_path / "fewer.toml") == fewer
