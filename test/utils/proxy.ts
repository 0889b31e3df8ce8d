/**
 * A fault-injecting HTTP proxy in front of DynamoDB Local, on loopback: what
 * happens between the SDK's retry loop and the engine, on the wire.
 *
 * For each request (its command read from `X-Amz-Target`) a fault is drawn —
 * from a seeded random plan, or from a scripted rule — and acted out:
 *
 * - `Pass`: forwarded, the answer relayed.
 * - `Lose`: forwarded and applied by the engine, then the client's
 *   connection is destroyed instead of answering (a lost response). An
 *   optional `afterApplied` runs between the two, to interleave another
 *   writer exactly there.
 * - `Reset`: the connection destroyed before forwarding (not applied; the
 *   client cannot tell it from `Lose`); `before` runs first.
 * - `Throttle`: answered `ProvisionedThroughputExceededException` (400), not forwarded.
 * - `Error500`: answered `InternalServerError` (500), not forwarded.
 * - `Applied500`: forwarded and applied, then answered 500.
 * - `Delay`: forwarded after a pause (the answer too may then come late).
 * - `Answer`: not forwarded; answered with the given status and JSON body
 *   (canned answers, e.g. of the DynamoDB Streams API,
 *   `DynamoDBStreams_20120810.*`, whose command the rule sees as for DynamoDB).
 * - `Hold`: forwarded once `until` resolves — also when the client gave up
 *   meanwhile (a request that reaches the engine after its client timed
 *   out), or to let another writer act before the engine sees it.
 * - `Answer`: answered 200 with `body` (JSON), not forwarded: say, a
 *   `BatchGetItem` that finds nothing, as a lagging replica would.
 *
 * Plain Node, no dependency; `make` is scoped: the server closes with the scope.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/** What the proxy does with one request. */
export type Fault =
  | { readonly _tag: "Pass" }
  | { readonly _tag: "Lose"; readonly afterApplied?: () => Promise<unknown> }
  | { readonly _tag: "Reset"; readonly before?: () => Promise<unknown> }
  | { readonly _tag: "Throttle" }
  | { readonly _tag: "Error500" }
  | { readonly _tag: "Applied500" }
  | { readonly _tag: "Delay"; readonly millis: number }
  | { readonly _tag: "Hold"; readonly until: () => Promise<unknown> }
  | { readonly _tag: "Answer"; readonly status?: number; readonly body: unknown }

/** One request as a rule sees it. */
export interface Request {
  readonly command: string
  /** The how-manieth request of this command since the rule was set (0-based). */
  readonly n: number
  readonly body: Record<string, unknown>
}

/** Decides the fault of each request. */
export type Rule = (request: Request) => Fault

/**
 * A random plan: each request of the listed commands (all when `commands` is
 * undefined) gets each fault with its probability, drawn from the seeded
 * generator.
 */
export interface Plan {
  readonly commands?: ReadonlyArray<string> | undefined
  readonly lose?: number | undefined
  readonly reset?: number | undefined
  readonly throttle?: number | undefined
  readonly error500?: number | undefined
  readonly applied500?: number | undefined
  readonly delay?: { readonly probability: number; readonly maxMillis: number } | undefined
}

export interface Proxy {
  readonly endpoint: string
  /** Replaces the rule (and restarts its per-command counts); undefined: every request passes. */
  readonly setRule: (rule: Rule | undefined) => void
  /** Faults acted out so far, per kind. */
  readonly stats: () => Readonly<Record<Fault["_tag"], number>>
  /** Requests whose client closed the connection before it was answered (cancelled, or timed out). */
  readonly abandoned: () => number
}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export const random = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A rule drawing faults at random from a plan. */
export const planned = (plan: Plan, next: () => number): Rule => (request) => {
  if (plan.commands !== undefined && !plan.commands.includes(request.command)) return { _tag: "Pass" }
  let r = next()
  const draw = (probability: number | undefined): boolean => {
    if (probability === undefined) return false
    if (r < probability) return true
    r -= probability
    return false
  }
  if (draw(plan.lose)) return { _tag: "Lose" }
  if (draw(plan.reset)) return { _tag: "Reset" }
  if (draw(plan.throttle)) return { _tag: "Throttle" }
  if (draw(plan.error500)) return { _tag: "Error500" }
  if (draw(plan.applied500)) return { _tag: "Applied500" }
  if (plan.delay !== undefined && draw(plan.delay.probability)) {
    return { _tag: "Delay", millis: Math.floor(next() * plan.delay.maxMillis) }
  }
  return { _tag: "Pass" }
}

