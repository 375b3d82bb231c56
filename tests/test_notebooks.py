"""The research notebooks run from a clean kernel, cell by cell, and each ends in a figure.

Every notebook in ``notebooks/`` is executed with nbclient in a fresh kernel
that runs this interpreter (so it sees the same installed package), with a
temporary folder as its working directory. A cell that raises fails the test.
The notebooks are stored without outputs; these tests check that too.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = (
    "01_quick_start.ipynb",
    "02_retention_lift.ipynb",
    "03_barriers_vs_service.ipynb",
    "04_custom_strategy.ipynb",
    "05_known_truth.ipynb",
)
KERNEL = "loyalty-sim-tests"
CELL_TIMEOUT_S = 300


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(scope="session")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A kernel spec that starts ipykernel with this very interpreter, whatever other specs the machine has."""
    folder = tmp_path_factory.mktemp("kernels")
    spec = folder / KERNEL
    spec.mkdir()
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "loyalty-sim tests",
                "language": "python",
                # Figures inline, as in a fresh Jupyter, whatever backend the test process's environment names.
                "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
            }
        )
    )
    return KernelSpecManager(kernel_dirs=[str(folder)], ensure_native_kernel=False)


def test_the_four_promised_notebooks_are_there():
    """None is missing and none extra would go untested by name."""
    assert tuple(path.name for path in notebooks()) == EXPECTED


@pytest.mark.parametrize("path", notebooks(), ids=lambda path: path.stem)
def test_notebook_is_stored_clean(path: Path):
    """Valid nbformat 4, no outputs or execution counts (clean diffs), a title and a caption after the figure."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "no code cells"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"stored outputs in: {cell.source[:60]!r}"
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
    assert notebook.cells[-1].cell_type == "markdown", "the figure needs a caption cell after it"


@pytest.mark.parametrize("path", notebooks(), ids=lambda path: path.stem)
def test_notebook_runs_from_a_clean_kernel_and_ends_in_a_figure(
    path: Path, kernel_specs: KernelSpecManager, tmp_path: Path
):
    """Every cell runs without error in a fresh kernel, the last code cell shows a figure, and no file is written."""
    notebook = nbformat.read(path, as_version=4)
    kernel = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs)
    client = NotebookClient(
        notebook, km=kernel, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(tmp_path)}}
    )
    started = time.perf_counter()
    try:
        client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    finally:
        if kernel.has_kernel:
            kernel.shutdown_kernel()  # a kernel manager passed in is not shut down by the client
    print(f"{path.name}: {time.perf_counter() - started:.1f} s")

    last = [cell for cell in notebook.cells if cell.cell_type == "code"][-1]
    images = [output for output in last.outputs if "image/png" in output.get("data", {})]
    assert images, f"the last code cell drew no figure; its outputs: {[o.output_type for o in last.outputs]}"
    assert list(tmp_path.iterdir()) == [], "the notebook wrote files"
