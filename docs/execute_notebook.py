"""Execute ``notebooks/reproduce.ipynb`` in place, so that the documentation shows its outputs.

    .venv/bin/python docs/execute_notebook.py      # after `make train` (reads runs/demo)

The documentation build shows the notebook as saved and trains nothing; this
script runs it (on ``runs/demo`` if ``make train`` made it, else on a new demo
run) and saves the outputs. The slow tests execute it too, on the small profile.
"""
import os
import sys

import nbformat
from nbclient import NotebookClient

NOTEBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "notebooks",
                        "reproduce.ipynb")


def main():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=3600, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}}).execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    if errors:
        sys.exit("{}: a cell failed: {}".format(NOTEBOOK, errors[0].get("evalue")))
    nbformat.write(notebook, NOTEBOOK)
    print("executed:", NOTEBOOK)


if __name__ == "__main__":
    main()
