"""`edge-emotion install-service` / `uninstall-service`: put the systemd unit in place, idempotently.

Every change is a `Step`; `--dry-run` prints the steps without doing them. `--root DIR` works on
a file tree (an image being built, or a test) the way `systemctl --root` does: files and enable
links only, nothing is started.
"""

from __future__ import annotations

import argparse
import grp
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..paths import PACKAGE_DIR

UNIT = "edge-emotion.service"
TEMPLATES = PACKAGE_DIR / "systemd"  # -> ../systemd/ (shipped as package data)
CONFIG_DIR = "etc/edge-emotion"
CONFIG_FILE = "edge-emotion.toml"
UNIT_DIR = "etc/systemd/system"
STATE_DIRS = ("var/lib/edge-emotion", "var/lib/private/edge-emotion")  # DynamicUser= keeps state under private/
JETSON_DROPIN = "jetson.conf"
OLD_SYSTEMD_DROPIN = "systemd237.conf"
# The unit's SystemCallFilter=@system-service needs systemd 239; older ones (JetPack 4: 237) get the drop-in.
OLD_SYSTEMD_BELOW = 239
GROUPS = ("video", "audio")  # the unit's SupplementaryGroups=
# ProtectHome= and PrivateTmp= hide these from the service: its program cannot live there.
HIDDEN = ("/home", "/root", "/run/user", "/tmp", "/var/tmp")


class ServiceError(RuntimeError):
    """The service cannot be (un)installed here; the message says what to do."""


@dataclass(frozen=True)
class Step:
    """One change; `do` is None when the system is already as it should be."""

    text: str
    do: Callable[[], None] | None = None


