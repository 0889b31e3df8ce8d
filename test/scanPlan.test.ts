import { describe, expect, it } from "@effect/vitest"
import { MAX_LEARNED_SEGMENTS, PAGES_PER_SEGMENT, scanPlan } from "../src/internal/dynamodb/scanPlan.js"

describe("scanPlan", () => {
  it("a fixed count stays whatever the listings read", () => {
    const plan = scanPlan(3)
    expect(plan.segments()).toBe(3)
    plan.completed(1000)
    expect(plan.segments()).toBe(3)
  })

  it("learned: one segment at first, then one per PAGES_PER_SEGMENT pages of the last complete listing, capped", () => {
    const plan = scanPlan(undefined)
    expect(plan.segments()).toBe(1)
    plan.completed(PAGES_PER_SEGMENT + 1)
    expect(plan.segments()).toBe(2)
    plan.completed(0)
    expect(plan.segments()).toBe(1)
    plan.completed(PAGES_PER_SEGMENT * MAX_LEARNED_SEGMENTS * 10)
    expect(plan.segments()).toBe(MAX_LEARNED_SEGMENTS)
  })
})
