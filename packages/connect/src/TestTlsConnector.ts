/**
 * The shipped fake `TlsConnector` and its controller, for tests: no sockets and no certificates;
 * each address does what the test scripted, and anything unscripted is a defect naming it.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Duplex } from "node:stream"
import { ConnectionConfig } from "./ConnectionConfig.js"
import { TlsConnector } from "./internal/tls/connector.js"
import * as TestSocket from "./internal/tls/memorySocket.js"
import type { Target, TlsConnection, TrustReport } from "./TlsConnector.js"
import * as TlsError from "./TlsError.js"

const noop = () => {}

/**
 * What the fake connector does on one connect call to an address.
 *
 * - `accept`: a verified connection over an in-memory socket; the test gets the server side.
 * - `refuse`, `reset`: `TlsError.ConnectRefused`, `TlsError.ConnectReset` (handshake phase).
 * - `stall`: the handshake never finishes: only the connect time-out ends it (`TlsError.HandshakeTimeout`).
 * - `stall-tcp`: TCP never connects (`TlsError.ConnectTimeout`).
 * - `fail`: fails with the given error (built for the target when a function).
 *
 * Every step may take `delay` first (by `Clock`, so `TestClock` drives it), inside the time-out.
 *
 * @since 0.1.0
 * @category test
 */
export type Step =
  | "accept"
  | "refuse"
  | "reset"
  | "stall"
  | "stall-tcp"
  | {
    readonly _tag: "accept"
    readonly delay?: Duration.DurationInput | undefined
    readonly protocol?: string | undefined
    readonly cipher?: string | undefined
    /** Called with the server side as soon as the connection is made. */
    readonly onAccept?: ((server: TestServerSide) => void) | undefined
  }
  | {
    readonly _tag: "refuse" | "reset" | "stall" | "stall-tcp"
    readonly delay?: Duration.DurationInput | undefined
  }
  | {
    readonly _tag: "fail"
    readonly delay?: Duration.DurationInput | undefined
    readonly error: TlsError.TlsConnectError | ((target: Target) => TlsError.TlsConnectError)
  }

/**
 * The test's end of an accepted fake connection.
 *
 * @since 0.1.0
 * @category test
 */
export interface TestServerSide {
  /** Read the request bytes here, write a response, `end()` it, or `destroy()` it (the client sees a reset). */
  readonly socket: Duplex
  /** Every byte the client has written so far. */
  readonly received: () => Buffer
}

/**
 * One connect call the fake saw.
 *
 * @since 0.1.0
 * @category test
 */
export interface TestCall {
  readonly target: Target
  /** `Clock` time of the call. */
  readonly at: number
  /** The step that answered it. */
  readonly step: string
  /** The server side, for an accepted call. */
  readonly server: TestServerSide | undefined
}

/**
 * Steers `layerTest`, the way `TestClock` steers the clock.
 *
 * @since 0.1.0
 * @category test
 */
export class TestTlsConnector extends Context.Tag("@stpp/connect/TestTlsConnector")<TestTlsConnector, {
  /** Queues steps for an address, one per connect call, in order. */
  readonly script: (address: string, ...steps: ReadonlyArray<Step>) => Effect.Effect<void>
  /** What every call to the address does once its queue is empty. */
  readonly always: (address: string, step: Step) => Effect.Effect<void>
  /** The connect calls made so far, oldest first. */
  readonly calls: Effect.Effect<ReadonlyArray<TestCall>>
  /** The trust report `trustReport` returns for an address that accepts. */
  readonly setTrustReport: (address: string, report: (target: Target) => TrustReport) => Effect.Effect<void>
}>() {}

interface TestState {
  readonly queues: Map<string, Array<Step>>
  readonly always: Map<string, Step>
  readonly calls: Array<{ -readonly [K in keyof TestCall]: TestCall[K] }>
  readonly reports: Map<string, (target: Target) => TrustReport>
}

const stepTag = (step: Step): string => (typeof step === "string" ? step : step._tag)

const emptyReport = (target: Target, now: number): TrustReport => ({
  host: target.servername,
  address: target.address,
  port: target.port,
  checkedAt: new Date(now),
  protocol: "TLSv1.3",
  cipher: "TLS_AES_128_GCM_SHA256",
  trustStore: { kind: "only", systemBundle: undefined, bundledRoots: 0, caFiles: [] },
  chain: [],
  anchor: undefined,
  warnings: []
})

