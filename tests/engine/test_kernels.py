"""The compiled kernels: kept on disk only while the sources are unchanged, and guarded where they check nothing."""

import dataclasses
import os
import pickle
import shutil
import threading

import numba
import numpy as np
import pandas as pd
import pytest

from sim import LoyaltyModel
from sim.behaviour import chances
from sim.engine import compiling, population
from sim.engine.inputs import Constants, MonthMarket
from sim.engine.month import LOOKUP_COUNTS, looked_up, lookups
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


def _tenure_as_int64(lean):
    return lean._replace(tenure=lean.tenure.astype(np.int64))


def _trust_of_fewer_options(lean):
    return lean._replace(trust=np.ascontiguousarray(lean.trust[:-1]))


def _tenure_strided(lean):
    return lean._replace(tenure=np.repeat(lean.tenure, 2)[::2])


def _expectation_read_only(lean):
    frozen = lean.expectation.copy()
    frozen.flags.writeable = False
    return lean._replace(expectation=frozen)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (_tenure_as_int64, "customers.tenure: .*type int64, not int32"),
        (_trust_of_fewer_options, r"customers.trust: .*shape \(3, 40\), not \(4, 40\)"),
        (_tenure_strided, "customers.tenure: .*not C-ordered"),
        (_expectation_read_only, "customers.expectation: .*read-only, and the month writes it"),
    ],
)
def test_one_customers_month_refuses_arrays_it_would_misread_by_address(wrong, message):
    model = LoyaltyModel(small_market(40, 1), seed=2, vectorised=False).run()
    month = model.this_month
    lean, *rest = month.inputs
    month.inputs = (wrong(lean), *rest)
    with pytest.raises(TypeError, match=message):
        month.live(0, 1)


def test_one_customers_month_reads_every_array_at_the_address_and_type_it_names():
    import inspect
    import re

    from sim.engine import month as month_module
    from sim.engine.inputs import addresses

    model = LoyaltyModel(small_market(30, 1), seed=4, vectorised=False).run()
    month = model.this_month
    lean, seen, _, _, draws, recommendations, warnings = month.inputs
    where, n = addresses(month.inputs, month.fresh)
    named = {**lean._asdict(), **seen._asdict(), **draws._asdict()}
    assert len(named) == len(lean) + len(seen) + len(draws)  # no name in two of them
    source = inspect.getsource(month_module._one_row)
    slots = {
        int(j): (dtype, name)
        for j, dtype, name in re.findall(r"_at\(where, (\d+), .*?, ([\w.]+)\),?\s+# (\w+)", source)
    }
    seen_slots = 0
    for j, (dtype, name) in slots.items():
        array = named[name]
        assert where[j] == array.ctypes.data, name
        short = {"f8": "float64", "b1": "bool", "i1": "int8", "i2": "int16", "i4": "int32", "np.int64": "int64"}
        assert array.dtype == np.dtype(short[dtype]), name
        seen_slots += 1
    tail = re.findall(r"_at\(where, (\d+), \(options, n\), i4\)", source) + re.findall(
        r"_at\(where, (\d+), n, f8\)\)$", source, re.M
    )
    assert [where[int(j)] for j in tail] == [recommendations.ctypes.data, warnings.ctypes.data, month.fresh.ctypes.data]
    assert seen_slots + len(tail) == where.size == 62 and n == 30


def test_one_customers_month_follows_the_months_arrays_when_they_are_replaced():
    model = LoyaltyModel(small_market(50, 1), seed=6, vectorised=False).run()
    month = model.this_month
    month.live(3, 4)  # addresses taken
    lean, *rest = month.inputs
    fresh_arrays = lean._replace(tenure=lean.tenure.copy(), trust=lean.trust.copy())
    month.inputs = (fresh_arrays, *rest)
    old_tenure = lean.tenure.copy()
    i = int(np.flatnonzero((old_tenure > 0) & (lean.firm < model.n_firms))[0])
    month.live(i, i + 1)
    assert np.array_equal(lean.tenure, old_tenure)  # the replaced arrays are left alone
    assert fresh_arrays.tenure[i] != old_tenure[i]  # a served customer's tenure grows, or restarts at 0


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


