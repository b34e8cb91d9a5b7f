/**
 * The shape of a certificate's Subject, read from its DER. Node's parsed `subject` folds a second
 * CN attribute into an array and says nothing about multi-valued RDNs (`CN=a+O=b`), so the pin
 * cannot tell from it whether the name it compares is the only one; this reads the Name itself.
 */

interface Tlv {
  readonly tag: number
  /** Where the contents start and end, as offsets into the DER. */
  readonly start: number
  readonly end: number
}

const SEQUENCE = 0x30
const SET = 0x31
const OID = 0x06
const EXPLICIT_VERSION = 0xa0
/** 2.5.4.3, id-at-commonName, as its DER contents. */
const COMMON_NAME = Buffer.from([0x55, 0x04, 0x03])

/** One DER TLV at `offset`, bounded by `limit`; undefined when it does not fit (a truncated or lying length). */
const readTlv = (der: Buffer, offset: number, limit: number): Tlv | undefined => {
  if (offset + 2 > limit) return undefined
  const tag = der[offset]!
  const first = der[offset + 1]!
  let start = offset + 2
  let length = first
  if (first & 0x80) {
    const count = first & 0x7f
    if (count === 0 || count > 4 || start + count > limit) return undefined
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!
    start += count
  }
  return start + length > limit ? undefined : { tag, start, end: start + length }
}

/** The TLVs inside a constructed one; undefined if any of them is malformed. */
const childrenOf = (der: Buffer, parent: Tlv): ReadonlyArray<Tlv> | undefined => {
  const children: Array<Tlv> = []
  for (let offset = parent.start; offset < parent.end;) {
    const child = readTlv(der, offset, parent.end)
    if (child === undefined) return undefined
    children.push(child)
    offset = child.end
  }
  return children
}

/** Certificate → tbsCertificate → [version], serial, signature, issuer, validity, subject. */
const subjectOf = (der: Buffer): Tlv | undefined => {
  const certificate = readTlv(der, 0, der.length)
  if (certificate?.tag !== SEQUENCE) return undefined
  const tbs = childrenOf(der, certificate)?.[0]
  if (tbs?.tag !== SEQUENCE) return undefined
  const fields = childrenOf(der, tbs)
  if (fields === undefined) return undefined
  const subject = fields[(fields[0]?.tag === EXPLICIT_VERSION ? 1 : 0) + 4]
  return subject?.tag === SEQUENCE ? subject : undefined
}

/**
 * True when the Subject is a sequence of single-valued RDNs holding exactly one CN attribute: the
 * only shape in which "the CN" means one thing. Anything unparsable is false.
 */
export const hasSingleCommonName = (der: Buffer): boolean => {
  const subject = subjectOf(der)
  const rdns = subject === undefined ? undefined : childrenOf(der, subject)
  if (rdns === undefined) return false
  let commonNames = 0
  for (const rdn of rdns) {
    const attributes = rdn.tag === SET ? childrenOf(der, rdn) : undefined
    if (attributes?.length !== 1 || attributes[0]!.tag !== SEQUENCE) return false
    const type = childrenOf(der, attributes[0]!)?.[0]
    if (type?.tag !== OID) return false
    if (der.subarray(type.start, type.end).equals(COMMON_NAME)) commonNames++
  }
  return commonNames === 1
}
