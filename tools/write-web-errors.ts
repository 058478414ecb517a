// Writes nginx's error files into a folder, the include that gives them their
// Content-Security-Policy, and the include of the limits the workers keep
// (web/Dockerfile runs it: `node write-web-errors.js /errors /error-page-policy.conf /limits.conf`).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errorPagePolicyConf, limitsConf, webErrorFiles } from './web-errors.js'

const [folder, policyFile, limitsFile] = process.argv.slice(2)
if (folder === undefined || policyFile === undefined || limitsFile === undefined) {
  process.stderr.write('usage: write-web-errors FOLDER POLICY_CONF LIMITS_CONF\n')
  process.exit(2)
}
mkdirSync(folder, { recursive: true })
const files = webErrorFiles()
for (const [name, content] of files) writeFileSync(join(folder, name), content)
writeFileSync(policyFile, errorPagePolicyConf())
writeFileSync(limitsFile, limitsConf())
process.stdout.write(`${folder}: ${files.size} error files written; ${policyFile}: their policy; ${limitsFile}: the limits\n`)
