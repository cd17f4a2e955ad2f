export { createApiServer, type ApiServer, type ApiServerOptions } from './server.js'
export { statusFor, HttpError, type ApiErrorBody } from './errors.js'
export type { AccountView } from './accounts.js'
