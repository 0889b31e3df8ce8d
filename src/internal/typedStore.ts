/**
 * `forSchema`: a typed view of any store, encoding values with a schema on
 * the way in and decoding them on the way out.
 *
 * The schema describes the whole value at a key (and each element of a log).
 * Path operations decode the whole value, walk or set the path in the decoded
 * `A` (with `path.ts`, as the untyped store does), and encode the new whole
 * value with the schema; writes run in the store's conflict loop, so they are
 * atomic like the untyped ones.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { DecodeError, type KonserveError, SerializationError } from "../KonserveError.js"
import * as Codec from "./codec.js"
import * as Keys from "./key.js"
import * as Metrics from "./metrics.js"
import * as Paths from "./path.js"
import type {
  Key,
  KonserveStore,
  MultiAssocOptions,
  Path,
  TransactOptions,
  TypedStore,
  TypedTransactPlan,
  Updated,
  WriteOptions
} from "./service.js"

/**
 * The store's conflict loop (read, apply, write on the version read, re-run
 * on a concurrent change), with an effectful `apply`.
 *
 * @internal
 */
export type UpdateWith = <A>(
  key: string,
  operation: string,
  options: WriteOptions | undefined,
  apply: (
    current: Option.Option<unknown>
  ) => Effect.Effect<{ readonly whole: unknown; readonly result: A }, KonserveError>
) => Effect.Effect<A, KonserveError>

const serializationError = (key: string, what: string) =>
  new SerializationError({ key, message: `key ${JSON.stringify(key)}: ${what}` })

const formatError = (error: ParseResult.ParseError): string => ParseResult.TreeFormatter.formatErrorSync(error)

const meteredUpdate = Metrics.operationMetered("KonserveStore.update")
const meteredUpdateIn = Metrics.operationMetered("KonserveStore.updateIn")
const meteredAssocIn = Metrics.operationMetered("KonserveStore.assocIn")

