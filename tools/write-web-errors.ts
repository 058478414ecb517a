// Writes nginx's error files into a folder, and the include that gives them their
// Content-Security-Policy (web/Dockerfile runs it: `node write-web-errors.js /errors /error-page-policy.conf`).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errorPagePolicyConf, webErrorFiles } from './web-errors.js'

const [folder, policyFile] = process.argv.slice(2)
if (folder === undefined || policyFile === undefined) {
  process.stderr.write('usage: write-web-errors FOLDER POLICY_CONF\n')
  process.exit(2)
}
mkdirSync(folder, { recursive: true })
const files = webErrorFiles()
for (const [name, content] of files) writeFileSync(join(folder, name), content)
writeFileSync(policyFile, errorPagePolicyConf())
process.stdout.write(`${folder}: ${files.size} error files written; ${policyFile}: their policy\n`)
