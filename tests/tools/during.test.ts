import { describe, expect, it } from 'vitest'
import { duringBlocker, type Machine } from '../../tools/during.js'

// --during's command is looked at before a hit is sent: what is missing, said in one line.
const machine = (over: Partial<Machine> & { programs?: string[] } = {}): Machine => ({
  has: async (program) => (over.programs ?? ['sh', 'docker', 'kubectl']).includes(program),
  hasCompose: over.hasCompose ?? (async () => true),
  hasEngine: over.hasEngine ?? (async () => true),
  inImage: over.inImage ?? false
})

describe('--during: what its command needs, before the check starts', () => {
  it.each([
    ['docker compose up -d --scale worker=5', machine()],
    ['docker service scale hitcounter_worker=12', machine({ hasCompose: async () => false })],
    ['kubectl scale deployment/worker --replicas=5', machine({ hasEngine: async () => false })],
    ['PORT=8080 LB_CONF=x.conf docker compose -p p up -d --scale api=5', machine()],
    ['old=$(docker compose ps -q api) && docker rm -f $old', machine()],
    ['(cd deploy && ./scale.sh)', machine({ programs: ['sh'] })]
  ])('%s: runs where what it needs is there', async (command, here) => {
    expect(await duringBlocker(command, here)).toBeUndefined()
  })

  it.each([
    ['no shell', 'docker ps', machine({ programs: ['docker'] }), /in a shell, and there is no sh/],
    ['a program not found', 'kubectl scale x', machine({ programs: ['sh', 'docker'] }), /kubectl is not found here$/],
    ['the same, in the image', 'kubectl scale x', machine({ programs: ['sh', 'docker'], inImage: true }), /kubectl is not found here \(the check's image has sh and the Docker CLI only/],
    ['no engine, in the image', 'docker compose up -d', machine({ hasEngine: async () => false, inImage: true }), /no engine answers here: mount its socket \(-v \/var\/run\/docker.sock:\/var\/run\/docker.sock\)/],
    ['no engine', 'docker service scale s=2', machine({ hasEngine: async () => false }), /no engine answers here: start one, or set DOCKER_HOST/],
    ['no engine, past an assignment', 'PORT=8080 docker compose up -d', machine({ hasEngine: async () => false }), /no engine answers here/],
    ['no Compose, in the image', 'docker compose up -d', machine({ hasCompose: async () => false, inImage: true }), /Compose plugin is missing: mount the host's/]
  ])('%s: says what is missing', async (_what, command, here, message) => {
    expect(await duringBlocker(command, here)).toMatch(message)
  })
})
