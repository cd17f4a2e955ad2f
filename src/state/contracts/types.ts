import { BftError } from '../../errors.js'
import type { BlockContext } from '../api.js'
import type { Overlay } from '../overlay.js'

/** A contract rule refused the call. The receipt's status is `code`; state is rolled back. */
export class TxFailure extends BftError {}

/** Everything a contract method may see: state, the calling tx, and the block. */
export interface CallEnv {
  readonly ctx: BlockContext
  /** Sender's account address (40 hex chars). */
  readonly sender: string
  readonly txId: string
  readonly state: Overlay
  emit: (type: string, data: unknown) => void
}

/** Arguments were already checked against the method's schema (contracts/schemas.ts). */
export type Handler = (env: CallEnv, args: never) => Promise<unknown>
