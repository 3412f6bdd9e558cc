"""The Linux kiosk session (installer/kiosk/): the systemd units as install-kiosk.sh fills them in,
checked by systemd-analyze where it is installed, the script's dry run, and the offline bundle
carrying them. Installing for real needs root and a PC of its own: README.md, "Tested"."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
KIOSK = REPO / "installer" / "kiosk"
SCRIPT = KIOSK / "install-kiosk.sh"


def sh(script, *args, env=None):
    return subprocess.run(["bash", str(script), *map(str, args)], capture_output=True, text=True, timeout=120,
                          env=env)


@pytest.fixture
def line_pc(tmp_path):
    """A project folder, a studio command and a cage on PATH (stand-ins: only their paths matter here)."""
    project = tmp_path / "bracket"
    project.mkdir()
    (project / "project.yaml").write_text("name: bracket\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("studio", "cage"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / name).chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    return project, bin_dir, env


def render(line_pc, out, *extra):
    project, bin_dir, env = line_pc
    r = sh(SCRIPT, "--project", project, "--data-dir", "/var/lib/inspection-studio/bracket", "--render", out,
           *extra, env=env)
    assert r.returncode == 0, r.stderr
    return {p.name: p.read_text() for p in Path(out).iterdir()}


def test_the_units_start_the_station_headless_and_the_kiosk_alone_in_cage(line_pc, tmp_path):
    project, bin_dir, _ = line_pc
    units = render(line_pc, tmp_path / "units")
    assert sorted(units) == ["inspection-kiosk.service", "inspection-station.service"]
    station, kiosk = units["inspection-station.service"], units["inspection-kiosk.service"]
    assert f"ExecStart={bin_dir}/studio station run {project} --data-dir /var/lib/inspection-studio/bracket\n" \
        in station
    assert "--kiosk" not in station                  # the station is not the kiosk
    assert "Restart=on-failure" in station and "KillSignal=SIGINT" in station and "StartLimitIntervalSec=0" in station
    assert "WantedBy=multi-user.target" in station and "User=inspection" in station
    assert f"ExecStart={bin_dir}/cage -d -- {bin_dir}/studio kiosk /var/lib/inspection-studio/bracket\n" in kiosk
    assert " -s " not in kiosk.split("ExecStart=")[1].splitlines()[0]     # no switching to another terminal
    assert "Restart=always" in kiosk and "TTYPath=/dev/tty1" in kiosk and "Conflicts=getty@tty1.service" in kiosk
    assert "PAMName=login" in kiosk and "QT_QPA_PLATFORM=wayland" in kiosk
    assert "@" not in station.replace("getty@", "") and "@" not in kiosk.replace("getty@", "")
    only_station = render(line_pc, tmp_path / "only", "--no-kiosk", "--tty", "3")
    assert sorted(only_station) == ["inspection-station.service"]
    assert "TTYPath=/dev/tty3" in render(line_pc, tmp_path / "tty3", "--tty", "3")["inspection-kiosk.service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (apt systemd)")
def test_systemd_analyze_verify_finds_nothing_wrong_with_the_units(line_pc, tmp_path):
    units = tmp_path / "units"
    render(line_pc, units)
    r = subprocess.run(["systemd-analyze", "verify", *sorted(map(str, units.iterdir()))],
                       capture_output=True, text=True, timeout=120, env=line_pc[2])
    problems = [line for line in r.stderr.splitlines() if "Failed to resolve user" not in line]
    assert r.returncode == 0 and not problems, r.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (apt systemd)")
def test_the_dry_run_says_every_step_changes_nothing_and_catches_a_broken_unit(line_pc, tmp_path):
    project, bin_dir, env = line_pc
    r = sh(SCRIPT, "--project", project, "--data-dir", tmp_path / "data", "--dry-run", env=env)
    assert r.returncode == 0, r.stderr
    for step in ("units verified", "would run: systemctl enable inspection-station.service",
                 "would run: systemctl enable inspection-kiosk.service", "set-default graphical.target",
                 f"install -d -m 2775 -o inspection -g inspection {tmp_path / 'data'}", "dry run: nothing was changed"):
        assert step in r.stderr, step
    assert not (tmp_path / "data").exists()
    # a unit systemd would not parse is refused before anything is done
    copy = tmp_path / "kiosk"
    shutil.copytree(KIOSK, copy)
    unit = copy / "inspection-station.service"
    unit.write_text(unit.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    r = sh(copy / "install-kiosk.sh", "--project", project, "--dry-run", env=env)
    assert r.returncode == 2 and "restart specifier" in r.stderr and "found problems" in r.stderr


def test_clear_errors(line_pc, tmp_path):
    project, bin_dir, env = line_pc
    r = sh(SCRIPT, "--project", tmp_path / "nowhere", "--dry-run", env=env)
    assert r.returncode == 2 and "not a project folder" in r.stderr
    r = sh(SCRIPT, "--project", project, "--data-dir", "relative/dir", "--dry-run", env=env)
    assert r.returncode == 2 and "absolute path" in r.stderr
    r = sh(SCRIPT, "--project", project, "--studio", tmp_path / "no-studio", "--dry-run", env=env)
    assert r.returncode == 2 and "no studio command" in r.stderr
    r = sh(SCRIPT, "--bogus", env=env)
    assert r.returncode == 2 and "unknown argument" in r.stderr
    if os.geteuid() != 0:
        r = sh(SCRIPT, "--project", project, env=env)
        assert r.returncode == 2 and "run it as root" in r.stderr


def test_the_offline_bundle_carries_the_kiosk_session_and_cage(tmp_path):
    from test_installer_offline import BUNDLE_SH, offline_env, sh as bundle_sh

    bundle = tmp_path / "bundle"
    built = bundle_sh(BUNDLE_SH, str(bundle), "--only", "tinydep", "--no-debs", "--no-wheels", env=offline_env())
    assert built.returncode == 0, built.stderr
    for name in ("inspection-station.service", "inspection-kiosk.service", "install-kiosk.sh", "README.md",
                 "kiosk-debs.txt"):
        assert (bundle / "kiosk" / name).is_file(), name
        assert f"./kiosk/{name}" in (bundle / "SHA256SUMS").read_text() or \
            f"kiosk/{name}" in (bundle / "SHA256SUMS").read_text()
    assert os.access(bundle / "kiosk" / "install-kiosk.sh", os.X_OK)
    # the compositor is one of the bundle's Debian packages (its dependencies follow by apt's closure)
    assert "cage" in (KIOSK / "kiosk-debs.txt").read_text().split()
    assert "kiosk/kiosk-debs.txt" in BUNDLE_SH.read_text()
