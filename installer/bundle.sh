#!/usr/bin/env bash
# Build an offline bundle of Inspection Studio on a connected machine, for a
# line PC with no route to any package registry (install it there with
# install-offline.sh, copied into the bundle). Usage:
#
#   installer/bundle.sh OUT_DIR [--extras dev,peer] [--constraints FILE]
#                       [--only REQ]... [--no-debs] [--no-wheels] [--list-debs]
#
#   OUT_DIR            an empty or new folder (several GB with torch and CUDA)
#   --extras LIST      also the optional extras, e.g. dev,peer (default: none)
#   --constraints F    pin versions, e.g. `pip freeze` of the venv you tested
#   --only REQ         bundle only these requirements (repeatable), not the studio
#   --no-debs          no Debian packages (another OS, or they are already there)
#   --no-wheels        no Python wheels
#   --list-debs        print the Debian packages it would download, and stop
#
# Build it on the same OS release, CPU architecture and Python minor version
# as the line PC: wheels and .deb files are specific to all three. PYTHON
# (default: .venv/bin/python, else python3.11) is the interpreter that
# resolves the wheels; the target's Python must match it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"

say() { printf '\033[1m[bundle]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

OUT="" EXTRAS="" CONSTRAINTS="" ONLY=() DEBS=1 WHEELS=1 LIST_DEBS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --extras) EXTRAS="${2:?--extras needs a list, e.g. dev,peer}"; shift 2 ;;
    --constraints) CONSTRAINTS="$(cd "$(dirname "${2:?}")" && pwd)/$(basename "$2")"; shift 2 ;;
    --only) ONLY+=("${2:?--only needs a requirement}"); shift 2 ;;
    --no-debs) DEBS=0; shift ;;
    --no-wheels) WHEELS=0; shift ;;
    --list-debs) LIST_DEBS=1; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$OUT" ] || die "one OUT_DIR only ($OUT, $1)"; OUT="$1"; shift ;;
  esac
done

# The Debian packages Qt needs and everything they depend on, as apt would
# install them on a bare system (an empty dpkg status: alternatives resolved
# as a real install does); install-offline.sh installs only those missing.
deb_closure() {
  local wanted="" p empty known names
  # Qt's, and the kiosk session's (the cage compositor: kiosk/kiosk-debs.txt)
  names="$(cat "$HERE/qt-libs.txt" "$HERE/kiosk/kiosk-debs.txt" 2>/dev/null | sed -e 's/#.*//' | xargs)"
  # the names apt knows here, asked once (newer Debian renamed some: ...t64)
  known=" $(apt-cache show --no-all-versions $names $(printf '%st64 ' $names) 2>/dev/null \
    | sed -n 's/^Package: //p' | sort -u | xargs) "
  for p in $names; do
    case "$known" in
      *" $p "*) wanted="$wanted $p" ;;
      *" ${p}t64 "*) wanted="$wanted ${p}t64" ;;
      *) say "note: no package $p in this machine's apt sources; skipping it" ;;
    esac
  done
  empty="$(mktemp)"
  apt-get -s -qq -o Dir::State::status="$empty" -o APT::Install-Recommends=false install $wanted \
    | awk '/^Inst /{print $2}' | sort -u
  rm -f "$empty"
}

if [ "$LIST_DEBS" = 1 ]; then
  command -v apt-get >/dev/null 2>&1 || die "apt-get is needed to list the Debian packages"
  deb_closure
  exit 0
fi

