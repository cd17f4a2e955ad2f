export { encode, decode, bytesEqual, MAX_ENCODED_BYTES } from './cbor.js'
export { Codec } from './schema.js'
export { toHex, fromHex, utf8 } from './hex.js'
