#!/usr/bin/env bash
# Install the Linux kiosk session of Inspection Studio on a line PC (run as root). Usage:
#
#   installer/kiosk/install-kiosk.sh --project DIR [--data-dir DIR] [--user NAME] [--kiosk-user NAME]
#                                    [--studio PATH] [--tty N] [--no-kiosk] [--dry-run] [--render DIR]
#   installer/kiosk/install-kiosk.sh --uninstall [--dry-run]
#
#   --project DIR     the project the station runs (it must have a trained model)
#   --data-dir DIR    its result log and part images (default /var/lib/inspection-studio/<project name>)
#   --user NAME       the account the station runs under (default inspection; created if missing)
#   --kiosk-user NAME the account the kiosk runs under (default: the same)
#   --studio PATH     the studio command (default: the one on PATH, else this checkout's .venv)
#   --tty N           the virtual terminal the kiosk owns (default 1)
#   --no-kiosk        the station service only (a PC without a screen)
#   --dry-run         say what it would do and check the units (systemd-analyze verify), change nothing
#   --render DIR      only write the filled-in units into DIR (for a review or a configuration tool)
#   --uninstall       disable and remove both units (the project and the data stay)
#
# What it does: checks cage (the Debian package 'cage'; the offline bundle carries it), creates the
# account(s) in the groups the display needs (video, render, input), the data directory (group
# writable), fills in inspection-station.service and inspection-kiosk.service, installs them in
# /etc/systemd/system, enables them and makes the PC boot to graphical.target. See README.md.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
UNIT_DIR="${UNIT_DIR:-/etc/systemd/system}"
DOCS_DIR="${DOCS_DIR:-/usr/local/share/doc/inspection-studio/kiosk}"

say() { printf '\033[1m[kiosk]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

PROJECT="" DATA_DIR="" USER_NAME="inspection" KIOSK_USER="" STUDIO="" TTY=1 KIOSK=1 DRY=0 RENDER="" UNINSTALL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --project) PROJECT="${2:?--project needs a folder}"; shift 2 ;;
    --data-dir) DATA_DIR="${2:?--data-dir needs a folder}"; shift 2 ;;
    --user) USER_NAME="${2:?--user needs a name}"; shift 2 ;;
    --kiosk-user) KIOSK_USER="${2:?--kiosk-user needs a name}"; shift 2 ;;
    --studio) STUDIO="${2:?--studio needs a path}"; shift 2 ;;
    --tty) TTY="${2:?--tty needs a number}"; shift 2 ;;
    --no-kiosk) KIOSK=0; shift ;;
    --dry-run) DRY=1; shift ;;
    --render) RENDER="${2:?--render needs a folder}"; shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h|--help) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

run() {         # a change to the system: printed, and done unless --dry-run
  if [ "$DRY" = 1 ]; then printf '  would run: %s\n' "$*" >&2; else "$@"; fi
}

if [ "$UNINSTALL" = 1 ]; then
  [ "$DRY" = 1 ] || [ "$(id -u)" = 0 ] || die "run it as root (sudo), or with --dry-run"
  for unit in inspection-kiosk.service inspection-station.service; do
    run systemctl disable --now "$unit" || true
    run rm -f "$UNIT_DIR/$unit"
  done
  run systemctl daemon-reload
  say "removed the kiosk session; the project and the data directory are where they were"
  exit 0
fi

