/**
 * The HTTP shape of one envelope: headers, Basic auth, the `versioninfo` header and the request
 * reference.
 *
 * @internal
 */
import type * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Envelope from "../Envelope.js"

const runtimeVersion = (): string => {
  const versions = (globalThis as { process?: { versions?: { node?: string }; platform?: string } }).process
  return `Node::${versions?.versions?.node ?? "unknown"}::${Envelope.LIBRARY_VERSION}::${
    versions?.platform ?? "unknown"
  }`
}

/** @internal */
export const VERSION_INFO: string = runtimeVersion()

/** @internal */
export const wireRequest = (
  body: string,
  auth: { readonly username: string; readonly password: Redacted.Redacted<string> },
  reference: string
): ConnectionService.GatewayRequest => ({
  method: "POST",
  headers: {
    "content-type": "application/json;charset=utf-8",
    "accept": "application/json",
    "requestreference": reference,
    "versioninfo": VERSION_INFO
  },
  body,
  auth,
  reference
})

const REFERENCE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
// The reference names the request in lookups after an unknown outcome, so it must not collide or be
// guessable: Web Crypto bytes (a CSPRNG), fetched 4 KiB at a time, bytes >= 252 dropped (no modulo bias).
const pool = new Uint8Array(4096)
let next = pool.length

const randomByte = (): number => {
  if (next === pool.length) {
    globalThis.crypto.getRandomValues(pool)
    next = 0
  }
  return pool[next++]
}

/** @internal */
export const makeReference: Effect.Effect<string> = Effect.sync(() => {
  let out = "A"
  while (out.length < 9) {
    const byte = randomByte()
    if (byte < 252) out += REFERENCE_ALPHABET[byte % 36]
  }
  return out
})
