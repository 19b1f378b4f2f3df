/**
 * The servers' health (D3) and the hedged failover (U3): every question to one server has its own
 * time-out; a server that failed is asked last for `dnsHealthWindow`. The next server is asked at
 * once when one fails, and also when one has not answered within the hedge delay, while the first
 * query stays open: the first answer wins. A query that lost the race is left to finish (bounded by
 * its own time-out, in the resolver's scope) so that its outcome still feeds health and the delay.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { NameserverSource, ServerFailure } from "../../Resolver.js"
import { DnsUnavailable } from "../../ResolverError.js"
import { metrics } from "../metrics.js"
import * as Hedge from "./hedge.js"
import type { Ask, Asked } from "./lookup.js"
import type { Question, Response, Server, Transport } from "./transport.js"
import { QueryFailure } from "./transport.js"

/** One server in the list. @internal */
export interface ListEntry {
  readonly server: Server
  readonly key: string
  readonly name: string | undefined
  readonly source: NameserverSource
}

/** @internal */
export interface Failed {
  readonly unhealthyUntil: number
  readonly failure: ServerFailure
}

/** @internal */
export interface Health {
  /** Asks the servers in order, healthy ones first, hedged, until one answers (D3, U3). */
  readonly failover: (list: ReadonlyArray<ListEntry>, host: string) => Ask
  /** Asks one server only, health untouched (the doctor's view of each server). */
  readonly only: (entry: ListEntry, host: string) => Ask
  /** The server's last failure and until when it is asked last, if it failed since it last answered. */
  readonly failedAt: (key: string) => Failed | undefined
  /** The learned answer times (U3). */
  readonly hedge: Hedge.HedgeDelay
}

/** @internal */
export interface HealthSettings {
  readonly dnsTimeout: Duration.Duration
  readonly dnsHealthWindow: Duration.Duration
  readonly dnsHedgeMinDelay: Duration.Duration
  readonly dnsHedgeMaxDelay: Duration.Duration
}

/** Why a server was asked: the first, after a failure (D3), or because the others were slow (U3). */
type Launch = "first" | "failover" | "hedge"

interface Outcome {
  readonly index: number
  /** A failure here is a defect or an interruption of the query (e.g. an unscripted test query). */
  readonly exit: Exit.Exit<Either.Either<Response, ServerFailure>>
}

