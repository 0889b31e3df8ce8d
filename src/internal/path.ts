/**
 * Walking into stored values along a path's steps: object properties, array
 * indices and `Map` keys, as konserve's `get-in` / `assoc-in`.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/** @internal */
export type Step = string | number

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

const isIndex = (step: Step, length: number): step is number =>
  typeof step === "number" && Number.isInteger(step) && step >= 0 && step < length

/** The value at `steps` inside `value`; none when a step is missing. @internal */
export const getIn = (value: unknown, steps: ReadonlyArray<Step>): Option.Option<unknown> => {
  let current = value
  for (const step of steps) {
    if (current instanceof Map) {
      if (!current.has(step)) return Option.none()
      current = current.get(step)
    } else if (Array.isArray(current)) {
      if (!isIndex(step, current.length)) return Option.none()
      current = current[step]
    } else if (isPlainObject(current)) {
      const property = String(step)
      if (!Object.hasOwn(current, property)) return Option.none()
      current = current[property]
    } else {
      return Option.none()
    }
  }
  return Option.some(current)
}

const describe = (steps: ReadonlyArray<Step>): string =>
  "$" + steps.map((step) => typeof step === "number" ? `[${step}]` : `.${step}`).join("")

/**
 * A copy of `value` (none: missing) with `leaf` at `steps`, creating missing
 * intermediate objects; the containers on the path are copied, the rest is
 * shared. Left with a reason when a step walks into a value that is not a
 * container (a number, say), or an array index is out of its bounds.
 *
 * @internal
 */
export const assocIn = (
  value: Option.Option<unknown>,
  steps: ReadonlyArray<Step>,
  leaf: unknown
): Either.Either<unknown, string> => {
  const go = (current: Option.Option<unknown>, depth: number): Either.Either<unknown, string> => {
    if (depth === steps.length) return Either.right(leaf)
    const step = steps[depth]
    if (Option.isNone(current) || current.value === undefined || current.value === null) {
      return Either.map(go(Option.none(), depth + 1), (child) => ({ [String(step)]: child }))
    }
    const container = current.value
    if (container instanceof Map) {
      return Either.map(
        go(container.has(step) ? Option.some(container.get(step)) : Option.none(), depth + 1),
        (child) => new Map(container).set(step, child)
      )
    }
    if (Array.isArray(container)) {
      if (!(typeof step === "number" && Number.isInteger(step) && step >= 0 && step <= container.length)) {
        return Either.left(
          `cannot set ${describe(steps.slice(0, depth + 1))}: not an index of an array of ${container.length}`
        )
      }
      return Either.map(
        go(step < container.length ? Option.some(container[step]) : Option.none(), depth + 1),
        (child) => {
          const copy = container.slice()
          copy[step] = child
          return copy
        }
      )
    }
    if (isPlainObject(container)) {
      const property = String(step)
      return Either.map(
        go(Object.hasOwn(container, property) ? Option.some(container[property]) : Option.none(), depth + 1),
        (child) => ({ ...container, [property]: child })
      )
    }
    return Either.left(
      `cannot set ${describe(steps.slice(0, depth + 1))}: ${
        describe(steps.slice(0, depth))
      } is not an object, array or Map`
    )
  }
  return go(value, 0)
}
