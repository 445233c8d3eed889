#!/usr/bin/env bash
# Builds the Linux installer from a checkout, in one command:
#
#   ./packaging/build-deb.sh            -> packaging/dist/touchpoint_VERSION_amd64.deb
#
# The PyInstaller bundle (packaging/touchpoint.spec) goes to /opt/touchpoint, with
# /usr/bin/touchpoint and /usr/bin/touchpoint-hub, a menu entry and icons.
#   TOUCHPOINT_VERSION=0.0.9 ./packaging/build-deb.sh   package under another version
#                                                       (to test upgrades over it)
#   TOUCHPOINT_REUSE_BUNDLE=1 ...                       package the bundle already in
#                                                       packaging/dist/touchpoint
#   TOUCHPOINT_DEB_XZ_LEVEL=1 ...                       compress faster (default 9)
# Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=packaging/dist
WORK=packaging/build

if [ ! -x .venv/bin/python ]; then
    bash packaging/bootstrap.sh
fi
VERSION=${TOUCHPOINT_VERSION:-$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' src/touchpoint/__init__.py)}
if ! [[ $VERSION =~ ^[0-9][A-Za-z0-9.+~-]*$ ]]; then
    echo "error: version: '$VERSION' is not a Debian version (it must start with a digit)" >&2
    exit 1
fi
ARCH=$(dpkg --print-architecture)

if [ "${TOUCHPOINT_REUSE_BUNDLE:-0}" != 1 ] || [ ! -x "$OUT/touchpoint/touchpoint" ]; then
    echo "== PyInstaller bundle"
    .venv/bin/python -m pip install --quiet -r packaging/requirements-build.txt
    export PYINSTALLER_CONFIG_DIR="$ROOT/$WORK/pyinstaller-cache" # not shared with other builds
    .venv/bin/pyinstaller --noconfirm --log-level WARN \
        --distpath "$OUT" --workpath "$WORK" packaging/touchpoint.spec
fi
# The bundle must start before it is packaged.
"$OUT/touchpoint/touchpoint" --version >/dev/null
"$OUT/touchpoint/touchpoint-hub" --help >/dev/null

echo "== .deb $VERSION ($ARCH)"
STAGE="$WORK/deb/touchpoint_${VERSION}_${ARCH}"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/doc/touchpoint"
cp -a "$OUT/touchpoint" "$STAGE/opt/touchpoint"
# The bootloader finds its libraries through /proc/self/exe, so links are enough.
ln -s /opt/touchpoint/touchpoint "$STAGE/usr/bin/touchpoint"
ln -s /opt/touchpoint/touchpoint-hub "$STAGE/usr/bin/touchpoint-hub"
install -m 644 packaging/debian/touchpoint.desktop "$STAGE/usr/share/applications/"
install -m 644 resources/touchpoint.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/"
.venv/bin/python packaging/render_icons.py "$WORK/icons"
cp -r "$WORK/icons/hicolor" "$STAGE/usr/share/icons/"
install -m 644 packaging/debian/copyright "$STAGE/usr/share/doc/touchpoint/"
if [ -f resources/policy.example.toml ]; then # for IT: /etc/xdg/touchpoint/policy.toml
    install -m 644 resources/policy.example.toml "$STAGE/usr/share/doc/touchpoint/"
fi
for script in postinst prerm postrm; do
    install -m 755 "packaging/debian/$script" "$STAGE/DEBIAN/$script"
done
find "$STAGE" -type d -exec chmod 755 {} +
chmod -R go-w "$STAGE"

INSTALLED_KB=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
# The newest C library version any bundled binary asks for (they come from the build host).
GLIBC=$(find "$STAGE/opt/touchpoint" -type f \( -name '*.so*' -o -perm -u+x \) -print0 |
    xargs -0 objdump -T 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1) || true
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$INSTALLED_KB/" \
    -e "s/@GLIBC@/${GLIBC:-2.34}/" packaging/debian/control.in >"$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' \
    | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)

DEB="$OUT/touchpoint_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz "-z${TOUCHPOINT_DEB_XZ_LEVEL:-9}" --build "$STAGE" "$DEB" >/dev/null
rm -rf "$STAGE"
echo "bundle $(du -sh "$OUT/touchpoint" | cut -f1), installed ${INSTALLED_KB} KiB," \
    "package $(du -h "$DEB" | cut -f1)"
echo "$ROOT/$DEB"