/** @internal */
export const make = (settings: HealthSettings, transport: Transport, scope: Scope.Scope): Health => {
  const healthMillis = Duration.toMillis(settings.dnsHealthWindow)
  const timeoutMillis = Duration.toMillis(settings.dnsTimeout)
  const failed = new Map<string, Failed>()
  const hedge = Hedge.make(settings)

  /** One question to one server with its own time-out; an error code is a failure of that server. */
  const askOne = (entry: ListEntry, question: Question): Effect.Effect<Response, ServerFailure> =>
    transport(entry.server, question).pipe(
      Effect.timeoutFail({
        duration: settings.dnsTimeout,
        onTimeout: () => new QueryFailure({ reason: "timeout", detail: Duration.format(settings.dnsTimeout) })
      }),
      Effect.flatMap((response): Effect.Effect<Response, QueryFailure> => {
        switch (response.rcode) {
          case "NOERROR":
          case "NXDOMAIN":
            return Effect.succeed(response)
          case "REFUSED":
            return Effect.fail(new QueryFailure({ reason: "refused", detail: "REFUSED" }))
          case "SERVFAIL":
            return Effect.fail(new QueryFailure({ reason: "servfail", detail: "SERVFAIL" }))
          default:
            return Effect.fail(new QueryFailure({ reason: "rcode", detail: response.rcode }))
        }
      }),
      Effect.mapError((f) => ({ nameserver: entry.key, reason: f.reason, detail: f.detail }))
    )

  /** `askOne`, its outcome recorded: an answer's time feeds the hedge delay and clears a failure. */
  const askRecorded = (entry: ListEntry, question: Question): Effect.Effect<Either.Either<Response, ServerFailure>> =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const result = yield* Effect.either(askOne(entry, question))
      const now = yield* Clock.currentTimeMillis
      if (Either.isRight(result)) {
        hedge.observe(entry.key, now - start)
        failed.delete(entry.key)
      } else {
        failed.set(entry.key, { unhealthyUntil: now + healthMillis, failure: result.left })
      }
      return result
    })

  /** Healthy servers in list order, then those that failed, the one that failed first first. */
  const ordered = (list: ReadonlyArray<ListEntry>, now: number): ReadonlyArray<ListEntry> => {
    const until = (e: ListEntry) => failed.get(e.key)?.unhealthyUntil ?? 0
    const healthy = list.filter((e) => until(e) <= now)
    const unhealthy = list.filter((e) => until(e) > now).sort((a, b) => until(a) - until(b))
    return [...healthy, ...unhealthy]
  }

  const failover = (list: ReadonlyArray<ListEntry>, host: string): Ask => (question) =>
    Effect.gen(function*() {
      const servers = ordered(list, yield* Clock.currentTimeMillis)
      if (servers.length === 0) return yield* new DnsUnavailable({ host, failures: [] })
      // Outcomes are pushed here as they come; `wake` only tells the loop to look (never loses one).
      const outcomes: Array<Outcome> = []
      let wake = Deferred.unsafeMake<void>(FiberId.none)
      const launched: Array<Launch> = []
      // Each query runs in the resolver's scope: one that loses the race still ends in its time-out.
      const launch = (kind: Launch) => {
        const index = launched.length
        launched.push(kind)
        const query = Effect.flatMap(Effect.exit(askRecorded(servers[index], question)), (exit) =>
          Effect.sync(() => {
            outcomes.push({ index, exit })
            Deferred.unsafeDone(wake, Exit.void)
          }))
        return Effect.zipRight(
          Effect.forkIn(query, scope),
          kind === "hedge" ? Metric.increment(metrics.dnsHedges) : Effect.void
        )
      }
      yield* launch("first")
      const failures: Array<{ readonly index: number; readonly failure: ServerFailure }> = []
      let seen = 0
      for (;;) {
        const more = launched.length < servers.length
        const waitFor = Effect.sync(() => {
          wake = Deferred.unsafeMake<void>(FiberId.none)
          return seen < outcomes.length ? undefined : wake
        })
        const signal = yield* waitFor
        if (signal !== undefined) {
          const delay = hedge.delayMillis()
          // A delay of dnsTimeout or more never hedges: the time-out moves on first (D3 as before U3).
          const woken = more && delay < timeoutMillis
            ? Option.isSome(yield* Effect.timeoutOption(Deferred.await(signal), Duration.millis(delay)))
            : yield* Effect.as(Deferred.await(signal), true)
          if (!woken) yield* launch("hedge")
          continue
        }
        const { exit, index } = outcomes[seen++]
        if (Exit.isFailure(exit)) return yield* Effect.failCause(exit.cause)
        const result = exit.value
        if (Either.isRight(result)) {
          if (launched[index] === "hedge") yield* Metric.increment(metrics.dnsHedgeWins)
          return { server: servers[index].key, response: result.right } satisfies Asked
        }
        failures.push({ index, failure: result.left })
        if (more) yield* launch("failover")
        else if (failures.length === launched.length) {
          // In list order, however the answers interleaved.
          const inOrder = failures.sort((x, y) => x.index - y.index).map((f) => f.failure)
          return yield* new DnsUnavailable({ host, failures: inOrder })
        }
      }
    })

  const only = (entry: ListEntry, host: string): Ask => (question) =>
    askOne(entry, question).pipe(
      Effect.map((response) => ({ server: entry.key, response })),
      Effect.mapError((failure) => new DnsUnavailable({ host, failures: [failure] }))
    )

  return { failover, only, failedAt: (key) => failed.get(key), hedge }
}
