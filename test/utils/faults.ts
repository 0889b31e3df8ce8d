/**
 * SDK middleware for tests on the real engine: count the commands a client
 * sends, record their inputs, and inject faults — a lost response (the
 * request reaches DynamoDB and is applied, then a network-like error
 * replaces the answer) or a refusal before sending (throttling).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb"

/** What a fault rule decides for one send of a command. */
export type Fault =
  | { readonly _tag: "None" }
  /** Send the request, let DynamoDB apply it, then fail with this error instead of the answer. */
  | {
    readonly _tag: "LoseResponse"
    readonly error: () => Error
    /** Runs after DynamoDB applied the request, before the error replaces its answer. */
    readonly afterApplied?: () => Promise<unknown>
  }
  /** Fail with this error without sending anything. */
  | { readonly _tag: "Refuse"; readonly error: () => Error }

/** A rule: the fault for the `n`-th (0-based) send of `command` since the rule was set. */
export type Rule = (command: string, n: number, input: Record<string, unknown>) => Fault

export interface Recorder {
  /** Sends per command name since the last `reset`. */
  readonly counts: Map<string, number>
  /** Inputs per command name since the last `reset`. */
  readonly inputs: Map<string, Array<Record<string, unknown>>>
  readonly count: (command: string) => number
  readonly total: () => number
  readonly reset: () => void
  /** Replaces the fault rule (and restarts its counts). */
  readonly setRule: (rule: Rule | undefined) => void
}

/** A socket reset, as Node reports it. */
export const connectionReset = (): Error =>
  Object.assign(new Error("read ECONNRESET (injected: response lost)"), { code: "ECONNRESET" })

/** DynamoDB's throttling exception, as the SDK deserializes it. */
export const throughputExceeded = (): Error =>
  new ProvisionedThroughputExceededException({
    message: "injected: the level of configured provisioned throughput for the table was exceeded",
    $metadata: { httpStatusCode: 400 }
  })

/** Loses the response of the first `times` sends of `command`. */
export const loseResponse = (command: string, times = 1): Rule => (name, n) =>
  name === command && n < times ? { _tag: "LoseResponse", error: connectionReset } : { _tag: "None" }

/** Refuses every send of `command` (all commands when undefined) with `error`. */
export const refuseAlways = (error: () => Error, command?: string): Rule => (name) =>
  command === undefined || name === command ? { _tag: "Refuse", error } : { _tag: "None" }

/**
 * Installs the recorder on a client: it counts every command, records its
 * input, and applies the current fault rule. Outermost (`initialize` step),
 * so a lost response happens after the whole SDK pipeline, as a dropped
 * connection would.
 */
export const install = (client: DynamoDBClient): Recorder => {
  const counts = new Map<string, number>()
  const inputs = new Map<string, Array<Record<string, unknown>>>()
  let rule: Rule | undefined
  const ruleCounts = new Map<string, number>()
  client.middlewareStack.add((next, context) => async (args) => {
    const command = (context.commandName ?? "unknown").replace(/Command$/, "")
    const input = args.input as Record<string, unknown>
    counts.set(command, (counts.get(command) ?? 0) + 1)
    inputs.set(command, [...(inputs.get(command) ?? []), input])
    const n = ruleCounts.get(command) ?? 0
    ruleCounts.set(command, n + 1)
    const fault = rule === undefined ? { _tag: "None" as const } : rule(command, n, input)
    if (fault._tag === "Refuse") throw fault.error()
    const result = await next(args)
    if (fault._tag === "LoseResponse") {
      await fault.afterApplied?.()
      throw fault.error()
    }
    return result
  }, { step: "initialize", name: "konserveTestRecorder", priority: "high" })
  return {
    counts,
    inputs,
    count: (command) => counts.get(command) ?? 0,
    total: () => Array.from(counts.values()).reduce((a, b) => a + b, 0),
    reset: () => {
      counts.clear()
      inputs.clear()
    },
    setRule: (next) => {
      rule = next
      ruleCounts.clear()
    }
  }
}
