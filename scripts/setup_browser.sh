#!/usr/bin/env bash
# Provide headless Chromium for the tests that render `fedlora audit report` in a real browser
# (tests/support/browser.py). Debian's `chromium` package, installed with apt-get only when
# /usr/bin/chromium is missing. Where it cannot be installed (no root, no apt, no network), it
# says why; that is a failure with FEDLORA_REQUIRE_LIVE=1, and otherwise the browser tests skip
# with that reason. Idempotent: a second run finds the browser and does nothing.
set -euo pipefail

browser="${FEDLORA_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
  echo "==> chromium present: $($browser --version 2>/dev/null || echo "$browser")"
  exit 0
fi

reason=""
if ! command -v apt-get >/dev/null 2>&1; then
  reason="apt-get is not available (install Chromium by hand as $browser)"
elif [ "$(id -u)" != "0" ]; then
  reason="installing the chromium package needs root (run: apt-get install -y chromium)"
else
  echo "==> installing chromium with apt-get (for the browser tests of the audit report)"
  if ! { apt-get install -y chromium \
         || { apt-get update && apt-get install -y chromium; }; }; then
    reason="apt-get install chromium failed (see the output above)"
  elif [ ! -x "$browser" ]; then
    reason="the chromium package did not provide $browser"
  fi
fi

if [ -n "$reason" ]; then
  echo "chromium is unavailable: $reason" >&2
  if [ "${FEDLORA_REQUIRE_LIVE:-0}" = "1" ]; then
    echo "error: FEDLORA_REQUIRE_LIVE=1 needs chromium for the audit report's browser tests" >&2
    exit 1
  fi
  echo "the browser tests will skip, saying so" >&2
fi
exit 0
