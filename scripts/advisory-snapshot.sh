#!/usr/bin/env bash
# Refresh the RustSec advisory snapshot under .ci/advisory-db from a clone of
# https://github.com/rustsec/advisory-db: the advisories of every crate named in
# Cargo.lock (CC0-1.0, as the database is). `.ci/run` checks against this snapshot only when
# GitHub cannot be reached; with network it fetches the live database.
#
#   git clone --depth 1 https://github.com/rustsec/advisory-db /tmp/advisory-db
#   ./scripts/advisory-snapshot.sh /tmp/advisory-db
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: $0 <advisory-db clone>}
out=.ci/advisory-db
rm -rf "$out"
mkdir -p "$out/crates"
cp "$src/LICENSE.txt" "$out/"
for name in $(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.lock | sort -u); do
    if [ -d "$src/crates/$name" ]; then
        cp -r "$src/crates/$name" "$out/crates/"
    fi
done
git -C "$src" log -1 --format='%H %cI' >"$out/SNAPSHOT"
echo "snapshot of $(cat "$out/SNAPSHOT"): $(ls "$out/crates" | wc -l) crates with advisories"
