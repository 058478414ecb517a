// Writes nginx's error files (web/errors/) from tools/web-errors.ts.
import { writeFileSync } from 'node:fs'
import { webErrorFiles } from './web-errors.js'

const folder = new URL('../../../web/errors/', import.meta.url)
for (const [name, content] of webErrorFiles()) writeFileSync(new URL(name, folder), content)
process.stdout.write(`web/errors: ${webErrorFiles().size} files written\n`)
