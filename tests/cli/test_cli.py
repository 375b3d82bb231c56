"""The `loyalty` command, end to end, into temporary folders."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.engine.scenario_files import SHIPPED
from sim.outputs.folders import RunFolder

SMALL = ["--customers", "300", "--periods", "14", "--replications", "2"]


def loyalty(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"loyalty {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def only_folder(root: Path) -> Path:
    entries = list(root.iterdir())
    assert len(entries) == 1, entries
    return entries[0]


def test_the_console_script_is_installed():
    assert (Path(sys.executable).parent / "loyalty").exists()


def test_run_writes_a_complete_results_folder(tmp_path):
    out = loyalty("run", "baseline", *SMALL, "--workers", "2", "--out", str(tmp_path))
    folder = only_folder(tmp_path)
    assert folder.name.startswith("baseline-")
    for name in (
        "results.csv",
        "results.parquet",
        "summary.csv",
        "summary.parquet",
        "manifest.json",
        "report.md",
        "report.html",
        "market_share.png",
        "churn_retention.png",
        "profit.png",
        "loyalty_segments.png",
    ):
        assert (folder / name).stat().st_size > 0, name
    results = pd.read_parquet(folder / "results.parquet")
    assert sorted(results.seed.unique()) == [1, 2] and results.period.max() == 13
    pd.testing.assert_frame_equal(pd.read_csv(folder / "results.csv"), results, check_dtype=False, atol=1e-6)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seeds"] == [1, 2] and manifest["scenario"]["name"] == "baseline"
    assert manifest["scenario"]["market"]["customers"] == 300 and manifest["version"]
    assert "run baseline" in manifest["command"]
    report = (folder / "report.md").read_text()
    assert "## What the model says" in report and "![market share](market_share.png)" in report
    assert "<img" in (folder / "report.html").read_text()
    assert "12-month retention %" in out.stdout and str(folder) in out.stdout


def test_replications_give_the_same_numbers_in_one_process_or_several(tmp_path):
    loyalty("run", "baseline", *SMALL, "--workers", "1", "--out", str(tmp_path / "one"))
    loyalty("run", "baseline", *SMALL, "--workers", "2", "--out", str(tmp_path / "two"))
    one = pd.read_parquet(only_folder(tmp_path / "one") / "results.parquet")
    two = pd.read_parquet(only_folder(tmp_path / "two") / "results.parquet")
    pd.testing.assert_frame_equal(one, two)


def test_compare_puts_intervals_on_paired_differences(tmp_path):
    dearer = tmp_path / "dearer.toml"
    dearer.write_text(
        f'extends = "{SHIPPED / "baseline.toml"}"\nname = "dearer-a"\n[[firms]]\nname = "A"\nprice = 45.0\n'
    )
    out = loyalty(
        "compare",
        "baseline",
        str(dearer),
        "--customers",
        "1500",
        "--periods",
        "24",
        "-r",
        "4",
        "--out",
        str(tmp_path / "results"),
    )
    folder = only_folder(tmp_path / "results")
    table = pd.read_csv(folder / "comparison.csv")
    a = table[(table.scenario == "dearer-a") & (table.firm == "A")].iloc[0]
    assert a.final_share_pct_diff_high < 0  # a much dearer A clearly loses share
    assert {"compare_share.png", "compare_churn.png", "compare_profit.png", "compare_summary.png"} <= {
        p.name for p in folder.iterdir()
    }
    assert "dearer-a" in out.stdout and "firm A" in out.stdout
    report = (folder / "report.md").read_text()
    header = next(line for line in report.splitlines() if line.startswith("| scenario | firm | 12-month retention %"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert [c for c in columns if c.endswith("vs baseline")] == [
        "retention vs baseline",
        "churn vs baseline",
        "share vs baseline",
        "profit vs baseline",
    ]  # one column of paired differences per measure, each next to its measure
    row = next(line for line in report.splitlines() if line.startswith("| dearer-a | A |"))
    share_change = [c.strip() for c in row.strip("|").split("|")][columns.index("share vs baseline")]
    assert share_change.startswith(f"{a.final_share_pct_diff:.1f}")


def test_a_bad_scenario_exits_2_with_one_line_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'extends = "{SHIPPED / "baseline.toml"}"\n[[firms]]\nname = "B"\nprice = -3.0\n')
    result = loyalty("check", str(bad), check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert lines[0].endswith("bad.toml: firms[1].price = -3.0: must be >= 0.0")
    assert "Traceback" not in result.stderr
    run = loyalty("run", str(bad), "--out", str(tmp_path / "results"), check=False)
    assert run.returncode == 2 and not (tmp_path / "results").exists()


def test_check_and_list_describe_scenarios():
    assert "ok - baseline" in loyalty("check", "baseline").stdout
    listing = loyalty("list").stdout
    assert all(path.stem in listing for path in SHIPPED.glob("*.toml"))
    assert "invalid" not in listing


def test_an_interrupted_run_leaves_nothing_behind(tmp_path):
    out = tmp_path / "results"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "run",
            "baseline",
            "--customers",
            "20000",
            "-r",
            "20",  # some 10 s of runs: still running when it is stopped, on any machine this suite runs on
            "-j",
            "1",
            "--out",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert process.returncode != 0
    assert not out.exists() or list(out.iterdir()) == []


def test_a_folder_that_fails_while_being_written_disappears(tmp_path):
    with pytest.raises(RuntimeError):
        with RunFolder(tmp_path, "doomed") as folder:
            folder.write("report.md", "half")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_partial_folders_of_dead_processes_are_cleaned_up(tmp_path):
    abandoned = tmp_path / ".old-20260101-000000.partial-999999999"
    abandoned.mkdir()
    with RunFolder(tmp_path, "next") as folder:
        folder.write("report.md", "done")
    assert [p.name for p in tmp_path.iterdir()] == [folder.final.name]
