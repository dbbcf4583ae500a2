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


#: Lines of stderr that say nothing about the notebook: Theano waiting for the compile
#: cache another process holds (the cache is shared, see SOUNDTRACK_CNN_CACHE).
NOISE = "INFO (theano.gof.compilelock)"


def clean(notebook):
    """Drop the compile-cache lines from the outputs, and outputs left empty by it."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream":
                output.text = "".join(line for line in output.text.splitlines(True)
                                      if not line.startswith(NOISE))
                if not output.text:
                    continue
            kept.append(output)
        cell.outputs = kept
    return notebook


def main():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=3600, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}}).execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    if errors:
        sys.exit("{}: a cell failed: {}".format(NOTEBOOK, errors[0].get("evalue")))
    nbformat.write(clean(notebook), NOTEBOOK)
    print("executed:", NOTEBOOK)


if __name__ == "__main__":
    main()
