"""The documentation builds offline without a single warning (it includes generated tables and the study)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(ROOT / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    for page in ("index", "getting-started", "theory", "recipes", "complexity", "study", "pretrained", "faq", "api", "cpu-speed"):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page
    api = (tmp_path / "html" / "api.html").read_text()
    assert "DeepMaskDPRNNTasNet" in api and "branch_masks" in api  # docstrings reached the reference
    complexity = (tmp_path / "html" / "complexity.html").read_text()
    assert "MLP (L), 64 hidden" in complexity  # the table counted at build time
