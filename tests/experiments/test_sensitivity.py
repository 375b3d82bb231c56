"""Global sensitivity (Sobol' indices) on the sweep machinery: known answers, the ranking, the command."""

import signal

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim import sensitivity
from sim.cli import app
from sim.experiments.sweep import SweepError
from sim.outputs.reports.sensitivity import sensitivity_findings
from tests.conftest import small_market


def test_a_linear_outcome_gets_the_indices_of_its_variances(cluster):
    """y = price + 2 quality over unit ranges: the variances are 1/12 and 4/12, so S1 = ST = 0.2 and 0.8."""

    def linear(scenario, seed):
        firm = scenario.firms[0]
        y = firm.price + 2 * firm.quality
        return pd.DataFrame(
            {"firm": [firm.name], "monthly_churn_pct": [y], "cohort_retention_pct": [y], "discounted_profit": [y]}
        )

    result = sensitivity(
        small_market(),
        {"firms.A.price": "0:1", "firms.A.quality": "0:1"},
        samples=32,
        seeds=[1],
        scheduler=cluster,
        store=None,
        task=linear,
    )
    churn = result.indices[result.indices.outcome == "churn"].set_index("factor")
    assert churn.S1.to_dict() == pytest.approx({"firms.A.price": 0.2, "firms.A.quality": 0.8}, abs=0.05)
    assert churn.ST.to_dict() == pytest.approx({"firms.A.price": 0.2, "firms.A.quality": 0.8}, abs=0.05)
    assert (churn.ST_low <= churn.ST).all() and (churn.ST <= churn.ST_high).all()
    assert result.ranking("churn") == ["firms.A.quality", "firms.A.price"]
    assert len(result.design.points) == 32 * (2 + 2)


def test_a_lever_that_cannot_move_churn_gets_no_index_and_ranks_last(cluster):
    """Service quality moves churn a lot; the cost of resolving a complaint only enters the accounts, so with
    common seeds churn is exactly the same whatever it is."""
    factors = {"firms.A.price": "20:40", "firms.A.quality": "0.5:0.9", "firms.A.recovery_cost": "0:40"}
    with pytest.warns(UserWarning, match="not a power of 2"):
        result = sensitivity(small_market(300, 14), factors, samples=12, seeds=[1], scheduler=cluster, store=None)
    assert result.firm == "A" and len(result.runs) == 12 * 5 * 3
    for outcome in ("churn", "retention"):
        rows = result.indices[result.indices.outcome == outcome].set_index("factor")
        assert rows.at["firms.A.recovery_cost", "ST"] == pytest.approx(0, abs=1e-12)
        assert rows.at["firms.A.recovery_cost", "S1"] == pytest.approx(0, abs=1e-12)
        assert result.ranking(outcome) == ["firms.A.quality", "firms.A.price", "firms.A.recovery_cost"]
        assert rows.at["firms.A.quality", "ST"] > 0.3
    findings = " ".join(sensitivity_findings(result))
    assert "firms.A.recovery_cost barely matters" in findings


def test_the_sensitivity_command_ranks_the_levers_and_writes_a_results_folder(cluster, tmp_path):
    out = tmp_path / "results"
    on_sigterm = signal.getsignal(signal.SIGTERM)  # the command turns SIGTERM into a clean exit: undo it afterwards
    try:
        result = CliRunner().invoke(
            app,
            [
                "sensitivity",
                "baseline",
                "--factor",
                "firms.A.price=20:40",
                "--factor",
                "firms.A.recovery_cost=0:40",
                "--samples",
                "8",
                "-r",
                "1",
                "--customers",
                "300",
                "--periods",
                "14",
                "--scheduler",
                cluster.scheduler.address,
                "--out",
                str(out),
            ],
        )
    finally:
        signal.signal(signal.SIGTERM, on_sigterm)
    assert result.exit_code == 0, result.stderr
    assert "Pull firms.A.price first" in result.stdout
    folder = next(p for p in out.iterdir() if not p.name.startswith("."))
    assert {"indices.csv", "runs.csv", "sensitivity.png", "report.md", "report.html", "manifest.json"} <= {
        p.name for p in folder.iterdir()
    }
    indices = pd.read_csv(folder / "indices.csv")
    assert set(indices.outcome) == {"churn", "retention", "discounted_profit"} and len(indices) == 6
    assert "**Pull firms.A.price first**" in (folder / "report.md").read_text()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            ["--factor", "firms.A.price=20,30"],
            "--factor firms.A.price=20,30: a sensitivity factor needs a range LOW:HIGH",
        ),
        (
            ["--factor", "firms.A.price=20:40", "--outcome", "loyalty"],
            "--outcome loyalty: must be one of churn, retention,",
        ),
        (["--factor", "firms.Q.price=20:40"], "firms.Q.price: no firm named 'Q' (firms: A, B, C)"),
        ([], "no factors: give --factor PATH=LOW:HIGH"),
    ],
)
def test_a_bad_sensitivity_request_exits_2_with_one_line(tmp_path, arguments, message):
    result = CliRunner().invoke(app, ["sensitivity", "baseline", *arguments, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines
    assert not (tmp_path / "out").exists()


def test_a_sensitivity_of_one_firm_that_does_not_exist_is_refused_before_anything_runs():
    with pytest.raises(SweepError, match="--firm Z: must be one of A, B, C"):
        sensitivity(small_market(), {"firms.A.price": "20:40"}, samples=8, firm="Z", store=None)
