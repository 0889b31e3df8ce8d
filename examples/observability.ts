/**
 * The store's spans and metrics through OpenTelemetry (`@effect/opentelemetry`),
 * on an embedded DynamoDB Local: `npm run example:observability`. The
 * exporters here are in memory so that the example can print what they
 * received; docs/observability.md shows the same set-up with OTLP exporters.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Effect, Layer, Option } from "effect"
import { KonserveStore } from "../src/index.js"
import { storeLayer } from "./storeLayer.js"

const spans = new InMemorySpanExporter()
const metrics = new InMemoryMetricExporter(0 /* AggregationTemporality.CUMULATIVE */)
const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 60_000 })

const TelemetryLive = NodeSdk.layer(() => ({
  resource: { serviceName: "konserve-example" },
  spanProcessor: new SimpleSpanProcessor(spans),
  metricReader: reader
}))

const work = Effect.gen(function*() {
  yield* KonserveStore.assoc("user:42", { name: "Ada", visits: 0 })
  yield* KonserveStore.update("user:42", (user) => {
    const current = Option.getOrThrow(user) as { name: string; visits: number }
    return { ...current, visits: current.visits + 1 }
  })
  yield* KonserveStore.get("user:42")
  yield* KonserveStore.multiGet(["user:42", "user:43"])
  yield* Effect.flip(KonserveStore.assoc("user:42", {}, { ifAbsent: true })) // ConditionFailed, counted as such
}).pipe(Effect.withSpan("handle-request"))

const report = Effect.gen(function*() {
  yield* Console.log("spans (name, parent, attributes):")
  const finished = spans.getFinishedSpans()
  const names = new Map(finished.map((span) => [span.spanContext().spanId, span.name]))
  for (const span of finished) {
    const parent = span.parentSpanContext === undefined ? "-" : names.get(span.parentSpanContext.spanId) ?? "?"
    const attributes = Object.entries(span.attributes)
      .filter(([key]) => key.startsWith("konserve.") || key.startsWith("db."))
      .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
      .join(" ")
    yield* Console.log(`  ${span.name.padEnd(24)} < ${parent.padEnd(24)} ${attributes}`)
  }
  yield* Effect.promise(() => reader.forceFlush())
  yield* Console.log("\nmetrics (konserve_*):")
  for (const exported of metrics.getMetrics().slice(-1)) {
    for (const scope of exported.scopeMetrics) {
      for (const metric of scope.metrics) {
        if (!metric.descriptor.name.startsWith("konserve_")) continue
        for (const point of metric.dataPoints) {
          const value = typeof point.value === "number" ? point.value : `count ${point.value.count}`
          const labels = Object.entries(point.attributes).map(([key, v]) => `${key}=${String(v)}`).join(",")
          yield* Console.log(`  ${metric.descriptor.name}{${labels}} ${value}`)
        }
      }
    }
  }
})

Effect.runPromise(Effect.zipRight(work, report).pipe(Effect.provide(Layer.merge(storeLayer, TelemetryLive)))).catch(
  (error) => {
    console.error(error)
    process.exitCode = 1
  }
)
