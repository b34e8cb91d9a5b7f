// The folders of src/, top down. A module imports its own folder and the folders of lower rows, never a
// folder of its own row or above: programs -> layers -> services -> wire, platform -> lib -> gen.
// src/index.ts, the package's entry, sits above them all. eslint.config.js and test/unit/structure.test.ts
// both enforce this order.
export const FOLDER_ROWS = [["programs"], ["layers"], ["services"], ["wire", "platform"], ["lib"], ["gen"]]

/** The folders of src/ a module in `folder` must not import. */
export const forbiddenFrom = (folder) => {
  const row = FOLDER_ROWS.findIndex((folders) => folders.includes(folder))
  return FOLDER_ROWS.slice(0, row + 1).flat().filter((other) => other !== folder)
}