[ -n "$PROJECT" ] || die "give the project: --project DIR (see --help)"
[ -f "$PROJECT/project.yaml" ] || die "$PROJECT is not a project folder (no project.yaml)"
PROJECT="$(cd "$PROJECT" && pwd)"
NAME="$(basename "$PROJECT")"
DATA_DIR="${DATA_DIR:-/var/lib/inspection-studio/$NAME}"
case "$DATA_DIR" in /*) ;; *) die "--data-dir must be an absolute path ($DATA_DIR)";; esac
KIOSK_USER="${KIOSK_USER:-$USER_NAME}"
case "$TTY" in ''|*[!0-9]*) die "--tty must be a number ($TTY)";; esac
if [ -z "$STUDIO" ]; then
  STUDIO="$(command -v studio || true)"
  [ -n "$STUDIO" ] || STUDIO="$REPO/.venv/bin/studio"
fi
[ -x "$STUDIO" ] || die "no studio command at $STUDIO (install Inspection Studio first, or give --studio PATH)"
STUDIO="$(cd "$(dirname "$STUDIO")" && pwd)/$(basename "$STUDIO")"
CAGE="$(command -v cage || echo /usr/bin/cage)"
GROUP="$USER_NAME"

render() {      # TEMPLATE -> filled-in unit on stdout
  sed -e "s|@PROJECT@|$PROJECT|g" -e "s|@DATA_DIR@|$DATA_DIR|g" -e "s|@USER@|$USER_NAME|g" \
      -e "s|@KIOSK_USER@|$KIOSK_USER|g" -e "s|@GROUP@|$GROUP|g" -e "s|@STUDIO@|$STUDIO|g" \
      -e "s|@CAGE@|$CAGE|g" -e "s|@TTY@|$TTY|g" -e "s|@DOCS@|$DOCS_DIR|g" "$1"
}

UNITS=(inspection-station.service)
[ "$KIOSK" = 0 ] || UNITS+=(inspection-kiosk.service)
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
for unit in "${UNITS[@]}"; do
  render "$HERE/$unit" > "$OUT/$unit"
  if grep -q '@[A-Z_]*@' "$OUT/$unit"; then die "$unit: a name was left unfilled: $(grep -o '@[A-Z_]*@' "$OUT/$unit" | head -1)"; fi
done

if [ -n "$RENDER" ]; then
  mkdir -p "$RENDER"
  cp "${UNITS[@]/#/$OUT/}" "$RENDER/"
  say "units written to $RENDER: ${UNITS[*]}"
  exit 0
fi

say "project     $PROJECT"
say "data        $DATA_DIR"
say "station     $STUDIO station run ... as $USER_NAME (inspection-station.service)"
[ "$KIOSK" = 0 ] || say "kiosk       $CAGE -d -- $STUDIO kiosk ... as $KIOSK_USER on tty$TTY (inspection-kiosk.service)"

if command -v systemd-analyze >/dev/null 2>&1; then
  # verify the units as they will be (accounts and folders not there yet are not its concern)
  # (what is not installed yet, cage or the accounts, is said, not counted as a problem)
  systemd-analyze verify "${UNITS[@]/#/$OUT/}" 2> "$OUT/verify.txt" || true
  NOT_YET='(No such file|not found|does not exist|Failed to resolve (user|group))'
  if grep -v -E "$NOT_YET" "$OUT/verify.txt" | grep -q .; then
    cat "$OUT/verify.txt" >&2
    die "systemd-analyze verify found problems in the units"
  fi
  say "units verified (systemd-analyze verify)"
  if grep -q -E "$NOT_YET" "$OUT/verify.txt"; then
    say "not there yet (installed below or by you): $(grep -E "$NOT_YET" "$OUT/verify.txt" | sed 's/^[^:]*: //' | sort -u | xargs)"
  fi
else
  say "note: no systemd-analyze here; the units are not verified"
fi

if [ "$DRY" = 0 ]; then
  [ "$(id -u)" = 0 ] || die "run it as root (sudo), or with --dry-run"
  command -v systemctl >/dev/null 2>&1 || die "no systemctl: this PC does not run systemd"
fi
if [ "$KIOSK" = 1 ] && ! command -v cage >/dev/null 2>&1; then
  if [ "$DRY" = 1 ]; then say "note: cage is not installed (apt-get install cage; the offline bundle has it)"
  else die "cage is not installed: apt-get install cage (the offline bundle carries it: install-offline.sh)"; fi
fi

for account in $(printf '%s\n' "$USER_NAME" "$KIOSK_USER" | sort -u); do
  if ! id "$account" >/dev/null 2>&1; then
    run useradd --system --create-home --user-group --shell /usr/sbin/nologin "$account"
  fi
done
if [ "$KIOSK_USER" != "$USER_NAME" ]; then run usermod -a -G "$GROUP" "$KIOSK_USER"; fi
for g in video render input; do
  if getent group "$g" >/dev/null 2>&1; then run usermod -a -G "$g" "$KIOSK_USER"; fi
done
run install -d -m 2775 -o "$USER_NAME" -g "$GROUP" "$DATA_DIR"
# the kiosk's "wrong verdict" puts the part's image into the project's review queue: group-writable
run chgrp -R "$GROUP" "$PROJECT"
run chmod -R g+rwX "$PROJECT"
run install -d "$DOCS_DIR"
run install -m 0644 "$HERE/README.md" "$DOCS_DIR/README.md"
for unit in "${UNITS[@]}"; do
  run install -m 0644 "$OUT/$unit" "$UNIT_DIR/$unit"
done
run systemctl daemon-reload
run systemctl enable inspection-station.service
if [ "$KIOSK" = 1 ]; then
  run systemctl enable inspection-kiosk.service
  run systemctl set-default graphical.target
fi
run systemctl restart inspection-station.service
[ "$KIOSK" = 0 ] || run systemctl restart inspection-kiosk.service
if [ "$DRY" = 1 ]; then say "dry run: nothing was changed"; else say "installed; 'journalctl -u inspection-station -f' follows the station"; fi
