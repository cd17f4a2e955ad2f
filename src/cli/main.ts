#!/usr/bin/env node
import '../polyfill.js'
import { run } from './program.js'

const code = await run(process.argv)
// Flush stdout before exiting: process.exit would otherwise cut off piped output. Exiting
// explicitly keeps idle keep-alive sockets of fetch from holding the process open.
process.stdout.write('', () => process.exit(code))
