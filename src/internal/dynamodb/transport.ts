/**
 * How one of the store's requests reaches the SDK's HTTP handler with what
 * rides along with it: the fiber's abort signal (interrupting a fiber
 * cancels its HTTP request) and the store's clock anchor (told DynamoDB's
 * time by every answer's `Date`).
 *
 * Two ways, by whose client it is:
 * - `own`: the store's own `DynamoDBClient`, built here. Its middleware stack
 *   is resolved once per command class (`cacheMiddleware: true`: the SDK
 *   otherwise rebuilds the whole stack on every `send`, 100+ µs of CPU per
 *   request). A send then takes no options, so the signal and the anchor
 *   ride on the command's input under a symbol key (serializers read only
 *   the fields they know), one middleware of the client's own stack moves
 *   the signal onto the HTTP request and reads the answer's `Date`, and the
 *   client's handler, a `NodeHttpHandler`, hands the signal on.
 * - `borrowed`: a caller's client (`layerWithClient`), whose stack and
 *   handler are not the store's to change: the signal goes in the `send`
 *   options, the `Date` is read by a middleware on the command's own stack
 *   (`light`: a plain `{ aborted, onabort }` object, which the Node.js
 *   handler accepts; `full`: a real `AbortController`, for any other
 *   handler, fetch's say).
 *
 * @internal
 */
import type { DynamoDBClientConfig } from "@aws-sdk/client-dynamodb"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { NodeHttpHandler, type NodeHttpHandlerOptions } from "@smithy/node-http-handler"
import type * as Version from "../version.js"

/**
 * The kind of client a store sends on: its own (`own`) or a borrowed one on
 * the Node.js HTTP handler (`light`) or on another handler (`full`).
 *
 * @internal
 */
export type Transport = "own" | "light" | "full"

/** What rides along with one request on the store's own client. @internal */
export interface Passenger {
  readonly signal: AbortSignalLike
  readonly anchor: Version.Anchor | undefined
}

/** The abort signal the Node.js HTTP handler reads: `aborted` and `onabort` (an `AbortSignal` is one). @internal */
export interface AbortSignalLike {
  aborted: boolean
  onabort: ((this: AbortSignal, ev: Event) => unknown) | (() => void) | null
}

/** The input's key for its `Passenger`: a symbol, which no serializer reads. */
const passengerKey: unique symbol = Symbol.for("konserve-dynamodb/passenger")

/** The HTTP request's key for the abort signal, set by the middleware for the handler. */
const signalKey: unique symbol = Symbol.for("konserve-dynamodb/signal")

/** A command input carrying its passenger. @internal */
export const withPassenger = <I extends object>(input: I, passenger: Passenger): I =>
  ({ ...input, [passengerKey]: passenger }) as I

/** The last `Date` header parsed: it changes once a second, answers come by the thousand. */
let lastDate: { readonly header: string; readonly millis: number | undefined } = { header: "", millis: undefined }

/** The `Date` header of a raw HTTP answer, epoch milliseconds. */
const dateOf = (response: unknown): number | undefined => {
  const headers = (response as { readonly headers?: Record<string, string | undefined> } | undefined)?.headers
  const header = headers?.date ?? headers?.Date
  if (header === undefined) return undefined
  if (header !== lastDate.header) {
    const millis = Date.parse(header)
    lastDate = { header, millis: Number.isNaN(millis) ? undefined : millis }
  }
  return lastDate.millis
}

type Next = (args: MiddlewareArgs) => Promise<{ readonly response: unknown }>

interface MiddlewareArgs {
  readonly input: Record<symbol, unknown>
  readonly request?: unknown
}

interface Stack {
  readonly middlewareStack: {
    readonly add: (
      middleware: (next: Next) => Next,
      options: { readonly step: "deserialize"; readonly priority: "low"; readonly name: string }
    ) => void
  }
}

/** Sends `args` on, telling `anchor` the time of its answer. */
const timed = async (next: Next, args: MiddlewareArgs, anchor: Version.Anchor | undefined) => {
  if (anchor === undefined) return next(args)
  const sent = anchor.local()
  const out = await next(args)
  const date = dateOf(out.response)
  if (date !== undefined) anchor.observe(date, sent, anchor.local())
  return out
}

/** Innermost (deserialize step, low priority): once per HTTP attempt, the SDK's resends included. */
const innermost = { step: "deserialize", priority: "low" } as const

/** The Node.js HTTP handler of the store's own clients, handing each request's signal on. */
class SignalledHandler extends NodeHttpHandler {
  override handle(
    request: Parameters<NodeHttpHandler["handle"]>[0],
    options?: Parameters<NodeHttpHandler["handle"]>[1]
  ) {
    const signal = (request as unknown as Record<symbol, AbortSignalLike | undefined>)[signalKey]
    return super.handle(request, signal === undefined ? options : { ...options, abortSignal: signal as AbortSignal })
  }
}

/**
 * The store's own client: one attempt a send (the store retries on its
 * schedule), its middleware resolved once per command, the signal and the
 * anchor of each request taken from its input (`withPassenger`).
 *
 * @internal
 */
export const ownClient = (
  config: Omit<DynamoDBClientConfig, "requestHandler"> & { readonly requestHandler: NodeHttpHandlerOptions }
): DynamoDBClient => {
  const sdk = new DynamoDBClient({
    ...config,
    maxAttempts: 1,
    cacheMiddleware: true,
    requestHandler: new SignalledHandler(config.requestHandler)
  })
  ;(sdk as unknown as Stack).middlewareStack.add(
    (next) => (args) => {
      const passenger = args.input[passengerKey] as Passenger | undefined
      if (passenger === undefined) return next(args)
      ;(args.request as Record<symbol, unknown>)[signalKey] = passenger.signal
      return timed(next, args, passenger.anchor)
    },
    { ...innermost, name: "konservePassenger" }
  )
  return sdk
}

/**
 * Lets `anchor` see the `Date` of every answer to this command of a borrowed
 * client: on the command's own middleware stack, never the client's.
 *
 * @internal
 */
export const observeDates = (command: unknown, anchor: Version.Anchor): void =>
  (command as Stack).middlewareStack.add((next) => (args) => timed(next, args, anchor), {
    ...innermost,
    name: "konserveClockAnchor"
  })

/** The transport of a borrowed client: light on the SDK's Node.js HTTP handler (the default). @internal */
export const borrowedTransport = (sdk: DynamoDBClient): Transport => {
  const handler: unknown = (sdk.config as { readonly requestHandler?: unknown }).requestHandler
  return typeof handler === "object" && handler !== null && handler.constructor?.name === "NodeHttpHandler"
    ? "light"
    : "full"
}
