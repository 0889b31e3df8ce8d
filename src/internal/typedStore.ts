/**
 * `forSchema`: a typed view of any store, encoding values with a schema on
 * the way in and decoding them on the way out.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { DecodeError, type KonserveError, SerializationError } from "../KonserveError.js"
import type { Key, KonserveStore, MultiAssocOptions, TypedStore, WriteOptions } from "../KonserveStore.js"
import * as Keys from "./key.js"

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

/** @internal */
export const makeTypedStore = <A, I, R>(
  store: KonserveStore,
  updateWith: UpdateWith,
  schema: Schema.Schema<A, I, R>
): TypedStore<A, R> => {
  const encodeEffect = Schema.encode(schema)
  const decodeEffect = Schema.decodeUnknown(schema)

  const encode = (key: string, value: A) =>
    Effect.mapError(encodeEffect(value), (error) =>
      new SerializationError({
        key,
        message: `key ${JSON.stringify(key)}: the value does not encode with the schema: ${
          ParseResult.TreeFormatter.formatErrorSync(error)
        }`
      }))

  const decode = (key: string, value: unknown) =>
    Effect.mapError(decodeEffect(value), (error) =>
      new DecodeError({
        key,
        message: `key ${JSON.stringify(key)}: the stored value does not decode with the schema: ${
          ParseResult.TreeFormatter.formatErrorSync(error)
        }`
      }))

  const get = (key: Key) =>
    Effect.flatMap(
      store.get(key),
      (value) => Option.isNone(value) ? Effect.succeedNone : Effect.asSome(decode(key, value.value))
    )

  const assoc = (key: Key, value: A, options?: WriteOptions) =>
    Effect.flatMap(encode(key, value), (encoded) => store.assoc(key, encoded, options))

  const update = (key: Key, f: (current: Option.Option<A>) => A, options?: WriteOptions) =>
    Effect.flatMap(Effect.context<R>(), (context) =>
      Keys.validate(key).pipe(
        Effect.flatMap((valid) =>
          updateWith(valid, "update", options, (current) =>
            Effect.gen(function*() {
              const before = Option.isNone(current)
                ? Option.none<A>()
                : Option.some(yield* decode(valid, current.value))
              const after = f(before)
              const whole = yield* encode(valid, after)
              return { whole, result: { before, after } }
            }).pipe(Effect.provide(context)))
        )
      ))

  const multiGet = (keys: Iterable<Key>) =>
    Effect.flatMap(store.multiGet(keys), (found) =>
      Effect.map(
        Effect.forEach(found, ([key, value]) => Effect.map(decode(key, value), (decoded) => [key, decoded] as const)),
        (pairs) => new Map(pairs) as ReadonlyMap<Key, A>
      ))

  const multiAssoc = (
    entries: Iterable<readonly [Key, A]> | Readonly<Record<Key, A>>,
    options?: MultiAssocOptions
  ) =>
    Effect.flatMap(
      Effect.forEach(
        Symbol.iterator in entries ? Array.from(entries as Iterable<readonly [Key, A]>) : Object.entries(entries),
        ([key, value]) => Effect.map(encode(key, value as A), (encoded) => [key, encoded] as const)
      ),
      (encoded) => store.multiAssoc(encoded, options)
    )

  return { get, assoc, update, multiGet, multiAssoc }
}
