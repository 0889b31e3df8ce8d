/**
 * The one re-plan loop (`Retry.replan`) and `whileConflict` on it, without
 * DynamoDB: a fake attempt whose answers are scripted per round.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Retry from "../src/internal/retry.js"

/** What the fake attempt saw on each round, and what it answers. */
const scripted = <A>(answers: ReadonlyArray<(pending: Retry.Pending<number>) => Retry.Attempted<number, A>>) => {
  const seen: Array<Retry.Pending<number>> = []
  const attempt = (pending: Retry.Pending<number>) =>
    Effect.sync(() => {
      seen.push(pending)
      return answers[Math.min(seen.length - 1, answers.length - 1)](pending)
    })
  return { seen, attempt }
}

const exhausted = (last: Retry.Again<number>) => ({
  _tag: "Exhausted" as const,
  state: last.state,
  ambiguous: last.ambiguous
})

const quietly = (state: number, ambiguous = false) => Retry.again(state, { ambiguous, contended: false })

describe("Retry.replan", () => {
  it.effect("done at once: one attempt, round 0, not ambiguous, from the initial state", () =>
    Effect.gen(function*() {
      const { attempt, seen } = scripted([() => Retry.done("applied")])
      const answer = yield* Retry.replan({ initial: 7, maxRounds: 3, attempt, exhausted })
      expect(answer).toBe("applied")
      expect(seen).toEqual([{ state: 7, ambiguous: false, round: 0 }])
    }))

  it.effect("each round gets the state the last one returned, and rounds are counted", () =>
    Effect.gen(function*() {
      const { attempt, seen } = scripted([
        (p) => quietly(p.state + 1),
        (p) => quietly(p.state * 10),
        (p) => Retry.done(`state ${p.state}`)
      ])
      const answer = yield* Retry.replan({ initial: 1, maxRounds: 5, attempt, exhausted })
      expect(answer).toBe("state 20")
      expect(seen.map((p) => [p.state, p.round])).toEqual([[1, 0], [2, 1], [20, 2]])
    }))

  it.effect("the ambiguity an attempt returns is carried to the next round, and may end", () =>
    Effect.gen(function*() {
      const { attempt, seen } = scripted([
        (p) => quietly(p.state, true),
        (p) => quietly(p.state, p.ambiguous),
        (p) => quietly(p.state, false),
        () => Retry.done("ok")
      ])
      yield* Retry.replan({ initial: 0, maxRounds: 5, attempt, exhausted })
      expect(seen.map((p) => p.ambiguous)).toEqual([false, true, true, false])
    }))

  it.effect("maxRounds honoured: maxRounds + 1 attempts, then exhausted of the last answer", () =>
    Effect.gen(function*() {
      const { attempt, seen } = scripted<string>([(p) => quietly(p.state + 1, p.round === 2)])
      const result = yield* Effect.either(Retry.replan({ initial: 0, maxRounds: 2, attempt, exhausted }))
      expect(result).toEqual(Either.left({ _tag: "Exhausted", state: 3, ambiguous: true }))
      expect(seen.map((p) => p.round)).toEqual([0, 1, 2])
    }))

  it.effect("maxRounds 0 (or less): one attempt only", () =>
    Effect.gen(function*() {
      for (const maxRounds of [0, -1]) {
        const { attempt, seen } = scripted<string>([(p) => quietly(p.state)])
        const result = yield* Effect.either(Retry.replan({ initial: 4, maxRounds, attempt, exhausted }))
        expect(Either.isLeft(result)).toBe(true)
        expect(seen).toHaveLength(1)
      }
    }))

  it.effect("a failing attempt ends the loop with its failure, whatever rounds are left", () =>
    Effect.gen(function*() {
      let attempts = 0
      const attempt = (p: Retry.Pending<number>) =>
        Effect.suspend(() => {
          attempts++
          return p.round === 1 ? Effect.fail("refused" as const) : Effect.succeed(quietly(p.state))
        })
      const result = yield* Effect.either(Retry.replan({ initial: 0, maxRounds: 9, attempt, exhausted }))
      expect(result).toEqual(Either.left("refused"))
      expect(attempts).toBe(2)
    }))

  it.live("contended rounds pause (on the live clock) and still count", () =>
    Effect.gen(function*() {
      const { attempt, seen } = scripted([
        (p) => Retry.again(p.state + 1, { ambiguous: false, contended: true }),
        (p) => Retry.again(p.state + 1, { ambiguous: false, contended: true }),
        (p) => Retry.done(p.state)
      ])
      expect(yield* Retry.replan({ initial: 0, maxRounds: 2, attempt, exhausted })).toBe(2)
      expect(seen.map((p) => p.round)).toEqual([0, 1, 2])
    }))

  it.effect("the attempt is not made before the loop runs", () =>
    Effect.gen(function*() {
      const { attempt, seen } = scripted([() => Retry.done(1)])
      const loop = Retry.replan({ initial: 0, maxRounds: 1, attempt, exhausted })
      expect(seen).toHaveLength(0)
      yield* loop
      yield* loop
      expect(seen).toHaveLength(2)
    }))
})

describe("Retry.whileConflict on the loop", () => {
  it.live("runs again on Conflict, at most `retries` more times, then the caller's failure", () =>
    Effect.gen(function*() {
      let attempts = 0
      const body = Effect.suspend(() => {
        attempts++
        return Effect.fail(Retry.conflict)
      })
      const result = yield* Effect.either(Retry.whileConflict(body, 3, () => "gave up" as const))
      expect(result).toEqual(Either.left("gave up"))
      expect(attempts).toBe(4)
    }))

  it.live("succeeds on the first attempt without Conflict; other failures pass through at once", () =>
    Effect.gen(function*() {
      let attempts = 0
      const body = Effect.suspend(() => {
        attempts++
        return attempts < 3 ? Effect.fail(Retry.conflict) : Effect.succeed("ok")
      })
      expect(yield* Retry.whileConflict(body, 5, () => "gave up")).toBe("ok")
      expect(attempts).toBe(3)
      const other = yield* Effect.either(Retry.whileConflict(Effect.fail("boom" as const), 5, () => "gave up"))
      expect(other).toEqual(Either.left("boom"))
    }))
})
