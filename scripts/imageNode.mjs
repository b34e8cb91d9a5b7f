// The image's Node line: the major of the Dockerfile's default NODE_IMAGE (node:N-…), which the single binary
// is built on (scripts/build-binary.mjs); undefined when the Dockerfile names none.
import * as fs from "node:fs"
import * as path from "node:path"

export const imageNodeMajor = () =>
  /^ARG NODE_IMAGE=node:(\d+)-/m.exec(fs.readFileSync(path.join(import.meta.dirname, "../Dockerfile"), "utf8"))?.[1]