class Installer:
    """Plans the steps for one root ("/" for the running system)."""

    def __init__(self, root: str | Path = "/") -> None:
        self.root = Path(root).resolve()
        self.live = self.root == Path("/")

    def path(self, rel: str) -> Path:
        return self.root / rel

    # -- checks -----------------------------------------------------------------------
    def preflight(self, dry_run: bool) -> None:
        if shutil.which("systemctl") is None:
            raise ServiceError("systemd is absent (no systemctl on PATH): this command installs a systemd unit; "
                               "without systemd run `edge-emotion run --config FILE` from your init system instead")
        if not self.live:
            return
        if not dry_run and os.geteuid() != 0:
            raise ServiceError("must run as root: sudo edge-emotion install-service (or add --dry-run to only look)")
        if not Path("/run/systemd/system").is_dir():
            raise ServiceError("systemd is not running here (no /run/systemd/system); in a container or chroot "
                               "use --root DIR to install into that file tree")
        for g in GROUPS:
            try:
                grp.getgrnam(g)
            except KeyError:
                raise ServiceError(f"group {g!r} is missing (the unit's SupplementaryGroups=): "
                                   f"sudo groupadd --system {g}") from None

    def exec_path(self, given: str | None) -> str:
        """The `edge-emotion` program the unit starts, checked to be visible to the service."""
        if given:
            exe = Path(given)
        else:  # the script that is running, else the one beside this Python (a venv's bin/)
            argv0 = Path(sys.argv[0]).absolute()
            exe = argv0 if argv0.name == "edge-emotion" else Path(sys.executable).parent / "edge-emotion"
        if not exe.is_absolute() or any(c.isspace() for c in str(exe)):
            raise ServiceError(f"--exec {exe}: needs an absolute path without spaces")
        if not (self.root / exe.relative_to("/")).is_file():
            raise ServiceError(f"{exe} not found under {self.root}: install the package first, or pass "
                               "--exec /path/to/edge-emotion")
        if any(str(exe) == h or str(exe).startswith(h + "/") for h in HIDDEN):
            raise ServiceError(f"{exe} is hidden from the service by ProtectHome=/PrivateTmp=: install into /opt, e.g. "
                               "sudo python3 -m venv --system-site-packages /opt/edge-emotion && "
                               "sudo /opt/edge-emotion/bin/pip install edge-emotion")
        return str(exe)

    # -- plans ------------------------------------------------------------------------
    def install(self, exe: str, start: bool = True, jetson: bool | None = None,
                old_systemd: bool | None = None) -> list[Step]:
        steps: list[Step] = []
        conf_dir = self.path(CONFIG_DIR)
        conf = conf_dir / CONFIG_FILE
        steps.append(_mkdir(conf_dir))
        if conf.exists():
            steps.append(Step(f"{conf} exists (kept as is){_config_problem(conf)}"))
        else:
            steps.append(Step(f"write {conf} (example configuration)", _writer(conf, _template(CONFIG_FILE), 0o644)))

        unit_dir = self.path(UNIT_DIR)
        files = {unit_dir / UNIT: _unit_text(exe)}
        if jetson if jetson is not None else self.path("etc/nv_tegra_release").exists():
            files[unit_dir / f"{UNIT}.d" / JETSON_DROPIN] = _template(JETSON_DROPIN)
        if old_systemd if old_systemd is not None else (self.live and 0 < systemd_version() < OLD_SYSTEMD_BELOW):
            files[unit_dir / f"{UNIT}.d" / OLD_SYSTEMD_DROPIN] = _template(OLD_SYSTEMD_DROPIN)
        changed = False
        for target, text in files.items():
            step = _write_if_changed(target, text)
            changed |= step.do is not None
            steps.append(step)

        if self.live and changed:
            steps.append(_run(["systemctl", "daemon-reload"]))
        if self._query("is-enabled") == "enabled":
            steps.append(Step(f"{UNIT} is enabled"))
        else:
            steps.append(_run(self._systemctl("enable", UNIT)))
        if not self.live:
            steps.append(Step(f"not started: --root {self.root} is not the running system"))
        elif not start:
            steps.append(Step("not started (--no-start): sudo systemctl start edge-emotion"))
        elif self._query("is-active") != "active":
            steps.append(_run(["systemctl", "start", UNIT]))
        elif changed:
            steps.append(_run(["systemctl", "restart", UNIT]))
        else:
            steps.append(Step(f"{UNIT} is running"))
        return steps

    def uninstall(self, purge: bool = False) -> list[Step]:
        steps: list[Step] = []
        unit = self.path(UNIT_DIR) / UNIT
        if self.live and self._query("is-active") == "active":
            steps.append(_run(["systemctl", "stop", UNIT]))
        if self._query("is-enabled") in ("enabled", "enabled-runtime"):
            steps.append(_run(self._systemctl("disable", UNIT)))
        dropin = unit.with_name(f"{UNIT}.d") / JETSON_DROPIN
        removed = False
        for f in (dropin, dropin.with_name(OLD_SYSTEMD_DROPIN), unit):
            if f.exists():
                steps.append(Step(f"remove {f}", f.unlink))
                removed = True
        if dropin.parent.is_dir():  # kept when `systemctl edit` put the owner's overrides there
            steps.append(Step(f"remove {dropin.parent} if empty", lambda d=dropin.parent: _rmdir_if_empty(d)))
        if not removed:
            steps.append(Step(f"{unit} is not installed"))
        elif self.live:
            steps.append(_run(["systemctl", "daemon-reload"]))
        dirs = [self.path(CONFIG_DIR)] + [self.path(d) for d in STATE_DIRS]
        if purge:
            steps += [Step(f"remove {d}", lambda d=d: _remove_tree(d)) for d in dirs if d.is_symlink() or d.exists()]
        else:
            steps += [Step(f"{d} kept (--purge removes it)") for d in dirs if d.exists() and not d.is_symlink()]
        return steps

    # -- systemctl ----------------------------------------------------------------------
    def _systemctl(self, *args: str) -> list[str]:
        return ["systemctl", *([] if self.live else [f"--root={self.root}"]), *args]

    def _query(self, what: str) -> str:
        """`systemctl is-enabled|is-active` of the unit; '' when it is unknown."""
        if what == "is-active" and not self.live:
            return ""
        out = subprocess.run(self._systemctl(what, UNIT), capture_output=True, text=True)
        return out.stdout.strip()


def execute(steps: list[Step], dry_run: bool, out=None) -> None:
    """Print every step; do the pending ones unless `dry_run`."""
    out = out or sys.stdout
    for s in steps:
        if s.do is None:
            print(f"ok: {s.text}", file=out)
            continue
        print(f"{'dry-run: ' if dry_run else ''}{s.text}", file=out, flush=True)
        if not dry_run:
            s.do()


# -- steps ----------------------------------------------------------------------------------
def _mkdir(d: Path) -> Step:
    if d.is_dir():
        return Step(f"{d}/ exists")
    return Step(f"create {d}/", lambda: d.mkdir(mode=0o755, parents=True))


