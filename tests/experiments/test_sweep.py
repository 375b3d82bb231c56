"""Parameter sweeps on Dask: tidy tables, common random numbers, resuming, failures, the command."""

import glob
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client
from typer.testing import CliRunner

from sim import LoyaltyModel, sweep
from sim.cli import app
from sim.engine.scenario_files import SHIPPED, ScenarioError
from sim.experiments.designs import make_design
from sim.experiments.evaluator import dask_client
from sim.experiments.fields import resolve_field, with_values
from sim.experiments.replications import run_one
from sim.experiments.summary import per_replication
from sim.experiments.sweep import SweepError, SweepFailed, load_sweep_file, run_task
from sim.outputs.figures.sweep import plot_sweep
from sim.outputs.reports.sweep import publish_sweep
from tests.conftest import small_market

PRICES = {"firms.A.price": "24:36:3"}
LOYALTY = str(Path(sys.executable).parent / "loyalty")


def executions(folder: Path) -> list[str]:
    """What a counting task recorded: one line per time it ran."""
    return sorted(path.read_text() for path in folder.iterdir())


def counting_task(folder: Path, fail_at_price: float | None = None):
    """A task that runs the model as usual, leaves one file per execution, and fails at one price."""

    def task(scenario, seed):
        (folder / uuid.uuid4().hex).write_text(f"{scenario.firms[0].price:g} {seed}")
        if (
            fail_at_price is not None
            and scenario.firms[0].price == fail_at_price
            and not (folder.parent / "mended").exists()
        ):
            raise ValueError(f"no run at price {fail_at_price:g}")
        return run_task(scenario, seed)

    return task


def test_a_sweep_is_one_tidy_row_per_point_seed_and_firm(cluster):
    table = sweep(
        small_market(300, 14), {**PRICES, "market.contacts": "10,25"}, seeds=[3, 4], scheduler=cluster, store=None
    )
    assert len(table) == 3 * 2 * 2 * 3
    assert list(table.columns[:6]) == ["scenario", "point", "firms.A.price", "market.contacts", "seed", "firm"]
    assert {
        "cohort_retention_pct",
        "annual_retention_pct",
        "monthly_churn_pct",
        "final_share_pct",
        "profit_per_month",
        "discounted_profit",
    } <= set(table.columns)
    assert table["market.contacts"].dtype == np.int64 and table["firms.A.price"].dtype == np.float64
    assert sorted(table["firms.A.price"].unique()) == [24.0, 30.0, 36.0]
    assert all(sorted(set(seeds)) == [3, 4] for _, seeds in table.groupby("point")["seed"])  # common random numbers
    assert table.attrs["seeds"] == [3, 4] and table.attrs["version"] and table.attrs["scenario"]["name"] == "small"
    assert table.attrs["design"]["kind"] == "grid" and table.attrs["design"]["points"] == 6
    assert table.attrs["tasks"] == {"total": 12, "computed": 12, "stored": 0, "failed": 0}


@pytest.fixture(scope="module")
def prices(cluster):
    """A sweep of firm A's price in a small market, on the shared two-worker cluster."""
    return sweep(small_market(300, 14), PRICES, seeds=[3, 4], scheduler=cluster, store=None)


def test_each_run_gives_the_numbers_of_run_one_for_the_same_point_and_seed(prices):
    base, table = small_market(300, 14), prices
    at_36 = with_values(base, [resolve_field(base, "firms.A.price")], [36.0])
    expected = per_replication(run_one(at_36, 4)).drop(columns="seed").reset_index(drop=True)
    got = table[(table["firms.A.price"] == 36.0) & (table.seed == 4)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got[expected.columns], expected)


@pytest.mark.parametrize("period_months", [1, 3])
def test_a_task_takes_the_segments_in_the_last_period_only_and_summarises_its_run_exactly(period_months):
    base = small_market(400, 10)
    scenario = base.model_copy(update={"market": base.market.model_copy(update={"period_months": period_months})})
    full = LoyaltyModel(scenario, seed=5).run().results()
    pd.testing.assert_frame_equal(run_task(scenario, 5), per_replication(full), check_exact=True)
    lean = LoyaltyModel(scenario, seed=5).run(segments="last period").results()
    last = lean.period == lean.period.max()
    segments = ["true_loyal", "latent_loyal", "spurious_loyal", "not_loyal", "latent_elsewhere"]
    assert lean.loc[~last, segments].isna().all().all()
    pd.testing.assert_frame_equal(lean.loc[last, segments], full.loc[last, segments], check_exact=True)
    assert lean.loc[lean.period > 0, "lost_true"].isna().all()  # leavers by a segment not taken the month before
    others = [c for c in full.columns if c not in segments and not c.startswith(("lost_", "latent_"))]
    pd.testing.assert_frame_equal(lean[others], full[others], check_exact=True)
    with pytest.raises(ValueError, match="segments = 'never'"):
        LoyaltyModel(scenario, seed=5).run(segments="never")


