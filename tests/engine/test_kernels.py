"""The compiled kernels: kept on disk only while the sources are unchanged, and guarded where they check nothing."""

import pickle
import shutil

import pytest

from sim import LoyaltyModel
from sim.engine import compiling
from tests.conftest import small_market


def test_the_folder_of_compiled_code_changes_with_any_equation(tmp_path, monkeypatch):
    for folder in compiling.SOURCES:
        shutil.copytree(compiling.PACKAGE / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(compiling, "PACKAGE", tmp_path)
    before = compiling.digest()
    assert compiling.digest() == before
    equation = tmp_path / "behaviour" / "trust.py"
    equation.write_text(
        equation.read_text().replace("return trust * (1.0 - share)", "return trust * (1.0 - 2 * share)")
    )
    assert compiling.digest() != before
    assert compiling.cache_folder().name == f"kernels-{compiling.digest()}"


def test_a_customer_outside_the_market_cannot_live_a_month():
    model = LoyaltyModel(small_market(50, 1), seed=3, vectorised=False).run()
    with pytest.raises(IndexError, match="customers 0 to 49"):
        model.this_month.live(50, 51)
    with pytest.raises(IndexError):
        model.this_month.live(-1, 0)


def test_a_model_stepped_agent_by_agent_can_be_pickled_and_goes_on_the_same():
    model = LoyaltyModel(small_market(60, 4), seed=5, vectorised=False).run(2)
    copy = pickle.loads(pickle.dumps(model))
    model.run(2)
    copy.run(2)
    assert model.results().equals(copy.results())


def test_the_month_is_handed_exactly_the_arrays_it_reads():
    import inspect
    import re

    from sim.engine import month
    from sim.engine.population import Customers, MarketState

    source = inspect.getsource(month.month_rows) + inspect.getsource(month.option_utilities)
    source += inspect.getsource(month.tastes_of)
    assert set(month.MonthArrays._fields) == set(re.findall(r"\bc\.([a-z_]+)", source))
    assert set(month.MonthMarket._fields) == set(re.findall(r"\bmarket\.([a-z_]+)", source))
    assert set(month.MonthArrays._fields) <= {f for f in Customers.__dataclass_fields__}
    assert set(month.MonthMarket._fields) <= set(MarketState._fields)
