/**
 * `@effect/platform`'s `HttpClient` over the ConnectionService (E4): code written against
 * `HttpClient` (`HttpClientRequest`, `HttpClientResponse`, `schemaBodyJson`, `HttpApiClient`,
 * `retryTransient`) sends through the service's DNS, verified TLS, pool, retry policy and
 * redaction, to the one gateway the service is configured for.
 *
 * R3 survives composition: a request whose bytes were written fails with an error that
 * `HttpClient.retryTransient` never retries (see {@link layer} for the mapping), and a re-run of
 * the same execution after that error fails again without sending.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Tracer from "effect/Tracer"
import type { NotSent, OutcomeUnknown, Refused } from "./ConnectionError.js"
import { isRequestError } from "./ConnectionError.js"
import { ConnectionService } from "./ConnectionService.js"
import * as Bridge from "./internal/httpClientBridge.js"
import * as Emit from "./internal/redact/emit.js"
import * as Redact from "./Redact.js"
import * as RedactingLogger from "./RedactingLogger.js"

/**
 * An `HttpClient` over one service value, for code that holds several (one per merchant or
 * region) and binds each to its own tag.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromService = (service: ConnectionService["Type"]): HttpClient.HttpClient => {
  const target = Bridge.target(service.endpoint)
  const redact = Emit.optionsOf(service.panMask)

  const send = (
    request: HttpClientRequest.HttpClientRequest,
    url: URL
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
    const body = request.body
    // the common bodies are bytes already: no effect more per request
    const encoded = body._tag === "Empty"
      ? Effect.succeed<Bridge.Encoded>({ bytes: undefined, contentType: undefined })
      : body._tag === "Uint8Array"
      ? Effect.succeed<Bridge.Encoded>({ bytes: body.body, contentType: body.contentType })
      : Effect.mapError(
        Bridge.encodeBody(body),
        (e) => new Bridge.SafeRequestError({ request, reason: "Encode", cause: e.cause, description: e.description })
      )
    return Effect.flatMap(
      encoded,
      (bytes) =>
        Effect.mapBoth(service.request(Bridge.toGatewayRequest(request, url, bytes)), {
          onFailure: (e) => Bridge.fromConnectionError(request, e),
          onSuccess: (response) => new Bridge.ConnectionResponse(request, response)
        })
    )
  }

  const execute = (
    request: HttpClientRequest.HttpClientRequest,
    fiber: Fiber.RuntimeFiber<unknown, unknown>
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
    const url = Bridge.resolveUrl(request, target)
    if (!(url instanceof URL)) {
      return Effect.fail(
        url instanceof Bridge.ForeignOrigin
          ? new Bridge.SafeRequestError({ request, reason: "InvalidUrl", cause: url, description: url.message })
          : new Bridge.SafeRequestError({
            request,
            reason: "InvalidUrl",
            cause: Redact.error(url),
            description: `the URL could not be parsed; this connection sends to ${target.origin}`
          })
      )
    }
    const services = fiber.getFiberRef(DefaultServices.currentServices)
    // As the service does: a span only when a tracer that keeps spans is installed.
    const traced = fiber.getFiberRef(FiberRef.currentTracerEnabled) &&
      !fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request) &&
      RedactingLogger.recordsSpans(Context.get(services, Tracer.Tracer))
    if (!traced) return send(request, url)
    const name = Context.get(fiber.currentContext, HttpClient.SpanNameGenerator)(request)
    return Effect.useSpan(Redact.string(name, redact), { kind: "client", captureStackTrace: false }, (span) => {
      const hidden = fiber.getFiberRef(Headers.currentRedactedNames)
      spanRequestAttributes(span, request, url, hidden, redact)
      const sent = fiber.getFiberRef(HttpClient.currentTracerPropagation)
        ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span))
        : request
      return send(sent, url).pipe(
        Effect.withParentSpan(span),
        Effect.tap((response) => spanResponseAttributes(span, response, hidden, redact))
      )
    })
  }

  return HttpClient.makeWith((effect: Effect.Effect<HttpClientRequest.HttpClientRequest>) => {
    // One execution: once its request met OutcomeUnknown, a re-run of it (any retry combinator on
    // top, `Effect.retry` on the effect) fails the same way without sending (R3). Safe methods
    // (GET, HEAD, OPTIONS) are exempt: polling loops re-run them on purpose.
    let unknown: HttpClientError.HttpClientError | undefined
    return Effect.flatMap(effect, (request) =>
      unknown !== undefined
        ? Effect.fail(unknown)
        : Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((fiber) =>
          isSafeMethod(request.method)
            ? execute(request, fiber)
            : Effect.tapError(execute(request, fiber), (e) => {
              if (Bridge.isOutcomeUnknownError(e)) unknown = e
              return Effect.void
            })
        ))
  }, Effect.succeed)
}

const isSafeMethod = (method: HttpClientRequest.HttpClientRequest["method"]): boolean =>
  method === "GET" || method === "HEAD" || method === "OPTIONS"

/** `@effect/platform`'s attribute names, every value redacted (L1). */
const spanRequestAttributes = (
  span: Tracer.Span,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  hidden: ReadonlyArray<string | RegExp>,
  options: Redact.Options
): void => {
  const attribute = (key: string, value: unknown) => Emit.spanAttribute(span, key, value, options)
  attribute("http.request.method", request.method)
  attribute("server.address", url.origin)
  if (url.port !== "") attribute("server.port", +url.port)
  attribute("url.full", Redact.url(url, options))
  attribute("url.path", Redact.string(url.pathname, options))
  attribute("url.scheme", url.protocol.slice(0, -1))
  if (url.search.length > 1) {
    attribute("url.query", Redact.url(`${url.origin}/${url.search}`, options).split("?")[1] ?? "")
  }
  for (const name in request.headers) {
    attribute(`http.request.header.${name}`, Bridge.headerValue(name, request.headers[name], hidden))
  }
}

