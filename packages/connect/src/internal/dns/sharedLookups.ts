/**
 * The answer cache (D1): an answer is used until its `expiresAt`; callers asking at once for a name
 * that is not cached share one query, which runs in the resolver's scope so that a caller that gives
 * up does not cancel it for the others.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"
import type { Answer } from "../../Resolver.js"
import type { DnsError } from "../../ResolverError.js"

type CacheEntry =
  | { readonly _tag: "Ready"; readonly answer: Answer }
  | { readonly _tag: "Pending"; readonly deferred: Deferred.Deferred<Answer, DnsError> }

/** @internal */
export interface SharedLookups {
  /** The cached answer for a normalized host name, or one shared query for it. */
  readonly get: (host: string) => Effect.Effect<Answer, DnsError>
  /** Drops a cached answer (a query under way is left alone). */
  readonly invalidate: (host: string) => void
}

/** @internal */
export const make = (
  lookup: (host: string) => Effect.Effect<Answer, DnsError>,
  scope: Scope.Scope
): SharedLookups => {
  const cache = new Map<string, CacheEntry>()

  const get = (host: string): Effect.Effect<Answer, DnsError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.suspend(() => {
        const entry = cache.get(host)
        if (entry?._tag === "Ready" && now < entry.answer.expiresAt) {
          return Effect.succeed(entry.answer)
        }
        if (entry?._tag === "Pending") {
          return Deferred.await(entry.deferred)
        }
        const deferred = Deferred.unsafeMake<Answer, DnsError>(FiberId.none)
        cache.set(host, { _tag: "Pending", deferred })
        const settle = (exit: Exit.Exit<Answer, DnsError>) =>
          Effect.zipRight(
            Effect.sync(() => {
              const current = cache.get(host)
              if (current?._tag !== "Pending" || current.deferred !== deferred) {
                return
              }
              if (Exit.isSuccess(exit)) {
                cache.set(host, { _tag: "Ready", answer: exit.value })
              } else cache.delete(host)
            }),
            Deferred.done(deferred, exit)
          )
        return Effect.zipRight(
          Effect.forkIn(Effect.onExit(lookup(host), settle), scope),
          Deferred.await(deferred)
        )
      }))

  const invalidate = (host: string): void => {
    if (cache.get(host)?._tag === "Ready") {
      cache.delete(host)
    }
  }

  return { get, invalidate }
}
