#!/usr/bin/env bash
# Fails when src/gen is not exactly what `npm run gen` produces from proto/, or buf lint fails.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx buf lint
npx buf generate --output "$out"
if ! diff -r "$out/src/gen" src/gen; then
  echo "src/gen is stale: run 'npm run gen' and commit the result" >&2
  exit 1
fi
echo "src/gen is fresh"
