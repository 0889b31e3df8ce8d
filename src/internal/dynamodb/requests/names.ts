/**
 * Attribute names as expressions write them: bare, but for the two of the
 * table's attributes that DynamoDB reserves (its list of reserved words has
 * OWNER, SIZE and TTL), which are written as placeholders: `#owner`, `#size`, `#ttl`.
 * A request's `ExpressionAttributeNames` then holds only those: fewer
 * entries for the SDK to serialize and sign on every request (the names map
 * of a head write went from 22 entries to 2 at most), and none at all for
 * most requests (DynamoDB rejects an empty or unused map, so it is left out).
 *
 * @internal
 */
import { A } from "../item.js"

/** An attribute of the table. @internal */
export type Attribute = (typeof A)[keyof typeof A]

/** The table's attributes that are DynamoDB reserved words. @internal */
export const RESERVED: ReadonlySet<Attribute> = new Set<Attribute>([A.owner, A.size, A.ttl])

/** How an expression names an attribute: `size` as `#size`, `ver` as `ver`. @internal */
export const ref = (attribute: Attribute): string => RESERVED.has(attribute) ? `#${attribute}` : attribute

/** How expressions name every attribute: `Names.version` is `"ver"`, `Names.size` is `"#size"`. @internal */
export const Names = Object.fromEntries(Object.entries(A).map(([field, name]) => [field, ref(name)])) as {
  readonly [F in keyof typeof A]: string
}

/** The `ExpressionAttributeNames` of a request, when it needs one. @internal */
export interface AttributeNames {
  readonly ExpressionAttributeNames?: Record<string, string>
}

/** The `ExpressionAttributeNames` of expressions naming these attributes: the reserved ones, or none. @internal */
export const namesFor = (...attributes: ReadonlyArray<Attribute>): AttributeNames => {
  const reserved = attributes.filter((name) => RESERVED.has(name))
  return reserved.length === 0
    ? {}
    : { ExpressionAttributeNames: Object.fromEntries(reserved.map((name) => [`#${name}`, name])) }
}

/** A `ProjectionExpression` of these attributes and its `ExpressionAttributeNames`. @internal */
export interface Projection extends AttributeNames {
  readonly ProjectionExpression: string
}

/** @internal */
export const projection = (...attributes: ReadonlyArray<Attribute>): Projection => ({
  ProjectionExpression: attributes.map(ref).join(", "),
  ...namesFor(...attributes)
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
