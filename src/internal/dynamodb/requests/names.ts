/**
 * Attribute names as expressions write them: the placeholder `#name` of
 * every attribute of the table (several are reserved words), and the
 * `ExpressionAttributeNames` of a request built from the attributes it
 * uses, once, as constants (DynamoDB rejects a map with unused names).
 *
 * @internal
 */
import { A } from "../item.js"

/** An attribute of the table. @internal */
export type Attribute = (typeof A)[keyof typeof A]

/** The placeholder of every attribute: `Names.version` is `"#ver"`. @internal */
export const Names = Object.fromEntries(Object.entries(A).map(([field, name]) => [field, `#${name}`])) as {
  readonly [F in keyof typeof A]: `#${(typeof A)[F]}`
}

/** The `ExpressionAttributeNames` of these attributes. @internal */
export const namesFor = (...attributes: ReadonlyArray<Attribute>): Record<string, string> =>
  Object.fromEntries(attributes.map((name) => [`#${name}`, name]))

/** A `ProjectionExpression` of these attributes and its `ExpressionAttributeNames`. @internal */
export interface Projection {
  readonly ProjectionExpression: string
  readonly ExpressionAttributeNames: Record<string, string>
}

/** @internal */
export const projection = (...attributes: ReadonlyArray<Attribute>): Projection => ({
  ProjectionExpression: attributes.map((name) => `#${name}`).join(", "),
  ExpressionAttributeNames: namesFor(...attributes)
})

/** What `keys` reads of a head: what its `Meta` says. @internal */
export const LISTING_ATTRIBUTES: ReadonlyArray<Attribute> = [
  A.pk,
  A.kind,
  A.version,
  A.lastWrite,
  A.size,
  A.expiresAt,
  A.user
]

/** Where a head's content is: a chunk manifest, a log's generation and chunked elements. */
const CONTENT_ATTRIBUTES = [A.cid, A.chunks, A.chunkSize, A.length, A.crc, A.generation, A.chunkedElements]

/** What reads of a head need: every attribute but the inline bytes and the write history. @internal */
export const HEAD_ATTRIBUTES: ReadonlyArray<Attribute> = [...LISTING_ATTRIBUTES, ...CONTENT_ATTRIBUTES]

/** What reads of a head with its value need: every attribute but the write history. @internal */
export const HEAD_WITH_VALUE_ATTRIBUTES: ReadonlyArray<Attribute> = [...HEAD_ATTRIBUTES, A.value]
