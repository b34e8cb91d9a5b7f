import effect from "@effect/eslint-plugin"
import importPlugin from "eslint-plugin-import"
import tseslint from "typescript-eslint"
import { FOLDER_ROWS, forbiddenFrom } from "./scripts/folderOrder.mjs"

/** A folder of src/ imports only the folders below its row (scripts/folderOrder.mjs). */
const folderOrder = FOLDER_ROWS.flat().map((folder) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    "no-restricted-imports": ["error", {
      patterns: [{
        regex: `^(\\.\\./)+(${forbiddenFrom(folder).join("|")})/`,
        message:
          `src/${folder} imports only the folders below it: programs -> layers -> services -> wire, platform -> lib -> gen`
      }]
    }]
  }
}))

export default tseslint.config(
  { ignores: ["dist/**", "src/gen/**", "native/**", "node_modules/**", "bench/results/**"] },
  ...tseslint.configs.recommended,
  {
    plugins: { "@effect": effect },
    rules: {
      "@effect/dprint": [
        "error",
        {
          config: {
            indentWidth: 2,
            lineWidth: 120,
            semiColons: "asi",
            quoteStyle: "alwaysDouble",
            trailingCommas: "never",
            operatorPosition: "maintain",
            "arrowFunction.useParentheses": "force"
          }
        }
      ],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "error"
    }
  },
  {
    files: ["src/**/*.ts"],
    plugins: { import: importPlugin },
    settings: {
      "import/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import/resolver": { typescript: { project: "tsconfig.json" } }
    },
    rules: { "import/no-cycle": "error" }
  },
  ...folderOrder,
  {
    files: ["test/**", "bench/**", "scripts/**"],
    rules: { "no-console": "off" }
  }
)
