// Where vitest's time went, from its JSON report (vitest.config.ts writes it):
// each project's seconds (a project is a folder of tests/), and each end-to-end
// file's. Usage: node .ci/vitest-phases.mjs test-results/vitest.json
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const files = report.testResults.map((file) => {
  const path = relative(process.cwd(), file.name)
  return { path, project: path.split('/')[1], seconds: (file.endTime - file.startTime) / 1000, start: file.startTime, end: file.endTime }
})
const line = (seconds, what) => `${seconds.toFixed(0).padStart(6)} s  ${what}`
const projects = [...new Set(files.map((file) => file.project))]
for (const project of projects) {
  const own = files.filter((file) => file.project === project)
  // Files of one project may run side by side: its span, from the first start to the last end.
  const span = (Math.max(...own.map((file) => file.end)) - Math.min(...own.map((file) => file.start))) / 1000
  console.log(line(span, `vitest project ${project} (${own.length} files)`))
  if (project === 'e2e') for (const file of own.sort((a, b) => b.seconds - a.seconds)) console.log(line(file.seconds, `  ${file.path}`))
}
