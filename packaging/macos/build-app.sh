#!/usr/bin/env bash
# Builds Touchpoint.app and a .dmg on macOS (12 or newer), from the same spec as the .deb:
#
#   ./packaging/macos/build-app.sh        -> packaging/dist/Touchpoint-VERSION.dmg
#
# Needs Python 3.11+ (python.org or Homebrew) and Xcode's command line tools (hdiutil,
# codesign). Run by the macOS job of .github/workflows/release.yml; it cannot run on Linux.
# With CODESIGN_IDENTITY set ("Developer ID Application: ..."), the app is signed with the
# hardened runtime (notarise the .dmg afterwards with `xcrun notarytool submit --wait`).
#
# The app holds the same three programs as the Linux bundle, in
# Touchpoint.app/Contents/MacOS: touchpoint-window (what Finder starts), touchpoint and
# touchpoint-hub (link them into /usr/local/bin for a terminal). Data stays where
# platformdirs puts it: ~/Library/Application Support/touchpoint (database, backups,
# settings), ~/Library/Logs/touchpoint; the machine policy is read from
# /Library/Application Support/touchpoint/policy.toml (or TOUCHPOINT_POLICY_FILE).
# Replacing the app upgrades it; the database is backed up and migrated at the next start.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=packaging/dist
WORK=packaging/build
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet .
fi
.venv/bin/python -m pip install --quiet -r packaging/requirements-build.txt
VERSION=${TOUCHPOINT_VERSION:-$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' src/touchpoint/__init__.py)}
export TOUCHPOINT_VERSION=$VERSION # the spec writes it into Info.plist

echo "== icons"
.venv/bin/python packaging/render_icons.py "$WORK/icons" --icns
mkdir -p "$WORK"
cp "$WORK/icons/touchpoint.icns" "$WORK/touchpoint.icns"

echo "== Touchpoint.app"
export PYINSTALLER_CONFIG_DIR="$ROOT/$WORK/pyinstaller-cache"
.venv/bin/pyinstaller --noconfirm --log-level WARN --distpath "$OUT" --workpath "$WORK" \
    packaging/touchpoint.spec
APP="$OUT/Touchpoint.app"
"$APP/Contents/MacOS/touchpoint" --version
"$APP/Contents/MacOS/touchpoint-hub" --help >/dev/null

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --force --deep --options runtime --timestamp \
        --entitlements packaging/macos/entitlements.plist --sign "$CODESIGN_IDENTITY" "$APP"
    codesign --verify --strict --verbose=2 "$APP"
fi

echo "== .dmg"
DMG="$OUT/Touchpoint-$VERSION.dmg"
STAGE="$WORK/dmg"
rm -rf "$STAGE" "$DMG"
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "Touchpoint $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO \
    -imagekey zlib-level=9 "$DMG"
rm -rf "$STAGE"
du -sh "$APP" "$DMG"
echo "$ROOT/$DMG"
