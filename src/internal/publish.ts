/**
 * What the store's writes publish to its `changes` hub, in the fiber that
 * made them, before they return: writes (their `Meta`, the value when held
 * inline) and removals, one `batch` for an atomic multi-key write.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Written } from "./backend.js"
import type * as Changes from "./changes.js"
import { decodeBytes, metaOf } from "./prepare.js"
import type { Change } from "./service.js"

/** The publishing functions of a store on `hub`. @internal */
export const make = (hub: Changes.Hub, maxValueBytes: number) => {
  /**
   * Publishes what writes committed (`changes`), in the fiber that made them,
   * before they return. `bytes`: the stored bytes of a value, decoded into
   * `Change.value` when the backend held them inline. Nothing is built when
   * nobody subscribes.
   */
  const published = (
    written: ReadonlyArray<Written>,
    bytes: (i: number) => Uint8Array | undefined,
    batch: Option.Option<string>
  ): void => {
    if (!hub.active()) return
    hub.publish(written.map((w, i): Change => {
      const stored = w.inline && w.head.kind === "value" ? bytes(i) : undefined
      return {
        key: w.head.key,
        op: "write",
        version: w.head.version,
        meta: Either.getRight(metaOf(w.head)),
        value: stored === undefined ? Option.none() : Either.getRight(decodeBytes(w.head.key, stored, maxValueBytes)),
        batch
      }
    }))
  }

  const publishedRemovals = (removed: Iterable<readonly [string, Option.Option<string>]>, atomic: boolean): void => {
    if (!hub.active()) return
    const changes: Array<Change> = []
    for (const [key, version] of removed) {
      if (Option.isNone(version)) continue
      const batch = atomic ? version : Option.none()
      changes.push({ key, op: "remove", version: version.value, meta: Option.none(), value: Option.none(), batch })
    }
    hub.publish(changes)
  }

  const noBatch = Option.none<string>()
  const wrote = (bytes?: Uint8Array) => (written: Written): void => published([written], () => bytes, noBatch)

  return { published, publishedRemovals, noBatch, wrote }
}
