import { assert, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as KonserveStore from "../src/KonserveStore.js"
import * as MemoryStore from "../src/MemoryStore.js"
import { compliance } from "./compliance.js"

compliance("MemoryStore", (options) => MemoryStore.layer(options))

describe("MemoryStore", () => {
  it.effect("make gives a working store of its own", () =>
    Effect.gen(function*() {
      const a = yield* MemoryStore.make()
      const b = yield* MemoryStore.make()
      yield* a.assoc("fruit", { name: "banana" })
      expect(yield* a.get("fruit")).toEqual(Option.some({ name: "banana" }))
      expect(Option.isNone(yield* b.get("fruit"))).toBe(true)
    }))

  it.effect("the default maxValueBytes is 64 MiB, as DynamoDBStore's", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make()
      const MiB = 1024 * 1024
      const chunk = new Uint8Array(MiB)
      const input = Stream.concat(
        Stream.fromIterable(Array.from({ length: 64 }, () => chunk)),
        Stream.make(new Uint8Array(1))
      )
      const exit = yield* Effect.exit(store.bassoc("huge", input))
      assert.isTrue(Exit.isFailure(exit), "a binary of 64 MiB + 1 byte was accepted")
      const error = yield* Effect.flip(store.bassoc("huge", input))
      expect(error._tag).toBe("ItemTooLarge")
      if (error._tag === "ItemTooLarge") {
        expect(error.limit).toBe(64 * MiB)
        expect(error.size).toBeGreaterThan(64 * MiB)
      }
      expect(yield* store.exists("huge")).toBe(false)
    }), 60_000)

  it.effect("update gives up with ConditionFailed once its conflict retries are spent", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make({ conflictRetries: 3 })
      yield* store.assoc("contested", 0)
      let calls = 0
      // every run of f races a concurrent writer (run synchronously, inside f) so each attempt conflicts
      const f = (current: Option.Option<unknown>) => {
        calls++
        Effect.runSync(store.assoc("contested", 1000 + calls))
        return Option.getOrElse(current as Option.Option<number>, () => 0) + 1
      }
      const error = yield* Effect.flip(store.update("contested", f))
      expect(error._tag).toBe("ConditionFailed")
      if (error._tag === "ConditionFailed") {
        expect(error.key).toBe("contested")
      }
      expect(calls).toBe(4)
      expect(yield* store.get("contested")).toEqual(Option.some(1004))
    }))

  it.effect("the accessors run against the provided MemoryStore layer", () =>
    Effect.gen(function*() {
      yield* KonserveStore.assoc("k", [1, 2])
      expect(yield* KonserveStore.get("k")).toEqual(Option.some([1, 2]))
    }).pipe(Effect.provide(MemoryStore.layer())))
})

describe("MemoryStore options", () => {
  it.effect("are checked when the store is made: a bad one fails with InvalidConfiguration naming it", () =>
    Effect.gen(function*() {
      for (
        const [options, field] of [
          [{ maxValueBytes: -1 }, "maxValueBytes"],
          [{ maxValueBytes: 1.5 }, "maxValueBytes"],
          [{ conflictRetries: -1 }, "conflictRetries"],
          [{ maxValueBytes: "big" as unknown as number }, "maxValueBytes"]
        ] as const
      ) {
        const error = yield* Effect.flip(MemoryStore.make(options))
        expect(error.code).toBe("InvalidConfiguration")
        expect(error.message).toContain(field)
      }
      yield* MemoryStore.make({ maxValueBytes: 1, conflictRetries: 0 })
    }))
})
