"""The tutorial notebook (docs/tutorial.ipynb) runs from top to bottom, and each result displays
itself as a notebook shows it: LaTeX for formulas and steps, HTML for tables, SVG for the graph."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"


@pytest.mark.slow  # a kernel of its own and the whole tutorial: CI's slow run executes it
def test_the_tutorial_runs_and_shows_rich_results(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    kinds = set()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", out
            kinds.update(out.get("data", {}))
    assert {"text/latex", "text/html", "image/svg+xml"} <= kinds, kinds
