// The worker as one file (dist/bundle/server.js), what the image runs: Node
// then reads and compiles one module instead of resolving and loading a few
// hundred from node_modules, which was most of a worker's start (about 300 ->
// 200 ms of CPU on the host). It sits in dist/bundle/, so the paths the code
// reads beside itself (../lua/, ../public/) are the same as from dist/*/.
import { readFileSync } from 'node:fs'
import { build } from 'esbuild'

await build({
  entryPoints: ['dist/server.js'],
  outfile: 'dist/bundle/server.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The Node the images run (.node-version: the one place its major is named).
  target: `node${readFileSync('.node-version', 'utf8').trim()}`,
  logLevel: 'warning',
  // Some dependencies are CommonJS and call require(): give the ES module one.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" }
})
