/**
 * Many callers against a dead gateway (issue 21 item 5: U1 retry budget, U2 caller deadlines,
 * recovery): 256 requests at once through the ConnectionService with its defaults (64 sockets,
 * 250 ms / 2 s retry delays) but `STPP_RETRY_TIMEOUT=5s`, `STPP_CONNECT_TIMEOUT=1s`, with the
 * retry budget on (`STPP_RETRY_BUDGET=500`, the default) and off (`0`, the baseline) in the same
 * run, against three kinds of dead address:
 *
 * - refusing: nothing listens on the address (every connect is refused at once);
 * - black hole: nft drops the SYNs to the address (connect time-outs), when run as root with nft;
 * - handshake stall: a TCP server that accepts and never answers the ClientHello (handshake time-outs).
 *
 * Then recovery: 256 callers that ask again 25 ms after each `NotSent` (an app's own retry) keep
 * asking while the gateway stays dead for 1 s more, then it returns (a real TLS server on that
 * address and port, or the nft rule gone): connect attempts per second against the dead gateway
 * (the herd), time from its return (the server listening) to the first answer and to every
 * caller's answer, and the probe connects the spent budget let through meanwhile.
 *
 *   node bench/build/load.js [--callers=256] [--dead=1000]
 */
import * as ConnectionService from "@stpp/connect/ConnectionService"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import { spawnSync } from "node:child_process"
import * as Net from "node:net"
import { performance } from "node:perf_hooks"
import {
  arg,
  type Certificates,
  certificates,
  connectionService,
  dnsServers,
  fmt,
  HOST,
  note,
  ratio,
  servicePost,
  sleep,
  table,
  tlsServers
} from "./Harness.js"

const CALLERS = arg("callers", 256)
const DEAD_MILLIS = arg("dead", 1000)
const RETRY_TIMEOUT = 5000
const CONNECT_TIMEOUT = 1000
const NFT_TABLE = "stpp_bench_load"

type Kind = "refusing" | "black hole (nft SYN drop)" | "handshake stall (TCP accepts, no TLS)"

/** A dead address of one kind, and how it comes back to life. */
interface Dead {
  readonly kind: Kind
  readonly address: string
  /** The gateway returns: a TLS server answers on the address from now on. */
  readonly revive: () => Promise<void>
  /** Requests and TLS connections the revived gateway saw. */
  readonly served: () => Promise<number>
  readonly close: () => Promise<void>
}

const attemptsSoFar = () => Effect.runPromise(Metric.value(ConnectionService.metrics.attempts)).then((s) => s.count)

const probesSoFar = () => Effect.runPromise(Metric.value(ConnectionService.metrics.budgetProbes)).then((s) => s.count)

