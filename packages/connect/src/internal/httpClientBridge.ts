/**
 * The machinery behind `ConnectionHttpClient`: an `@effect/platform` request turned into a
 * `GatewayRequest` (origin check, URL, body), the `GatewayResponse` turned back into an
 * `HttpClientResponse`, the library's errors mapped to `HttpClientError`, and the redacted views
 * of requests and responses used in span attributes, messages and `toJSON` (L1).
 *
 * @internal
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { OutcomeUnknown, RequestError as ConnectionRequestError } from "../ConnectionError.js"
import type { GatewayRequest, GatewayResponse } from "../ConnectionService.js"
import * as Redact from "../Redact.js"

// -----------------------------------------------------------------------------
// the gateway's origin
// -----------------------------------------------------------------------------

/** The one origin a service serves. @internal */
export interface Target {
  readonly host: string
  readonly port: number
  /** `https://host[:port]`, as it appears in messages and span attributes. */
  readonly origin: string
  /** What relative URLs are resolved against. */
  readonly base: URL
}

/** @internal */
export const target = (endpoint: { readonly host: string; readonly port: number }): Target => {
  const host = endpoint.host.toLowerCase()
  const origin = `https://${host.includes(":") ? `[${host}]` : host}${endpoint.port === 443 ? "" : `:${endpoint.port}`}`
  return { host, port: endpoint.port, origin, base: new URL(`${origin}/`) }
}

/**
 * The request's URL was not the configured gateway's: nothing was sent. Carries origins only (no
 * path or query, which could hold card data).
 *
 * @internal
 */
export class ForeignOrigin extends Data.TaggedError("ForeignOrigin")<{
  /** The origin asked for, redacted. */
  readonly requested: string
  /** The configured gateway's origin. */
  readonly configured: string
}> {
  get message(): string {
    return `${this.requested} is not the configured gateway: this connection only sends to ${this.configured}. Nothing was sent`
  }
}

const originOf = (url: URL): string => Redact.string(`${url.protocol}//${url.host}`)

/** The request's full URL (relative ones resolved against the gateway), or why it cannot be used. @internal */
export const resolveUrl = (
  request: HttpClientRequest.HttpClientRequest,
  t: Target
): URL | ForeignOrigin | Error => {
  let url: URL
  try {
    url = new URL(request.url, t.base)
    for (let i = 0; i < request.urlParams.length; i++) {
      const [key, value] = request.urlParams[i]
      if (value !== undefined) url.searchParams.append(key, value)
    }
    if (request.hash._tag === "Some") url.hash = request.hash.value
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e))
  }
  const host = url.hostname.replace(/^\[|\]$/g, "")
  const port = url.port === "" ? 443 : Number(url.port)
  if (url.protocol !== "https:" || host !== t.host || port !== t.port) {
    return new ForeignOrigin({ requested: originOf(url), configured: t.origin })
  }
  return url
}

// -----------------------------------------------------------------------------
// bodies
// -----------------------------------------------------------------------------

/** A body as the bytes to send and their content type. @internal */
export interface Encoded {
  readonly bytes: Uint8Array | undefined
  readonly contentType: string | undefined
}

const noBody: Encoded = { bytes: undefined, contentType: undefined }

const rawBytes = (body: unknown): Uint8Array | undefined =>
  body instanceof Uint8Array
    ? body
    : typeof body === "string"
    ? Buffer.from(body, "utf8")
    : body instanceof ArrayBuffer
    ? new Uint8Array(body)
    : ArrayBuffer.isView(body)
    ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
    : undefined

/**
 * The body as bytes. The service sends whole bodies, so a stream is read to its end first (a
 * failing stream fails the request before anything is sent); a form is encoded as multipart the
 * way `fetch` does it.
 *
 * @internal
 */
export const encodeBody = (
  body: HttpBody.HttpBody
): Effect.Effect<Encoded, { readonly description: string; readonly cause?: unknown }> => {
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(noBody)
    case "Uint8Array":
      return Effect.succeed({ bytes: body.body, contentType: body.contentType })
    case "Raw": {
      const bytes = rawBytes(body.body)
      return bytes === undefined
        ? Effect.fail({ description: "a raw body must be a string, a Uint8Array or an ArrayBuffer" })
        : Effect.succeed({ bytes, contentType: body.contentType })
    }
    case "FormData":
      return Effect.tryPromise({
        try: async () => {
          const encoded = new Response(body.formData)
          const bytes = new Uint8Array(await encoded.arrayBuffer())
          return { bytes, contentType: encoded.headers.get("content-type") ?? undefined }
        },
        catch: (cause) => ({ description: "the form body could not be encoded", cause })
      })
    case "Stream":
      return Stream.runCollect(body.stream).pipe(
        Effect.map((chunks): Encoded => {
          const parts = Chunk.toReadonlyArray(chunks)
          return {
            bytes: parts.length === 1 ? parts[0] : Buffer.concat(parts),
            contentType: body.contentType
          }
        }),
        Effect.mapError((cause) => ({ description: "the stream body failed before the request was sent", cause }))
      )
  }
}

