// The container health check: exit 0 when this worker's /readyz answers 200.
// (The official node image has no curl; node itself makes the request.)
const port = process.env.PORT ?? '3000'
const timeout = AbortSignal.timeout(2000)
fetch(`http://127.0.0.1:${port}/readyz`, { signal: timeout })
  .then((res) => { process.exitCode = res.ok ? 0 : 1 })
  .catch(() => { process.exitCode = 1 })
