import * as path from "node:path"
import { defineConfig } from "vitest/config"

const pkg = (name: string) => path.join(__dirname, "packages", name, "src")

export default defineConfig({
  resolve: {
    alias: [
      {
        find: /^@stpp\/(connect|gateway|simulator|cli)$/,
        replacement: path.join(__dirname, "packages/$1/src/index.ts")
      },
      {
        find: /^@stpp\/(connect|gateway|simulator|cli)\/(.*)$/,
        replacement: path.join(__dirname, "packages/$1/src/$2")
      }
    ]
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "examples/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**", "**/build/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: ["default", "./vitest.summary.ts"],
    sequence: { concurrent: false }
  }
})
void pkg
