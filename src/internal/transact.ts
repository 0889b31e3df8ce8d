/**
 * `transact(keys, f)`, written once for every backend: validate and dedupe
 * the keys (at most `MAX_ATOMIC_KEYS`, before anything is read), read them
 * (`Backend.transact`: strongly, with nothing held), refuse binaries and
 * logs, run `f` on the values, check its plan (only keys read, none both
 * written and removed, storable values, the transaction's size), commit on
 * the versions read, and run it all again on a concurrent change, at most
 * `retries` times, then `ConditionFailed` with operation "transact".
 *
 * Optimistic: `f` runs while other transactions run theirs; the commit's
 * conditions decide. So `f` may run more than once, and a failure of `f`
 * aborts with nothing written.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { DynamoDBError } from "../KonserveError.js"
import { ConditionFailed, InvalidKey, type KonserveError, TransactionLimitExceeded } from "../KonserveError.js"
import type { Backend, PutRequest, TransactCommitted } from "./backend.js"
import type * as Codec from "./codec.js"
import * as FailureCodes from "./failureCodes.js"
import * as Keys from "./key.js"
import { MAX_ATOMIC_KEYS, minimalTransactionBytes, TRANSACTION_BYTES } from "./limits.js"
import * as Retry from "./retry.js"
import type { Key, TransactPlan } from "./service.js"

/** What `transact` needs of the store it is part of. @internal */
export interface TransactEnv {
  readonly backend: Backend
  readonly conflictRetries: number
  readonly now: Effect.Effect<number>
  readonly encode: (key: string, value: unknown) => Effect.Effect<Codec.Encoded, KonserveError>
  readonly decode: (key: string, bytes: Uint8Array) => Effect.Effect<unknown, KonserveError>
  readonly checkSize: (key: string, size: number) => Effect.Effect<void, KonserveError>
  /** Publishes what a commit wrote and removed (`changes`), with the encoded values written. */
  readonly publish: (committed: TransactCommitted, puts: ReadonlyArray<PutRequest>) => void
}

/** The signature of `KonserveStore.transact`. @internal */
export type Transact = <A, E = never, R = never>(
  keys: Iterable<Key>,
  f: (current: ReadonlyMap<Key, unknown>) => Effect.Effect<TransactPlan<A>, E, R>,
  options?: { readonly retries?: number | undefined }
) => Effect.Effect<A, KonserveError | E, R>

const invalidKey = (key: string, reason: string) => new InvalidKey({ key, reason })

const checkRetries = (retries: unknown, fallback: number): Effect.Effect<number, DynamoDBError> =>
  retries === undefined
    ? Effect.succeed(fallback)
    : typeof retries === "number" && Number.isInteger(retries) && retries >= 0
    ? Effect.succeed(retries)
    : Effect.fail(
      FailureCodes.invalidArgument(
        "transact",
        `transact: retries must be a non-negative integer, got ${String(retries)}`
      )
    )

/** The plan's writes, checked against the keys read: the entries to write and the keys to remove. */
const planned = <A>(
  plan: TransactPlan<A>,
  read: ReadonlySet<string>
): Effect.Effect<{ readonly assoc: Map<string, unknown>; readonly dissoc: Set<string> }, KonserveError> =>
  Effect.gen(function*() {
    const assoc = new Map<string, unknown>()
    const entries = plan.assoc === undefined
      ? []
      : Symbol.iterator in plan.assoc
      ? Array.from(plan.assoc as Iterable<readonly [Key, unknown]>)
      : Object.entries(plan.assoc)
    for (const [key, value] of entries) {
      const valid = yield* Keys.validate(key)
      if (!read.has(valid)) return yield* invalidKey(valid, "is written by a transaction that did not read it")
      assoc.set(valid, value)
    }
    const dissoc = new Set<string>()
    for (const key of plan.dissoc ?? []) {
      const valid = yield* Keys.validate(key)
      if (!read.has(valid)) return yield* invalidKey(valid, "is removed by a transaction that did not read it")
      if (assoc.has(valid)) return yield* invalidKey(valid, "is both written and removed by one transaction")
      dissoc.add(valid)
    }
    return { assoc, dissoc }
  })

/** @internal */
export const make = (env: TransactEnv): Transact => (keys, f, options) =>
  Effect.gen(function*() {
    const valid = Array.from(new Set(yield* Keys.validateAll(keys)))
    if (valid.length > MAX_ATOMIC_KEYS) {
      return yield* new TransactionLimitExceeded({ operation: "transact", items: valid.length, limit: MAX_ATOMIC_KEYS })
    }
    const retries = yield* checkRetries(options?.retries, env.conflictRetries)
    const read = new Set(valid)
    const attempt = Effect.gen(function*() {
      const now = yield* env.now
      const snapshot = yield* env.backend.transact(valid, now)
      const current = new Map<Key, unknown>()
      for (const key of valid) {
        const entry = snapshot.found.get(key)
        if (entry === undefined) continue
        if (entry.head.kind !== "value" || entry.bytes === undefined) {
          return yield* invalidKey(key, `holds a ${entry.head.kind}: transact reads and writes values only`)
        }
        current.set(key, yield* env.decode(key, entry.bytes))
      }
      const plan = yield* f(current)
      const { assoc, dissoc } = yield* planned(plan, read)
      const puts: Array<PutRequest> = []
      for (const [key, value] of assoc) {
        const { bytes, size } = yield* env.encode(key, value)
        yield* env.checkSize(key, size)
        puts.push({
          key,
          operation: "transact",
          kind: "value",
          now,
          expiresAt: undefined,
          user: undefined,
          condition: { _tag: "None" },
          bytes,
          size
        })
      }
      const bytes = minimalTransactionBytes([
        ...puts,
        ...valid.filter((key) => !assoc.has(key)).map((key) => ({
          key,
          user: undefined
        }))
      ])
      if (bytes > TRANSACTION_BYTES) {
        return yield* new TransactionLimitExceeded({
          operation: "transact",
          items: valid.length,
          limit: MAX_ATOMIC_KEYS,
          bytes
        })
      }
      const committed = yield* snapshot.commit(puts, Array.from(dissoc))
      env.publish(committed, puts)
      return plan.result
    })
    return yield* Retry.whileConflict(
      attempt,
      retries,
      () =>
        new ConditionFailed({ key: Option.getOrElse(Option.fromNullable(valid[0]), () => ""), operation: "transact" })
    )
  })
