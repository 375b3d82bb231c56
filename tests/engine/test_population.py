"""Every customer array is documented as every parameter is: what it holds, its unit, its shape."""

from dataclasses import fields

import numpy as np
import pytest

from sim import LoyaltyModel
from sim.engine.population import KINDS, Customers
from tests.conftest import small_market


@pytest.mark.parametrize("name", [f.name for f in fields(Customers)])
def test_every_customer_array_says_what_it_holds_its_unit_and_shape(name):
    metadata = next(f.metadata for f in fields(Customers) if f.name == name)
    assert metadata["kind"] in KINDS
    for key in ("meaning", "unit", "shape", "dtype"):
        assert isinstance(metadata.get(key), str) and metadata[key].strip(), f"{name}: no {key}"
    assert metadata["meaning"].endswith("."), f"{name}: the meaning is a sentence"


def test_the_arrays_of_a_running_model_have_the_documented_shape_and_type():
    model = LoyaltyModel(small_market(120, 2), seed=4).run()
    sizes = {"customers": len(model.customers), "F+1": model.n_firms + 1}
    for row in Customers.array_table():
        values = getattr(model.customers, row["array"])
        shape = tuple(sizes[part.strip()] for part in row["shape"].strip("(),").split(",") if part.strip())
        assert values.shape == shape, row["array"]
        assert values.dtype == np.dtype(row["dtype"]), row["array"]
