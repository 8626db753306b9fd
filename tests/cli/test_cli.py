"""The command line: one module per area registering its subcommands, shared options defined once,
and a parser built without loading the subcommands' heavy code."""
import re
import subprocess
import sys
from pathlib import Path

from asteroid_deepmask import cli
from asteroid_deepmask.cli import bench, data, deploy, engine, models, paper

CLI_DIR = Path(cli.__file__).parent
SHARED = ("--device", "--seed", "--workers", "--json", "--sample-rate", "--exp-dir", "--dry-run", "--n-src", "--wav-root")


def _subcommands(area) -> set:
    parser = cli.argparse.ArgumentParser()
    commands = parser.add_subparsers()
    area.register(commands)
    return set(commands.choices)


def test_each_area_registers_its_own_subcommands_and_together_they_are_the_cli():
    areas = {area.__name__: _subcommands(area) for area in (models, deploy, bench, data, paper, engine)}
    assert areas["asteroid_deepmask.cli.engine"] == {"train", "evaluate", "report", "publish"}
    assert areas["asteroid_deepmask.cli.paper"] == {"grid", "tables", "study", "study-report"}
    assert areas["asteroid_deepmask.cli.models"] == {"complexity", "separate", "infer"}
    assert areas["asteroid_deepmask.cli.deploy"] == {"export"}
    everything = [name for names in areas.values() for name in names]
    assert len(everything) == len(set(everything))  # no subcommand in two areas
    parser = cli.build_parser()
    assert set(parser._subparsers._group_actions[0].choices) == set(everything)


def test_shared_options_are_defined_once():
    for module in CLI_DIR.glob("*.py"):
        if module.name == "options.py":
            continue
        text = module.read_text()
        for option in SHARED:
            assert not re.search(rf"add_argument\([^)]*\"{option}\"", text), (module.name, option)


def test_the_parser_is_built_without_the_heavy_modules():
    script = (
        "import sys; from asteroid_deepmask.cli import build_parser; build_parser(); "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pytorch_lightning', 'lightning', 'matplotlib', 'pandas', 'fast_bss_eval') "
        "or m.startswith(('asteroid_deepmask.engine.train', 'asteroid_deepmask.engine.evaluate', "
        "'asteroid_deepmask.reporting', 'asteroid_deepmask.data.prep', 'asteroid_deepmask.tools.bench')))))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_help_runs_as_a_module_as_the_recipes_call_it():
    result = subprocess.run([sys.executable, "-m", "asteroid_deepmask.cli", "--help"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "study-report" in result.stdout
