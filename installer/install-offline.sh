#!/usr/bin/env bash
# Install Inspection Studio from an offline bundle (made by bundle.sh) on a
# machine with no route to any package registry. Usage:
#
#   bash install-offline.sh BUNDLE_DIR [TARGET_DIR] [--no-debs] [--no-selfcheck]
#
#   TARGET_DIR      where the studio goes (default: ~/inspection-studio):
#                   TARGET_DIR/.venv (the studio: TARGET_DIR/.venv/bin/studio)
#                   and TARGET_DIR/projects/demo
#   --no-debs       leave the Debian packages alone
#   --no-selfcheck  do not run `studio selfcheck` at the end
#
# It verifies the bundle's checksums, installs the Debian packages that are
# missing (dpkg -i, through sudo when not root), creates the virtual
# environment with Python 3.11 (PYTHON=/path/to/python3.11 to choose) and
# installs every wheel with `pip --no-index` from the bundle alone: any pip
# configuration of this machine (indexes, find-links) is ignored. Safe to run
# again: what is there is kept; the wheels are reinstalled only if missing.
set -euo pipefail

say() { printf '\033[1m[install]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

BUNDLE="" TARGET="" DEBS=1 SELFCHECK=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-debs) DEBS=0; shift ;;
    --no-selfcheck) SELFCHECK=0; shift ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) if [ -z "$BUNDLE" ]; then BUNDLE="$1"; elif [ -z "$TARGET" ]; then TARGET="$1";
       else die "too many arguments: $1"; fi; shift ;;
  esac
done
[ -n "$BUNDLE" ] || die "usage: bash install-offline.sh BUNDLE_DIR [TARGET_DIR] (see --help)"
[ -f "$BUNDLE/requirements.txt" ] && [ -f "$BUNDLE/SHA256SUMS" ] \
  || die "$BUNDLE is not an Inspection Studio bundle (no requirements.txt / SHA256SUMS): build one with installer/bundle.sh"
BUNDLE="$(cd "$BUNDLE" && pwd)"
TARGET="${TARGET:-$HOME/inspection-studio}"
mkdir -p "$TARGET"
TARGET="$(cd "$TARGET" && pwd)"

# 0. The bundle is whole: a copy cut short on a USB stick fails here, not half-way.
say "checking the bundle ($(sed -n 's/^built: //p' "$BUNDLE/MANIFEST" 2>/dev/null))"
(cd "$BUNDLE" && sha256sum --quiet --strict -c SHA256SUMS) \
  || die "the bundle is damaged or incomplete (checksums differ): copy it again"

# 1. The Debian packages Qt needs: only those not installed already.
if [ "$DEBS" = 1 ] && [ -d "$BUNDLE/debs" ]; then
  if command -v dpkg >/dev/null 2>&1; then
    todo=()
    for deb in "$BUNDLE"/debs/*.deb; do
      [ -e "$deb" ] || continue
      pkg="$(dpkg-deb -f "$deb" Package)"
      arch="$(dpkg-deb -f "$deb" Architecture)"
      dpkg-query -W -f='${Status}' "$pkg:$arch" 2>/dev/null | grep -q 'ok installed' \
        || dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' \
        || todo+=("$deb")
    done
    if [ ${#todo[@]} -gt 0 ]; then
      SUDO=""
      [ "$(id -u)" = 0 ] || SUDO="sudo"
      say "installing ${#todo[@]} Debian package(s) for Qt with dpkg"
      $SUDO env DEBIAN_FRONTEND=noninteractive dpkg -i "${todo[@]}" >&2 \
        || die "dpkg could not install the Qt libraries (was the bundle built on this OS release?)"
    else
      say "the Debian packages Qt needs are all installed"
    fi
  else
    say "no dpkg here: make sure Qt 6's runtime libraries (EGL, GL, xkbcommon, fontconfig) are installed"
  fi
fi

# 2. Python 3.11 in TARGET/.venv.
. "$(dirname "${BASH_SOURCE[0]}")/find-python.sh"     # beside this script (the bundle has a copy)
[ -n "$PY" ] || die "Python 3.11 is needed (set PYTHON=/path/to/python3.11)"
VENV="$TARGET/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi

# 3. Every wheel from the bundle, and nothing from anywhere else.
offline_pip() {
  # drop this machine's pip settings (indexes, find-links, constraints): the bundle alone
  env $(env | sed -n 's/^\(PIP_[A-Za-z0-9_]*\)=.*/-u \1/p') PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip "$@" --no-index --find-links "$BUNDLE/wheels"
}
if [ -d "$BUNDLE/wheels" ]; then
  if ls "$BUNDLE"/wheels/pip-*.whl >/dev/null 2>&1; then
    offline_pip install -q --upgrade pip >&2
  fi
  say "installing $(tr '\n' ' ' < "$BUNDLE/requirements.txt")from the bundle (no registry is asked)"
  offline_pip install -q --progress-bar off -r "$BUNDLE/requirements.txt" >&2
  # ultralytics and anomalib pull in opencv-python, whose cv2 would shadow the
  # headless one; put the headless build back on top (as setup.sh does).
  if "$VENV/bin/python" -m pip show -q opencv-python >/dev/null 2>&1; then
    cv="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("opencv-python-headless"))')"
    offline_pip install -q --force-reinstall --no-deps "opencv-python-headless==$cv" >&2
  fi
fi

# 4. The demo project, unless one is there already (it may hold the user's work).
if [ -d "$BUNDLE/projects/demo" ]; then
  if [ -e "$TARGET/projects/demo" ]; then
    say "keeping the demo project already in $TARGET/projects/demo"
  else
    mkdir -p "$TARGET/projects"
    cp -a "$BUNDLE/projects/demo" "$TARGET/projects/demo"
  fi
fi

# 5. The studio checks itself.
if [ "$SELFCHECK" = 1 ] && [ -x "$VENV/bin/studio" ]; then
  say "self-check"
  project=()
  [ ! -d "$TARGET/projects/demo" ] || project=(--project "$TARGET/projects/demo")
  QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}" "$VENV/bin/studio" selfcheck "${project[@]}" \
    || die "the self-check failed (the table above says what): the installation is incomplete"
fi
if [ -x "$VENV/bin/studio" ]; then
  say "installed in $TARGET; start it with: $VENV/bin/studio gui $TARGET/projects/demo"
else
  say "installed $(tr '\n' ' ' < "$BUNDLE/requirements.txt")in $VENV"
fi
