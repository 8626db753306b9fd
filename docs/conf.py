"""Sphinx configuration: MyST markdown pages, API reference from the docstrings.

Built offline and checked without warnings by tests/test_docs.py:
``sphinx-build -W --keep-going -b html docs docs/_build/html``.
"""
import warnings
from pathlib import Path

# torchmetrics 0.11.4 (pinned by Asteroid) imports pkg_resources: a notice we cannot act on.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
import asteroid_deepmask  # noqa: E402

project = "asteroid-deepmask"
author = "asteroid-deepmask developers"
release = asteroid_deepmask.__version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown"}
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# Included into other pages (or generated at build time), not pages of their own.
exclude_patterns = ["_build", "_generated", "study/*.md", "study_long/*.md"]
html_theme = "furo"
html_title = f"asteroid-deepmask {release}"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "description"
# Asteroid's and torch's own docstrings are not ours to fix.
autodoc_inherit_docstrings = False
nitpicky = False


def _write_complexity_tables(app) -> None:
    """The complexity page's tables, counted at build time so that they cannot go stale."""
    from asteroid_deepmask.paper.tables import paper_complexity_table as paper_table
    from asteroid_deepmask.tools.complexity import format_table

    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    (out / "complexity.md").write_text(format_table(paper_table()) + "\n")


def setup(app):
    app.connect("builder-inited", _write_complexity_tables)
