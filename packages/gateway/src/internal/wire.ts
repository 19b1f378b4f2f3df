/**
 * The HTTP shape of one envelope: headers, Basic auth, the `versioninfo` header and the request
 * reference.
 *
 * @internal
 */
import type * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
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

/** @internal */
export const makeReference: Effect.Effect<string> = Effect.gen(function*() {
  let out = "A"
  for (let i = 0; i < 8; i++) {
    out += REFERENCE_ALPHABET[yield* Random.nextIntBetween(0, REFERENCE_ALPHABET.length)]
  }
  return out
})