/** The service's request for a platform request at `url` with its encoded body. @internal */
export const toGatewayRequest = (
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  encoded: Encoded
): GatewayRequest => {
  let headers: Readonly<Record<string, string>> = request.headers
  if (encoded.bytes !== undefined && encoded.contentType !== undefined && headers["content-type"] === undefined) {
    headers = { ...headers, "content-type": encoded.contentType }
  }
  return {
    // The service's type names POST and GET; the method is handed to undici as it is, so the
    // others go through too (each is proven on the wire in ConnectionHttpClient.test.ts).
    method: request.method as NonNullable<GatewayRequest["method"]>,
    path: `${url.pathname}${url.search}`,
    headers,
    body: encoded.bytes
  }
}

// -----------------------------------------------------------------------------
// redacted views (L1)
// -----------------------------------------------------------------------------

const matches = (name: string, names: ReadonlyArray<string | RegExp>): boolean => {
  for (const n of names) {
    if (typeof n === "string" ? n.toLowerCase() === name : n.test(name)) return true
  }
  return false
}

/**
 * A header's value as it may be shown: names the app asked to hide (`Headers.currentRedactedNames`)
 * are hidden as `@effect/platform` hides them; every other value goes through `Redact`.
 *
 * @internal
 */
export const headerValue = (name: string, value: string, hidden: ReadonlyArray<string | RegExp>): string =>
  matches(name, hidden) ? Redact.REDACTED : String(Redact.fieldValue(name, value))

const headersView = (headers: Headers.Headers): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name in headers) out[name] = headerValue(name, headers[name], redactedByDefault)
  return out
}

const redactedByDefault: ReadonlyArray<string> = ["authorization", "cookie", "set-cookie", "x-api-key"]

const textual = (contentType: string | undefined): boolean =>
  contentType !== undefined &&
  (contentType.startsWith("text/") || contentType.includes("json") || contentType.includes("urlencoded"))

const bodyView = (body: HttpBody.HttpBody): unknown => {
  switch (body._tag) {
    case "Uint8Array":
      return {
        _tag: body._tag,
        body: textual(body.contentType) ? Redact.bytes(body.body) : `Uint8Array(${body.body.length})`,
        contentType: body.contentType
      }
    case "Raw":
      return { _tag: body._tag, body: Redact.value(body.body), contentType: body.contentType }
    default:
      return { _tag: body._tag }
  }
}

/** `METHOD url`, the URL redacted. @internal */
export const methodAndUrl = (request: HttpClientRequest.HttpClientRequest): string =>
  `${request.method} ${Redact.url(request.url)}`

/** A request as `toJSON` shows it, redacted. @internal */
export const requestView = (request: HttpClientRequest.HttpClientRequest): unknown => ({
  _id: "@effect/platform/HttpClientRequest",
  method: request.method,
  url: Redact.url(request.url),
  urlParams: request.urlParams.map(([k, v]) => [k, Redact.fieldValue(k, v)]),
  headers: headersView(request.headers),
  body: bodyView(request.body)
})

// -----------------------------------------------------------------------------
// the response
// -----------------------------------------------------------------------------

const decoder = new TextDecoder("utf-8")

/**
 * The service's whole response as an `HttpClientResponse`: the body is already in memory, so
 * every accessor reads it again at no cost, as often as asked.
 *
 * @internal
 */
export class ConnectionResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly status: number
  readonly headers: Headers.Headers
  readonly remoteAddress: Option.Option<string>
  private readonly body: Uint8Array

  constructor(readonly request: HttpClientRequest.HttpClientRequest, response: GatewayResponse) {
    super()
    this.status = response.status
    this.headers = Headers.unsafeFromRecord(response.headers)
    this.remoteAddress = Option.some(response.address)
    this.body = response.body
  }

  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  get cookies(): Cookies.Cookies {
    const setCookie = this.headers["set-cookie"]
    return setCookie === undefined ? Cookies.empty : Cookies.fromSetCookie(setCookie)
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.try({ try: () => decoder.decode(this.body), catch: (cause) => this.decodeError(cause) })
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.try({
      try: () => {
        const text = decoder.decode(this.body)
        return text === "" ? null : JSON.parse(text) as unknown
      },
      catch: (cause) => this.decodeError(cause)
    })
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.try({
      try: () => UrlParams.fromInput(new URLSearchParams(decoder.decode(this.body))),
      catch: (cause) => this.decodeError(cause)
    })
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.sync(() => {
      const copy = new Uint8Array(this.body.byteLength)
      copy.set(this.body)
      return copy.buffer
    })
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.tryPromise({
      try: () => {
        const contentType = this.headers["content-type"]
        return new Response(this.body, { headers: contentType ? { "content-type": contentType } : {} }).formData()
      },
      catch: (cause) => this.decodeError(cause)
    })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return this.body.byteLength === 0 ? Stream.empty : Stream.succeed(this.body)
  }

  toJSON(): unknown {
    let body: unknown
    const contentType = this.headers["content-type"]
    if (textual(contentType)) {
      const text = decoder.decode(this.body)
      try {
        body = Redact.value(contentType!.includes("json") ? JSON.parse(text) : text)
      } catch {
        body = Redact.string(text)
      }
    }
    return {
      _id: "@effect/platform/HttpClientResponse",
      request: requestView(this.request),
      status: this.status,
      headers: headersView(this.headers),
      remoteAddress: this.remoteAddress.toJSON(),
      ...(body === undefined ? {} : { body })
    }
  }
}

