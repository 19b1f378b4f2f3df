/**
 * Lines per second of the redacting logger against Effect's own (unredacted) JSON logger and
 * against pino with `redact` paths, on the same realistic request-log line, all writing to a null
 * sink. Not a timed test: it prints medians of several interleaved runs and their ratios to the
 * Effect JSON logger measured in the same run.
 *
 *   pnpm exec tsc --build && node bench/build/redaction.js [lines-per-run] [runs]
 */
import * as Redact from "@stpp/connect/Redact"
import * as RedactingLogger from "@stpp/connect/RedactingLogger"
import * as Cause from "effect/Cause"
import * as FiberId from "effect/FiberId"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as LogSpan from "effect/LogSpan"
import { performance } from "node:perf_hooks"
import { pino } from "pino"

const LINES = Number(process.argv[2] ?? 50_000)
const RUNS = Number(process.argv[3] ?? 9)

// The request object a gateway client logs at debug level: the card, its security code and expiry.
const request = () => ({
  alias: "webservices@merchant.example",
  version: "1.00",
  request: [{
    requesttypedescriptions: ["AUTH"],
    sitereference: "test_site12345",
    accounttypedescription: "ECOM",
    currencyiso3a: "GBP",
    baseamount: "1050",
    orderreference: "order-2024-000123",
    pan: "4111111111111111",
    expirydate: "12/2030",
    securitycode: "123",
    billingfirstname: "Ada",
    billinglastname: "Lovelace",
    billingpostcode: "SW1A 1AA"
  }]
})

const annotations = HashMap.make(
  ["requestId", "c1b7e2a4-5d8f-4f3a-9b1e-2a6c7d8e9f01"],
  ["host", "webservices.securetrading.net"],
  ["address", "185.43.20.11"],
  ["attempt", 1]
)
const fiberId = FiberId.make(42, 0)
const date = new Date("2026-01-15T10:20:30.456Z")
const spans = List.make(LogSpan.make("gateway.request", date.getTime() - 12))
const context = FiberRefs.empty()
const message = ["gateway request", request()]

const options: Logger.Logger.Options<unknown> = {
  fiberId,
  logLevel: LogLevel.Debug,
  message,
  cause: Cause.empty,
  context,
  spans,
  annotations,
  date
}

let sunk = 0
const nullSink: RedactingLogger.Sink = {
  write: (line) => {
    sunk += line.length
  }
}

const redacting = RedactingLogger.logger({ sink: nullSink, format: "json" })
const effectJson = Logger.jsonLogger

const pinoLogger = pino({
  level: "debug",
  base: null,
  redact: {
    paths: [
      "request[*].pan",
      "request[*].securitycode",
      "request[*].expirydate"
    ],
    censor: "<redacted>"
  }
}, { write: (s: string) => void (sunk += s.length) })
const pinoFields = {
  requestId: "c1b7e2a4-5d8f-4f3a-9b1e-2a6c7d8e9f01",
  host: "webservices.securetrading.net",
  address: "185.43.20.11",
  attempt: 1
}
const pinoRequest = request()

const cases: ReadonlyArray<readonly [string, () => void]> = [
  ["Effect Logger.jsonLogger (unredacted)", () => {
    nullSink.write(effectJson.log(options))
  }],
  ["RedactingLogger json (redacted)", () => {
    redacting.log(options)
  }],
  ["pino with redact paths", () => {
    pinoLogger.debug({ ...pinoFields, spans: { "gateway.request": 12 }, ...pinoRequest }, "gateway request")
  }],
  ["Redact.value on the request only", () => {
    sunk += (Redact.value(message[1]) as object) === null ? 0 : 1
  }]
]

const runOnce = (f: () => void): number => {
  const start = performance.now()
  for (let i = 0; i < LINES; i++) f()
  const ms = performance.now() - start
  return LINES / (ms / 1000)
}

// Warm up every case, then interleave runs so that drift affects all alike.
for (const [, f] of cases) runOnce(f)
const results = new Map<string, Array<number>>(cases.map(([name]) => [name, []]))
for (let r = 0; r < RUNS; r++) {
  for (const [name, f] of cases) results.get(name)!.push(runOnce(f))
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const baseline = median(results.get(cases[0][0])!)
const rows = cases.map(([name]) => {
  const m = median(results.get(name)!)
  return {
    logger: name,
    "lines/s (median)": Math.round(m).toLocaleString("en-GB"),
    "time per line vs Effect JSON": `${((baseline / m) * 100).toFixed(0)} %`,
    "throughput vs Effect JSON": `${(m / baseline).toFixed(2)}x`
  }
})

console.log(`node ${process.version}, ${LINES.toLocaleString("en-GB")} lines per run, ${RUNS} runs, medians`)
console.table(rows)

// Show what each wrote for the same line, so the comparison is honest about what is redacted.
const sample: Array<string> = []
RedactingLogger.logger({ sink: { write: (l) => sample.push(l) } }).log(options)
console.log("RedactingLogger line:", sample[0])
console.log("Effect jsonLogger line length:", effectJson.log(options).length, "(unredacted, not printed)")
void sunk
