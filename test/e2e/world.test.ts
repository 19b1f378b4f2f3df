/**
 * `stpp request` and `stpp doctor` against the fault world (issue 11): a real BIND9 and a real nginx
 * on loopback, started by `world.sh up`. Each test asserts the exit code and the JSON line (or
 * report), then asks the servers' own logs (nginx access logs, BIND's query log, nft counters) what
 * really reached them. Skips (with the reason on stderr) unless `pnpm test:e2e` brought the world up.
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import {
  authBody,
  baseArgs,
  type DoctorRun,
  leaks,
  nftCounter,
  nginxLines,
  nginxPosts,
  nsupdate,
  queriesFor,
  type Run,
  silenceNameserver,
  skipReason,
  stpp,
  stppCommand,
  stppDoctor,
  type World,
  world
} from "./world.js"

const outputs: Array<string> = []
const record = <R extends Omit<Run, "lines">>(run: R): R => {
  outputs.push(run.stdout, run.stderr)
  return run
}

const w = world as World
let order = 0
const run = async (
  host: string,
  extra: ReadonlyArray<string> = [],
  options: Parameters<typeof stpp>[2] = {}
): Promise<Run> =>
  record(await stpp(w, ["--body", authBody(w, `e2e-${order++}`), ...baseArgs(w, host, extra)], options))

/** Requests (POST /json/) that reached nginx, every case together. */
const allPosts = (): number => Object.keys(w.cases).reduce((n, name) => n + nginxPosts(w, name), 0)

const doctor = async (name: string, args: ReadonlyArray<string> = []): Promise<DoctorRun> =>
  record(await stppDoctor(w, name, ["--nameserver", `${w.nameservers[0]}:53`, ...args]))

/** The leaf certificate world.sh made for a case, as nginx serves it. */
const leafOf = (cert: string): Crypto.X509Certificate =>
  new Crypto.X509Certificate(Fs.readFileSync(Path.join(w.dir, "pki", `${cert}.pem`)))