def _everything(model):
    c = model.customers
    return model.results().drop(columns="scenario"), [np.copy(getattr(c, f.name)) for f in dataclasses.fields(c)]


def test_a_market_lived_in_blocks_on_several_threads_gives_the_same_numbers(monkeypatch):
    scenario = small_market(300, 14)
    one_pass = _everything(LoyaltyModel(scenario, seed=8).run())
    monkeypatch.setattr(compiling, "PARALLEL_FROM", 0)
    monkeypatch.setattr(compiling, "BLOCK", 37)
    monkeypatch.setattr(compiling, "threads", lambda: 2)  # cut into blocks even on one core
    cuts = compiling.blocks(301)
    sizes = np.diff(cuts)
    assert cuts[0] == 0 and cuts[-1] == 301 and len(sizes) == 10  # the fewest blocks, in a multiple of the threads
    assert sizes.max() <= 37 and sizes.max() - sizes.min() == 1  # of at most BLOCK customers, alike to a customer
    in_blocks = _everything(LoyaltyModel(scenario, seed=8).run())
    pd.testing.assert_frame_equal(in_blocks[0], one_pass[0], check_exact=True)
    for ours, theirs in zip(in_blocks[1], one_pass[1], strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_a_child_forked_after_a_pass_on_threads_keeps_to_one_thread(monkeypatch):
    monkeypatch.setattr(compiling, "PARALLEL_FROM", 0)
    monkeypatch.setattr(compiling, "threads", lambda: 2)
    monkeypatch.setattr(compiling, "_one_thread", False)
    monkeypatch.setattr(compiling, "_threads_used", False)
    assert compiling.blocks(1_000) is not None  # this process now may have threads a forked child would not have
    child = os.fork()
    if child == 0:  # the child reports by its exit status alone
        os._exit(0 if compiling.blocks(1_000) is None else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert compiling.blocks(1_000) is not None  # the parent keeps its threads


def test_only_the_main_thread_cuts_a_pass_into_blocks(monkeypatch):
    monkeypatch.setattr(compiling, "PARALLEL_FROM", 0)
    monkeypatch.setattr(compiling, "threads", lambda: 2)  # a machine of two cores, whatever this one has
    found = []
    worker = threading.Thread(target=lambda: found.append(compiling.blocks(1_000)))
    worker.start()
    worker.join()
    assert found == [None]
    assert compiling.blocks(1_000) is not None
    monkeypatch.setattr(compiling, "_one_thread", True)  # a study's worker process: one of many at a time
    assert compiling.blocks(1_000) is None


def test_a_large_month_of_uniform_numbers_drawn_on_threads_is_the_generators_own(monkeypatch):
    monkeypatch.setattr(compiling, "PARALLEL_FROM", 0)
    monkeypatch.setattr(compiling, "threads", lambda: 3)  # three shares, on any machine
    ours, theirs = np.random.default_rng(5), np.random.default_rng(5)
    for rng in (ours, theirs):
        rng.integers(0, 2**31, 3, dtype=np.int32)  # leaves half a step of the stream kept for the next 32-bit number
    np.testing.assert_array_equal(population.uniform_numbers(ours, np.empty((8, 1001))), theirs.random((8, 1001)))
    assert ours.bit_generator.state == theirs.bit_generator.state
    next_ours, next_theirs = (rng.integers(0, 2**31, 5, dtype=np.int32) for rng in (ours, theirs))
    np.testing.assert_array_equal(next_ours, next_theirs)
    philox = np.random.Generator(np.random.Philox(5))  # a generator of another kind is drawn from as it is
    assert population.uniform_numbers(philox, np.empty((2, 10))).shape == (2, 10)


def test_a_month_drawn_into_last_months_arrays_holds_the_numbers_of_new_ones():
    space = (np.full(500, np.nan), np.full((8, 500), np.nan))
    ours, theirs = np.random.default_rng(2), np.random.default_rng(2)
    for _ in range(2):
        into = population.draw_month(ours, 500, into=space)
        fresh = population.draw_month(theirs, 500)
        assert into.service_noise is space[0] and np.shares_memory(into.save, space[1])
        for drawn, new in zip(into, fresh, strict=True):
            np.testing.assert_array_equal(drawn, new)
