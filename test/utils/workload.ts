/**
 * Jepsen-style histories of a KonserveStore: several clients (each a store
 * of its own, usually through the fault proxy) run seeded random operations
 * on a few keys; every invocation and completion is recorded, and the
 * history is checked against a sequential model of the store
 * (`linearizability.ts`).
 *
 * Every write stores a value unique to it and names its writer in
 * `WriteOptions.meta`, so that `getMeta` (version and writer, read together)
 * lets a later `ifVersion` say which write it expects, and a value read says
 * which write it came from. Outcomes as the contract defines them:
 * - success: the observed result;
 * - `ConditionFailed` of `ifAbsent`/`ifVersion`: refused, nothing changed;
 * - `DynamoDBError` "UnknownOutcome": may or may not have happened;
 * - any other failure: certainly not applied (an operation without effect,
 *   left out of the history: if it did take effect, the history cannot be
 *   explained and the check fails).
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type { KonserveError } from "../../src/KonserveError.js"
import type { KonserveStore } from "../../src/KonserveStore.js"
import { deepEqual } from "./deepEqual.js"
import type * as Linearizability from "./linearizability.js"

type Cell = { readonly value: unknown; readonly writer: string }
/** The model's state: what each key holds and which write put it there. */
export type State = Readonly<Record<string, Cell | undefined>>

type Condition = { readonly _tag: "None" } | { readonly _tag: "Absent" } | {
  readonly _tag: "Version"
  readonly writer: string
}

/** A recorded operation, with the result it was observed to have. */
export type Input =
  | {
    readonly type: "assoc"
    readonly key: string
    readonly writer: string
    readonly condition: Condition
    readonly outcome: "ok" | "refused" | "unknown"
  }
  | {
    readonly type: "update"
    readonly key: string
    readonly writer: string
    readonly outcome: { readonly _tag: "ok"; readonly before: Option.Option<unknown> } | { readonly _tag: "unknown" }
  }
  | {
    readonly type: "dissoc"
    readonly key: string
    readonly outcome: { readonly _tag: "ok"; readonly existed: boolean } | { readonly _tag: "unknown" }
  }
  | {
    readonly type: "multiAssoc"
    readonly keys: ReadonlyArray<string>
    readonly writer: string
    readonly outcome: "ok" | "unknown"
  }
  | { readonly type: "get"; readonly key: string; readonly value: Option.Option<unknown> }
  | { readonly type: "getMeta"; readonly key: string; readonly writer: Option.Option<string> }

/** What `update` writes: a counter of the updates since the last other write, and who wrote it. */
export const increment = (current: Option.Option<unknown>, writer: string): unknown => {
  const value = Option.getOrUndefined(current) as { readonly n?: unknown } | undefined
  return { n: (typeof value?.n === "number" ? value.n : 0) + 1, by: writer }
}

const set = (state: State, key: string, cell: Cell | undefined): State => ({ ...state, [key]: cell })

/** Whether an observed Option is what the model holds (undefined: nothing). */
const sameOption = (observed: Option.Option<unknown>, held: unknown): boolean =>
  Option.isNone(observed) ? held === undefined : held !== undefined && deepEqual(observed.value, held)

const holds = (condition: Condition, cell: Cell | undefined): boolean =>
  condition._tag === "None" || (condition._tag === "Absent" ? cell === undefined : cell?.writer === condition.writer)

const step = (state: State, input: Input): State | undefined => {
  switch (input.type) {
    case "assoc": {
      const ok = holds(input.condition, state[input.key])
      const written = set(state, input.key, { value: input.writer, writer: input.writer })
      if (input.outcome === "ok") return ok ? written : undefined
      if (input.outcome === "refused") return ok ? undefined : state
      return ok ? written : state
    }
    case "update": {
      const held = state[input.key]
      if (input.outcome._tag === "ok" && !sameOption(input.outcome.before, held?.value)) return undefined
      const before = held === undefined ? Option.none() : Option.some(held.value)
      return set(state, input.key, { value: increment(before, input.writer), writer: input.writer })
    }
    case "dissoc": {
      if (input.outcome._tag === "ok" && input.outcome.existed !== (state[input.key] !== undefined)) return undefined
      return set(state, input.key, undefined)
    }
    case "multiAssoc":
      return input.keys.reduce(
        (s, key) => set(s, key, { value: `${input.writer}:${key}`, writer: input.writer }),
        state
      )
    case "get":
      return sameOption(input.value, state[input.key]?.value) ? state : undefined
    case "getMeta":
      return sameOption(input.writer, state[input.key]?.writer) ? state : undefined
  }
}

