"""One evaluator interface: in this process, in worker processes, on Dask; the same numbers wherever runs go.

The commands' ``--scheduler`` is tested against a real cluster started as
separate processes (``dask scheduler`` and ``dask worker``), and every study
must give on it exactly what it gives in this process.
"""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.experiments.evaluator import DaskCluster, Failure, InProcess, ProcessPool, dask_client, evaluator
from sim.experiments.replications import run_replications
from tests.conftest import small_market

LOYALTY = str(Path(sys.executable).parent / "loyalty")
COHORT = str(Path(__file__).resolve().parents[2] / "scenarios" / "data" / "subscription_cohort.csv")


def square(x: int) -> int:
    return x * x


def fails_on_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"no {x}\nsecond line")
    return x


def test_the_factory_picks_the_evaluator_for_workers_and_scheduler():
    assert isinstance(evaluator(1), InProcess)
    assert isinstance(evaluator(4), ProcessPool) and evaluator(4).workers == 4
    assert isinstance(evaluator(1, prefer="dask"), DaskCluster)
    assert isinstance(evaluator(4, "tcp://127.0.0.1:1"), DaskCluster)


@pytest.mark.parametrize("make", [InProcess, lambda: ProcessPool(2)], ids=["in-process", "process-pool"])
def test_map_keeps_the_order_of_the_calls_and_as_completed_reports_failures(make):
    runner = make()
    with runner:
        assert runner.map(square, [(k,) for k in range(7)]) == [k * k for k in range(7)]
        outcomes = dict(runner.as_completed(fails_on_three, [(k,) for k in range(5)], retries=1))
    assert outcomes[3] == Failure("ValueError: no 3")
    assert [outcomes[k] for k in (0, 1, 2, 4)] == [0, 1, 2, 4]


def test_map_raises_the_error_of_a_call_that_fails():
    with pytest.raises(ValueError, match="no 3"):
        InProcess().map(fails_on_three, [(3,)])
    with ProcessPool(2) as runner, pytest.raises(ValueError, match="no 3"):
        runner.map(fails_on_three, [(1,), (3,)])


def test_an_evaluator_entered_twice_stays_open_until_the_outer_block_ends():
    runner = ProcessPool(2)
    with runner:
        with runner:
            runner.map(square, [(2,)])
        assert runner.map(square, [(3,)]) == [9]
    assert runner._pool is None


def models_stay_on_one_thread() -> bool:
    from sim.engine import compiling

    return compiling.blocks(10**6) is None


def test_a_pool_worker_keeps_even_a_large_markets_passes_on_its_one_thread():
    # The pool has a worker per core, each in its main thread: cutting a market into blocks on every core there
    # would start a thread per core in every worker.
    with ProcessPool(1) as pool:
        assert pool.map(models_stay_on_one_thread, [()]) == [True]


def worker_settings() -> tuple[str | None, str | None]:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS")


def test_a_local_cluster_starts_its_workers_without_the_allocator_setting_that_slows_runs(monkeypatch):
    # Dask's default makes the allocator hand every freed block over 64 KiB back to the system, so that each
    # period's arrays are mapped afresh: a run took half as long again in a worker as here. A cluster started
    # earlier with Dask's own settings leaves the setting in this process's environment, for good.
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with dask_client(workers=1) as client:
        settings = list(client.run(worker_settings).values())
    assert settings == [(None, "1")]  # and still one BLAS thread per single-threaded worker
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # this process's environment as it was


def test_replications_are_the_same_in_this_process_in_worker_processes_and_on_dask(dask_scheduler):
    scenario = small_market(250, 10)
    here = run_replications(scenario, [3, 4, 5])
    pooled = run_replications(scenario, [3, 4, 5], runner=ProcessPool(2))
    cluster = run_replications(scenario, [3, 4, 5], scheduler=dask_scheduler)
    pd.testing.assert_frame_equal(here, pooled, check_exact=True)
    pd.testing.assert_frame_equal(here, cluster, check_exact=True)


def loyalty(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([LOYALTY, *args], capture_output=True, text=True, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return result


def published(out: Path, stem: str) -> pd.DataFrame:
    [folder] = [p for p in out.iterdir() if not p.name.startswith(".")]
    return pd.read_csv(folder / f"{stem}.csv")


@pytest.mark.parametrize(
    ("command", "table"),
    [
        (["compare", "baseline", "exit_fee_ban", "--customers", "300", "--periods", "14", "-r", "2"], "comparison"),
        (["lift", "baseline", "--firm", "B", "--customers", "400", "--periods", "26", "-r", "2"], "lift"),
        (
            ["calibrate", "baseline", "--retention", COHORT, "--customers", "800", "-r", "2", "--bootstrap", "20"],
            "parameters",
        ),
        (
            [
                "validate-model",
                "--fast",
                "--only",
                "word_of_mouth",
                "--only",
                "acquisition_cost",
                "--customers",
                "600",
                "-r",
                "2",
            ],
            "facts",
        ),
    ],
    ids=["compare", "lift", "calibrate", "validate-model"],
)
def test_a_study_on_a_running_dask_cluster_gives_the_numbers_it_gives_here(command, table, dask_scheduler, tmp_path):
    loyalty(*command, "-j", "1", "--out", str(tmp_path / "here"), cwd=tmp_path)
    loyalty(*command, "--scheduler", dask_scheduler, "--out", str(tmp_path / "cluster"), cwd=tmp_path)
    pd.testing.assert_frame_equal(
        published(tmp_path / "here", table), published(tmp_path / "cluster", table), check_exact=True
    )


def test_a_scheduler_that_does_not_answer_is_one_line_and_status_2(tmp_path):
    result = subprocess.run(
        [
            LOYALTY,
            "compare",
            "baseline",
            "exit_fee_ban",
            "--customers",
            "200",
            "--periods",
            "60",  # exit_fee_ban's ban at month 48 happens: no warning before the error
            "-r",
            "2",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: --scheduler tcp://127.0.0.1:9: no Dask scheduler answers there")
    assert result.stderr.count("\n") == 1
