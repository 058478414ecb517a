import { createServer } from 'node:net'

/** Listens on `port` of 127.0.0.1 (0: any free one) for a moment; the port it got, or null when it is taken. */
async function tryPort (port: number): Promise<number | null> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(null) })
    server.listen(port, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : null) })
    })
  })
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort (): Promise<number> {
  const port = await tryPort(0)
  if (port === null) throw new Error('no free port on 127.0.0.1')
  return port
}

/** The first of `count` ports in a row on 127.0.0.1 that nothing listens on right now. */
export async function freePorts (count: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = await freePort()
    if (first + count > 65536) continue
    const rest = await Promise.all(Array.from({ length: count - 1 }, async (_, i) => await tryPort(first + i + 1)))
    if (rest.every((port) => port !== null)) return first
  }
  throw new Error(`no ${count} free ports in a row on 127.0.0.1`)
}

/** Polls `check` until it returns true or `timeoutMs` passes; resolves to the ms it took. An error from `check` ends the wait. */
export async function waitFor (what: string, check: () => Promise<boolean>, timeoutMs = 10000, everyMs = 50): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}
