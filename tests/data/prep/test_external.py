"""External programs: apt-get waits for the dpkg lock, and every failure is one clear line."""
import stat
import sys

import numpy as np
import pytest

from asteroid_deepmask import cli
from asteroid_deepmask.data.prep import external, tts, wsj0
from fakes import write_sph2pipe_tarball


def _fake_program(folder, name, stderr, exit_code, log=None):
    """A stand-in on PATH that writes ``stderr``, records its arguments in ``log`` and exits."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    record = f"open({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n" if log else ""
    path.write_text(f"#!{sys.executable}\nimport sys\n{record}sys.stderr.write({stderr!r})\nsys.exit({exit_code})\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def busy_apt(tmp_path, monkeypatch):
    """apt-get as it answers while another apt-get holds the lock; the TTS engines missing; root."""
    log = tmp_path / "apt.log"
    message = ("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n"
               "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n")  # fmt: skip
    _fake_program(tmp_path / "bin", "apt-get", message, 100, log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{__import__('os').environ['PATH']}")
    monkeypatch.setattr(tts, "missing_tts_tools", lambda: ["flite"])
    monkeypatch.setattr(external.os, "geteuid", lambda: 0)
    return log


def test_tts_install_waits_for_the_dpkg_lock_then_says_what_to_do_in_one_line(busy_apt, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["tts-tools", "--install"])
    message = str(exit_info.value)
    assert message.startswith("error: `apt-get update -qq`: another package manager held the dpkg lock for 300 s")
    assert "Wait until it has finished" in message and "\n" not in message and "Traceback" not in message
    assert busy_apt.read_text().splitlines() == ["-o DPkg::Lock::Timeout=300 update -qq"]  # apt waited, then gave up


def test_other_apt_failures_quote_apts_error(tmp_path, monkeypatch):
    _fake_program(tmp_path / "bin", "apt-get", "E: Unable to locate package flite\n", 100)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{__import__('os').environ['PATH']}")
    with pytest.raises(external.ProgramFailed) as err:
        external.apt_get(["install", "-y", "flite"], "Install it yourself.", sudo=False)
    assert str(err.value) == "`apt-get install -y flite` failed (exit 100: E: Unable to locate package flite). Install it yourself."


def test_a_failing_or_missing_program_gives_its_last_error_line_and_the_hint():
    failing = [sys.executable, "-c", "import sys; sys.stderr.write('warning: a\\nfatal: b\\n'); sys.exit(3)"]
    with pytest.raises(external.ProgramFailed, match=r"^Step failed \(exit 3: fatal: b\)\. Do this\.$"):
        external.run_program(failing, "Step", "Do this.")
    with pytest.raises(external.ProgramFailed, match="no-such-program-here not found. Do this."):
        external.run_program(["no-such-program-here"], "Step", "Do this.")


def test_a_sph2pipe_that_does_not_compile_is_one_line_with_what_to_do(tmp_path, monkeypatch):
    archive = write_sph2pipe_tarball(tmp_path, "this is not C\n", tmp_path / "sph2pipe.tar.gz")
    compiler = _fake_program(tmp_path / "bin", "gcc", "sph2pipe.c:1:1: error: unknown type name 'this'\n", 1)
    monkeypatch.setattr(wsj0.shutil, "which", lambda name: str(compiler) if name == "gcc" else None)
    with pytest.raises(RuntimeError, match=r"Building sph2pipe .* failed \(exit 1: sph2pipe.c:1:1: error: .*\)\. Install a working C compiler"):
        wsj0.build_sph2pipe(tmp_path / "tools", urls=[archive.as_uri()])


def test_a_sph2pipe_that_fails_on_a_file_names_the_file(tmp_path):
    from fakes import write_sphere

    path = tmp_path / "a.wv1"
    write_sphere(path, np.zeros(100), coding="pcm,embedded-shorten-v2.00")
    fake = _fake_program(tmp_path / "bin", "sph2pipe", "sph2pipe: bad shorten stream\n", 1)
    with pytest.raises(RuntimeError, match=rf"sph2pipe on {path} failed \(exit 1: sph2pipe: bad shorten stream\)"):
        wsj0.read_sphere(path, fake)
