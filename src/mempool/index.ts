export { Mempool, type MempoolOptions, type AddResult, type MempoolStats } from './mempool.js'
export { VerdictCache } from './verdict-cache.js'
