import effectPlugin from "@effect/eslint-plugin"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    ignores: ["**/dist/**", "**/build/**", "**/node_modules/**", "**/*.d.ts", "**/.tmp/**"]
  },
  ...tseslint.configs.recommended,
  {
    plugins: { "@effect": effectPlugin },
    rules: {
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "no-console": "off"
    }
  },
  {
    files: ["packages/*/src/**/*.ts"],
    rules: {
      "no-console": "error",
      "no-restricted-globals": ["error", {
        name: "setTimeout",
        message: "Library time goes through Clock/Effect.sleep so TestClock drives it."
      }, { name: "setInterval", message: "Library time goes through Clock/Schedule so TestClock drives it." }],
      "no-restricted-properties": ["error", {
        object: "Date",
        property: "now",
        message: "Use Clock.currentTimeMillis so TestClock drives it."
      }, { object: "performance", property: "now", message: "Use Clock so TestClock drives it." }]
    }
  }
)
