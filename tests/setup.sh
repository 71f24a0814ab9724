#!/bin/sh
# Installs what the test suite needs on a fresh Debian machine, and nothing
# when it is already there (quiet on success, safe to run again):
#   - chromium and chromium-driver, for the browser tests (web_browser,
#     web_accessibility);
#   - iproute2 (`ip netns`), for the LAN test in network namespaces;
#   - axe-core, pinned in tests/web/package-lock.json, for the accessibility
#     audit.
# Needs root for apt-get; otherwise it prints what to install.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
if [ ! -f "$here/web/node_modules/axe-core/axe.min.js" ]; then
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi

if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        log=$(mktemp)
        if ! { apt-get update && apt-get install -y --no-install-recommends $missing; } >"$log" 2>&1; then
            cat "$log" >&2
            echo "tests/setup.sh: could not install:$missing" >&2
            rm -f "$log"
            exit 1
        fi
        rm -f "$log"
    else
        echo "tests/setup.sh: not root; install these Debian packages:$missing" >&2
        echo "  sudo apt-get install -y$missing" >&2
    fi
fi

if [ ! -f "$here/web/node_modules/axe-core/axe.min.js" ]; then
    if command -v npm >/dev/null 2>&1; then
        log=$(mktemp)
        if ! npm ci --prefix "$here/web" --no-audit --no-fund >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "tests/setup.sh: npm ci --prefix tests/web failed" >&2
            exit 1
        fi
        rm -f "$log"
    else
        echo "tests/setup.sh: then run: npm ci --prefix tests/web" >&2
    fi
fi