const spanResponseAttributes = (
  span: Tracer.Span,
  response: HttpClientResponse.HttpClientResponse,
  hidden: ReadonlyArray<string | RegExp>,
  options: Redact.Options
) =>
  Effect.sync(() => {
    const attribute = (key: string, value: unknown) => Emit.spanAttribute(span, key, value, options)
    attribute("http.response.status_code", response.status)
    for (const name in response.headers) {
      attribute(`http.response.header.${name}`, Bridge.headerValue(name, response.headers[name], hidden))
    }
  })

/**
 * The `HttpClient` over the `ConnectionService` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<HttpClient.HttpClient, never, ConnectionService> = Effect.map(
  ConnectionService,
  fromService
)

/**
 * `HttpClient` for the app, over the `ConnectionService` in context. Every request goes to the
 * configured gateway (a relative URL is resolved against its origin; any other origin is refused
 * before anything is sent: `RequestError` reason "InvalidUrl"). The library's errors become
 * `HttpClientError`s with the library's error as `cause`, mapped so that `HttpClient.retryTransient`
 * keeps R3:
 *
 * | library error    | HttpClientError                                   | retryTransient |
 * | ---------------- | ------------------------------------------------- | -------------- |
 * | `NotSent`        | `RequestError` "Transport"                        | retried: nothing was sent |
 * | `Refused`        | `RequestError` "InvalidUrl"                       | not retried (S1, S4) |
 * | `OutcomeUnknown` | `ResponseError` "EmptyBody", response status 0    | never retried (R3) |
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient, never, ConnectionService> = Layer.effect(
  HttpClient.HttpClient,
  make
)

/**
 * The library's own error behind an `HttpClientError` from this client (`NotSent`, `Refused`,
 * `OutcomeUnknown`), if it has one.
 *
 * @since 0.1.0
 * @category accessors
 */
export const connectionError = (
  error: HttpClientError.HttpClientError
): NotSent | Refused | OutcomeUnknown | undefined => isRequestError(error.cause) ? error.cause : undefined

/**
 * Whether the request behind an `HttpClientError` was (partly) sent and no whole answer came back:
 * do not send it again; look the transaction up (R3).
 *
 * @since 0.1.0
 * @category refinements
 */
export const isOutcomeUnknown = (error: HttpClientError.HttpClientError): boolean =>
  connectionError(error)?._tag === "OutcomeUnknown"
