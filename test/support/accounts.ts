import * as fs from "node:fs/promises"
import * as path from "node:path"

/** The unprivileged account the supervision tests run the user CMD as. */
export const TESTER = { name: "tester", uid: 4242, gid: 4242, extraGroup: 4243 } as const

/**
 * passwd and group files of the test's own (CLAWKERD_PASSWD_FILE / CLAWKERD_GROUP_FILE), with a
 * home directory the tester owns. `extra` lists the tester as a member; `other` does not.
 */
export const writeAccounts = async (dir: string) => {
  const home = path.join(dir, "home")
  await fs.mkdir(home, { recursive: true })
  if (process.getuid?.() === 0) await fs.chown(home, TESTER.uid, TESTER.gid)
  const passwd = path.join(dir, "passwd")
  const group = path.join(dir, "group")
  await fs.writeFile(
    passwd,
    [
      "root:x:0:0:root:/root:/bin/sh",
      `${TESTER.name}:x:${TESTER.uid}:${TESTER.gid}:Test User:${home}:/bin/sh`,
      "nohome:x:4300:4242::/nonexistent:",
      ""
    ].join("\n")
  )
  await fs.writeFile(
    group,
    [
      "root:x:0:",
      `${TESTER.name}:x:${TESTER.gid}:`,
      `extra:x:${TESTER.extraGroup}:other,${TESTER.name}`,
      "other:x:4244:someone",
      ""
    ].join("\n")
  )
  return { home, passwd, group }
}
