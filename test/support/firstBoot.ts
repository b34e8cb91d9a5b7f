import { expect } from "vitest"
import * as C from "../../src/programs/cp/commands.js"
import type { CpSession } from "../../src/programs/cp/cpClient.js"

/** What the CP does first on a fresh container: Hello (not initialized, no CMD yet), then Register, which succeeds. */
export const helloThenRegister = async (s: CpSession) => {
  expect((await s.request(C.hello("h1"))).payload).toEqual({
    $case: "helloAck",
    value: { initialized: false, cmdRunning: false }
  })
  expect((await s.request(C.registerRequired("reg"))).payload).toEqual({
    $case: "registerDone",
    value: { ok: true, error: "" }
  })
}
