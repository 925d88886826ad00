#!/usr/bin/env bash
# End-to-end test of the demo page in headless Chromium (tests/browser/e2e.mjs).
#
#   ./scripts/browser-test.sh                             # install what is missing, build, test
#   CHARON_UPDATE_SCREENSHOT=1 ./scripts/browser-test.sh  # also refresh docs/demo-signed-in.png
#
# Installs Debian's chromium (apt-get, as root) and the test's npm packages (npm ci in
# tests/browser) when missing, builds the demo server, and runs the test against it on a
# free loopback port. Where Chromium cannot be installed it FAILS: it never skips.
# scripts/test.sh runs it after `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "browser-test.sh: $*" >&2
  exit 1
}

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    return 1
  fi
  echo "browser-test.sh: installing $* with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  apt_install chromium ||
    fail "Chromium is required and could not be installed (Debian package 'chromium';" \
      "this needs root and apt-get). Install it, or set CHROMIUM to a Chromium binary," \
      "and run again. The browser test does not skip."
  [ -x "$CHROMIUM" ] || fail "apt-get installed chromium, but there is no $CHROMIUM"
fi
# Debian's wrapper script prints the version; a broken install fails here, not mid-test.
chromium_version="$("$CHROMIUM" --version 2>/dev/null | head -n1)" ||
  fail "$CHROMIUM does not start ('$CHROMIUM --version' failed)"
echo "browser-test.sh: $chromium_version" >&2

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm || fail "Node.js >= 20 and npm are required; install them and run again"
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] ||
  fail "Node.js >= 20 is required by playwright-core; found $(node --version)"

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f tests/browser/node_modules/playwright-core/package.json ] ||
  [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  echo "browser-test.sh: npm ci in tests/browser" >&2
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) ||
    fail "npm ci in tests/browser failed"
fi

# --all-features reuses what `cargo test --all-features` already built.
cargo build --example axum_server --all-features --locked
target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
  node -e 'let s = ""; process.stdin.on("data", (d) => { s += d; })
    .on("end", () => console.log(JSON.parse(s).target_directory))')"
CHARON_DEMO_BIN="$target_dir/debug/examples/axum_server" CHROMIUM="$CHROMIUM" \
  node tests/browser/e2e.mjs