const freePort = (address: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = Net.createServer()
    s.once("error", reject)
    s.listen(0, address, () => {
      const port = (s.address() as Net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

const nftAvailable = (): boolean =>
  process.getuid?.() === 0 && spawnSync("nft", ["--version"], { stdio: "ignore" }).status === 0

const nft = (script: string): void => {
  const r = spawnSync("nft", ["-f", "-"], { input: script, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`nft: ${r.stderr}`)
}

const dropTable = (): void => void spawnSync("nft", ["delete", "table", "inet", NFT_TABLE], { stdio: "ignore" })

const refusing = async (address: string, port: number, certs: Certificates): Promise<Dead> => {
  let servers: Awaited<ReturnType<typeof tlsServers>> | undefined
  return {
    kind: "refusing",
    address,
    revive: async () => void (servers = await tlsServers([address], certs, { port })),
    served: async () => (servers === undefined ? 0 : (await servers.stats()).connections[address] ?? 0),
    close: async () => servers?.close()
  }
}

const blackHole = async (address: string, port: number, certs: Certificates): Promise<Dead> => {
  // the server listens all along; nft drops the SYNs (on input: a local packet dropped on output
  // fails the sender at once, which is not a black hole)
  const servers = await tlsServers([address], certs, { port })
  dropTable()
  nft(`table inet ${NFT_TABLE} {
  chain input {
    type filter hook input priority -5; policy accept;
    ip daddr ${address} tcp dport ${port} tcp flags & (syn | ack) == syn drop
  }
}`)
  return {
    kind: "black hole (nft SYN drop)",
    address,
    revive: async () => dropTable(),
    served: async () => (await servers.stats()).connections[address] ?? 0,
    close: async () => {
      dropTable()
      await servers.close()
    }
  }
}

const stall = async (address: string, port: number, certs: Certificates): Promise<Dead> => {
  const sockets = new Set<Net.Socket>()
  const silent = Net.createServer((s) => {
    sockets.add(s)
    s.on("error", () => undefined)
    s.on("close", () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => silent.listen(port, address, () => resolve()))
  const closeSilent = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      if (!silent.listening) return resolve()
      silent.close(() => resolve())
    })
  let servers: Awaited<ReturnType<typeof tlsServers>> | undefined
  return {
    kind: "handshake stall (TCP accepts, no TLS)",
    address,
    revive: async () => {
      await closeSilent()
      servers = await tlsServers([address], certs, { port })
    },
    served: async () => (servers === undefined ? 0 : (await servers.stats()).connections[address] ?? 0),
    close: async () => {
      await closeSilent()
      await servers?.close()
    }
  }
}

interface Figures {
  readonly kind: Kind
  readonly budget: string
  readonly attemptsPerRequest: number
  readonly slowestMillis: number
  readonly notSent: number
  readonly causes: string
  readonly deadAttemptsPerSecond: number
  readonly firstOkMillis: number
  readonly allOkMillis: number
  readonly probes: number
  readonly serverConnections: number
}

const causeOf = (exit: Exit.Exit<unknown, { readonly _tag: string; readonly cause?: unknown }>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const e = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (e === undefined) return "defect"
  const cause = e.cause as { readonly _tag: string; readonly last?: { readonly _tag: string } } | undefined
  if (cause === undefined) return e._tag
  return cause._tag === "RetryBudgetSpent" ? `RetryBudgetSpent(${cause.last?._tag})` : cause._tag
}

const scenario = async (
  make: () => Promise<Dead>,
  budget: number,
  port: number,
  certs: Certificates
): Promise<Figures> => {
  const dead = await make()
  const dns = await dnsServers([{ address: "127.0.4.53" }], [{ name: HOST, type: "A", value: dead.address, ttl: 30 }])
  const svc = await connectionService(port, dns.servers.map((s) => s.nameserver), certs, {
    retryTimeout: `${RETRY_TIMEOUT} millis`,
    connectTimeout: `${CONNECT_TIMEOUT} millis`,
    retryBudget: budget,
    logLevel: "none"
  })
  try {
    // the wave: every caller at once
    const a0 = await attemptsSoFar()
    const waits: Array<number> = []
    const causes = new Map<string, number>()
    const exits = await svc.runtime.runPromise(Effect.forEach(
      Array.from({ length: CALLERS }, () => 0),
      () =>
        Effect.suspend(() => {
          const asked = performance.now()
          return Effect.tap(Effect.exit(servicePost(svc.service)), () =>
            Effect.sync(() => waits.push(performance.now() - asked)))
        }),
      { concurrency: "unbounded" }
    ))
    const attempts = (await attemptsSoFar()) - a0
    for (const exit of exits) {
      const c = causeOf(exit)
      causes.set(c, (causes.get(c) ?? 0) + 1)
    }

    // recovery: callers keep asking (25 ms after each NotSent) while the gateway is dead, then it returns
    let revivedAt = Number.POSITIVE_INFINITY
    let firstOk = Number.POSITIVE_INFINITY
    let lastOk = 0
    let failedOther = 0
    const stopAt = performance.now() + DEAD_MILLIS + 15_000
    const caller = Effect.gen(function*() {
      while (performance.now() < stopAt) {
        const exit = yield* Effect.exit(servicePost(svc.service))
        if (Exit.isSuccess(exit)) {
          const now = performance.now()
          firstOk = Math.min(firstOk, now)
          lastOk = Math.max(lastOk, now)
          return
        }
        if (causeOf(exit) === "defect") failedOther++
        yield* Effect.sleep("25 millis")
      }
    })
    const r0 = await attemptsSoFar()
    const deadStart = performance.now()
    const callers = svc.runtime.runPromise(
      Effect.all(Array.from({ length: CALLERS }, () => caller), { concurrency: "unbounded", discard: true })
    )
    await sleep(DEAD_MILLIS)
    const deadAttempts = (await attemptsSoFar()) - r0
    const deadSeconds = (performance.now() - deadStart) / 1000
    const p0 = await probesSoFar()
    await dead.revive()
    // from when a TLS server answers on the address (or the nft rule is gone)
    revivedAt = performance.now()
    await callers
    if (failedOther > 0) note(`(${dead.kind}, budget ${budget}: ${failedOther} defects during recovery)`)
    return {
      kind: dead.kind,
      budget: budget === 0 ? "off (0)" : `on (${budget})`,
      attemptsPerRequest: attempts / CALLERS,
      slowestMillis: Math.max(...waits),
      notSent: exits.filter((e) => Exit.isFailure(e)).length,
      causes: [...causes].map(([c, n]) => `${c} ${n}`).join(", "),
      deadAttemptsPerSecond: deadAttempts / deadSeconds,
      firstOkMillis: firstOk - revivedAt,
      allOkMillis: lastOk - revivedAt,
      probes: (await probesSoFar()) - p0,
      serverConnections: await dead.served()
    }
  } finally {
    await svc.dispose()
    await dns.close()
    await dead.close()
  }
}

const certs = await certificates()
const withNft = nftAvailable()
const kinds: Array<(port: number) => Promise<Dead>> = [
  (port) => refusing("127.0.4.2", port, certs),
  ...(withNft ? [(port: number) => blackHole("127.0.4.3", port, certs)] : []),
  (port) => stall("127.0.4.4", port, certs)
]
const cleanup = () => {
  if (withNft) dropTable()
}
process.once("SIGINT", () => {
  cleanup()
  process.exit(130)
})
note(
  `load: ${CALLERS} callers at once, defaults (64 sockets) with STPP_RETRY_TIMEOUT=${RETRY_TIMEOUT / 1000}s, ` +
    `STPP_CONNECT_TIMEOUT=${CONNECT_TIMEOUT / 1000}s; budget on (500) and off (0) in the same run` +
    (withNft ? "" : "; no root or nft: the black-hole row (nft SYN drop) is skipped, the handshake stall stands in")
)
const rows: Array<Figures> = []
try {
  for (const kind of kinds) {
    for (const budget of [500, 0]) {
      const port = await freePort("127.0.4.1")
      rows.push(await scenario(() => kind(port), budget, port, certs))
    }
  }
} finally {
  cleanup()
  certs.dispose()
}
table(
  `Dead gateway, ${CALLERS} callers at once (target: <= 2 attempts/request, slowest <= 1.0x retry time-out + 1 s)`,
  ["address", "budget", "attempts/request", "slowest ms", "vs retry time-out", "NotSent", "causes"],
  rows.map((r) => [
    r.kind,
    r.budget,
    r.attemptsPerRequest.toFixed(2),
    fmt(r.slowestMillis),
    ratio(r.slowestMillis, RETRY_TIMEOUT),
    fmt(r.notSent),
    r.causes
  ])
)
table(
  `Recovery: ${CALLERS} callers asking again 25 ms after each NotSent; the gateway dead ${DEAD_MILLIS} ms more, then back`,
  [
    "address",
    "budget",
    "attempts/s while dead",
    "first answer ms",
    "all answered ms",
    "budget probes",
    "server conns"
  ],
  rows.map((r) => [
    r.kind,
    r.budget,
    fmt(r.deadAttemptsPerSecond),
    fmt(r.firstOkMillis),
    fmt(r.allOkMillis),
    fmt(r.probes),
    fmt(r.serverConnections)
  ])
)
