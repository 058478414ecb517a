import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { RedisServer } from '../support/redis-server.js'
import { BROWSER_ACCEPT, buildReadyApp } from '../support/app.js'
import { UNKNOWN_COLOUR, WORKER_COLOURS } from '../../worker/src/colours.js'

/** WCAG's contrast ratio of white text on `hex`. */
function contrastWithWhite (hex: string): number {
  const [r, g, b] = [1, 3, 5].map((at) => {
    const c = parseInt(hex.slice(at, at + 2), 16) / 255
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  })
  return 1.05 / (0.2126 * r! + 0.7152 * g! + 0.0722 * b! + 0.05)
}

let redis: RedisServer
let app: FastifyInstance
beforeAll(async () => {
  redis = await RedisServer.start()
  app = await buildReadyApp(redis.url, 'worker-colours')
})
afterAll(async () => {
  await app?.close()
  await redis?.stop()
})

describe('the workers\' colours, declared once (worker/src/colours.ts)', () => {
  it.each([...WORKER_COLOURS, UNKNOWN_COLOUR])('%s carries white text at 4.5:1 or more', (colour) => {
    expect(contrastWithWhite(colour)).toBeGreaterThanOrEqual(4.5)
  })

  it('are all different', () => {
    expect(new Set(WORKER_COLOURS).size).toBe(WORKER_COLOURS.length)
  })

  it('/colours.css has one class per colour, the page links it and tells its script how many there are', async () => {
    const css = await app.inject('/colours.css')
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8')
    WORKER_COLOURS.forEach((colour, slot) => { expect(css.body).toContain(`.slot-${slot} { --worker: ${colour}; }`) })
    const page = await app.inject({ url: '/', headers: { accept: BROWSER_ACCEPT } })
    expect(page.body).toContain(`<html lang="en" data-colours="${WORKER_COLOURS.length}">`)
    expect(page.body).toContain('<link rel="stylesheet" href="/colours.css">')
  })

  it('the page\'s style and script name no colour of a worker of their own', async () => {
    const style = await readFile('worker/src/public/live.css', 'utf8')
    const script = await readFile('worker/src/public/live.js', 'utf8')
    expect(style).not.toMatch(/\.slot-/)
    for (const colour of [...WORKER_COLOURS, UNKNOWN_COLOUR]) expect(style + script).not.toContain(colour)
    expect(script).not.toMatch(/COLOURS = \d/)
  })
})