/** The store as a sequential model. */
export const model: Linearizability.Model<State, Input> = {
  init: {},
  step,
  hash: (state) =>
    JSON.stringify(
      Object.keys(state).sort().map((key) => [key, state[key]]),
      (_, value) => typeof value === "bigint" ? String(value) : value
    )
}

/** How a run of the workload went. */
export interface Run {
  readonly history: ReadonlyArray<Linearizability.Operation<Input>>
  /** Operations per outcome: "ok", "refused", "unknown", "dropped" (failed, certainly not applied). */
  readonly outcomes: Readonly<Record<string, number>>
  /** Writes whose outcome was unknown, and all writes. */
  readonly unknownWrites: number
  readonly writes: number
  /** Why each unknown outcome was unknown (the errors' messages). */
  readonly unknowns: ReadonlyArray<string>
}

export interface Workload {
  readonly keys: ReadonlyArray<string>
  readonly opsPerClient: number
  /** Weights of the operations. */
  readonly mix?: Partial<Record<Operation, number>>
}

type Operation = "assoc" | "ifAbsent" | "ifVersion" | "update" | "dissoc" | "multiAssoc" | "get" | "getMeta"

const defaultMix: Record<Operation, number> = {
  assoc: 20,
  ifAbsent: 8,
  ifVersion: 10,
  update: 20,
  dissoc: 10,
  multiAssoc: 5,
  get: 17,
  getMeta: 10
}

const isUnknown = (error: KonserveError): boolean => error._tag === "DynamoDBError" && error.code === "UnknownOutcome"

/**
 * Runs the workload: `stores[i]` is client i's store, `random` the seeded
 * generator. Clients run concurrently, each one operation at a time.
 */