/**
 * A response that never came (outcome unknown): status 0, no headers, no body. It only exists
 * because `ResponseError` must carry one.
 *
 * @internal
 */
const noResponse = (request: HttpClientRequest.HttpClientRequest, address: string): ConnectionResponse =>
  new ConnectionResponse(request, {
    status: 0,
    headers: {},
    body: new Uint8Array(0),
    address,
    attempts: 0,
    reused: false,
    elapsedMillis: 0
  })

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * `RequestError` with a redacted message and `toJSON`: the request it carries is the caller's
 * own (so it can be inspected or sent again), but its URL and body never reach a printed error.
 *
 * @internal
 */
export class SafeRequestError extends HttpClientError.RequestError {
  get message(): string {
    return safeMessage(this, methodAndUrl(this.request))
  }
  toJSON(): unknown {
    return safeJson(this, undefined)
  }
}

/** `ResponseError` with a redacted message and `toJSON`, like {@link SafeRequestError}. @internal */
export class SafeResponseError extends HttpClientError.ResponseError {
  get message(): string {
    return safeMessage(this, `${this.response.status} ${methodAndUrl(this.request)}`)
  }
  toJSON(): unknown {
    return safeJson(this, { status: this.response.status })
  }
}

// What the two safe errors show: no URL query, no body, the caller's own request inspectable.
type SafeError = Pick<
  HttpClientError.RequestError | HttpClientError.ResponseError,
  "_tag" | "reason" | "description" | "message" | "request" | "cause"
>

const safeMessage = (error: SafeError, info: string): string =>
  error.description ? `${error.reason}: ${error.description} (${info})` : `${error.reason} error (${info})`

const safeJson = (error: SafeError, response: { readonly status: number } | undefined): unknown => ({
  _tag: error._tag,
  reason: error.reason,
  message: error.message,
  request: requestView(error.request),
  ...(response === undefined ? {} : { response }),
  cause: error.cause
})

/**
 * The library's error as an `HttpClientError`, with it as `cause`. Chosen against
 * `HttpClient.retryTransient`'s own rule (a `RequestError` with reason "Transport", a
 * `ResponseError` whose status is 408/429/500/502/503/504, or a `TimeoutException`):
 *
 * - `NotSent` -> `RequestError` "Transport": transient, and safe to retry: nothing was sent.
 * - `Refused` -> `RequestError` "InvalidUrl": not transient; the gateway at that URL failed
 *   verification (S1, S4) and trying again would fail the same way.
 * - `OutcomeUnknown` -> `ResponseError` "EmptyBody" on a status-0 response: never transient, and
 *   not a `RequestError`, which hand-written "retry when the request failed" filters look for (R3).
 *
 * @internal
 */
export const fromConnectionError = (
  request: HttpClientRequest.HttpClientRequest,
  error: ConnectionRequestError
): HttpClientError.HttpClientError => {
  switch (error._tag) {
    case "NotSent":
      return new SafeRequestError({ request, reason: "Transport", cause: error, description: error.message })
    case "Refused":
      return new SafeRequestError({ request, reason: "InvalidUrl", cause: error, description: error.message })
    case "OutcomeUnknown":
      return outcomeUnknownError(request, error)
  }
}

const outcomeUnknownError = (request: HttpClientRequest.HttpClientRequest, error: OutcomeUnknown) =>
  new SafeResponseError({
    request,
    response: noResponse(request, error.address),
    reason: "EmptyBody",
    cause: error,
    description: error.message
  })

/** Whether an `HttpClientError` stands for `OutcomeUnknown`. @internal */
export const isOutcomeUnknownError = (e: HttpClientError.HttpClientError): boolean =>
  e._tag === "ResponseError" && typeof e.cause === "object" && e.cause !== null &&
  (e.cause as { readonly _tag?: unknown })._tag === "OutcomeUnknown"
