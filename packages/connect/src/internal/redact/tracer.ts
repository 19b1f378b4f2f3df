// The redacting tracer: a wrapper that redacts span names, attributes, events and the failure an
// exporter records, before the tracer it wraps (and any exporter behind it) sees them.
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import * as Redact from "../../Redact.js"

const redactAttributes = (
  attributes: Record<string, unknown> | undefined,
  options: Redact.Options
): Record<string, unknown> | undefined => attributes === undefined ? undefined : Redact.annotations(attributes, options)

class RedactingSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly name: string
  constructor(readonly inner: Tracer.Span, readonly options: Redact.Options) {
    this.name = Redact.string(inner.name, options)
  }
  get spanId() {
    return this.inner.spanId
  }
  get traceId() {
    return this.inner.traceId
  }
  get parent() {
    return this.inner.parent
  }
  get context() {
    return this.inner.context
  }
  get status() {
    return this.inner.status
  }
  get attributes() {
    return this.inner.attributes
  }
  get links() {
    return this.inner.links
  }
  get sampled() {
    return this.inner.sampled
  }
  get kind() {
    return this.inner.kind
  }
  end(endTime: bigint, exit: Parameters<Tracer.Span["end"]>[1]): void {
    // An exporter records a failure's cause as the exception and status message: redact it (L1). A
    // success value is not recorded by tracers and is passed as it is.
    this.inner.end(endTime, Exit.isFailure(exit) ? Exit.failCause(Redact.cause(exit.cause, this.options)) : exit)
  }
  attribute(key: string, value: unknown): void {
    this.inner.attribute(Redact.string(key, this.options), Redact.fieldValue(key, value, this.options))
  }
  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    this.inner.event(Redact.string(name, this.options), startTime, redactAttributes(attributes, this.options))
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.inner.addLinks(links)
  }
}

const unwrapSpan = (span: Tracer.AnySpan): Tracer.AnySpan => span instanceof RedactingSpan ? span.inner : span

const innerTracers = new WeakMap<Tracer.Tracer, Tracer.Tracer>()
const builtInTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** Whether `tracer` is a redacting wrapper made here. */
export const isRedacting = (tracer: Tracer.Tracer): boolean => innerTracers.has(tracer)

/** `inner` wrapped: names, attributes, events and failures redacted. */
export const redactingTracer = (inner: Tracer.Tracer, options: Redact.Options): Tracer.Tracer => {
  if (innerTracers.has(inner)) return inner
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, spanOptions) => {
      const safeOptions: Tracer.SpanOptions | undefined = spanOptions === undefined ? undefined : {
        ...spanOptions,
        attributes: redactAttributes(spanOptions.attributes, options),
        parent: spanOptions.parent === undefined ? undefined : unwrapSpan(spanOptions.parent)
      }
      return new RedactingSpan(
        inner.span(
          Redact.string(name, options),
          Option.map(parent, unwrapSpan),
          context,
          links,
          startTime,
          kind,
          safeOptions
        ),
        options
      )
    },
    context: (f, fiber) => inner.context(f, fiber)
  })
  innerTracers.set(tracer, inner)
  return tracer
}

/** False for Effect's built-in tracer (which keeps spans nowhere), also behind redacting wrappers. */
export const recordsSpans = (tracer: Tracer.Tracer): boolean => {
  let current = tracer
  for (let depth = 0; depth < 16; depth++) {
    const inner = innerTracers.get(current)
    if (inner === undefined) break
    current = inner
  }
  return current !== builtInTracer
}
