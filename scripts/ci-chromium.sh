#!/usr/bin/env bash
# Installs (if needed) Debian's chromium, the browser the status page tests drive with playwright-core
# (test/ui-browser.test.ts; nothing downloads a browser). CHROMIUM_PATH overrides where the tests look.
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi
"$CHROMIUM" --version 2>/dev/null >&2 || { echo "chromium at $CHROMIUM does not run" >&2; exit 1; }
