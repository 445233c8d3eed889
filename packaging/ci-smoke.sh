#!/usr/bin/env bash
# The installed package, used the way a rep's laptop and a team's server use it.
# Run by .ci/run after the tests, as root (or with sudo) on a Debian/Ubuntu machine set
# up by bootstrap.sh. It:
#   1. builds the .deb twice from one bundle: the real version and an older one;
#   2. installs the older one, makes a rep's data with it (a demo database);
#   3. installs the newer one over it: the data is still there;
#   4. runs `touchpoint --version`, `demo`, `search`, exports, a PDF report and
#      `policy show` as a fresh user, checks a database from a newer version is refused
#      untouched, and opens the window offscreen (and on Xvfb when it is there) for a
#      few seconds and closes it cleanly;
#   5. starts the installed `touchpoint-hub` (on SQLite; then on a throwaway PostgreSQL
#      with two workers), signs the installed client in (the token goes to a real Secret
#      Service keyring) and syncs once; encrypts a database with the bundled SQLCipher;
#   6. opens a first-release database (tests/fixtures/upgrade) with the installed
#      build: migrated with a backup, its waiting changes sent to the Hub;
#   7. removes the package: the users' data is still there.
# Any failure stops it with a non-zero exit; the Hub and the package are cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STARTED=$SECONDS

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if dpkg-query -W -f='${Status}' touchpoint 2>/dev/null | grep -q "install ok installed"; then
    echo "error: touchpoint is already installed here; the smoke test installs and removes it" >&2
    exit 1
fi

SCRATCH=$(mktemp -d /tmp/touchpoint-smoke.XXXXXX)
HUB_PID=""
INSTALLED=0
cleanup() {
    local status=$?
    if [ -n "$HUB_PID" ] && kill -0 "$HUB_PID" 2>/dev/null; then
        kill "$HUB_PID" 2>/dev/null || true
        wait "$HUB_PID" 2>/dev/null || true
    fi
    if [ "$INSTALLED" = 1 ]; then
        $SUDO dpkg -P touchpoint >/dev/null 2>&1 || true
    fi
    rm -rf "$SCRATCH"
    if [ "$status" -ne 0 ]; then
        echo "== smoke FAILED (exit $status) after $((SECONDS - STARTED)) s" >&2
    fi
}
trap cleanup EXIT

