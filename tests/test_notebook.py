"""The reproduction notebook: it runs end to end (slow), and the copy committed with
its outputs (the documentation's page) is a finished run without an error."""
import os

import nbformat
import pytest

NOTEBOOK = os.path.join(os.path.dirname(__file__), os.pardir, "notebooks", "reproduce.ipynb")


def _outputs(notebook):
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


def _texts(outputs):
    for output in outputs:
        yield output.get("text", "")
        yield output.get("data", {}).get("text/markdown", "")


def test_the_committed_notebook_shows_every_output_and_the_table():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs for cell in code), "run docs/execute_notebook.py: a cell has no output"
    assert not [o for o in _outputs(notebook) if o.output_type == "error"]
    assert any("| the study |" in text for text in _texts(_outputs(notebook)))


@pytest.mark.slow
def test_reproduction_notebook_runs_end_to_end(tmp_path, monkeypatch):
    from nbclient import NotebookClient
    monkeypatch.setenv("SOUNDTRACK_CNN_PROFILE", "small")
    monkeypatch.setenv("SOUNDTRACK_CNN_WORK", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = _outputs(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("<audio" in o.get("data", {}).get("text/html", "") for o in outputs)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
    table = [text for text in _texts(outputs) if "| the study |" in text]
    assert table and "specialists" in table[0] and "nan" not in table[0]
    assert os.path.exists(tmp_path / "run" / "report" / "index.html")
    assert os.path.exists(tmp_path / "run" / "evaluation.md")
