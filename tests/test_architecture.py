"""The layout keeps its promises: small modules, imports that flow one way, no shell scripts run
by the package, and tests that mirror the package's folders."""
import ast
import re
from pathlib import Path

import asteroid_deepmask

PACKAGE = Path(asteroid_deepmask.__file__).parent
TESTS = Path(__file__).parent
MAX_LINES = 400
# What each lower layer may import from the package: nothing above it.
ALLOWED = {
    "masknn": {"masknn"},
    "grouping": {"grouping"},
    "models": {"models", "masknn", "grouping", "version"},
    "data": {"data"},
    "deploy": {"deploy", "data", "models", "runtime", "version"},
}


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _package_imports(path: Path) -> set:
    """The package's subpackages/modules that ``path`` imports (first component after the package)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    here = list(parts if path.name == "__init__.py" else parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else [])) if node.level else (node.module or "")
            names = [name] if node.module or not node.level else [f"{name}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            split = name.split(".")
            if split[0] == "asteroid_deepmask":
                found.add(split[1] if len(split) > 1 else "")
    return found


def test_no_module_is_over_the_line_limit():
    long = {str(p.relative_to(PACKAGE)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_lower_layers_import_nothing_from_the_layers_above():
    for layer, allowed in ALLOWED.items():
        for path in (PACKAGE / layer).rglob("*.py"):
            assert _package_imports(path) <= allowed, (str(path.relative_to(PACKAGE)), _package_imports(path) - allowed)


def test_the_package_runs_no_shell_scripts():
    for path in _modules():
        text = path.read_text()
        assert not re.search(r"[\"']bash[\"']|[\"'][^\"']*\.sh[\"']", text), path.relative_to(PACKAGE)


def test_tests_mirror_the_package_folders():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    test_folders = {p.name for p in TESTS.iterdir() if p.is_dir() and list(p.rglob("test_*.py"))}
    assert folders - {"pretrained"} <= test_folders, folders - test_folders
    assert test_folders - {"egs"} <= folders, test_folders - folders


def test_the_public_api_keeps_its_names():
    import importlib

    public = {
        "asteroid_deepmask": ["DeepMaskDPRNNTasNet", "OverseparationDPRNNTasNet", "DeepMaskConvTasNet",
                              "OverseparationConvTasNet", "DeepMaskDPTNet", "OverseparationDPTNet"],
        "asteroid_deepmask.masknn": ["MaskHead"],
        "asteroid_deepmask.losses": ["DynamicGroupingLoss"],
        "asteroid_deepmask.inference": ["separate_long", "separate_stream"],
        "asteroid_deepmask.runtime": ["setup"],
        "asteroid_deepmask.deploy": ["export_model", "load_separator"],
    }  # fmt: skip
    for module, names in public.items():
        for name in names:
            assert callable(getattr(importlib.import_module(module), name)), f"{module}.{name}"
