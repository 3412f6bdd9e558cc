#!/usr/bin/env bash
# Set up Inspection Studio from a fresh clone: system libraries Qt needs,
# a Python 3.11 virtual environment in .venv, and the studio itself.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# 1. System libraries Qt needs, even offscreen (EGL/GL, xkbcommon, fontconfig,
#    D-Bus), and the X11/xcb ones for a real window on a desktop: the list is
#    installer/qt-libs.txt (bundle.sh downloads the same list for offline PCs).
QT_LIBS="$(sed -e 's/#.*//' installer/qt-libs.txt | xargs)"
if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=""
  for p in $QT_LIBS; do
    dpkg -s "$p" >/dev/null 2>&1 || dpkg -s "${p}t64" >/dev/null 2>&1 || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    say "installing system libraries for Qt:$missing"
    $SUDO apt-get update -qq
    # Newer Debian renamed some libraries (…t64); take whichever name exists.
    install=""
    for p in $missing; do
      if apt-cache show "$p" >/dev/null 2>&1; then install="$install $p"
      elif apt-cache show "${p}t64" >/dev/null 2>&1; then install="$install ${p}t64"
      else say "note: no package $p here; skipping it"; fi
    done
    [ -z "$install" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $install >/dev/null
  fi
else
  say "not a Debian/Ubuntu system: make sure Qt 6's runtime libraries (EGL, GL, xkbcommon, fontconfig) are installed"
fi
# 1b. What the tests need beyond the studio (installer/test-packages.txt): the MQTT broker (mosquitto)
#     and PostgreSQL's server, which the tests start themselves on free ports (never Debian's own
#     services on :1883 / :5432), and headless Chromium for the web dashboard's look test.
TEST_SERVERS="$(sed -e 's/#.*//' installer/test-packages.txt | xargs)"
if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=""
  for p in $TEST_SERVERS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    say "installing what the tests need:$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
else
  say "not a Debian/Ubuntu system: install mosquitto, PostgreSQL's server (initdb, pg_ctl) and chromium for the tests"
fi

# 2. Python 3.11 in .venv.
. installer/find-python.sh
[ -n "$PY" ] || { say "Python 3.11 is needed (set PYTHON=/path/to/python3.11)"; exit 1; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PY"
  "$PY" -m venv .venv
fi

# 3. The studio and its dependencies, again only when pyproject.toml changed.
stamp=.venv/.studio-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Inspection Studio and its dependencies into .venv (first time: several minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev,peer]"
  # ultralytics and anomalib pull in opencv-python, whose cv2 (with its own Qt
  # plugins) would shadow the headless one; put the headless build back on top.
  cv="$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("opencv-python-headless"))')"
  .venv/bin/python -m pip install -q --force-reinstall --no-deps "opencv-python-headless==$cv"
  echo "$want" > "$stamp"
fi
say "ready"
