import os

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = os.path.join(os.path.dirname(__file__), os.pardir, "notebooks", "reproduce.ipynb")


@pytest.mark.slow
def test_reproduction_notebook_runs_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDTRACK_CNN_PROFILE", "small")
    monkeypatch.setenv("SOUNDTRACK_CNN_WORK", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("audio/wav" in o.get("data", {}) or "text/html" in o.get("data", {})
               for o in outputs)
    assert os.path.exists(tmp_path / "run" / "report" / "index.html")
    assert os.path.exists(tmp_path / "run" / "evaluation.md")
