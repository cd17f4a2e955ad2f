import { BftError } from '../errors.js'

/** Networking failures: refused connections, closed peers, timeouts, bad frames. */
export class P2PError extends BftError {}