export const run = (
  stores: ReadonlyArray<KonserveStore>,
  workload: Workload,
  random: () => number
): Effect.Effect<Run> =>
  Effect.suspend(() => {
    const mix = { ...defaultMix, ...workload.mix }
    const total = Object.values(mix).reduce((a, b) => a + b, 0)
    const pickOperation = (): Operation => {
      let r = random() * total
      for (const [operation, weight] of Object.entries(mix) as Array<[Operation, number]>) {
        if (r < weight) return operation
        r -= weight
      }
      return "get"
    }
    const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)]
    let clock = 0
    const history: Array<Linearizability.Operation<Input>> = []
    const outcomes: Record<string, number> = {}
    let writes = 0
    let unknownWrites = 0
    const unknowns: Array<string> = []
    const count = (outcome: string) => {
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
    }

    /** Runs one operation and records it; `toInput` turns its exit into the recorded input (undefined: left out). */
    const record = <A>(
      effect: Effect.Effect<A, KonserveError>,
      write: boolean,
      toInput: (exit: Exit.Exit<A, KonserveError>) => Input | undefined
    ) =>
      Effect.suspend(() => {
        const call = clock++
        return Effect.map(Effect.exit(effect), (exit) => {
          const ret = clock++
          const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
          if (Exit.isFailure(exit) && failure === undefined) throw new Error(`a defect: ${Cause.pretty(exit.cause)}`)
          const unknown = failure !== undefined && isUnknown(failure)
          if (unknown) unknowns.push(failure.message)
          if (write) {
            writes++
            if (unknown) unknownWrites++
          }
          const input = toInput(exit)
          count(input === undefined ? "dropped" : unknown ? "unknown" : failure !== undefined ? "refused" : "ok")
          if (input !== undefined) history.push({ input, call, ret: unknown ? undefined : ret })
          return exit
        })
      })

    const client = (store: KonserveStore, id: number) =>
      Effect.suspend(() => {
        /** The last getMeta of each key by this client: a version and the write it names. */
        const known = new Map<string, { readonly version: string; readonly writer: string }>()
        const one = (i: number): Effect.Effect<unknown> => {
          const writer = `c${id}.${i}`
          const meta = { w: writer }
          const key = pick(workload.keys)
          const operation = pickOperation()
          const failureOf = <A>(exit: Exit.Exit<A, KonserveError>) =>
            Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
          /** A write's recorded outcome: ok, refused (its own condition), unknown, or left out. */
          const writeOutcome = <A>(exit: Exit.Exit<A, KonserveError>, conditional: boolean) => {
            const failure = failureOf(exit)
            if (failure === undefined) return "ok" as const
            if (isUnknown(failure)) return "unknown" as const
            if (conditional && failure._tag === "ConditionFailed") return "refused" as const
            return undefined
          }
          switch (operation) {
            case "assoc":
            case "ifAbsent":
            case "ifVersion": {
              const expected = known.get(key)
              const condition: Condition = operation === "assoc"
                ? { _tag: "None" }
                : operation === "ifAbsent" || expected === undefined
                ? { _tag: "Absent" }
                : { _tag: "Version", writer: expected.writer }
              const options = condition._tag === "None"
                ? { meta }
                : condition._tag === "Absent"
                ? { meta, ifAbsent: true }
                : { meta, ifVersion: expected!.version }
              return record(store.assoc(key, writer, options), true, (exit) => {
                const outcome = writeOutcome(exit, condition._tag !== "None")
                return outcome === undefined ? undefined : { type: "assoc", key, writer, condition, outcome }
              })
            }
            case "update":
              return record(store.update(key, (current) => increment(current, writer), { meta }), true, (exit) => {
                if (Exit.isSuccess(exit)) {
                  return { type: "update", key, writer, outcome: { _tag: "ok", before: exit.value.before } }
                }
                return writeOutcome(exit, false) === "unknown"
                  ? { type: "update", key, writer, outcome: { _tag: "unknown" } }
                  : undefined
              })
            case "dissoc":
              return record(store.dissoc(key), true, (exit) => {
                if (Exit.isSuccess(exit)) return { type: "dissoc", key, outcome: { _tag: "ok", existed: exit.value } }
                return writeOutcome(exit, false) === "unknown"
                  ? { type: "dissoc", key, outcome: { _tag: "unknown" } }
                  : undefined
              })
            case "multiAssoc": {
              const keys = Array.from(new Set([key, pick(workload.keys)]))
              return record(
                store.multiAssoc(keys.map((k) => [k, `${writer}:${k}`] as const), { meta }),
                true,
                (exit) => {
                  const outcome = writeOutcome(exit, false)
                  return outcome === undefined || outcome === "refused"
                    ? undefined
                    : { type: "multiAssoc", keys, writer, outcome }
                }
              )
            }
            case "get":
              return record(
                store.get(key),
                false,
                (exit) => Exit.isSuccess(exit) ? { type: "get", key, value: exit.value } : undefined
              )
            case "getMeta":
              return record(store.getMeta(key), false, (exit) => {
                if (Exit.isFailure(exit)) return undefined
                const meta = Option.getOrUndefined(exit.value)
                const writer = meta?.user?.w
                if (meta !== undefined && typeof writer === "string") known.set(key, { version: meta.version, writer })
                if (meta === undefined) known.delete(key)
                return {
                  type: "getMeta",
                  key,
                  writer: Option.fromNullable(meta === undefined ? undefined : String(writer))
                }
              })
          }
        }
        return Effect.forEach(Array.from({ length: workload.opsPerClient }, (_, i) => i), one, { discard: true })
      })

    return Effect.map(
      Effect.forEach(stores, (store, id) => client(store, id), { concurrency: "unbounded", discard: true }),
      (): Run => ({ history, outcomes, unknownWrites, writes, unknowns })
    )
  })

/** A history in a few readable lines, for a failure's message. */
export const show = (history: ReadonlyArray<Linearizability.Operation<Input>>): string =>
  history
    .slice()
    .sort((a, b) => a.call - b.call)
    .map((op) =>
      `${String(op.call).padStart(4)}–${op.ret === undefined ? "  ? " : String(op.ret).padEnd(4)} ${
        JSON.stringify(op.input, (_, v) => Option.isOption(v) ? (Option.isSome(v) ? { some: v.value } : "none") : v)
      }`
    )
    .join("\n")