const testConnect = (
  state: TestState,
  timeout: Duration.Duration,
  target: Target
): Effect.Effect<TlsConnection, TlsError.TlsConnectError, Scope.Scope> =>
  Effect.gen(function*() {
    const where = { host: target.servername, address: target.address, port: target.port }
    const start = yield* Clock.currentTimeMillis
    const step = yield* Effect.sync(() => {
      const queue = state.queues.get(target.address)
      return queue !== undefined && queue.length > 0 ? queue.shift() : state.always.get(target.address)
    })
    if (step === undefined) {
      return yield* Effect.dieMessage(
        `TestTlsConnector: unscripted connect to ${target.address}:${target.port} (${target.servername}); script it with TestTlsConnector.script or .always`
      )
    }
    const tag = stepTag(step)
    const call: TestState["calls"][number] = { target, at: start, step: tag, server: undefined }
    state.calls.push(call)
    const delay = typeof step === "string" ? undefined : step.delay
    const timeoutMillis = Duration.toMillis(timeout)
    const outcome: Effect.Effect<TlsConnection, TlsError.TlsConnectError, Scope.Scope> = Effect.gen(function*() {
      if (delay !== undefined) yield* Effect.sleep(delay)
      switch (tag) {
        case "refuse":
          return yield* Effect.fail(new TlsError.ConnectRefused(where))
        case "reset":
          return yield* Effect.fail(new TlsError.ConnectReset({ ...where, phase: "handshake" }))
        case "stall":
        case "stall-tcp":
          return yield* Effect.never
        case "fail": {
          const e = (step as Extract<Step, { readonly _tag: "fail" }>).error
          return yield* Effect.fail(typeof e === "function" ? e(target) : e)
        }
      }
      const accept = typeof step === "string" ? undefined : (step as Extract<Step, { readonly _tag: "accept" }>)
      const pair = yield* Effect.acquireRelease(
        Effect.sync(() => TestSocket.memoryPair(target.address, target.port)),
        ({ client, server }) =>
          Effect.sync(() => {
            client.destroy()
            server.destroy()
          })
      )
      pair.client.on("error", noop)
      pair.server.on("error", noop)
      const chunks: Array<Buffer> = []
      // every "data" listener gets every chunk: recording here does not take the bytes from the test
      pair.server.on("data", (chunk: Buffer) => chunks.push(chunk))
      const side: TestServerSide = { socket: pair.server, received: () => Buffer.concat(chunks) }
      call.server = side
      accept?.onAccept?.(side)
      const end = yield* Clock.currentTimeMillis
      return {
        socket: pair.client,
        bytesWritten: () => pair.client.bytesWritten,
        address: target.address,
        port: target.port,
        servername: target.servername,
        protocol: accept?.protocol ?? "TLSv1.3",
        cipher: accept?.cipher ?? "TLS_AES_128_GCM_SHA256",
        connectMillis: end - start
      } satisfies TlsConnection
    })
    return yield* Effect.timeoutFail(outcome, {
      duration: timeout,
      onTimeout: (): TlsError.TlsConnectError =>
        tag === "stall-tcp"
          ? new TlsError.ConnectTimeout({ ...where, timeoutMillis })
          : new TlsError.HandshakeTimeout({ ...where, timeoutMillis })
    })
  })

/**
 * The fake connector and its controller: no sockets, no certificates; each address does what the
 * test scripted, and anything unscripted is a defect that names the address. The connect time-out
 * comes from `ConnectionConfig`, so `TestClock` drives stalls.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest: Layer.Layer<TlsConnector | TestTlsConnector, never, ConnectionConfig> = Layer
  .effectContext(
    Effect.gen(function*() {
      const settings = yield* ConnectionConfig
      const state: TestState = { queues: new Map(), always: new Map(), calls: [], reports: new Map() }
      const connector = TlsConnector.of({
        connect: (target) => testConnect(state, settings.connectTimeout, target),
        trustReport: (target) =>
          Effect.scoped(Effect.gen(function*() {
            yield* testConnect(state, settings.connectTimeout, target)
            const now = yield* Clock.currentTimeMillis
            const report = state.reports.get(target.address)
            return report === undefined ? emptyReport(target, now) : report(target)
          }))
      })
      const controller = TestTlsConnector.of({
        script: (address, ...steps) =>
          Effect.sync(() => {
            const queue = state.queues.get(address) ?? []
            queue.push(...steps)
            state.queues.set(address, queue)
          }),
        always: (address, step) => Effect.sync(() => void state.always.set(address, step)),
        calls: Effect.sync(() => state.calls.map((c) => ({ ...c }))),
        setTrustReport: (address, report) => Effect.sync(() => void state.reports.set(address, report))
      })
      return Context.make(TlsConnector, connector).pipe(Context.add(TestTlsConnector, controller))
    })
  )
