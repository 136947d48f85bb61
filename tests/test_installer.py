"""`install-service` / `uninstall-service` on a file tree (--root), with the real systemctl."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge import config
from edge.service.install import main

ROOT = Path(__file__).resolve().parents[1]
EXE = "/opt/edge-emotion/bin/edge-emotion"
UNIT = "etc/systemd/system/edge-emotion.service"
WANTS = "etc/systemd/system/multi-user.target.wants/edge-emotion.service"
CONF = "etc/edge-emotion/edge-emotion.toml"

pytestmark = pytest.mark.skipif(shutil.which("systemctl") is None, reason="systemctl not installed (package systemd)")


@pytest.fixture
def root(tmp_path):
    """An empty system image holding only the installed program, as a venv in /opt would."""
    r = tmp_path / "image"
    launcher = r / EXE.lstrip("/")
    launcher.parent.mkdir(parents=True)
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -m edge.cli "$@"\n')
    launcher.chmod(0o755)
    return r


def cli(capsys, *args: str) -> tuple[int, list[str], str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


def tree(r: Path) -> dict[str, str]:
    """Every file and link under r with its content or target."""
    return {str(p.relative_to(r)): (os.readlink(p) if p.is_symlink() else p.read_text() if p.is_file() else "/")
            for p in sorted(r.rglob("*"))}


def test_dry_run_on_a_fresh_system_lists_every_action_and_changes_nothing(root, capsys):
    before = tree(root)
    code, lines, err = cli(capsys, "install-service", "--root", str(root), "--exec", EXE, "--dry-run")
    assert code == 0, err
    assert lines == [
        f"dry-run: create {root}/etc/edge-emotion/",
        f"dry-run: write {root}/{CONF} (example configuration)",
        f"dry-run: write {root}/{UNIT}",
        f"dry-run: run: systemctl --root={root} enable edge-emotion.service",
        f"ok: not started: --root {root} is not the running system",
    ]
    assert tree(root) == before


def test_install_is_idempotent_and_dry_run_on_an_installed_system_has_nothing_to_do(root, capsys):
    code, lines, err = cli(capsys, "install-service", "--root", str(root), "--exec", EXE)
    assert code == 0, err
    assert lines[0] == f"create {root}/etc/edge-emotion/"
    unit = (root / UNIT).read_text()
    assert f"ExecStart={EXE} run --config /etc/edge-emotion/edge-emotion.toml\n" in unit
    assert os.readlink(root / WANTS) == "/etc/systemd/system/edge-emotion.service"  # made by systemctl itself
    assert config.load(root / CONF).output.publisher == "mqtt"
    assert (root / CONF).stat().st_mode & 0o777 == 0o644
    installed = tree(root)

    code, lines, err = cli(capsys, "install-service", "--root", str(root), "--exec", EXE, "--dry-run")
    assert code == 0, err
    assert lines == [
        f"ok: {root}/etc/edge-emotion/ exists",
        f"ok: {root}/{CONF} exists (kept as is)",
        f"ok: {root}/{UNIT} is up to date",
        "ok: edge-emotion.service is enabled",
        f"ok: not started: --root {root} is not the running system",
    ]
    mtimes = {p: p.lstat().st_mtime_ns for p in root.rglob("*")}
    code, lines, _ = cli(capsys, "install-service", "--root", str(root), "--exec", EXE)
    assert code == 0 and all(line.startswith("ok: ") for line in lines), lines
    assert tree(root) == installed
    assert {p: p.lstat().st_mtime_ns for p in root.rglob("*")} == mtimes  # nothing rewritten


def test_changed_unit_is_updated_and_owner_config_kept(root, capsys):
    assert cli(capsys, "install-service", "--root", str(root), "--exec", EXE)[0] == 0
    (root / UNIT).write_text((root / UNIT).read_text().replace("WatchdogSec=30s", "WatchdogSec=5s"))
    (root / CONF).write_text('[output]\npublisher = "stdout"\n')
    code, lines, _ = cli(capsys, "install-service", "--root", str(root), "--exec", EXE, "--dry-run")
    assert code == 0
    assert f"dry-run: update {root}/{UNIT}" in lines
    cli(capsys, "install-service", "--root", str(root), "--exec", EXE)
    assert "WatchdogSec=30s" in (root / UNIT).read_text()
    assert (root / CONF).read_text() == '[output]\npublisher = "stdout"\n'


def test_broken_existing_config_is_reported(root, capsys):
    (root / CONF).parent.mkdir(parents=True)
    (root / CONF).write_text("[output]\npublisher = 'pigeon'\n")
    code, lines, _ = cli(capsys, "install-service", "--root", str(root), "--exec", EXE, "--dry-run")
    assert code == 0
    line = next(x for x in lines if CONF in x)
    assert "WARNING" in line and "output.publisher = 'pigeon'" in line


def test_jetson_gets_its_dropin(root, capsys):
    (root / "etc").mkdir()
    (root / "etc/nv_tegra_release").write_text("# R36 (release), REVISION: 3.0\n")
    code, lines, _ = cli(capsys, "install-service", "--root", str(root), "--exec", EXE)
    assert code == 0
    dropin = root / "etc/systemd/system/edge-emotion.service.d/jetson.conf"
    assert f"write {dropin}" in lines
    assert dropin.read_text() == (ROOT / "systemd/jetson.conf").read_text()


def test_uninstall_keeps_config_unless_purged(root, capsys):
    assert cli(capsys, "install-service", "--root", str(root), "--exec", EXE)[0] == 0
    state = root / "var/lib/private/edge-emotion"
    state.mkdir(parents=True)
    (root / "var/lib/edge-emotion").symlink_to("private/edge-emotion")

    code, lines, _ = cli(capsys, "uninstall-service", "--root", str(root), "--dry-run")
    assert code == 0
    assert lines == [
        f"dry-run: run: systemctl --root={root} disable edge-emotion.service",
        f"dry-run: remove {root}/{UNIT}",
        f"ok: {root}/etc/edge-emotion kept (--purge removes it)",
        f"ok: {root}/var/lib/private/edge-emotion kept (--purge removes it)",
    ]
    assert (root / UNIT).exists()

    assert cli(capsys, "uninstall-service", "--root", str(root))[0] == 0
    assert not (root / UNIT).exists() and not (root / WANTS).is_symlink()
    assert (root / CONF).exists() and state.exists()
    code, lines, _ = cli(capsys, "uninstall-service", "--root", str(root), "--dry-run")
    assert f"ok: {root}/{UNIT} is not installed" in lines

    assert cli(capsys, "uninstall-service", "--root", str(root), "--purge")[0] == 0
    assert not (root / "etc/edge-emotion").exists() and not state.exists()
    assert not (root / "var/lib/edge-emotion").is_symlink()


def test_program_hidden_by_protecthome_is_refused(root, capsys):
    exe = root / "home/pi/venv/bin/edge-emotion"
    exe.parent.mkdir(parents=True)
    shutil.copy(root / EXE.lstrip("/"), exe)
    code, lines, err = cli(capsys, "install-service", "--root", str(root), "--exec", "/home/pi/venv/bin/edge-emotion")
    assert code == 1 and lines == []
    assert "ProtectHome" in err and "/opt/edge-emotion" in err


def test_missing_program_is_refused(root, capsys):
    code, _, err = cli(capsys, "install-service", "--root", str(root), "--exec", "/usr/bin/edge-emotion-nope")
    assert code == 1 and "--exec /path/to/edge-emotion" in err


def _run_module(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge.service.install", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, **kw)


def test_not_root_is_refused_before_anything_happens(capsys):
    if os.geteuid() != 0:
        code, lines, err = cli(capsys, "install-service", "--exec", sys.executable)
    else:  # a forked child drops to nobody (its Python under /root would be unreadable to a fresh one)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.setgid(65534)
                os.setuid(65534)
                out, err = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    code = main(["install-service", "--exec", sys.executable])
                os.write(write_end, json.dumps([os.geteuid(), code, out.getvalue(), err.getvalue()]).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as f:
            euid, code, out, err = json.loads(f.read())
        os.waitpid(pid, 0)
        assert euid == 65534
        lines = out.splitlines()
    assert code == 1 and lines == []
    assert "must run as root: sudo edge-emotion install-service" in err


def test_systemd_absent_is_refused(tmp_path):
    r = _run_module("install-service", "--dry-run", env=dict(os.environ, PATH=str(tmp_path)))
    assert r.returncode == 1 and r.stdout == ""
    assert "systemd is absent (no systemctl on PATH)" in r.stderr


@pytest.mark.skipif(Path("/run/systemd/system").is_dir(), reason="systemd is running on this machine")
def test_systemd_not_running_is_refused():
    r = _run_module("install-service", "--dry-run")
    assert r.returncode == 1 and r.stdout == ""
    assert "systemd is not running here" in r.stderr and "--root DIR" in r.stderr


def test_old_systemd_gets_its_dropin_and_uninstall_removes_it(root, capsys):
    code, lines, _ = cli(capsys, "install-service", "--root", str(root), "--exec", EXE, "--old-systemd")
    assert code == 0
    dropin = root / "etc/systemd/system/edge-emotion.service.d/systemd237.conf"
    assert f"write {dropin}" in lines and dropin.read_text() == (ROOT / "systemd/systemd237.conf").read_text()
    assert cli(capsys, "uninstall-service", "--root", str(root))[0] == 0
    assert not dropin.exists() and not dropin.parent.exists()
