/**
 * Issue 17 (L1, S3): hostile TLS servers on loopback against the built `stpp` command. A server
 * whose certificate's subject and SAN hold a card number and a password (`stpp doctor`), and a
 * fake gateway that echoes what it got (card data, the password, the Authorization value) back in
 * `errordata`, in an `errormessage` and in a 5xx body (`stpp request`): nothing printed holds them,
 * and what happened is still said.
 */
import { describe, expect, it } from "@effect/vitest"
import * as DnsServer from "@stpp/simulator/DnsServer"
import * as TestCa from "@stpp/simulator/TestCa"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const BIN = fileURLToPath(new URL("../bin/stpp.js", import.meta.url))
const VISA = "4111111111111111"
const PASSWORD = "S3cret-Pa55_word"
const EXPIRY = "12/2030"
const CVV = "739"
const USERNAME = "webservices@example.test"
const TOKEN = Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64")

const baseEnv = (): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("STPP_")) out[k] = v
  return out
}

/** Runs the built command without blocking this process's event loop (the servers live here). */
const stpp = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = ChildProcess.execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...baseEnv(), ...env }, timeout: 30_000, encoding: "utf8" },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : (error.code as number | null), stdout, stderr }))
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** No secret in the text: the PAN (also with separators), the password, the token, the expiry, the CVV. */
const expectClean = (text: string) => {
  const t = text.replace(/"elapsedMs":\d+/g, "")
  expect(t.includes(VISA), "the PAN").toBe(false)
  expect(t.replace(/\D/g, "").includes(VISA), "the PAN, digits joined").toBe(false)
  expect(t.includes(PASSWORD), "the password").toBe(false)
  expect(t.includes(TOKEN), "the Basic-auth token").toBe(false)
  expect(t.includes(EXPIRY), "the expiry").toBe(false)
  expect(/(?<!\d)739(?!\d)/.test(t), "the CVV").toBe(false)
}

const listen = (server: Https.Server, address: string) =>
  Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, address, () => resume(Effect.succeed((server.address() as Net.AddressInfo).port)))
    }),
    () =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "stpp-hostile-tls-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const dnsFor = (host: string, address: string) => {
  const zone = host.split(".").slice(1).join(".")
  return DnsServer.make({
    records: [
      { name: host, type: "A", value: address, ttl: 1 },
      { name: zone, type: "NS", value: `ns1.${zone}`, ttl: 5 },
      { name: `ns1.${zone}`, type: "A", value: "127.0.0.1", ttl: 5 }
    ]
  })
}

describe("stpp doctor: a certificate whose subject holds a card number and a password (issue 17 item 4)", () => {
  it.scopedLive("text and --json: no secret printed, the rest of the report still there", () =>
    Effect.gen(function*() {
      const host = "gw.hostile-cert.test"
      const address = "127.0.0.93"
      const dir = yield* tempDir
      const key = Path.join(dir, "key.pem")
      const cert = Path.join(dir, "cert.pem")
      ChildProcess.execFileSync("openssl", [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "30",
        "-keyout",
        key,
        "-out",
        cert,
        "-subj",
        `/CN=${VISA}/O=password=${PASSWORD}/OU=card 4111 1111 1111 1111 pw ${PASSWORD}`,
        "-addext",
        `subjectAltName=DNS:${host},DNS:${VISA}.${host},email:${PASSWORD}@x.test`
      ], { stdio: "ignore" })
      const server = Https.createServer({ key: Fs.readFileSync(key), cert: Fs.readFileSync(cert) }, (_, res) => {
        res.end("{}")
      })
      const port = yield* listen(server, address)
      const dns = yield* dnsFor(host, address)
      const args = ["doctor", "--host", host, "--port", String(port), "--nameserver", dns.nameserver]
      // as an operator runs it: with the credentials in the environment (so the password is known)
      const creds = { STPP_USERNAME: USERNAME, STPP_PASSWORD: PASSWORD }
      const env = { ...creds, STPP_TRUST_STORE: "only", STPP_CA_FILE: Path.join(dir, "cert.pem") }

      // trusted (its own CA file) and untrusted (the chain "as served"): both print the subject
      for (const e of [env, creds]) {
        const text = yield* stpp(args, e)
        expectClean(text.stdout + text.stderr)
        expect(text.stdout).toContain(address)
        expect(text.stdout).toContain(dns.nameserver)
        expect(text.stdout).toMatch(/days left/)
        expect(text.stdout).toMatch(/Verdict: /)
        const json = yield* stpp([...args, "--json"], e)
        expectClean(json.stdout + json.stderr)
        const report = JSON.parse(json.stdout) as {
          verdict: string
          tls: Array<{ address: string; chain: Array<{ subject: string; daysLeft: number }> }>
        }
        expect(report.tls.map((t) => t.address)).toEqual([address])
        expect(report.tls[0].chain.length).toBeGreaterThan(0)
        expect(report.tls[0].chain[0].daysLeft).toBeGreaterThan(25)
        expect(typeof report.verdict).toBe("string")
      }
    }), { timeout: 120_000 })
})