describe.skipIf(world === undefined)(
  `stpp against BIND9 and nginx (${stppCommand().isCli ? "the CLI" : "the stand-in driver"})`,
  () => {
    if (world === undefined) it.skip(skipReason ?? "world not up", () => {})

    describe("S: secure connection", () => {
      it("S1: the good chain is verified with SNI and the request reaches nginx once", async () => {
        const before = nginxPosts(w, "good")
        const r = await run("good")
        expect(r.code, r.stderr).toBe(0)
        expect(r.lines).toHaveLength(1)
        expect(r.lines[0]).toMatchObject({ outcome: "ok", address: w.cases.good, attempts: 1, error: null })
        expect(JSON.stringify(r.lines[0].response)).toContain("\"errorcode\":\"0\"")
        expect(nginxPosts(w, "good")).toBe(before + 1)
        const last = nginxLines(w, "good").at(-1) ?? ""
        expect(last).toContain(`"good.${w.zone}"`) // SNI sent
        // a new process has no TLS session to offer: the first handshake is a full one (P3, S1)
        expect(last).toMatch(/TLSv1\.[23] \.$/)
      })

      const refusals: ReadonlyArray<readonly [string, string, RegExp]> = [
        ["expired", "CertificateExpired", /expired/i],
        ["notyetvalid", "CertificateNotYetValid", /not valid until/i],
        ["wrongname", "HostnameMismatch", /./],
        ["selfsigned", "SelfSignedCertificate", /self-signed/i],
        ["unknownroot", "UnknownIssuer", /not in the trust store|untrusted/i],
        ["nointermediate", "UnknownIssuer", /intermediate/i],
        ["tls10", "ProtocolRefused", /./]
      ]
      for (const [name, tag, words] of refusals) {
        it(`S1/S4: ${name} is refused as ${tag}: exit 5, one attempt, nothing reaches nginx`, async () => {
          const before = nginxPosts(w, name)
          const r = await run(name, ["--max-retries", "5"])
          expect(r.code, r.stdout + r.stderr).toBe(5)
          expect(r.lines).toHaveLength(1)
          expect(r.lines[0]).toMatchObject({ outcome: "refused", address: w.cases[name], attempts: 1, response: null })
          expect(JSON.stringify(r.lines[0])).toContain(tag)
          expect(r.stderr).toMatch(words) // the operator's words
          expect(nginxPosts(w, name)).toBe(before) // no request byte over an unverified connection
        })
      }

      it("S3: trusting only another root refuses the good chain", async () => {
        const before = nginxPosts(w, "good")
        const r = record(
          await stpp(w, [
            "--body",
            authBody(w, `e2e-${order++}`),
            "--url",
            `https://good.${w.zone}:${w.tlsPort}/json/`,
            "--nameserver",
            `${w.nameservers[0]}:53`,
            "--ca",
            w.untrustedCaFile
          ])
        )
        expect(r.code).toBe(5)
        expect(JSON.stringify(r.lines[0])).toContain("UnknownIssuer")
        expect(nginxPosts(w, "good")).toBe(before)
      })
    })

    describe("P3: TLS session resumption, counted in nginx's log ($ssl_session_reused)", () => {
      const NEW_CONNECTIONS = 20
      for (const [name, protocol] of [["tls12", "TLSv1.2"], ["tls13", "TLSv1.3"]] as const) {
        it(`P3: ${protocol}: ${NEW_CONNECTIONS} requests, each on a new connection, from one process: the first verified in full, >= 90 % of the rest resumed`, async () => {
          const seen = nginxLines(w, name).length
          const r = await run(name, ["--repeat", String(NEW_CONNECTIONS), "--interval", "0ms"], {
            env: { STPP_KEEPALIVE_MAX_REQUESTS: "1" }
          })
          expect(r.code, r.stderr).toBe(0)
          expect(r.lines.map((l) => l.outcome)).toEqual(Array(NEW_CONNECTIONS).fill("ok"))
          const lines = nginxLines(w, name).slice(seen)
          expect(lines).toHaveLength(NEW_CONNECTIONS)
          // one request per connection: the log's last two fields are the protocol and "r" or "."
          const ends = lines.map((l) => l.split(" ").slice(-2))
          expect(ends.every(([p]) => p === protocol)).toBe(true)
          expect(ends[0][1]).toBe(".")
          const resumed = ends.slice(1).filter(([, reused]) => reused === "r").length
          console.log(`P3 e2e: ${protocol}: ${resumed} of ${NEW_CONNECTIONS - 1} new connections resumed`)
          expect(resumed / (NEW_CONNECTIONS - 1)).toBeGreaterThanOrEqual(0.9)
        })
      }

      it("P3/S1: a process refused by a bad certificate is refused on every new connection (no session from the good node is used)", async () => {
        // one process: a good node first (a session is kept), then DNS names the expired one
        const r = await run("webservices", ["--repeat", "3", "--interval", "1500ms"], {
          env: { STPP_KEEPALIVE_MAX_REQUESTS: "1" },
          onLine: (_line, i) => {
            if (i === 0) nsupdate(w, "webservices", [w.cases.expired], 1)
          }
        })
        nsupdate(w, "webservices", [w.cases.good], 1)
        expect(r.lines.map((l) => [l.outcome, l.address])).toEqual([
          ["ok", w.cases.good],
          ["refused", w.cases.expired],
          ["refused", w.cases.expired]
        ])
      })
    })

    describe("D: DNS load balancing", () => {
      afterAll(() => nsupdate(w, "webservices", [w.cases.good], 1))

      it("D1/D2/S2: after an nsupdate the next request follows the record's 1 s TTL to a node with a rotated certificate, in one process", async () => {
        nsupdate(w, "webservices", [w.cases.good], 1)
        const good = nginxPosts(w, "good")
        const rotated = nginxPosts(w, "rotated")
        const queries = queriesFor(w, `webservices.${w.zone}`, "A")
        const r = await run("webservices", ["--repeat", "2", "--interval", "2500ms"], {
          onLine: (_line, i) => {
            if (i === 0) nsupdate(w, "webservices", [w.cases.rotated], 1)
          }
        })
        expect(r.code, r.stderr).toBe(0)
        expect(r.lines.map((l) => [l.outcome, l.address])).toEqual([
          ["ok", w.cases.good],
          ["ok", w.cases.rotated]
        ])
        expect(nginxPosts(w, "good")).toBe(good + 1)
        expect(nginxPosts(w, "rotated")).toBe(rotated + 1)
        // resolved again once the TTL ran out: at least two A queries reached BIND
        expect(queriesFor(w, `webservices.${w.zone}`, "A") - queries).toBeGreaterThanOrEqual(2)
      })

      it("D3/U3: a dead first nameserver is hedged past: the next one is asked after the hedge delay and answers", async () => {
        const swallowed = nftCounter(w, "swallowed")
        const answered = queriesFor(w, `good.${w.zone}`, "A", w.nameservers[1])
        const r = record(
          await stpp(w, [
            "--body",
            authBody(w, `e2e-${order++}`),
            "--url",
            `https://good.${w.zone}:${w.tlsPort}/json/`,
            "--nameserver",
            `${w.swallow}:53`,
            "--nameserver",
            `${w.nameservers[1]}:53`,
            "--ca",
            w.caFile,
            "--dns-timeout",
            "400ms"
          ], { env: { STPP_DNS_DISCOVERY: "false" } })
        )
        expect(r.code, r.stderr).toBe(0)
        expect(r.lines[0]).toMatchObject({ outcome: "ok", address: w.cases.good })
        const dropped = nftCounter(w, "swallowed") - swallowed
        expect(dropped).toBeGreaterThanOrEqual(1)
        expect(dropped).toBeLessThanOrEqual(2) // one query (A, maybe AAAA), not the system resolver's retries
        expect(queriesFor(w, `good.${w.zone}`, "A", w.nameservers[1])).toBe(answered + 1)
        // A fresh resolver has seen no answer yet, so its hedge delay is the cap (200 ms), not the 400 ms time-out.
        expect(r.lines[0].elapsedMs).toBeGreaterThanOrEqual(150)
        expect(r.lines[0].elapsedMs).toBeLessThan(400 + 1500)
      })

      it("D4: the servers come from BIND's NS records: with the configured one silenced, the discovered ones answer", async () => {
        const nsQueries = queriesFor(w, w.zone, "NS")
        const others = () =>
          queriesFor(w, `good.${w.zone}`, "A", w.nameservers[1]) +
          queriesFor(w, `good.${w.zone}`, "A", w.nameservers[2])
        const before = others()
        let unsilence: (() => void) | undefined
        try {
          const r = await run("good", ["--repeat", "3", "--interval", "2500ms", "--dns-timeout", "300ms"], {
            onLine: (_line, i) => {
              if (i === 0) unsilence = silenceNameserver(w, w.nameservers[0])
            }
          })
          expect(r.code, r.stderr).toBe(0)
          expect(r.lines.map((l) => l.outcome)).toEqual(["ok", "ok", "ok"])
        } finally {
          unsilence?.()
        }
        expect(queriesFor(w, w.zone, "NS") - nsQueries).toBeGreaterThanOrEqual(1)
        expect(others() - before).toBeGreaterThanOrEqual(1)
      })
    })

    describe("R: retries and time-outs", () => {
      it("R1/R2: a black-holed address (SYNs dropped) is given up within the retry time-out: exit 3", async () => {
        const dropped = nftCounter(w, "blackholed")
        const r = await run("blackhole", ["--connect-timeout", "500ms", "--retry-timeout", "3s", "--max-retries", "20"])
        expect(r.code, r.stderr).toBe(3)
        expect(r.lines[0]).toMatchObject({ outcome: "not_sent", address: w.blackhole, response: null })
        expect(JSON.stringify(r.lines[0])).toContain("ConnectTimeout")
        expect(r.lines[0].attempts).toBeGreaterThanOrEqual(3)
        expect(r.lines[0].attempts).toBeLessThanOrEqual(6)
        expect(r.lines[0].elapsedMs).toBeLessThanOrEqual(3000 + 300)
        expect(nftCounter(w, "blackholed") - dropped).toBeGreaterThanOrEqual(r.lines[0].attempts)
      })

      it("R1: --max-retries bounds the attempts", async () => {
        const r = await run("blackhole", ["--connect-timeout", "300ms", "--retry-timeout", "20s", "--max-retries", "2"])
        expect(r.code).toBe(3)
        expect(r.lines[0].attempts).toBe(3)
        expect(r.lines[0].elapsedMs).toBeLessThan(3 * 300 + 1500)
      })

      it("S4/R3: a stalled handshake (TCP accepted, the ClientHello never answered) is retried, not refused: exit 3, HandshakeTimeout, nothing sent", async () => {
        const stalled = nftCounter(w, "stalled")
        const posts = allPosts()
        const r = await run("stall", ["--connect-timeout", "500ms", "--retry-timeout", "3s", "--max-retries", "2"])
        expect(r.code, r.stdout + r.stderr).toBe(3)
        expect(r.lines).toHaveLength(1)
        expect(r.lines[0]).toMatchObject({
          outcome: "not_sent",
          address: w.cases.stall,
          attempts: 3, // retried like a connect failure: 1 + --max-retries
          error: "HandshakeTimeout",
          response: null
        })
        // every attempt connected (TCP) and then timed out in the handshake: none was a refusal
        const failed = r.stderr.split("\n").filter((l) => l.includes("connect attempt failed"))
        expect(failed).toHaveLength(3)
        for (const l of failed) expect(l).toContain("HandshakeTimeout")
        expect(r.stderr).toMatch(/TLS handshake with stall\.\S+ \(127\.0\.20\.11:\d+\) did not finish within 500 ms/)
        expect(r.lines[0].elapsedMs).toBeGreaterThanOrEqual(3 * 500)
        expect(r.lines[0].elapsedMs).toBeLessThanOrEqual(3000 + 300)
        // each attempt's ClientHello went out on an established connection and was dropped by nft
        expect(nftCounter(w, "stalled") - stalled).toBeGreaterThanOrEqual(3)
        // nginx never saw a request: not on the stalled address, not anywhere
        expect(nginxLines(w, "stall")).toEqual([])
        expect(allPosts()).toBe(posts)
      })

      it("R3: nginx closes after reading the request (444): outcome unknown, exit 4, exactly one request in its log", async () => {
        const before = nginxPosts(w, "reset")
        const r = await run("reset", ["--max-retries", "5"])
        expect(r.code, r.stderr).toBe(4)
        expect(r.lines[0]).toMatchObject({ outcome: "outcome_unknown", address: w.cases.reset, attempts: 1 })
        expect(nginxPosts(w, "reset")).toBe(before + 1)
        expect(nginxLines(w, "reset").at(-1)).toContain("\" 444 ")
      })
    })

    describe.skipIf(!stppCommand().isCli)("D5/S3: stpp doctor (the built CLI)", () => {
      it("D5/S3: the good name: exit 0, the zone's three nameservers from its NS records, BIND's address and TTL from each, the chain nginx serves", async () => {
        const queries = w.nameservers.map((ns) => queriesFor(w, `good.${w.zone}`, "A", ns))
        const seen = nginxLines(w, "good").length
        const r = await doctor("good", ["--json"])
        expect(r.code, r.stdout + r.stderr).toBe(0)
        const report = r.report
        expect(report, r.stdout).toBeDefined()
        if (report === undefined) return
        expect(report).toMatchObject({
          host: `good.${w.zone}`,
          port: w.tlsPort,
          zone: w.zone,
          problems: [],
          verdict: "healthy"
        })
        // the servers named by the NS records (with their own names), not only the one configured
        expect(report.nameservers.map((s) => [s.nameserver, s.name, s.healthy]).sort()).toEqual(
          w.nameservers.map((ns, i) => [`${ns}:53`, `ns${i + 1}.${w.zone}`, true])
        )
        // what each answers: the zone file's record, TTL 2 s
        expect(report.answers.map((a) => [a.nameserver, a.addresses, a.ttlSeconds, a.error]).sort()).toEqual(
          w.nameservers.map((ns) => [`${ns}:53`, [w.cases.good], 2, null])
        )
        // and each of them really was asked (BIND's query log, per receiving address)
        w.nameservers.forEach((ns, i) => {
          expect(queriesFor(w, `good.${w.zone}`, "A", ns)).toBeGreaterThan(queries[i])
        })
        // the chain served by the one address: leaf, intermediate, the world's root (trusted)
        expect(report.tls).toHaveLength(1)
        const tls = report.tls[0]
        expect(tls).toMatchObject({ address: w.cases.good, ok: true, error: null })
        expect(tls.protocol).toMatch(/^TLSv1\.[23]$/)
        const leaf = leafOf("good")
        expect(tls.chain.map((c) => [c.subject, c.isCa, c.inTrustStore])).toEqual([
          [`CN=good.${w.zone}`, false, false],
          ["CN=stpp e2e intermediate", true, false],
          ["O=stpp e2e, CN=stpp e2e root", true, true]
        ])
        expect(tls.chain[0].issuer).toBe("CN=stpp e2e intermediate")
        expect(tls.chain[0].notAfter).toBe(new Date(leaf.validTo).toISOString())
        expect(tls.chain[0].daysLeft).toBeGreaterThan(30)
        // a handshake only: no request reached nginx
        expect(nginxLines(w, "good")).toHaveLength(seen)
      })

      it("D5/S1: the expired certificate: exit 1, the problem named, the refused chain as served, nothing sent", async () => {
        const seen = nginxLines(w, "expired").length
        const r = await doctor("expired", ["--json"])
        expect(r.code, r.stdout + r.stderr).toBe(1)
        const report = r.report
        expect(report, r.stdout).toBeDefined()
        if (report === undefined) return
        expect(report.verdict).toBe("problems found")
        expect(report.answers.every((a) => a.error === null && a.addresses.join() === w.cases.expired)).toBe(true)
        expect(report.tls).toHaveLength(1)
        const tls = report.tls[0]
        expect(tls).toMatchObject({ address: w.cases.expired, ok: false, protocol: null, error: "CertificateExpired" })
        const expiredOn = new Date(leafOf("expired").validTo).toISOString()
        expect(tls.message).toContain(`certificate for expired.${w.zone} expired on ${expiredOn.slice(0, 10)}`)
        expect(tls.chain[0].subject).toBe(`CN=expired.${w.zone}`)
        expect(tls.chain[0].notAfter).toBe(expiredOn)
        expect(tls.chain[0].daysLeft).toBeLessThan(0)
        expect(report.problems).toEqual([`${w.cases.expired}:${w.tlsPort}: ${tls.message}`])

        // the same in words, for an operator
        const text = await doctor("expired")
        expect(text.code).toBe(1)
        expect(text.stdout).toContain(`FAIL ${w.cases.expired}:${w.tlsPort}`)
        expect(text.stdout).toContain(`CertificateExpired: certificate for expired.${w.zone} expired on`)
        expect(text.stdout).toMatch(/expires \d{4}-\d{2}-\d{2} \(EXPIRED \d+ days ago\)/)
        expect(text.stdout).toContain("Verdict: 1 problem(s) found")
        expect(nginxLines(w, "expired")).toHaveLength(seen)
      })

      it("D5/S4: the stalled handshake: exit 1, HandshakeTimeout within the connect time-out, no chain", async () => {
        const stalled = nftCounter(w, "stalled")
        const r = await doctor("stall", ["--json", "--connect-timeout", "500ms"])
        expect(r.code, r.stdout + r.stderr).toBe(1)
        const tls = r.report?.tls ?? []
        expect(tls).toHaveLength(1)
        expect(tls[0]).toMatchObject({ address: w.cases.stall, ok: false, error: "HandshakeTimeout", chain: [] })
        expect(tls[0].message).toContain("did not finish within 500 ms")
        expect(r.report?.problems).toEqual([`${w.cases.stall}:${w.tlsPort}: ${tls[0].message}`])
        expect(nftCounter(w, "stalled")).toBeGreaterThan(stalled)
        expect(r.wallMs).toBeLessThan(500 + 5000) // one handshake time-out, plus starting node
        expect(nginxLines(w, "stall")).toEqual([])
      })

      it("D5/D3: a nameserver that does not answer: exit 1, named as the problem, the others still answer", async () => {
        const silent = w.nameservers[1]
        let unsilence: (() => void) | undefined
        let r: DoctorRun
        try {
          unsilence = silenceNameserver(w, silent)
          r = await doctor("good", ["--json", "--dns-timeout", "300ms"])
        } finally {
          unsilence?.()
        }
        expect(r.code, r.stdout + r.stderr).toBe(1)
        const answers = r.report?.answers ?? []
        expect(answers).toHaveLength(3)
        for (const a of answers) {
          if (a.nameserver === `${silent}:53`) {
            expect(a).toMatchObject({ addresses: [], ttlSeconds: null })
            expect(a.error).toContain(`${silent}:53 did not answer within 300ms`)
          } else {
            expect(a).toMatchObject({ addresses: [w.cases.good], ttlSeconds: 2, error: null })
          }
        }
        expect(r.report?.problems).toEqual([
          expect.stringContaining(`DNS server ${silent}:53 gave no answer for good.${w.zone}`)
        ])
        expect(r.report?.tls.map((t) => [t.address, t.ok])).toEqual([[w.cases.good, true]])
        // the list shows the silent one unhealthy, with why; the others healthy
        const listed = r.report?.nameservers ?? []
        expect(listed.filter((s) => !s.healthy).map((s) => s.nameserver)).toEqual([`${silent}:53`])
        expect(listed.find((s) => !s.healthy)?.lastFailure).toContain("did not answer within 300ms")
      })
    })

    describe("L: logging", () => {
      it("L1: no card data or password in any output of the runs above nor in any server's log file", () => {
        expect(outputs.length).toBeGreaterThan(10)
        for (const text of outputs) expect(leaks(text, w.password)).toEqual([])
        const files: Array<string> = []
        const walk = (dir: string) => {
          for (const e of Fs.readdirSync(dir, { withFileTypes: true })) {
            const p = Path.join(dir, e.name)
            if (e.isDirectory()) walk(p)
            else if (/\.(log|err|out)$/.test(e.name)) files.push(p)
          }
        }
        walk(w.dir)
        expect(files.some((f) => f.endsWith("query.log"))).toBe(true)
        for (const f of files) {
          expect({ file: f, leaks: leaks(Fs.readFileSync(f, "utf8")) }).toEqual({
            file: f,
            leaks: []
          })
        }
      })
    })
  }
)
