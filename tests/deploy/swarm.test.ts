import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

// What the stack file promises beyond what the lab's end-to-end tests show by
// running it: read as Swarm reads it.
interface Service {
  image: string
  environment?: Record<string, string>
  healthcheck?: { test: string[] }
  deploy: { mode?: string, replicas?: number | string, endpoint_mode?: string, placement?: { max_replicas_per_node?: number } }
}
const stack = async (): Promise<{ services: Record<string, Service> }> => parse(await readFile('deploy/swarm/hitcounter.yml', 'utf8'))

describe('the Swarm stack file', () => {
  it('takes our images from REGISTRY and TAG; compose names its own after the project (two clones keep theirs)', async () => {
    const { services } = await stack()
    const image = (registry: string, name: string): string => ['$', `{REGISTRY:-${registry}}/`, name, ':$', '{TAG:-latest}'].join('')
    expect(services.web!.image).toBe(image('hitcounter', 'web'))
    expect(services.worker!.image).toBe(image('hitcounter', 'worker'))
    expect(services.redis!.image).toBe(image('hitcounter', 'redis'))
    expect(services.sentinel!.image).toBe(image('hitcounter', 'redis'))
    const compose = parse(await readFile('docker-compose.yml', 'utf8')) as { services: Record<string, { image: string }> }
    const project = ['$', '{COMPOSE_PROJECT_NAME}'].join('')
    expect(compose.services.web!.image).toBe(image(project, 'web'))
    expect(compose.services.worker!.image).toBe(image(project, 'worker'))
    expect(compose.services.redis!.image).toBe(image(project, 'redis'))
  })

  it('runs nginx on every node, and one Redis and one sentinel per node, with no virtual IP', async () => {
    const { services } = await stack()
    expect(services.web!.deploy.mode).toBe('global')
    for (const name of ['redis', 'sentinel']) {
      expect(services[name]!.deploy, name).toMatchObject({ replicas: 3, endpoint_mode: 'dnsrr', placement: { max_replicas_per_node: 1 } })
    }
    expect(services.worker!.deploy.endpoint_mode).toBe('dnsrr')
  })

  it('workers find Redis through the sentinels, wait for a replica, know their node, and are checked for liveness only', async () => {
    const { worker } = (await stack()).services
    expect(worker!.environment).toMatchObject({ REDIS_SENTINELS: 'sentinel:26379', REDIS_MIN_REPLICAS: '1', NODE_NAME: '{{.Node.Hostname}}' })
    expect(worker!.healthcheck!.test).toEqual(['CMD', 'bash', 'healthcheck.sh', '/healthz'])
  })
})

describe('only the workers reach Redis, in Compose and on Swarm', () => {
  type Networks = string[] | Record<string, unknown>
  interface File {
    services: Record<string, { networks?: Networks, environment?: Record<string, string> }>
    networks: Record<string, { internal?: boolean }>
    secrets?: Record<string, unknown>
  }
  const files = async (): Promise<Array<[string, File]>> =>
    await Promise.all(['docker-compose.yml', 'deploy/swarm/hitcounter.yml'].map(async (name): Promise<[string, File]> => [name, parse(await readFile(name, 'utf8')) as File]))
  const networksOf = (file: File, service: string): string[] => {
    const networks = file.services[service]?.networks ?? []
    return Array.isArray(networks) ? networks : Object.keys(networks)
  }

  it('nginx shares no network with Redis (or the sentinels), and every network Redis is on is internal', async () => {
    for (const [name, file] of await files()) {
      for (const data of ['redis', 'sentinel'].filter((service) => service in file.services)) {
        expect(networksOf(file, 'web').filter((network) => networksOf(file, data).includes(network)), `${name}: web and ${data}`).toEqual([])
        for (const network of networksOf(file, data)) expect(file.networks[network]!.internal, `${name}: ${network}`).toBe(true)
      }
      expect(networksOf(file, 'worker').filter((network) => networksOf(file, 'redis').includes(network)), name).toEqual(['redis'])
    }
  })

  it('the workers log in as the user worker with a password from a file, never from the environment or the repository', async () => {
    for (const [name, file] of await files()) {
      expect(file.services.worker!.environment, name).toMatchObject({ REDIS_USERNAME: 'worker', REDIS_PASSWORD_FILE: '/run/secrets/redis-worker' })
      expect(JSON.stringify(file.services.worker!.environment), name).not.toMatch(/PASSWORD[^_]|redis:\/\/[^@/]*@/)
    }
    // Swarm's secrets are made on the swarm (deploy/swarm/make-secrets.sh), not read from a file here.
    const [, swarm] = (await files())[1]!
    expect(swarm.secrets).toEqual({ 'redis-worker': { external: true }, 'redis-ha': { external: true } })
  })
})

describe('Prometheus finds the workers by the name nginx balances over', () => {
  interface DnsJob { job_name: string, dns_sd_configs: Array<{ names: string[], type: string, port: number, refresh_interval: string }> }
  const workersJob = async (): Promise<DnsJob> => (parse(await readFile('metrics/scrape/workers.yml', 'utf8')) as { scrape_configs: DnsJob[] }).scrape_configs[0]!

  it('its workers job asks Docker\'s DNS for the alias the workers carry in Compose and on Swarm, at the port they listen on, every 5 s', async () => {
    const job = await workersJob()
    expect(job.dns_sd_configs).toEqual([{ names: ['apps'], type: 'A', port: 3000, refresh_interval: '5s' }])
    const compose = parse(await readFile('docker-compose.yml', 'utf8')) as { services: Record<string, { networks: Record<string, { aliases: string[] }> }> }
    const swarm = parse(await readFile('deploy/swarm/hitcounter.yml', 'utf8')) as typeof compose
    for (const file of [compose, swarm]) expect(file.services.worker!.networks.workers!.aliases).toEqual(['apps'])
    expect(await readFile('worker/Dockerfile', 'utf8')).toMatch(/^ENV .*\bPORT=3000\b/m)
  })

  it('on Swarm it is a stack file of its own, on the workers\' network, with Compose\'s config less the exporters', async () => {
    const metrics = parse(await readFile('deploy/swarm/metrics.yml', 'utf8')) as { services: { prometheus: { image: string, networks: string[] } } }
    const compose = parse(await readFile('docker-compose.yml', 'utf8')) as { services: Record<string, { image: string, profiles?: string[] }> }
    expect(metrics.services.prometheus.image).toBe(compose.services.prometheus!.image)
    expect(metrics.services.prometheus.networks).toContain('workers')
    // With the profile only: without it, nothing extra runs.
    for (const name of ['prometheus', 'redis-exporter', 'nginx-exporter']) expect(compose.services[name]!.profiles, name).toEqual(['metrics'])
  })
})