/** @internal */
export const makeTypedStore = <A, I, R>(
  store: KonserveStore,
  updateWith: UpdateWith,
  schema: Schema.Schema<A, I, R>
): TypedStore<A, R> => {
  // `encodeUnknown`: a path write encodes a whole value that the schema has not seen typed (its leaf is `unknown`).
  const encodeEffect = Schema.encodeUnknown(schema)
  const decodeEffect = Schema.decodeUnknown(schema)

  /**
   * Encodes a value with the schema. `misuse` is why the function of an
   * update returned something other than a value (an Option, an Effect), put
   * first in the message when the schema rejects it.
   */
  const encode = (key: string, value: unknown, what = "value", misuse?: string) =>
    Effect.mapError(encodeEffect(value), (error) => {
      const reason = `the ${what} does not encode with the schema: ${formatError(error)}`
      return serializationError(key, misuse === undefined ? reason : `${misuse} (${reason})`)
    })

  const decode = (key: string, value: unknown, what = "value") =>
    Effect.mapError(decodeEffect(value), (error) =>
      new DecodeError({
        key,
        message: `key ${JSON.stringify(key)}: the stored ${what} does not decode with the schema: ${formatError(error)}`
      }))

  const decodeOption = (key: string, value: Option.Option<unknown>): Effect.Effect<Option.Option<A>, DecodeError, R> =>
    Option.isNone(value) ? Effect.succeedNone : Effect.asSome(decode(key, value.value))

  /** The store's conflict loop on a valid key, with an `apply` that needs the schema's context `R`. */
  const updateTyped = <B>(
    key: string,
    operation: string,
    options: WriteOptions | undefined,
    apply: (
      current: Option.Option<unknown>
    ) => Effect.Effect<{ readonly whole: unknown; readonly result: B }, KonserveError, R>
  ): Effect.Effect<B, KonserveError, R> =>
    Effect.flatMap(
      Effect.context<R>(),
      (context) => updateWith(key, operation, options, (current) => Effect.provide(apply(current), context))
    )

  /** A path deeper than a value may be fails before anything is read or written, as on the store. */
  const checkPathDepth = (key: string, steps: ReadonlyArray<Paths.Step>): Effect.Effect<void, SerializationError> =>
    steps.length > Codec.MAX_DEPTH
      ? Effect.fail(
        serializationError(key, `a path of ${steps.length} steps, deeper than a value may be (${Codec.MAX_DEPTH})`)
      )
      : Effect.void

  const get = (key: Key) => Effect.flatMap(store.get(key), (value) => decodeOption(key, value))

  const getIn = (path: Path) =>
    Effect.map(get(path[0]), (value) => Option.flatMap(value, (decoded) => Paths.getIn(decoded, path.slice(1))))

  const assoc = (key: Key, value: A, options?: WriteOptions) =>
    Effect.flatMap(
      Keys.validate(key),
      (valid) => Effect.flatMap(encode(valid, value), (encoded) => store.assoc(valid, encoded, options))
    )

  /** `update`, and `updateIn` of the key alone: `f` returns the whole new value. */
  const updateWhole = (
    key: Key,
    operation: string,
    f: (current: Option.Option<A>) => A,
    options: WriteOptions | undefined
  ): Effect.Effect<Updated<A>, KonserveError, R> =>
    Effect.flatMap(
      Keys.validate(key),
      (valid) =>
        updateTyped(valid, operation, options, (current) =>
          Effect.gen(function*() {
            const before = yield* decodeOption(valid, current)
            const after = f(before)
            const whole = yield* encode(valid, after, "value", Codec.misusedResult(operation, after))
            return { whole, result: { before, after } }
          }))
    )

  /**
   * `assocIn` / `updateIn` below the key: decodes the whole value, sets
   * `f(before)` at the path in the decoded value and encodes the new whole
   * value with the schema, in the store's conflict loop.
   */
  const updatePath = (
    path: Path,
    operation: "assocIn" | "updateIn",
    options: WriteOptions | undefined,
    f: (current: Option.Option<unknown>) => unknown
  ): Effect.Effect<Updated<unknown>, KonserveError, R> =>
    Effect.flatMap(Keys.validate(path[0]), (key) => {
      const steps = path.slice(1)
      return Effect.zipRight(
        checkPathDepth(key, steps),
        updateTyped(key, operation, options, (current) =>
          Effect.gen(function*() {
            const decoded = yield* decodeOption(key, current)
            const before = Option.flatMap(decoded, (value) => Paths.getIn(value, steps))
            const after = f(before)
            const misuse = operation === "updateIn" ? Codec.misusedResult(operation, after) : undefined
            const set = Paths.assocIn(decoded, steps, after)
            if (Either.isLeft(set)) {
              return yield* serializationError(key, misuse === undefined ? set.left : `${misuse} (${set.left})`)
            }
            const whole = yield* encode(key, set.right, "value", misuse)
            return { whole, result: { before, after } }
          }))
      )
    })

  const assocIn = (path: Path, value: unknown, options?: WriteOptions): Effect.Effect<void, KonserveError, R> =>
    path.length === 1
      ? assoc(path[0], value as A, options)
      : meteredAssocIn(Effect.asVoid(updatePath(path, "assocIn", options, () => value)))

  // The conflict loop runs here rather than through the store's operations: metered as theirs.
  const update = (key: Key, f: (current: Option.Option<A>) => A, options?: WriteOptions) =>
    meteredUpdate(updateWhole(key, "update", f, options))

  const updateIn = (
    path: Path,
    f: (current: Option.Option<unknown>) => unknown,
    options?: WriteOptions
  ): Effect.Effect<Updated<unknown>, KonserveError, R> =>
    meteredUpdateIn(
      path.length === 1
        ? updateWhole(path[0], "updateIn", f as (current: Option.Option<A>) => A, options)
        : updatePath(path, "updateIn", options, f)
    )

  const multiGet = (keys: Iterable<Key>) =>
    Effect.flatMap(store.multiGet(keys), (found) =>
      Effect.map(
        Effect.forEach(found, ([key, value]) => Effect.map(decode(key, value), (decoded) => [key, decoded] as const)),
        (pairs) => new Map(pairs) as ReadonlyMap<Key, A>
      ))

  const multiAssoc = (
    entries: Iterable<readonly [Key, A]> | Readonly<Record<Key, A>>,
    options?: MultiAssocOptions
  ) => {
    const pairs = Symbol.iterator in entries
      ? Array.from(entries as Iterable<readonly [Key, A]>)
      : Object.entries(entries as Readonly<Record<Key, A>>)
    // Every key is checked before any value is encoded, as on the store.
    return Effect.zipRight(
      Effect.forEach(pairs, ([key]) => Keys.validate(key), { discard: true }),
      Effect.flatMap(
        Effect.forEach(pairs, ([key, value]) => Effect.map(encode(key, value), (encoded) => [key, encoded] as const)),
        (encoded) => store.multiAssoc(encoded, options)
      )
    )
  }

  const append = (key: Key, element: A) =>
    Effect.flatMap(
      Keys.validate(key),
      (valid) => Effect.flatMap(encode(valid, element, "log element"), (encoded) => store.append(valid, encoded))
    )

  const log = (key: Key): Effect.Effect<Option.Option<ReadonlyArray<A>>, KonserveError, R> =>
    Effect.flatMap(store.log(key), (elements) =>
      Option.isNone(elements)
        ? Effect.succeedNone
        : Effect.asSome(Effect.forEach(elements.value, (element) => decode(key, element, "log element"))))

  const reduceLog = <B>(key: Key, initial: B, f: (acc: B, element: A) => B): Effect.Effect<B, KonserveError, R> =>
    Effect.map(log(key), Option.match({ onNone: () => initial, onSome: (elements) => elements.reduce(f, initial) }))

  const normalize = (entries: TypedTransactPlan<A, unknown>["assoc"]): Array<readonly [Key, A]> =>
    entries === undefined
      ? []
      : Symbol.iterator in entries
      ? Array.from(entries as Iterable<readonly [Key, A]>)
      : Object.entries(entries as Readonly<Record<Key, A>>)

  /** The store's transaction, `f` on decoded values, the values it writes encoded (failures of either: nothing written). */
  const transact = <B, E = never, R2 = never>(
    keys: Iterable<Key>,
    f: (current: ReadonlyMap<Key, A>) => Effect.Effect<TypedTransactPlan<A, B>, E, R2>,
    options?: TransactOptions
  ): Effect.Effect<B, KonserveError | E, R | R2> =>
    store.transact(
      keys,
      (current) =>
        Effect.gen(function*() {
          const decoded = new Map<Key, A>()
          for (const [key, value] of current) decoded.set(key, yield* decode(key, value))
          const plan = yield* f(decoded)
          const assoc: Array<readonly [Key, unknown]> = []
          for (const [key, value] of normalize(plan.assoc)) {
            assoc.push([key, yield* encode(String(key), value)])
          }
          return { assoc, dissoc: plan.dissoc, result: plan.result }
        }),
      options
    )

  return {
    transact,
    get,
    getIn,
    getMeta: store.getMeta,
    exists: store.exists,
    assoc,
    assocIn,
    update,
    updateIn,
    dissoc: store.dissoc,
    keys: store.keys,
    multiGet,
    multiAssoc,
    multiDissoc: store.multiDissoc,
    append,
    log,
    reduceLog
  }
}
