/**
 * Prints the plain closing line CI reads ("tests: N passed, N failed, N skipped") after vitest's
 * own summary.
 */
import type { Reporter } from "vitest/reporters"

interface Task {
  readonly type: string
  readonly mode?: string
  readonly result?: { readonly state?: string }
  readonly tasks?: ReadonlyArray<Task>
}

const count = (tasks: ReadonlyArray<Task>, acc: { passed: number; failed: number; skipped: number }) => {
  for (const t of tasks) {
    if (t.type === "test") {
      const state = t.result?.state
      if (state === "pass") acc.passed++
      else if (state === "fail") acc.failed++
      else acc.skipped++
    }
    if (t.tasks !== undefined) count(t.tasks, acc)
  }
  return acc
}

export default class SummaryReporter implements Reporter {
  onFinished(files: ReadonlyArray<Task> = []): void {
    const { failed, passed, skipped } = count(files, { passed: 0, failed: 0, skipped: 0 })
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  }
}
