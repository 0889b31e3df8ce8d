/**
 * The store's public operations wrapped: one span per call (without a
 * captured stack trace) and metered (latency and outcome).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Metrics from "./metrics.js"
import * as Tracing from "./tracing.js"

/** `bassoc`'s metering (generic in its input's error and context, so not an `operation`). @internal */
export const meteredBassoc = Metrics.operationMetered("KonserveStore.bassoc")

/** `transact`'s metering (generic in `f`'s error and context, so not an `operation`). @internal */
export const meteredTransact = Metrics.operationMetered("KonserveStore.transact")

/** Span options of the public operations: a span per call, without the cost of capturing its stack trace. @internal */
export const noStackTrace = { captureStackTrace: false } as const

/**
 * A public operation: its body in one span per call, metered (latency and
 * outcome: `internal/metrics.ts`). Like `Effect.fn`, but without the `Error`
 * that `Effect.fn` creates on every call to point a failure's trace at its
 * caller: on the hot path that stack capture is a measurable share of an
 * operation's CPU (docs/benchmarks.md). The span carries the key's hash (or
 * the key, with `TraceKeys`) when an application tracer reads it.
 *
 * @internal
 */
export const operation = (name: string, subject: Tracing.Subject = "key"): typeof Effect.fnUntraced =>
  ((body: Parameters<typeof Effect.fnUntraced>[0]) => {
    const run = Effect.fnUntraced(body) as unknown as (
      ...args: ReadonlyArray<unknown>
    ) => Effect.Effect<unknown, unknown, unknown>
    const metered = Metrics.operationMetered(name)
    return (...args: ReadonlyArray<unknown>) =>
      metered(Effect.tracerWith((tracer) =>
        tracer === Tracing.nativeTracer
          ? Effect.withSpan(run(...args), name, noStackTrace)
          : Effect.flatMap(Tracing.TraceKeys, (traceKeys) =>
            Effect.withSpan(run(...args), name, {
              captureStackTrace: false,
              attributes: Tracing.operationAttributes(subject, args[0], traceKeys)
            }))
      ))
  }) as unknown as typeof Effect.fnUntraced