def _write_if_changed(target: Path, text: str) -> Step:
    if target.is_file() and target.read_text() == text:
        return Step(f"{target} is up to date")
    verb = "update" if target.exists() else "write"
    return Step(f"{verb} {target}", _writer(target, text, 0o644))


def _writer(target: Path, text: str, mode: int) -> Callable[[], None]:
    def write() -> None:
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text)
        tmp.chmod(mode)
        os.replace(tmp, target)  # atomic: systemd never reads a half-written unit
    return write


def _run(cmd: list[str]) -> Step:
    def run() -> None:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise ServiceError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return Step(f"run: {' '.join(cmd)}", run)


def _rmdir_if_empty(d: Path) -> None:
    if not any(d.iterdir()):
        d.rmdir()


def _remove_tree(d: Path) -> None:
    if d.is_symlink() or d.is_file():
        d.unlink()
    else:
        shutil.rmtree(d)


def _template(name: str) -> str:
    try:
        return (TEMPLATES / name).read_text()
    except FileNotFoundError:
        raise ServiceError(f"{TEMPLATES / name} is missing: reinstall the edge-emotion package") from None


def _unit_text(exe: str) -> str:
    """The shipped unit with ExecStart pointing at `exe`."""
    lines = _template(UNIT).splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("ExecStart="):
            _, _, args = line.partition(" ")
            lines[i] = f"ExecStart={exe} {args}"
            return "".join(lines)
    raise ServiceError(f"{TEMPLATES / UNIT} has no ExecStart= line: reinstall the edge-emotion package")


def _config_problem(conf: Path) -> str:
    """'' when the config loads, else a warning to append to the step's line."""
    from ..config import ConfigError, load

    try:
        load(conf)
    except ConfigError as e:
        return f"; WARNING, the service will exit with status 2 until it is fixed: {e}"
    return ""


# -- command line -----------------------------------------------------------------------------
def register(subparsers) -> None:
    """Add `install-service` and `uninstall-service` to an argparse subparsers object."""
    p = subparsers.add_parser("install-service", help="install, enable and start the systemd service (root)")
    p.add_argument("--exec", dest="exe", metavar="PATH",
                   help="the edge-emotion program the unit runs (default: the one beside this Python)")
    p.add_argument("--no-start", action="store_true", help="install and enable, but do not start")
    p.add_argument("--jetson", action="store_true", default=None,
                   help="add the Jetson drop-in (default: when /etc/nv_tegra_release exists)")
    p.add_argument("--old-systemd", action="store_true", default=None,
                   help=f"add the drop-in for systemd below {OLD_SYSTEMD_BELOW}, e.g. JetPack 4's 237 (default: when "
                        "`systemctl --version` says so)")
    _common(p)
    p.set_defaults(func=cmd_install)
    p = subparsers.add_parser("uninstall-service", help="stop, disable and remove the systemd service (root)")
    p.add_argument("--purge", action="store_true", help="also remove /etc/edge-emotion and the state directory")
    _common(p)
    p.set_defaults(func=cmd_uninstall)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="print every action without doing it")
    p.add_argument("--root", default="/", metavar="DIR",
                   help="install into this file tree instead of the running system (like systemctl --root)")


def cmd_install(args: argparse.Namespace) -> int:
    return _guarded(args, lambda i: i.install(i.exec_path(args.exe), start=not args.no_start, jetson=args.jetson,
                                               old_systemd=args.old_systemd))


def cmd_uninstall(args: argparse.Namespace) -> int:
    return _guarded(args, lambda i: i.uninstall(purge=args.purge))


def systemd_version() -> int:
    """The running systemd's version from `systemctl --version` ("systemd 237 (...)"); 0 when unknown."""
    try:
        out = subprocess.run(["systemctl", "--version"], capture_output=True, text=True, timeout=10).stdout
        return int(out.split()[1]) if out.startswith("systemd ") else 0
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return 0


def _guarded(args: argparse.Namespace, plan: Callable[[Installer], list[Step]]) -> int:
    try:
        inst = Installer(args.root)
        inst.preflight(args.dry_run)
        execute(plan(inst), args.dry_run)
    except (ServiceError, OSError) as e:
        print(f"edge-emotion: {e}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edge-emotion", description=__doc__)
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