describe("stpp request: a fake gateway echoing the request back (issue 17 item 2, 5)", () => {
  it.scopedLive(
    "errordata, errormessage and a 5xx body: nothing secret printed, what happened still said",
    () =>
      Effect.gen(function*() {
        const host = "gw.echo.test"
        const address = "127.0.0.94"
        const dir = yield* tempDir
        const ca = yield* TestCa.make({ now: new Date() })
        const leaf = yield* ca.issue({ hostnames: [host] })
        Fs.writeFileSync(Path.join(dir, "ca.pem"), ca.root.cert)
        const received: Array<Record<string, unknown>> = []
        const server = Https.createServer({ key: leaf.key, cert: leaf.chain }, (req, res) => {
          let body = ""
          req.setEncoding("utf8").on("data", (d: string) => (body += d))
          req.on("end", () => {
            const json = JSON.parse(body) as { request: Array<Record<string, unknown>> }
            const item = json.request[0]
            received.push(item)
            const echo = [item.pan, item.expirydate, item.securitycode, PASSWORD, req.headers.authorization]
              .map(String)
            const reference = String(item.requestreference)
            const answer = (fields: Record<string, unknown>) =>
              res.setHeader("content-type", "application/json").end(JSON.stringify({
                requestreference: reference,
                version: "1.00",
                response: [{ requesttypedescription: "AUTH", requestreference: reference, ...fields }]
              }))
            switch (item.orderreference) {
              case "errordata":
                return answer({ errorcode: "30000", errormessage: "Invalid field", errordata: echo })
              case "errormessage":
                return answer({
                  errorcode: "50000",
                  errormessage: `Bad request: pan ${echo[0]} expiry ${echo[1]} cvv ${echo[2]} password ${echo[3]} ${
                    echo[4]
                  }`
                })
              default:
                res.statusCode = 500
                return res.end(`Internal error while handling ${body} with Authorization: ${echo[4]}`)
            }
          })
        })
        const port = yield* listen(server, address)
        const dns = yield* dnsFor(host, address)
        const env = {
          STPP_URL: `https://${host}:${port}/json/`,
          STPP_NAMESERVERS: dns.nameserver,
          STPP_CA_FILE: Path.join(dir, "ca.pem"),
          STPP_TRUST_STORE: "only",
          STPP_USERNAME: USERNAME,
          STPP_PASSWORD: PASSWORD,
          STPP_SITE_REFERENCE: "test_site12345",
          STPP_MAX_RETRIES: "0"
        }
        const body = (orderreference: string) => {
          const file = Path.join(dir, `${orderreference}.json`)
          Fs.writeFileSync(
            file,
            JSON.stringify({
              requesttypedescriptions: ["AUTH"],
              baseamount: "1050",
              currencyiso3a: "GBP",
              accounttypedescription: "ECOM",
              orderreference,
              pan: VISA,
              expirydate: EXPIRY,
              securitycode: CVV,
              extraFields: { customfield9: "sent-through-extraFields" }
            })
          )
          return file
        }

        const errordata = yield* stpp(["request", "--body", body("errordata"), "--log-level", "debug"], env)
        expectClean(errordata.stdout + errordata.stderr)
        expect(errordata.stdout).toContain(`"errorcode":"30000"`)
        // the request really went out with the card data, and extraFields beside the other fields
        expect(received[0].pan).toBe(VISA)
        expect(received[0].customfield9).toBe("sent-through-extraFields")
        expect(received[0].extraFields).toBeUndefined()

        const message = yield* stpp(["request", "--body", body("errormessage"), "--log-level", "debug"], env)
        expectClean(message.stdout + message.stderr)
        expect(message.stdout).toContain(`"errorcode":"50000"`)
        expect(message.stdout).toContain("Bad request")

        const status = yield* stpp(["request", "--body", body("status"), "--log-level", "debug"], env)
        expectClean(status.stdout + status.stderr)
        expect(status.code).not.toBe(0)
        expect(status.stdout + status.stderr).toMatch(/500/)
        expect(received.length).toBe(3)
      }),
    { timeout: 120_000 }
  )
})
