/**
 * Only the ConnectionService, for a CPU profile of the request path (no baseline). Warm by default;
 * `--keepAliveMaxRequests=1` makes every request cold.
 *
 *   node --cpu-prof --cpu-prof-dir=bench/build/prof bench/build/profile.js \
 *     [--requests=5000] [--concurrency=16] [--keepAliveMaxRequests=1000000]
 *
 * then open the .cpuprofile in Chrome DevTools, or summarise it with `node bench/build/top.js <file>`.
 */
import {
  arg,
  certificates,
  connectionService,
  dnsServers,
  fmt,
  HOST,
  loadEffect,
  note,
  percentile,
  perSecond,
  servicePost,
  tlsServers
} from "./Harness.js"

const REQUESTS = arg("requests", 5000)
const CONCURRENCY = arg("concurrency", 16)
const MAX_REQUESTS = arg("keepAliveMaxRequests", 1_000_000)
const ADDRESS = "127.0.2.1"

const certs = await certificates()
const tls = await tlsServers([ADDRESS], certs)
const dns = await dnsServers([{ address: "127.0.2.53" }], [{ name: HOST, type: "A", value: ADDRESS, ttl: 60 }])
const cs = await connectionService(tls.port, [dns.servers[0].nameserver], certs, { keepAliveMaxRequests: MAX_REQUESTS })
await loadEffect(cs.runtime, Math.min(500, REQUESTS), CONCURRENCY, servicePost(cs.service))
const r = await loadEffect(cs.runtime, REQUESTS, CONCURRENCY, servicePost(cs.service))
note(
  `ConnectionService, keepAliveMaxRequests ${MAX_REQUESTS}, concurrency ${CONCURRENCY}: ${fmt(perSecond(r))} req/s, ` +
    `p50 ${fmt(percentile(r.latencies, 50), 2)} ms, p99 ${fmt(percentile(r.latencies, 99), 2)} ms, errors ${r.errors}`
)
await cs.dispose()
await tls.close()
await dns.close()
certs.dispose()
