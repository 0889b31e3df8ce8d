/**
 * `@effect/platform`'s `KeyValueStore` served from any `KonserveStore`.
 *
 * @internal
 */
import * as PlatformError from "@effect/platform/Error"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ConditionFailed, type KonserveError } from "../KonserveError.js"
import * as Retry from "./retry.js"
import type { KonserveStore } from "./service.js"

const toPlatformError = (method: string) => (cause: KonserveError) =>
  new PlatformError.SystemError({
    reason: cause._tag === "InvalidKey" ? "InvalidData" : "Unknown",
    module: "KeyValueStore",
    method,
    description: cause.message,
    cause
  })

const utf8Decoder = new TextDecoder()
const utf8Encoder = new TextEncoder()

const asString = (value: unknown): string => value instanceof Uint8Array ? utf8Decoder.decode(value) : String(value)
const asBytes = (value: unknown): Uint8Array => value instanceof Uint8Array ? value : utf8Encoder.encode(String(value))

/** How many times a `modify` runs again when the key changed between its read and its write. */
const MODIFY_RETRIES = 10

/** @internal */
export const fromKonserveStore = (store: KonserveStore): KeyValueStore.KeyValueStore => {
  const getValue = (method: string, key: string) => Effect.mapError(store.get(key), toPlatformError(method))

  /**
   * `modify` as an atomic read-modify-write: the key's version is read, then
   * `update` with `ifVersion` applies `f` to exactly that value and writes on
   * that version; a concurrent change (`ConditionFailed`) runs it again, so
   * concurrent modifies lose nothing. A missing key is none, nothing written.
   */
  const modifyWith = <A extends string | Uint8Array>(method: string, key: string, f: (value: unknown) => A) =>
    Retry.whileConflict(
      Effect.flatMap(store.getMeta(key), (meta) =>
        Option.isNone(meta)
          ? Effect.succeed(Option.none<A>())
          : store.update(key, (current) => f(Option.getOrUndefined(current)), { ifVersion: meta.value.version }).pipe(
            Effect.map(({ after }) => Option.some(after as A)),
            Effect.catchTag("ConditionFailed", () => Retry.conflict)
          )),
      MODIFY_RETRIES,
      () => new ConditionFailed({ key, operation: method })
    ).pipe(Effect.mapError(toPlatformError(method)))

  return KeyValueStore.make({
    get: (key) =>
      Effect.map(
        getValue("get", key),
        Option.map(asString)
      ),
    getUint8Array: (key) =>
      Effect.map(
        getValue("getUint8Array", key),
        Option.map(asBytes)
      ),
    set: (key, value) => Effect.mapError(store.assoc(key, value), toPlatformError("set")),
    modify: (key, f) => modifyWith("modify", key, (value) => f(asString(value))),
    modifyUint8Array: (key, f) => modifyWith("modifyUint8Array", key, (value) => f(asBytes(value))),
    remove: (key) => Effect.mapError(Effect.asVoid(store.dissoc(key)), toPlatformError("remove")),
    has: (key) => Effect.mapError(store.exists(key), toPlatformError("has")),
    clear: store.keys.pipe(
      Stream.map((meta) => meta.key),
      Stream.grouped(100),
      Stream.mapEffect((keys) => store.multiDissoc(keys, { atomic: false })),
      Stream.runDrain,
      Effect.mapError(toPlatformError("clear"))
    ),
    size: Effect.mapError(Stream.runCount(store.keys), toPlatformError("size"))
  })
}
