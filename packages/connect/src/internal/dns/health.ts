/**
 * The servers' health (D3): every question to one server has its own time-out; a server that
 * failed is asked last for `dnsHealthWindow`, and failover asks the next server at once.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { NameserverSource, ServerFailure } from "../../Resolver.js"
import { DnsUnavailable } from "../../ResolverError.js"
import type { Ask } from "./lookup.js"
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
  /** Asks the servers in order, healthy ones first, until one answers (D3). */
  readonly failover: (list: ReadonlyArray<ListEntry>, host: string) => Ask
  /** Asks one server only, health untouched (the doctor's view of each server). */
  readonly only: (entry: ListEntry, host: string) => Ask
  /** The server's last failure and until when it is asked last, if it failed since it last answered. */
  readonly failedAt: (key: string) => Failed | undefined
}

/** @internal */
export const make = (
  settings: { readonly dnsTimeout: Duration.Duration; readonly dnsHealthWindow: Duration.Duration },
  transport: Transport
): Health => {
  const healthMillis = Duration.toMillis(settings.dnsHealthWindow)
  const failed = new Map<string, Failed>()

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

  const markFailed = (failure: ServerFailure) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      failed.set(failure.nameserver, { unhealthyUntil: now + healthMillis, failure })
    })

  const markHealthy = (key: string) => Effect.sync(() => void failed.delete(key))

  /** Healthy servers in list order, then those that failed, the one that failed first first. */
  const ordered = (list: ReadonlyArray<ListEntry>, now: number): ReadonlyArray<ListEntry> => {
    const until = (e: ListEntry) => failed.get(e.key)?.unhealthyUntil ?? 0
    const healthy = list.filter((e) => until(e) <= now)
    const unhealthy = list.filter((e) => until(e) > now).sort((a, b) => until(a) - until(b))
    return [...healthy, ...unhealthy]
  }

  const failover = (list: ReadonlyArray<ListEntry>, host: string): Ask => (question) =>
    Effect.gen(function*() {
      const failures: Array<ServerFailure> = []
      for (const entry of ordered(list, yield* Clock.currentTimeMillis)) {
        const result = yield* Effect.either(askOne(entry, question))
        if (Either.isRight(result)) {
          yield* markHealthy(entry.key)
          return { server: entry.key, response: result.right }
        }
        failures.push(result.left)
        yield* markFailed(result.left)
      }
      return yield* new DnsUnavailable({ host, failures })
    })

  const only = (entry: ListEntry, host: string): Ask => (question) =>
    askOne(entry, question).pipe(
      Effect.map((response) => ({ server: entry.key, response })),
      Effect.mapError((failure) => new DnsUnavailable({ host, failures: [failure] }))
    )

  return { failover, only, failedAt: (key) => failed.get(key) }
}
