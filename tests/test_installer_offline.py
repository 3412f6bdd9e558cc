"""The offline installer: bundle.sh on a "connected" machine, install-offline.sh where no registry answers.

The connected machine's registry is a local folder of wheels made here, so the
test needs no network; the install runs with every registry out of reach (an
unreachable proxy and index) and must take everything from the bundle alone.
The full bundle (torch, CUDA, Qt's Debian packages) is too big for a test: its
manual run is recorded in installer/README.md.
"""
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLE_SH = REPO / "installer" / "bundle.sh"
INSTALL_SH = REPO / "installer" / "install-offline.sh"
UNREACHABLE = "http://127.0.0.1:9"


def make_wheel(folder: Path, name: str, version: str, code: str, requires: tuple[str, ...] = ()) -> Path:
    """A minimal pure-Python wheel with a correct RECORD."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": code,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                            + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join(record + [f"{dist}/RECORD,,"]) + "\n"
    out = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return out


def offline_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(https_proxy=UNREACHABLE, http_proxy=UNREACHABLE, HTTPS_PROXY=UNREACHABLE, HTTP_PROXY=UNREACHABLE,
               PIP_INDEX_URL=UNREACHABLE + "/", PIP_NO_INDEX="1", PYTHON=sys.executable, HOME=env.get("HOME", "/tmp"))
    env.update(extra)
    return env


def sh(script: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def registry(tmp_path) -> Path:
    """The connected machine's registry: two wheels, one depending on the other, and pip's own wheel."""
    reg = tmp_path / "registry"
    reg.mkdir()
    make_wheel(reg, "tinydep", "1.0", "VALUE = 42\n")
    make_wheel(reg, "tinyapp", "2.0", "from tinydep import VALUE\nANSWER = VALUE\n", requires=("tinydep>=1",))
    import ensurepip

    for pip_wheel in (Path(ensurepip.__file__).parent / "_bundled").glob("pip-*.whl"):
        shutil.copy(pip_wheel, reg)
    return reg


@pytest.mark.slow
def test_a_bundle_installs_into_a_fresh_venv_with_no_registry(tmp_path, registry):
    bundle, target = tmp_path / "bundle", tmp_path / "line-pc"
    # the connected machine: its registry is the local folder, and only it
    built = sh(BUNDLE_SH, str(bundle), "--only", "tinyapp", "--no-debs",
               env=offline_env(PIP_FIND_LINKS=str(registry), PIP_CONFIG_FILE=os.devnull))
    assert built.returncode == 0, built.stderr
    wheels = sorted(p.name.split("-")[0] for p in (bundle / "wheels").glob("*.whl"))
    assert wheels == ["pip", "tinyapp", "tinydep"]          # the dependency came along
    assert (bundle / "requirements.txt").read_text().split() == ["tinyapp"]
    assert (bundle / "install-offline.sh").is_file() and (bundle / "SHA256SUMS").is_file()
    assert "install: tinyapp" in (bundle / "MANIFEST").read_text()

    # the line PC: the registry folder is gone, every index and proxy unreachable
    shutil.rmtree(registry)
    done = sh(bundle / "install-offline.sh", str(bundle), str(target), env=offline_env())
    assert done.returncode == 0, done.stderr
    python = target / ".venv" / "bin" / "python"
    answer = subprocess.run([str(python), "-c", "import tinyapp; print(tinyapp.ANSWER)"],
                            capture_output=True, text=True, timeout=60)
    assert answer.stdout.strip() == "42", answer.stderr
    # the venv is a fresh one, not the interpreter that ran the bundle
    assert not subprocess.run([str(python), "-c", "import pytest"], capture_output=True).returncode == 0

    # a second run keeps what is there
    again = sh(bundle / "install-offline.sh", str(bundle), str(target), env=offline_env())
    assert again.returncode == 0, again.stderr


def test_a_damaged_bundle_is_refused_before_anything_is_installed(tmp_path):
    bundle, target = tmp_path / "bundle", tmp_path / "line-pc"
    built = sh(BUNDLE_SH, str(bundle), "--only", "tinydep", "--no-debs", "--no-wheels", env=offline_env())
    assert built.returncode == 0, built.stderr
    requirements = (bundle / "requirements.txt").read_text()
    qt_libs = (bundle / "qt-libs.txt").read_text()
    for damage in (lambda: (bundle / "requirements.txt").write_text(requirements + "something-else\n"),  # altered
                   lambda: (bundle / "qt-libs.txt").unlink()):                                           # missing
        (bundle / "requirements.txt").write_text(requirements)
        (bundle / "qt-libs.txt").write_text(qt_libs)
        damage()
        done = sh(INSTALL_SH, str(bundle), str(target), env=offline_env())
        assert done.returncode == 2
        assert "damaged or incomplete" in done.stderr
        assert not (target / ".venv").exists()


def test_bundle_refuses_a_used_folder_and_the_repository(tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "something").write_text("x")
    r = sh(BUNDLE_SH, str(used), "--only", "tinydep", "--no-debs", env=offline_env())
    assert r.returncode == 2 and "not empty" in r.stderr
    r = sh(BUNDLE_SH, str(REPO / "bundle-here"), "--only", "tinydep", "--no-debs", env=offline_env())
    assert r.returncode == 2 and "outside the repository" in r.stderr
    assert not (REPO / "bundle-here").exists()
    r = sh(INSTALL_SH, str(tmp_path), env=offline_env())
    assert r.returncode == 2 and "not an Inspection Studio bundle" in r.stderr


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("apt-get") is None, reason="Debian packages: needs apt-get (Debian/Ubuntu)")
def test_the_debian_packages_cover_qt_and_what_it_needs_on_a_bare_system():
    listed = subprocess.run(["bash", str(BUNDLE_SH), "--list-debs"], capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    packages = set(listed.stdout.split())
    wanted = [line.split("#")[0].strip() for line in (REPO / "installer" / "qt-libs.txt").read_text().splitlines()]
    for name in filter(None, wanted):
        assert name in packages or f"{name}t64" in packages, name
    # their dependencies, as on a bare system: GL needs the mesa drivers, everything libc
    assert "libc6" in packages and "libgl1-mesa-dri" in packages
    # one provider per alternative, as apt picks it: not every font or init system there is
    assert "libelogind0" not in packages and "cdebconf" not in packages
