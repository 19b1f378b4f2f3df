/**
 * Composing the connect-phase retry policy with an application's own schedule (R4).
 *
 * The policy (20 retries, 40 s, 5 s per attempt, no attempt after 35 s) is an Effect `Schedule`.
 * Here an app adds a tighter cap and logs each retry, and the program runs a connect that is
 * refused three times before it succeeds, printing the timeline.
 *
 * Run: pnpm build && node examples/build/retry-policy.js
 */
import { ConnectionConfig, RetryPolicy } from "@stpp/connect"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"

class ConnectRefused extends Data.TaggedError("ConnectRefused")<{ readonly address: string }> {}

// The app's own rule: at most 5 retries, and a log line for each one.
const policy = RetryPolicy.layerComposed((base) =>
  base.pipe(
    Schedule.intersect(Schedule.recurs(5)),
    Schedule.tapOutput(([step]) =>
      Effect.logInfo(`retrying: attempt ${step.attempt} in ${Duration.format(step.delay)}`).pipe(
        Effect.annotateLogs({ after: Duration.format(step.elapsed) })
      )
    )
  )
).pipe(Layer.provide(ConnectionConfig.layer({ retryBaseDelay: "100ms", retryMaxDelay: "400ms" })))

let calls = 0
const connect = Effect.gen(function*() {
  calls++
  const t = yield* Clock.currentTimeMillis
  if (calls < 4) {
    yield* Effect.logInfo(`attempt ${calls}: refused`).pipe(Effect.annotateLogs({ at: t }))
    return yield* Effect.fail(new ConnectRefused({ address: "127.0.0.1" }))
  }
  return `connected on attempt ${calls}`
})

const program = RetryPolicy.retry(connect, (e) => e._tag === "ConnectRefused").pipe(
  Effect.tap((result) => Effect.logInfo(result)),
  Effect.provide(policy)
)

Effect.runPromise(program).catch((e) => {
  process.exitCode = 1
  console.error(String(e))
})
