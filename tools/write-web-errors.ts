// Writes nginx's error files into a folder (web/Dockerfile runs it: `node write-web-errors.js /errors`).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { webErrorFiles } from './web-errors.js'

const folder = process.argv[2]
if (folder === undefined) {
  process.stderr.write('usage: write-web-errors FOLDER\n')
  process.exit(2)
}
mkdirSync(folder, { recursive: true })
const files = webErrorFiles()
for (const [name, content] of files) writeFileSync(join(folder, name), content)
process.stdout.write(`${folder}: ${files.size} error files written\n`)