[ -n "$OUT" ] || die "usage: installer/bundle.sh OUT_DIR [options] (see --help)"
OUT="$(realpath -m "$OUT")"
case "$OUT/" in "$REPO"/*) die "put the bundle outside the repository ($OUT)";; esac
[ ! -e "$OUT" ] || [ -z "$(ls -A "$OUT")" ] || die "$OUT is not empty: give a new or empty folder"
mkdir -p "$OUT"

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PY="$REPO/.venv/bin/python"; else PY=python3.11; fi
fi
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "$PY is not Python 3.11 (set PYTHON=/path/to/python3.11)"

# What the line PC will install, one requirement a line.
if [ ${#ONLY[@]} -gt 0 ]; then
  printf '%s\n' "${ONLY[@]}" > "$OUT/requirements.txt"
  STUDIO=0
else
  version="$("$PY" -c 'import tomllib,sys; print(tomllib.load(open(sys.argv[1],"rb"))["project"]["version"])' \
    "$REPO/pyproject.toml")"
  echo "inspection-studio${EXTRAS:+[$EXTRAS]}==$version" > "$OUT/requirements.txt"
  STUDIO=1
fi

# 1. Every wheel, built or downloaded for this Python and platform.
if [ "$WHEELS" = 1 ]; then
  mkdir -p "$OUT/wheels"
  pip_args=(--wheel-dir "$OUT/wheels" --progress-bar off)
  [ -z "$CONSTRAINTS" ] || pip_args+=(--constraint "$CONSTRAINTS")
  if [ "$STUDIO" = 1 ]; then
    say "wheels of Inspection Studio ${EXTRAS:+[$EXTRAS] }and every dependency (torch with CUDA: GBs, minutes)"
    "$PY" -m pip wheel "${pip_args[@]}" "$REPO${EXTRAS:+[$EXTRAS]}" >&2
  else
    say "wheels of ${ONLY[*]} and their dependencies"
    "$PY" -m pip wheel "${pip_args[@]}" "${ONLY[@]}" >&2
  fi
  # pip itself: the line PC's new venv upgrades to it (nothing there builds from source).
  "$PY" -m pip download -q --only-binary=:all: --dest "$OUT/wheels" pip >&2
  # ultralytics and anomalib pull in opencv-python; install-offline.sh puts the
  # headless build back on top, as setup.sh does.
fi

# 2. The Debian packages Qt (and the kiosk session) needs.
if [ "$DEBS" = 1 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    mkdir -p "$OUT/debs"
    say "Debian packages for Qt (and their dependencies)"
    deb_closure > "$OUT/debs/packages.txt"
    (cd "$OUT/debs" && apt-get download -qq $(cat packages.txt)) >&2
  else
    say "no apt-get here: no Debian packages in the bundle (use --no-debs to say so)"
    exit 2
  fi
fi

# 3. The demo project and the installer.
if [ "$STUDIO" = 1 ]; then
  mkdir -p "$OUT/projects"
  tar -C "$REPO/projects" --exclude='*.lock' -cf - demo | tar -C "$OUT/projects" -xf -
fi
cp "$HERE/install-offline.sh" "$HERE/find-python.sh" "$HERE/qt-libs.txt" "$OUT/"
# the Linux kiosk session: systemd units, their install script, README (kiosk/README.md)
[ ! -d "$HERE/kiosk" ] || cp -R "$HERE/kiosk" "$OUT/kiosk"
[ ! -f "$HERE/README.md" ] || cp "$HERE/README.md" "$OUT/INSTALL.md"

# 4. What is in it, and checksums the line PC verifies before installing.
{
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  echo "source: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
  echo "python: $("$PY" -c 'import platform; print(platform.python_version(), platform.machine())')"
  echo "os: $( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || uname -sr)"
  echo "install: $(tr '\n' ' ' < "$OUT/requirements.txt")"
  [ "$STUDIO" = 0 ] || echo "weights: $(cd "$OUT/wheels" 2>/dev/null && ls | grep -i -E 'model|weights' | tr '\n' ' ')"
  [ ! -d "$OUT/wheels" ] || echo "wheels: $(ls "$OUT/wheels" | wc -l)"
  [ ! -d "$OUT/debs" ] || echo "debs: $(ls "$OUT/debs"/*.deb 2>/dev/null | wc -l)"
} > "$OUT/MANIFEST"
(cd "$OUT" && find . -type f ! -name 'SHA256SUMS*' -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum) \
  > "$OUT/SHA256SUMS.tmp" && mv "$OUT/SHA256SUMS.tmp" "$OUT/SHA256SUMS"

say "bundle ready: $OUT ($(du -sh "$OUT" | cut -f1)); on the line PC: bash install-offline.sh $OUT"
