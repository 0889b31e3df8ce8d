/**
 * A linearizability checker (Wing & Gong's search with Lowe's memoization, as
 * Knossos and Porcupine do it): is there an order of the operations that
 * respects real time (an operation that returned before another was invoked
 * comes first) in which a sequential model gives every operation the
 * result it was observed to have?
 *
 * An operation whose outcome is unknown (the store said `UnknownOutcome`)
 * never returned: it may take effect at any point after its invocation, or
 * never. The model decides what each operation does to a state, and whether
 * the observed result fits (`undefined`: it does not).
 */

/** One operation of a history. */
export interface Operation<I> {
  readonly input: I
  /** When it was invoked and when it returned, on one clock; `ret` undefined: unknown outcome. */
  readonly call: number
  readonly ret: number | undefined
}

/** A sequential model: `step` is the state after `input`, or undefined when its observed result cannot happen. */
export interface Model<S, I> {
  readonly init: S
  readonly step: (state: S, input: I) => S | undefined
  /** A key of a state, equal for equal states. */
  readonly hash: (state: S) => string
}

interface Entry {
  readonly op: number
  readonly call: boolean
  readonly time: number
  match: Entry | undefined
  prev: Entry | undefined
  next: Entry | undefined
}

/** The result of a check: a witness order, or how far the search got. */
export type Result =
  | { readonly linearizable: true; readonly order: ReadonlyArray<number> }
  | { readonly linearizable: false; readonly longestPrefix: ReadonlyArray<number> }

export const check = <S, I>(history: ReadonlyArray<Operation<I>>, model: Model<S, I>): Result => {
  // Events in time order; at equal times calls first (overlapping: the lenient reading).
  const events: Array<Entry> = []
  history.forEach((operation, op) => {
    const call: Entry = { op, call: true, time: operation.call, match: undefined, prev: undefined, next: undefined }
    const ret: Entry = {
      op,
      call: false,
      time: operation.ret ?? Number.POSITIVE_INFINITY,
      match: undefined,
      prev: undefined,
      next: undefined
    }
    call.match = ret
    events.push(call, ret)
  })
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? 0 : a.call ? -1 : 1))
  const head: Entry = { op: -1, call: false, time: -1, match: undefined, prev: undefined, next: undefined }
  let last = head
  for (const event of events) {
    last.next = event
    event.prev = last
    last = event
  }

  const lift = (entry: Entry) => {
    entry.prev!.next = entry.next
    if (entry.next !== undefined) entry.next.prev = entry.prev
    const match = entry.match!
    match.prev!.next = match.next
    if (match.next !== undefined) match.next.prev = match.prev
  }
  const unlift = (entry: Entry) => {
    const match = entry.match!
    match.prev!.next = match
    if (match.next !== undefined) match.next.prev = match
    entry.prev!.next = entry
    if (entry.next !== undefined) entry.next.prev = entry
  }

  const linearized = new Uint8Array(history.length)
  const seen = new Set<string>()
  const stack: Array<{ readonly entry: Entry; readonly state: S }> = []
  let longest: ReadonlyArray<number> = []
  let state = model.init
  let entry = head.next
  for (;;) {
    // Done when every operation that returned is placed (the unknown ones may stay out: never applied).
    if (entry === undefined || (!entry.call && history[entry.op].ret === undefined)) {
      return { linearizable: true, order: stack.map((frame) => frame.entry.op) }
    }
    if (entry.call) {
      const next = model.step(state, history[entry.op].input)
      if (next !== undefined) {
        linearized[entry.op] = 1
        const key = `${linearized.join("")}|${model.hash(next)}`
        if (!seen.has(key)) {
          seen.add(key)
          stack.push({ entry, state })
          if (stack.length > longest.length) longest = stack.map((frame) => frame.entry.op)
          state = next
          lift(entry)
          entry = head.next
          continue
        }
        linearized[entry.op] = 0
      }
      entry = entry.next
    } else {
      // An operation returned before any order could place it: undo the last choice.
      const frame = stack.pop()
      if (frame === undefined) return { linearizable: false, longestPrefix: longest }
      state = frame.state
      linearized[frame.entry.op] = 0
      unlift(frame.entry)
      entry = frame.entry.next
    }
  }
}