def test_a_one_worker_cluster_on_127_0_0_1_gives_the_same_numbers_as_two_workers(prices):
    with dask_client(workers=1) as client:
        info = client.scheduler_info()
        assert info["address"].startswith("tcp://127.0.0.1:") and len(info["workers"]) == 1
        assert all(address.startswith("tcp://127.0.0.1:") for address in info["workers"])
        one = sweep(small_market(300, 14), PRICES, seeds=[3, 4], scheduler=client, store=None)
    pd.testing.assert_frame_equal(one, prices)


def test_a_sweep_run_again_computes_only_what_is_missing(cluster, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    task = counting_task(marks, fail_at_price=30.0)
    base = small_market(300, 14)
    with pytest.warns(RuntimeWarning, match="2 of 6 tasks failed"):
        first = sweep(base, PRICES, seeds=[1, 2], scheduler=cluster, store=tmp_path / "store", retries=0, task=task)
    assert first.attrs["tasks"] == {"total": 6, "computed": 4, "stored": 0, "failed": 2}
    assert len(executions(marks)) == 6
    (tmp_path / "mended").touch()
    second = sweep(base, PRICES, seeds=[1, 2], scheduler=cluster, store=tmp_path / "store", retries=0, task=task)
    assert second.attrs["tasks"] == {"total": 6, "computed": 2, "stored": 4, "failed": 0}
    assert executions(marks).count("30 1") == 2 and len(executions(marks)) == 8  # only the two missing runs ran again
    third = sweep(base, PRICES, seeds=[1, 2], scheduler=cluster, store=tmp_path / "store", retries=0, task=task)
    assert third.attrs["tasks"]["computed"] == 0 and len(executions(marks)) == 8
    whole = sweep(base, PRICES, seeds=[1, 2], scheduler=cluster, store=None)
    pd.testing.assert_frame_equal(second, whole)
    pd.testing.assert_frame_equal(third, whole)


def test_a_failing_task_is_retried_then_reported_with_its_inputs_while_the_rest_complete(cluster, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    with pytest.warns(RuntimeWarning, match="2 of 6 tasks failed"):
        table = sweep(
            small_market(300, 14),
            PRICES,
            seeds=[1, 2],
            scheduler=cluster,
            store=None,
            retries=2,
            task=counting_task(marks, fail_at_price=30.0),
        )
    ran = executions(marks)
    assert ran.count("30 1") == 3 and ran.count("30 2") == 3  # the first try and two retries
    assert ran.count("24 1") == 1 and ran.count("36 2") == 1
    assert sorted(table["firms.A.price"].unique()) == [24.0, 36.0] and len(table) == 4 * 3
    failures = table.attrs["failures"]
    assert [(f["point"], f["firms.A.price"], f["seed"]) for f in failures] == [(1, 30.0, 1), (1, 30.0, 2)]
    assert failures[0]["error"] == "ValueError: no run at price 30"
    folder = publish_sweep(table, tmp_path / "out")
    assert pd.read_csv(folder / "failures.csv")["error"].tolist() == ["ValueError: no run at price 30"] * 2
    report = (folder / "report.md").read_text()
    assert "## Failures" in report and "2 of 6 runs failed" in report


def test_a_sweep_whose_every_task_fails_raises_with_the_failures(cluster, tmp_path):
    def broken(scenario, seed):
        raise RuntimeError("out of order")

    with pytest.raises(SweepFailed, match="all 3 tasks failed.*RuntimeError: out of order") as caught:
        sweep(small_market(300, 14), PRICES, seeds=[1], scheduler=cluster, store=None, retries=0, task=broken)
    assert len(caught.value.failures) == 3


def test_grids_keep_whole_numbers_whole_and_sampled_designs_fill_their_ranges():
    base = small_market()
    grid = make_design(base, {"market.contacts": "0:30:4", "firms.B.quality": [0.6, 0.8, 3]})
    assert grid.points["market.contacts"].tolist() == [0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30]
    assert grid.points["firms.B.quality"].tolist()[:3] == pytest.approx([0.6, 0.7, 0.8])
    lhs = make_design(base, {"firms.A.price": "20:40", "market.contacts": "5:24"}, "lhs", samples=20)
    strata = np.floor((lhs.points["firms.A.price"] - 20) / 20 * 20)
    assert sorted(strata) == list(range(20))  # a Latin hypercube: one point in each of the 20 slices
    assert sorted(lhs.points["market.contacts"]) == list(range(5, 25))  # 20 whole numbers, each once
    sobol = make_design(base, {"firms.A.price": "20:40"}, "sobol", samples=16)
    assert sobol.points["firms.A.price"].between(20, 40).all() and sobol.points["firms.A.price"].nunique() == 16
    again = make_design(base, {"firms.A.price": "20:40"}, "sobol", samples=16)
    pd.testing.assert_frame_equal(sobol.points, again.points)


def test_the_sweep_table_of_a_scenario_file_is_read_and_checked(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(
        f'extends = "{SHIPPED / "baseline.toml"}"\nname = "good"\n[sweep]\ndesign = "lhs"\nsamples = 8\n'
        '[sweep.vary]\n"firms.A.price" = [24, 36]\n"firms.A.care_spend" = { low = 0, high = 4 }\n'
    )
    scenario, spec = load_sweep_file(good)
    assert scenario.name == "good" and spec.design == "lhs" and spec.samples == 8
    assert make_design(scenario, spec.vary, spec.design, spec.samples).points.shape == (8, 2)
    bad = tmp_path / "bad.toml"
    bad.write_text(f'extends = "{SHIPPED / "baseline.toml"}"\n[sweep]\ndesing = "grid"\n')
    with pytest.raises(ScenarioError, match=r"bad.toml: sweep.desing: unknown field; did you mean 'design'\?"):
        load_sweep_file(bad)
    shipped, spec = load_sweep_file("price_sweep")
    assert spec is not None and make_design(shipped, spec.vary, spec.design).points.shape[0] >= 5


@pytest.mark.parametrize(
    "vary, message",
    [
        ("firms.A.prize=8:14:7", "firms.A.prize: unknown field; did you mean 'price'? (allowed: price, quality,"),
        ("firms.Z.price=8:14:7", "firms.Z.price: no firm named 'Z' (firms: A, B, C)"),
        ("firm.A.price=8:14:7", "firm.A.price: not a field path; use market.NAME, population.NAME, firms.FIRM.NAME"),
        ("firm.price=8:14:7", "firm.price: firm.NAME names the study's firm, and this study has none"),
        ("firms.A.price=8:14:x", "--vary firms.A.price=8:14:x: 'x' is not a number"),
        ("firms.A.price=14:8:3", "--vary firms.A.price=14:8:3: LOW must be below HIGH"),
        (
            "firms.A.price=8:14:1.5",
            "--vary firms.A.price=8:14:1.5: N = 1.5: the number of points must be a whole number >= 2",
        ),
        ("firms.A.price", "--vary firms.A.price: write PATH=SPEC"),
        ("firms.A.price=-4:14:3", "firms.A.price = -4.0: must be >= 0.0"),
        ("market.contacts=1:3:5", "market.contacts: 5 points from 1 to 3 repeat whole numbers; use at most 3"),
        ("population.segment_shares=0:1:3", "population.segment_shares: not a single number"),
    ],
)
def test_a_bad_vary_exits_2_with_one_line_and_writes_nothing(tmp_path, vary, message):
    result = CliRunner().invoke(app, ["sweep", "baseline", "--vary", vary, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines
    assert not (tmp_path / "out").exists()


def start_and_interrupt(
    command: list[str], out: Path, signal_number: int, group: bool = False
) -> subprocess.CompletedProcess:
    """Start a sweep command, send it a signal as soon as its first run is stored, and wait for it to end.

    With ``group``, the signal goes to the command's whole process group, as a Ctrl-C in a terminal does.
    """
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=group
    )
    pattern = str(out / ".sweeps" / "*" / "tasks" / "p*.parquet")
    deadline = time.time() + 60
    while not glob.glob(pattern) and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the sweep ended before it could be interrupted"
    if group:
        os.killpg(process.pid, signal_number)
    else:
        process.send_signal(signal_number)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def sweep_command(cluster: Client, out: Path) -> list[str]:
    return [
        LOYALTY,
        "sweep",
        "baseline",
        "--vary",
        "firms.A.price=24:36:10",
        "-r",
        "2",
        "--customers",
        "1500",
        "--periods",
        "24",
        "--scheduler",
        cluster.scheduler.address,
        "--out",
        str(out),
    ]


def test_an_interrupted_sweep_leaves_no_results_folder_and_resumes_to_the_same_numbers(cluster, tmp_path):
    out = tmp_path / "results"
    stopped = start_and_interrupt(sweep_command(cluster, out), out, signal.SIGINT)
    assert stopped.returncode == 130
    assert "run the same command again to resume" in stopped.stderr and "Traceback" not in stopped.stderr
    assert [p.name for p in out.iterdir()] == [".sweeps"]  # no results folder, whole or partial
    stored = len(glob.glob(str(out / ".sweeps" / "*" / "tasks" / "p*.parquet")))
    assert 1 <= stored < 20

    again = subprocess.run(sweep_command(cluster, out), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"{20 - stored} runs computed, {stored} taken from the store, 0 failed" in again.stdout
    folder = next(p for p in out.iterdir() if not p.name.startswith("."))
    published = pd.read_parquet(folder / "sweep.parquet")
    scenario, _ = load_sweep_file("baseline")
    scenario = scenario.model_copy(
        update={"market": scenario.market.model_copy(update={"customers": 1500, "periods": 24})}
    )
    whole = sweep(scenario, {"firms.A.price": "24:36:10"}, seeds=[1, 2], scheduler=cluster, store=None)
    whole.attrs = {}
    pd.testing.assert_frame_equal(published, whole)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seeds"] == [1, 2] and manifest["version"] and manifest["scenario"]["market"]["customers"] == 1500
    assert manifest["design"]["factors"] == [{"field": "firms.A.price", "low": 24.0, "high": 36.0, "points": 10}]
    assert manifest["tasks"] == {"total": 20, "computed": 20 - stored, "stored": stored, "failed": 0}
    assert {"sweep.csv", "points.csv", "response.png", "report.md", "report.html"} <= {p.name for p in folder.iterdir()}
    assert "firms.A.price" in (folder / "report.md").read_text()


def test_a_terminated_sweep_exits_143_and_leaves_no_results_folder(cluster, tmp_path):
    out = tmp_path / "results"
    stopped = start_and_interrupt(sweep_command(cluster, out), out, signal.SIGTERM)
    assert stopped.returncode == 143 and "Traceback" not in stopped.stderr
    assert [p.name for p in out.iterdir()] == [".sweeps"]


def test_ctrl_c_in_a_terminal_stops_the_local_cluster_without_a_traceback_from_its_workers(tmp_path):
    out = tmp_path / "results"
    command = [
        LOYALTY,
        "sweep",
        "baseline",
        "--vary",
        "firms.A.price=24:36:10",
        "-r",
        "2",
        "--customers",
        "1500",
        "--periods",
        "24",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    stopped = start_and_interrupt(command, out, signal.SIGINT, group=True)
    assert stopped.returncode == 130 and "Traceback" not in stopped.stderr, stopped.stderr
    assert [p.name for p in out.iterdir()] == [".sweeps"]


def test_two_fields_draw_heat_maps_and_more_draw_main_effects(cluster, tmp_path):
    base = small_market(300, 14)
    two = sweep(
        base, {"firms.A.price": "24:36:3", "firms.A.care_spend": "0,2"}, seeds=[1], scheduler=cluster, store=None
    )
    assert len(two) == 3 * 2 * 3
    assert [p.name for p in plot_sweep(two, tmp_path / "two")] == ["heatmap.png"]
    three = sweep(
        base,
        {"firms.A.price": "24:36", "firms.A.care_spend": "0:2", "population.price_sensitivity": "0.05:0.2"},
        design="lhs",
        samples=8,
        seeds=[1],
        scheduler=cluster,
        store=None,
    )
    drawn = plot_sweep(three, tmp_path / "three")
    assert [p.name for p in drawn] == [
        f"main_effects_{o}.png"
        for o in ("cohort_retention_pct", "final_share_pct", "profit_per_month", "discounted_profit")
    ]
    assert all(p.stat().st_size > 20_000 for p in drawn)


def test_setting_a_field_to_an_allowed_value_checks_the_whole_scenario():
    base = small_market()
    silver, gold = resolve_field(base, "firms.A.silver_after"), resolve_field(base, "firms.A.gold_after")
    assert with_values(base, [silver, gold], [6, 12]).firms[0].gold_after == 12
    with pytest.raises(SweepError, match="gold_after must be at least silver_after"):
        with_values(base, [silver], [40])
