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
import type { KonserveError } from "../KonserveError.js"
import type { KonserveStore } from "../KonserveStore.js"

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

/** @internal */
export const fromKonserveStore = (store: KonserveStore): KeyValueStore.KeyValueStore => {
  const getValue = (method: string, key: string) => Effect.mapError(store.get(key), toPlatformError(method))
  return KeyValueStore.make({
    get: (key) =>
      Effect.map(
        getValue("get", key),
        Option.map((value) => value instanceof Uint8Array ? utf8Decoder.decode(value) : String(value))
      ),
    getUint8Array: (key) =>
      Effect.map(
        getValue("getUint8Array", key),
        Option.map((value) => value instanceof Uint8Array ? value : utf8Encoder.encode(String(value)))
      ),
    set: (key, value) => Effect.mapError(store.assoc(key, value), toPlatformError("set")),
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