/** Loses the answer of the first `times` requests of `command`. */
export const loseFirst = (command: string, times = 1, afterApplied?: () => Promise<unknown>): Rule => (request) =>
  request.command === command && request.n < times
    ? afterApplied === undefined ? { _tag: "Lose" } : { _tag: "Lose", afterApplied }
    : { _tag: "Pass" }

const errorBody = (type: string, message: string) =>
  JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message })

const collect = (stream: NodeJS.ReadableStream): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    stream.on("data", (part: Buffer) => parts.push(part))
    stream.on("end", () => resolve(Buffer.concat(parts)))
    stream.on("error", reject)
  })

/** A fault-injecting proxy to `upstream` (`http://127.0.0.1:<port>`), on a free loopback port. */
export const make = (upstream: string): Effect.Effect<Proxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => start(upstream)),
    ({ close }) => Effect.promise(close)
  ).pipe(Effect.map(({ proxy }) => proxy))

const start = async (upstream: string) => {
  const target = new URL(upstream)
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 64 })
  let rule: Rule | undefined
  let counts = new Map<string, number>()
  const stats: Record<Fault["_tag"], number> = {
    Pass: 0,
    Lose: 0,
    Reset: 0,
    Throttle: 0,
    Error500: 0,
    Applied500: 0,
    Delay: 0,
    Hold: 0,
    Answer: 0
  }

  const forward = (request: Http.IncomingMessage, body: Buffer) =>
    new Promise<{ readonly status: number; readonly headers: Http.IncomingHttpHeaders; readonly body: Buffer }>(
      (resolve, reject) => {
        const out = Http.request({
          host: target.hostname,
          port: target.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
          agent
        }, (response) => {
          collect(response).then(
            (answer) => resolve({ status: response.statusCode ?? 500, headers: response.headers, body: answer }),
            reject
          )
        })
        out.on("error", reject)
        out.end(body)
      }
    )

  const answer = (response: Http.ServerResponse, status: number, type: string) => {
    const body = errorBody(type, `injected by the test proxy (${status})`)
    response.writeHead(status, {
      "content-type": "application/x-amz-json-1.0",
      "x-amzn-requestid": `proxy-${Date.now()}`,
      "content-length": Buffer.byteLength(body)
    })
    response.end(body)
  }

  let abandoned = 0
  const handle = async (request: Http.IncomingMessage, response: Http.ServerResponse) => {
    response.on("close", () => {
      if (!response.writableFinished) abandoned++
    })
    const body = await collect(request)
    const command = String(request.headers["x-amz-target"] ?? "").split(".")[1] ?? "unknown"
    const n = counts.get(command) ?? 0
    counts.set(command, n + 1)
    let parsed: Record<string, unknown> = {}
    try {
      parsed = JSON.parse(body.toString("utf8"))
    } catch {
      // not JSON: rules see an empty body
    }
    const fault = rule === undefined ? { _tag: "Pass" as const } : rule({ command, n, body: parsed })
    stats[fault._tag]++
    switch (fault._tag) {
      case "Reset":
        await fault.before?.()
        request.socket.destroy()
        return
      case "Throttle":
        return answer(response, 400, "ProvisionedThroughputExceededException")
      case "Error500":
        return answer(response, 500, "InternalServerError")
      case "Delay":
        await new Promise((resolve) => setTimeout(resolve, fault.millis))
        break
      case "Hold":
        await fault.until()
        break
      case "Answer": {
        const text = JSON.stringify(fault.body)
        response.writeHead(fault.status ?? 200, {
          "content-type": "application/x-amz-json-1.0",
          "x-amzn-requestid": `proxy-${Date.now()}`,
          "content-length": Buffer.byteLength(text)
        })
        return response.end(text)
      }
    }
    const result = await forward(request, body)
    if (fault._tag === "Lose") {
      await fault.afterApplied?.()
      request.socket.destroy()
      return
    }
    if (fault._tag === "Applied500") return answer(response, 500, "InternalServerError")
    response.writeHead(result.status, result.headers)
    response.end(result.body)
  }

  const server = Http.createServer((request, response) => {
    handle(request, response).catch(() => request.socket.destroy())
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  const proxy: Proxy = {
    endpoint: `http://127.0.0.1:${port}`,
    setRule: (next) => {
      rule = next
      counts = new Map()
    },
    stats: () => ({ ...stats }),
    abandoned: () => abandoned
  }
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
      agent.destroy()
    })
  return { proxy, close }
}