step() { echo "== smoke: $*"; }
fail() {
    echo "error: $*" >&2
    exit 1
}
json() { # json FILE EXPRESSION: a value from a JSON file (`d` is the parsed document)
    .venv/bin/python -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# A fresh user: platformdirs' default folders under a new home, no test overrides.
export HOME="$SCRATCH/home"
mkdir -p "$HOME"
unset TOUCHPOINT_DATA_DIR XDG_DATA_HOME XDG_CONFIG_HOME XDG_STATE_HOME XDG_CACHE_HOME \
    DBUS_SESSION_BUS_ADDRESS || true
export QT_QPA_PLATFORM=offscreen
TP=/usr/bin/touchpoint
HUB=/usr/bin/touchpoint-hub
DATA="$HOME/.local/share/touchpoint"

step "build the packages"
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' src/touchpoint/__init__.py)
OLD_VERSION="${VERSION}~smoke1" # sorts before $VERSION, as an older release would
OLD_DEB=$(TOUCHPOINT_VERSION="$OLD_VERSION" TOUCHPOINT_DEB_XZ_LEVEL=1 bash packaging/build-deb.sh | tail -n 1)
NEW_DEB=$(TOUCHPOINT_REUSE_BUNDLE=1 bash packaging/build-deb.sh | tail -n 1)
ls -l "$OLD_DEB" "$NEW_DEB"

install_deb() {
    INSTALLED=1
    if ! $SUDO dpkg -i "$1" >/dev/null; then
        # missing system libraries: let apt bring them, as `apt install ./x.deb` would
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -f -y -qq >/dev/null
    fi
    [ "$(dpkg-query -W -f='${Version}' touchpoint)" = "$2" ] || fail "touchpoint $2 is not installed"
}

step "install $OLD_VERSION and make a rep's data with it"
install_deb "$OLD_DEB" "$OLD_VERSION"
$TP demo --customers 40 >/dev/null
$TP status --json >"$SCRATCH/before.json"
[ -f "$DATA/touchpoint.sqlite3" ] || fail "no database in $DATA"

step "install $VERSION over it"
install_deb "$NEW_DEB" "$VERSION"
[ -x /opt/touchpoint/touchpoint ] && [ -x /opt/touchpoint/touchpoint-hub ] || fail "bundle missing"
[ -f /usr/share/applications/touchpoint.desktop ] || fail "no menu entry"
[ -f /usr/share/icons/hicolor/scalable/apps/touchpoint.svg ] || fail "no icon"
[ "$($TP --version)" = "touchpoint, version $VERSION" ] || fail "touchpoint --version: $($TP --version)"
$TP status --json >"$SCRATCH/after.json"
[ "$(json "$SCRATCH/before.json" 'd["counts"]')" = "$(json "$SCRATCH/after.json" 'd["counts"]')" ] ||
    fail "the upgrade changed the rep's records"
echo "kept: $(json "$SCRATCH/after.json" 'd["counts"]')"

step "command line: search, exports, report"
$TP search quote >"$SCRATCH/search.txt"
grep -qi quote "$SCRATCH/search.txt" || fail "touchpoint search found nothing"
$TP export followups --format ics --out "$SCRATCH/promises.ics"
grep -q "BEGIN:VCALENDAR" "$SCRATCH/promises.ics" || fail "not an iCalendar file"
$TP export activity --from -30d --to today --format xlsx --out "$SCRATCH/activity.xlsx"
[ -s "$SCRATCH/activity.xlsx" ] || fail "empty xlsx export"
$TP report daily --format pdf --out "$SCRATCH/daily.pdf" # Qt and QtCharts from the bundle
head -c 5 "$SCRATCH/daily.pdf" | grep -q "%PDF-" || fail "not a PDF"

TOUCHPOINT_POLICY_FILE=resources/policy.example.toml $TP policy show >"$SCRATCH/policy.txt"
grep -q "in force" "$SCRATCH/policy.txt" || fail "the example policy is not in force"

step "a database from a newer Touchpoint: refused with a clear message, left untouched"
NEWER="$SCRATCH/newer"
mkdir -p "$NEWER"
cp tests/fixtures/upgrade/touchpoint-0001.sqlite3 "$NEWER/touchpoint.sqlite3"
.venv/bin/python - "$NEWER/touchpoint.sqlite3" <<'PY'
import sqlite3, sys
with sqlite3.connect(sys.argv[1]) as db:
    db.execute("UPDATE alembic_version SET version_num = '0999'")
    db.execute("UPDATE local_meta SET value = '9.0.0' WHERE key = 'min_app_version'")
PY
SUM=$(sha256sum <"$NEWER/touchpoint.sqlite3")
if $TP --data-dir "$NEWER" status >"$SCRATCH/newer.txt" 2>&1; then
    fail "a database from a newer version was opened"
fi
grep -q "needs Touchpoint 9.0.0 or newer" "$SCRATCH/newer.txt" || fail "$(cat "$SCRATCH/newer.txt")"
[ "$(sha256sum <"$NEWER/touchpoint.sqlite3")" = "$SUM" ] || fail "the newer database was changed"

step "the window: open for a few seconds, close cleanly"
TOUCHPOINT_QUIT_AFTER_MS=3000 timeout 120 $TP || fail "the window exited with $?"
LOG="$HOME/.local/state/touchpoint/log/touchpoint.log" # platformdirs' user log folder
[ "$(grep -c "window shown" "$LOG")" = 1 ] || fail "the window was not shown"
[ "$(grep -c "Touchpoint stopped" "$LOG")" = 1 ] || fail "the window did not close cleanly"
if command -v xvfb-run >/dev/null 2>&1; then # the X11 (xcb) platform as on a desktop
    QT_QPA_PLATFORM=xcb TOUCHPOINT_QUIT_AFTER_MS=3000 timeout 120 \
        xvfb-run -a -s "-screen 0 1280x800x24" $TP || fail "the window on X11 exited with $?"
fi

step "the bundled Hub: init, a user, serve"
HUB_DB="sqlite:///$SCRATCH/hub/hub.sqlite3"
mkdir -p "$SCRATCH/hub"
$HUB init --db "$HUB_DB"
printf 'smoke-password\n' | $HUB user add --db "$HUB_DB" maria@example.com --role rep --team north
PORT=$(.venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
$HUB serve --db "$HUB_DB" --host 127.0.0.1 --port "$PORT" >"$SCRATCH/hub.log" 2>&1 &
HUB_PID=$!
for _ in $(seq 100); do
    if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "http://127.0.0.1:$PORT/health" 2>/dev/null; then
        break
    fi
    kill -0 "$HUB_PID" 2>/dev/null || { cat "$SCRATCH/hub.log"; fail "the Hub stopped"; }
    sleep 0.2
done

step "the bundled Hub on PostgreSQL, two workers"
.venv/bin/python packaging/smoke_pg_hub.py "$HUB"

step "sign in and sync (token in a Secret Service keyring on a private D-Bus)"
SERVER="http://127.0.0.1:$PORT"
FIXTURE_DATA="$SCRATCH/first-release"
mkdir -p "$FIXTURE_DATA"
cp tests/fixtures/upgrade/touchpoint-0001.sqlite3 "$FIXTURE_DATA/touchpoint.sqlite3"
export TP SERVER FIXTURE_DATA SCRATCH
dbus-run-session -- bash -euo pipefail -c '
    printf "keyring-password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    printf "smoke-password\n" | $TP login --server "$SERVER" --email maria@example.com
    $TP sync
    # A first-release database: the installed build migrates it, then sends its changes.
    $TP --data-dir "$FIXTURE_DATA" status --json >"$SCRATCH/fixture-status.json"
    printf "smoke-password\n" | $TP --data-dir "$FIXTURE_DATA" login --server "$SERVER" \
        --email maria@example.com
    $TP --data-dir "$FIXTURE_DATA" sync --json >"$SCRATCH/fixture-sync.json"
    $TP --data-dir "$FIXTURE_DATA" sync --json >"$SCRATCH/fixture-again.json"
    # SQLCipher from the bundle, its key in the same keyring
    $TP --data-dir "$SCRATCH/encrypted" demo --customers 5 >/dev/null
    $TP --data-dir "$SCRATCH/encrypted" encryption enable >/dev/null
    $TP --data-dir "$SCRATCH/encrypted" encryption status | grep -qE "^state +encrypted"
    $TP --data-dir "$SCRATCH/encrypted" search quote >/dev/null
' 2> >(grep -v "Failed to set fd limit" >&2)
if head -c 16 "$SCRATCH/encrypted/touchpoint.sqlite3" | grep -q "SQLite format 3"; then
    fail "the database was not encrypted"
fi
[ "$(json "$SCRATCH/fixture-status.json" 'd["unsynced_changes"]')" = 12 ] ||
    fail "the first-release database lost waiting changes in the upgrade"
ls "$FIXTURE_DATA"/backups/pre-upgrade-0001-*.sqlite3 >/dev/null || fail "no pre-upgrade backup"
[ "$(json "$SCRATCH/fixture-sync.json" 'd["pushed"], d["in_sync"]')" = "12 True" ] ||
    fail "first-release changes not sent: $(cat "$SCRATCH/fixture-sync.json")"
[ "$(json "$SCRATCH/fixture-again.json" 'd["pushed"]')" = 0 ] || fail "changes sent twice"
echo "first-release database: migrated, 12 waiting changes sent once"

kill "$HUB_PID"
wait "$HUB_PID" 2>/dev/null || true
HUB_PID=""

step "remove the package: the users' data stays"
$SUDO dpkg -r touchpoint >/dev/null
INSTALLED=0
[ ! -e /opt/touchpoint ] && [ ! -e /usr/bin/touchpoint ] || fail "files left after removal"
[ -s "$DATA/touchpoint.sqlite3" ] || fail "the database went with the package"
[ -s "$FIXTURE_DATA/touchpoint.sqlite3" ] || fail "the migrated database went with the package"
$SUDO dpkg -P touchpoint >/dev/null # purge too: still nothing of the users' is removed
[ -s "$DATA/touchpoint.sqlite3" ] && [ -d "$HOME/.config/touchpoint" ] ||
    fail "purging the package removed users' data"

echo "== smoke passed in $((SECONDS - STARTED)) s (packages: $(du -h "$NEW_DEB" | cut -f1))"
cd "$ROOT"
