"""The compiled kernels: kept on disk only while the sources are unchanged, and guarded where they check nothing."""

import pickle
import shutil

import numba
import numpy as np
import pytest

from sim import LoyaltyModel
from sim.behaviour import chances
from sim.engine import compiling
from sim.engine.month import LOOKUP_COUNTS, Constants, MonthMarket, looked_up, lookups
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


def test_what_the_month_looks_up_is_what_the_equations_give_and_larger_counts_are_computed():
    model = LoyaltyModel(small_market(50, 1), seed=3)
    model.market = model.market._replace(defection_hazard=np.array([0.0, 0.01, 1.0, 0.0]))
    k = Constants.of(model.spec)
    tables = lookups(k, MonthMarket(*(getattr(model.market, name) for name in MonthMarket._fields)))
    counts = np.arange(LOOKUP_COUNTS + 10)
    looked = numba.njit(lambda table, p, n: [looked_up(table, p, times) for times in n])
    computed = numba.njit(lambda p, n: [chances.none_of(p, times) for times in n])
    for table, probability in [
        (tables.prompted, k.prompted_review_probability),
        (tables.recommended, k.word_of_mouth_gain),
        (tables.warned, k.word_of_mouth_loss),
    ]:
        assert len(table) == LOOKUP_COUNTS
        assert looked(table, probability, counts) == computed(probability, counts)  # exactly, not nearly
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(tables.log_stay, np.log1p(-model.market.defection_hazard))
