#!/usr/bin/env bash
# Sets up a development copy of Touchpoint on a fresh Debian/Ubuntu machine:
# the system libraries Qt needs, then a virtual environment in .venv with
# Touchpoint and its test tools. Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
SYSTEM_PACKAGES=(
    # Qt's xcb and offscreen platforms, fonts for readable windows, PDFs and screenshots
    libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
    libxcb-randr0 libxcb-shape0 libxcb-xkb1 libx11-xcb1 fonts-dejavu-core
    # a virtual display for the screenshot script (tests run offscreen and need none)
    xvfb xauth
    # the sync tests run a Touchpoint Hub on PostgreSQL too
    postgresql
    # the report tests read the PDFs back (pdftotext, pdfinfo; pdftoppm to look at pages)
    poppler-utils
    # the installers: PyInstaller reads binaries with objdump; the installed-package smoke
    # test keeps its Hub token in a Secret Service keyring
    binutils gnome-keyring dbus
    # the Hub console's browser tests (Playwright drives Debian's headless Chromium; none
    # is downloaded)
    chromium-headless-shell
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
fi
if ((${#missing[@]})); then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "Installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
echo "Touchpoint is set up in .venv"

# BottleCRM (the CRM the Hub's connector is tested against) needs Python 3.12: a venv of
# its own in .venv-bottlecrm, made once, with the version the connector is written for.
BOTTLECRM_VERSION=1.35.0
bottlecrm_python() {
    # pyenv's shims exist for versions that are installed but not selected: try each
    # candidate, and keep the first that really is 3.12.
    local candidate
    for candidate in "$(command -v python3.12 2>/dev/null)" \
        "$(command -v pyenv >/dev/null 2>&1 && pyenv which python3.12 2>/dev/null)" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    return 1
}
if .venv-bottlecrm/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('django-crm') != '$BOTTLECRM_VERSION')" 2>/dev/null; then
    echo "BottleCRM $BOTTLECRM_VERSION is set up in .venv-bottlecrm"
elif PY312=$(bottlecrm_python); then
    [ -x .venv-bottlecrm/bin/python ] || "$PY312" -m venv .venv-bottlecrm
    .venv-bottlecrm/bin/python -m pip install --quiet "django-crm==$BOTTLECRM_VERSION"
    echo "BottleCRM $BOTTLECRM_VERSION is set up in .venv-bottlecrm"
else
    echo "No Python 3.12 found (python3.12 or pyenv): the BottleCRM connector tests will be skipped"
fi
