"use strict"
// The addon and the shim live next to each other in build/Release.
const path = require("node:path")
const release = path.join(__dirname, "build", "Release")
module.exports = {
  addon: require(path.join(release, "clawkerd_native.node")),
  execShimPath: path.join(release, "clawkerd-exec")
}
