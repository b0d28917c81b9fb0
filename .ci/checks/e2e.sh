#!/usr/bin/env bash
# The sandbox in a real browser (test/e2e): Debian's Chromium, never a browser download.
# The emoji font only makes the screenshots in test-results/ readable.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q chromium fonts-noto-color-emoji
fi

npm run test:e2e
