// The settings table: every setting's environment name, default, what is allowed and its parser.
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import type { LogFormat, LogLevelName, PanMask, TrustStore } from "../../ConnectionConfig.js"
import {
  booleanSetting,
  describe,
  durationSetting,
  EU_URL,
  intSetting,
  listOf,
  literalSetting,
  parseNameservers,
  parseUrl,
  type Setting
} from "./parse.js"

const ms = Duration.millis
const LOG_LEVELS: ReadonlyArray<LogLevelName> = ["all", "trace", "debug", "info", "warning", "error", "fatal", "none"]

export const settings = [
  {
    key: "url",
    env: "STPP_URL",
    default: EU_URL,
    allowed: "an https URL without credentials, query or fragment",
    description: "The gateway's JSON endpoint (US: https://webservices.securetrading.us/json/)",
    parse: parseUrl
  } satisfies Setting<"url">,
  {
    key: "maxRetries",
    env: "STPP_MAX_RETRIES",
    default: "20",
    allowed: "a whole number from 0 to 1000",
    description: "Connect retries after the first attempt (R1)",
    parse: intSetting(0, 1000)
  } satisfies Setting<"maxRetries">,
  {
    key: "retryTimeout",
    env: "STPP_RETRY_TIMEOUT",
    default: "40s",
    allowed: "a duration from 0ms to 1h",
    description: "The whole connect phase, from the start of the first attempt (R1, R2)",
    parse: durationSetting(ms(0), Duration.hours(1))
  } satisfies Setting<"retryTimeout">,
  {
    key: "connectTimeout",
    env: "STPP_CONNECT_TIMEOUT",
    default: "5s",
    allowed: "a duration from 1ms to 10m",
    description: "One connect attempt: TCP connect and TLS handshake (R1)",
    parse: durationSetting(ms(1), Duration.minutes(10))
  } satisfies Setting<"connectTimeout">,
  {
    key: "ioTimeout",
    env: "STPP_IO_TIMEOUT",
    default: "60s",
    allowed: "a duration from 1ms to 1h",
    description: "Sending the request and receiving the whole response (R1)",
    parse: durationSetting(ms(1), Duration.hours(1))
  } satisfies Setting<"ioTimeout">,
  {
    key: "retryBaseDelay",
    env: "STPP_RETRY_BASE_DELAY",
    default: "250ms",
    allowed: "a duration from 0ms to 1m",
    description: "First pause between connect attempts; doubles each retry, with ±20% jitter",
    parse: durationSetting(ms(0), Duration.minutes(1))
  } satisfies Setting<"retryBaseDelay">,
  {
    key: "retryMaxDelay",
    env: "STPP_RETRY_MAX_DELAY",
    default: "2s",
    allowed: "a duration from 0ms to 1m",
    description: "Longest pause between connect attempts",
    parse: durationSetting(ms(0), Duration.minutes(1))
  } satisfies Setting<"retryMaxDelay">,
  // U1: the AWS SDKs' retry quota (aws-sdk-js-v3 middleware-retry: 500 tokens, a retry costs 5, a
  // time-out 10, a success refunds 1) with gRPC's probing below it (retry_throttle.cc: tokens back to half).
  {
    key: "retryBudget",
    env: "STPP_RETRY_BUDGET",
    default: "500",
    allowed: "a whole number of tokens from 0 to 1000000 (0: no shared budget)",
    description:
      "Connect retries shared by all requests of one service: each retry takes tokens, each successful connect refunds some; when spent, nothing is retried and few probes run (U1)",
    parse: intSetting(0, 1_000_000)
  } satisfies Setting<"retryBudget">,
  {
    key: "retryBudgetCost",
    env: "STPP_RETRY_BUDGET_COST",
    default: "5",
    allowed: "a whole number from 1 to 1000000",
    description: "Tokens a retry after a refused, reset or failed connect takes (U1)",
    parse: intSetting(1, 1_000_000)
  } satisfies Setting<"retryBudgetCost">,
  {
    key: "retryBudgetTimeoutCost",
    env: "STPP_RETRY_BUDGET_TIMEOUT_COST",
    default: "10",
    allowed: "a whole number from 1 to 1000000",
    description: "Tokens a retry after a connect or handshake time-out takes (U1)",
    parse: intSetting(1, 1_000_000)
  } satisfies Setting<"retryBudgetTimeoutCost">,
  {
    key: "retryBudgetRefund",
    env: "STPP_RETRY_BUDGET_REFUND",
    default: "1",
    allowed: "a whole number from 0 to 1000000",
    description: "Tokens a successful connect gives back, up to STPP_RETRY_BUDGET (U1)",
    parse: intSetting(0, 1_000_000)
  } satisfies Setting<"retryBudgetRefund">,
  {
    key: "retryBudgetProbes",
    env: "STPP_RETRY_BUDGET_PROBES",
    default: "2",
    allowed: "a whole number from 1 to 64",
    description:
      "While the budget is spent: connects tried at once, one round per STPP_RETRY_BASE_DELAY; other requests wait for their outcome or fail fast (U1)",
    parse: intSetting(1, 64)
  } satisfies Setting<"retryBudgetProbes">,
  {
    key: "dnsTimeout",
    env: "STPP_DNS_TIMEOUT",
    default: "1s",
    allowed: "a duration from 1ms to 30s",
    description: "One DNS query to one server; a dead server costs at most this (D3)",
    parse: durationSetting(ms(1), Duration.seconds(30))
  } satisfies Setting<"dnsTimeout">,
  {
    key: "dnsMaxTtl",
    env: "STPP_DNS_MAX_TTL",
    default: "60s",
    allowed: "a duration from 0ms to 1h",
    description: "Cap on any DNS TTL; a TTL is never extended (D1)",
    parse: durationSetting(ms(0), Duration.hours(1))
  } satisfies Setting<"dnsMaxTtl">,
  {
    key: "dnsHealthWindow",
    env: "STPP_DNS_HEALTH_WINDOW",
    default: "30s",
    allowed: "a duration from 0ms to 1h",
    description: "How long a DNS server that failed is asked last (D3)",
    parse: durationSetting(ms(0), Duration.hours(1))
  } satisfies Setting<"dnsHealthWindow">,
  {
    key: "dnsHedgeMinDelay",
    env: "STPP_DNS_HEDGE_MIN_DELAY",
    default: "50ms",
    allowed: "a duration from 1ms to 30s, at most STPP_DNS_HEDGE_MAX_DELAY",
    description:
      "Floor of the hedge delay: a DNS query unanswered this long (or longer, as learned from answer times) has the next server asked too, the first query still open (U3)",
    parse: durationSetting(ms(1), Duration.seconds(30))
  } satisfies Setting<"dnsHedgeMinDelay">,
  {
    key: "dnsHedgeMaxDelay",
    env: "STPP_DNS_HEDGE_MAX_DELAY",
    default: "200ms",
    allowed: "a duration from 1ms to 30s (STPP_DNS_TIMEOUT or more: no hedging)",
    description:
      "Cap of the hedge delay, and the delay before any answer was seen; the delay between is learned from answer times (U3)",
    parse: durationSetting(ms(1), Duration.seconds(30))
  } satisfies Setting<"dnsHedgeMaxDelay">,
  {
    key: "nameservers",
    env: "STPP_NAMESERVERS",
    default: "",
    allowed: "comma-separated IP or IP:PORT ([IPv6]:PORT), e.g. 127.0.0.1:5353",
    description: "DNS servers to ask; also where NS discovery starts (D3, D4). Empty: the system's",
    parse: parseNameservers
  } satisfies Setting<"nameservers">,
  {
    key: "dnsZone",
    env: "STPP_DNS_ZONE",
    default: "",
    allowed: "a DNS name, e.g. securetrading.net",
    description: "Zone whose NS records name the gateway's DNS servers (D4). Empty: the host less its first label",
    parse: (text: string) => {
      const t = text.trim().toLowerCase().replace(/\.$/, "")
      return t === "" || /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(t)
        ? Either.right(t)
        : Either.left(`${describe(text)} is not a DNS name`)
    }
  } satisfies Setting<"dnsZone">,
  {
    key: "dnsDiscovery",
    env: "STPP_DNS_DISCOVERY",
    default: "true",
    allowed: "true or false",
    description: "Discover and refresh the DNS servers from the zone's NS records, on their TTL (D4)",
    parse: booleanSetting
  } satisfies Setting<"dnsDiscovery">,
  {
    key: "trustStore",
    env: "STPP_TRUST_STORE",
    default: "node",
    allowed: "node, system or only",
    description: "Trusted roots: Node's bundle, the OS bundle (both plus STPP_CA_FILE), or only STPP_CA_FILE (S2)",
    parse: literalSetting<TrustStore>(["node", "system", "only"])
  } satisfies Setting<"trustStore">,
  {
    key: "caFiles",
    env: "STPP_CA_FILE",
    default: "",
    allowed: "comma-separated paths of PEM files",
    description: "Extra trusted root certificates (S2, S3)",
    parse: listOf((s) => Either.right(s))
  } satisfies Setting<"caFiles">,
  {
    key: "tlsSessionCache",
    env: "STPP_TLS_SESSION_CACHE",
    default: "100",
    allowed: "a whole number from 0 to 100000 (0: no resumption)",
    description:
      "TLS sessions kept for resumption, one per host name, address and port, from verified connections only; the first handshake is always verified in full (P3)",
    parse: intSetting(0, 100_000)
  } satisfies Setting<"tlsSessionCache">,
  {
    key: "maxSockets",
    env: "STPP_MAX_SOCKETS",
    default: "64",
    allowed: "a whole number from 1 to 4096",
    description: "Connections open at once to the gateway",
    parse: intSetting(1, 4096)
  } satisfies Setting<"maxSockets">,
  {
    key: "keepAliveIdle",
    env: "STPP_KEEPALIVE_IDLE",
    default: "20s",
    allowed: "a duration from 0ms to 10m (0: no keep-alive)",
    description: "Idle kept-alive connections are closed after this, before the server would",
    parse: durationSetting(ms(0), Duration.minutes(10))
  } satisfies Setting<"keepAliveIdle">,
  {
    key: "keepAliveMaxRequests",
    env: "STPP_KEEPALIVE_MAX_REQUESTS",
    default: "1000",
    allowed: "a whole number from 1 to 1000000",
    description:
      "A kept-alive connection is retired after at most this many requests (each connection its own cap, from 4/5 of it): never more than nginx's own default, 1000",
    parse: intSetting(1, 1_000_000)
  } satisfies Setting<"keepAliveMaxRequests">,
  {
    key: "maxResponseBytes",
    env: "STPP_MAX_RESPONSE_BYTES",
    default: "10485760",
    allowed: "a whole number of bytes from 1024 to 1073741824",
    description: "A response body larger than this (10 MiB) is cut off: outcome unknown, memory bounded",
    parse: intSetting(1024, 1024 ** 3)
  } satisfies Setting<"maxResponseBytes">,
  {
    key: "logLevel",
    env: "STPP_LOG_LEVEL",
    default: "info",
    allowed: LOG_LEVELS.join(", "),
    description: "Minimum log level; debug against a live host also needs STPP_ALLOW_LIVE_DEBUG (L3)",
    parse: literalSetting<LogLevelName>(LOG_LEVELS)
  } satisfies Setting<"logLevel">,
  {
    key: "logFormat",
    env: "STPP_LOG_FORMAT",
    default: "json",
    allowed: "json, logfmt or pretty",
    description: "Log line format (to stderr)",
    parse: literalSetting<LogFormat>(["json", "logfmt", "pretty"])
  } satisfies Setting<"logFormat">,
  {
    key: "allowLiveDebug",
    env: "STPP_ALLOW_LIVE_DEBUG",
    default: "false",
    allowed: "true or false",
    description: "Allow debug logging against a live gateway host (still redacted) (L3)",
    parse: booleanSetting
  } satisfies Setting<"allowLiveDebug">,
  {
    key: "panMask",
    env: "STPP_PAN_MASK",
    default: "first6last4",
    allowed: "first6last4 or last4",
    description: "How card numbers found in output are masked (L1)",
    parse: literalSetting<PanMask>(["first6last4", "last4"])
  } satisfies Setting<"panMask">
] as const
