/**
 * The checker itself must be able to say no: hand-made histories of a
 * register, linearizable and not, with unknown outcomes.
 */
import { describe, expect, it } from "vitest"
import * as Linearizability from "./utils/linearizability.js"

type Input = { readonly type: "write"; readonly value: number } | { readonly type: "read"; readonly value: number }

const register: Linearizability.Model<number, Input> = {
  init: 0,
  step: (state, input) => input.type === "write" ? input.value : input.value === state ? state : undefined,
  hash: String
}

const op = (input: Input, call: number, ret: number | undefined): Linearizability.Operation<Input> => ({
  input,
  call,
  ret
})
const w = (value: number) => ({ type: "write", value }) as const
const r = (value: number) => ({ type: "read", value }) as const

const linearizable = (history: ReadonlyArray<Linearizability.Operation<Input>>) =>
  Linearizability.check(history, register).linearizable

describe("linearizability checker", () => {
  it("accepts sequential histories that the model allows and rejects those it does not", () => {
    expect(linearizable([op(w(1), 0, 1), op(r(1), 2, 3)])).toBe(true)
    expect(linearizable([op(w(1), 0, 1), op(r(0), 2, 3)])).toBe(false)
    expect(linearizable([op(w(1), 0, 1), op(w(2), 2, 3), op(r(1), 4, 5)])).toBe(false)
  })

  it("orders overlapping operations either way, but never against real time", () => {
    // the read overlaps the write: it may see either value
    expect(linearizable([op(w(1), 0, 10), op(r(0), 1, 2), op(r(1), 3, 4)])).toBe(true)
    // once a read saw the new value, a later read cannot see the old one
    expect(linearizable([op(w(1), 0, 10), op(r(1), 1, 2), op(r(0), 3, 4)])).toBe(false)
    // two overlapping writes, then reads that need both orders
    expect(linearizable([op(w(1), 0, 5), op(w(2), 0, 5), op(r(1), 6, 7), op(r(2), 8, 9)])).toBe(false)
  })

  it("an unknown outcome may take effect at any point after its call, or never, but only once", () => {
    expect(linearizable([op(w(1), 0, undefined), op(r(0), 1, 2)])).toBe(true)
    expect(linearizable([op(w(1), 0, undefined), op(r(0), 1, 2), op(r(1), 3, 4)])).toBe(true)
    // not before its call
    expect(linearizable([op(r(1), 0, 1), op(w(1), 2, undefined)])).toBe(false)
    // applied, then gone without a cause: it cannot have happened twice around another write
    expect(
      linearizable([op(w(1), 0, undefined), op(r(1), 1, 2), op(w(2), 3, 4), op(r(1), 5, 6)])
    ).toBe(false)
  })

  it("gives a witness order", () => {
    const result = Linearizability.check([op(w(1), 0, 10), op(r(0), 1, 2), op(r(1), 3, 4)], register)
    expect(result).toEqual({ linearizable: true, order: [1, 0, 2] })
  })
})
