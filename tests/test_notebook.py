"""The project notebook runs top to bottom on the package's public API, and is committed without outputs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "handwritten-digits-recognition.ipynb"


def test_committed_notebook_is_stripped_and_up_to_date():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    sys.path.insert(0, str(ROOT / "notebooks"))
    try:
        from build_notebook import build
    finally:
        sys.path.pop(0)
    assert [c.source for c in build().cells] == [c.source for c in nb.cells], "run python notebooks/build_notebook.py"


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(data_dir, tmp_path, monkeypatch, artifacts_dir):
    # the kernel is a child process: it inherits this environment
    monkeypatch.setenv("DIGITS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False,
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()  # raises CellExecutionError, naming the cell, on the first error
    finally:
        nbformat.write(nb, artifacts_dir / "notebook-executed.ipynb")  # kept for a look at the outputs
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 8  # sample grid, balance, normalisation, confusion, mistakes, error-reject, photos, tuning
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "test accuracy" in text and "validation accuracy" in text
