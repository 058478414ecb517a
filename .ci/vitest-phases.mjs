// Where vitest's time went, from its JSON report (vitest.config.ts writes it):
// each project's seconds (a project is a folder of tests/), and each end-to-end
// file's. A file's own start and end leave out its beforeAll (a stack's start),
// so a file is timed from the end of the one before it: the e2e files run one
// at a time, after the others. With --summary, only the tests' closing line.
// Usage: node .ci/vitest-phases.mjs [--summary] test-results/vitest.json
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'

const summary = process.argv[2] === '--summary'
const report = JSON.parse(readFileSync(process.argv.at(-1), 'utf8'))
if (summary) {
  console.log(`vitest: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + report.numTodoTests} skipped`)
  process.exit(0)
}
const files = report.testResults.map((file) => {
  const path = relative(process.cwd(), file.name)
  return { path, project: path.split('/')[1], start: file.startTime, end: file.endTime }
}).sort((a, b) => a.end - b.end)
const line = (ms, what) => `${(ms / 1000).toFixed(0).padStart(6)} s  ${what}`
for (const project of [...new Set(files.map((file) => file.project))]) {
  const own = files.filter((file) => file.project === project)
  const before = files.filter((file) => file.project !== project && file.end <= own[0].start).at(-1)
  const from = Math.min(before?.end ?? Infinity, ...own.map((file) => file.start))
  console.log(line(own.at(-1).end - from, `vitest project ${project} (${own.length} files)`))
  if (project !== 'e2e') continue
  const timed = own.map((file, i) => ({ path: file.path, ms: file.end - (i === 0 ? from : own[i - 1].end) }))
  for (const file of timed.sort((a, b) => b.ms - a.ms)) console.log(line(file.ms, `  ${file.path}`))
}
