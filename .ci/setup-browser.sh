#!/usr/bin/env bash
# Installs what tests/test_browser.py needs: Debian's chromium and Playwright for Python.
# Idempotent and quiet; never fails the caller (the browser test then skips with a reason).
# Playwright drives the system chromium (executable_path), so `playwright install` is never run.
set -uo pipefail

if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
      || echo "setup-browser: could not install chromium (browser test will skip)" >&2
  else
    echo "setup-browser: no apt-get; chromium not installed (browser test will skip)" >&2
  fi
fi

if ! python3 -c "import playwright" >/dev/null 2>&1; then
  python3 -m pip install -q playwright >/dev/null 2>&1 \
    || echo "setup-browser: could not install playwright (browser test will skip)" >&2
fi
exit 0
