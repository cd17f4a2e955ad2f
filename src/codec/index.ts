export { encode, decode, bytesEqual, MAX_ENCODED_BYTES, MAX_DEPTH } from './cbor.js'
export { Codec, closeObjects, type CodecOptions } from './schema.js'
export { toHex, fromHex, toLatin1, fromLatin1, utf8 } from './hex.js'
export { writeU64, readU64, u64Bytes } from './u64.js'
