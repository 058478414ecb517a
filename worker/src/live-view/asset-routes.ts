import { readFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import { coloursCss } from './colours.js'

// worker/src/public, which the build copies to dist/public.
const PUBLIC = new URL('../public/', import.meta.url)
const ASSETS = [
  { path: '/live.js', file: 'live.js', type: 'text/javascript; charset=utf-8' },
  { path: '/live.css', file: 'live.css', type: 'text/css; charset=utf-8' }
]

/** The live view's script and style (two small files, read once at start) and its colours, served from memory. */
export default async function assetRoutes (app: FastifyInstance): Promise<void> {
  for (const { path, file, type } of ASSETS) {
    const body = await readFile(new URL(file, PUBLIC))
    app.get(path, async (_request, reply) => reply.type(type).header('cache-control', 'public, max-age=300').send(body))
  }
  const colours = coloursCss()
  app.get('/colours.css', async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(colours))
}
