import { readdir, readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1'
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'

// No cluster runs here: every manifest is checked against the Kubernetes
// OpenAPI schemas that the kubernetes-models package ships.
const BASE = 'deploy/kubernetes/base'

interface Validating { validate: () => void }
const MODELS: Record<string, new (data: never) => Validating> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy
}

interface Manifest { apiVersion: string, kind: string, metadata: { name: string }, spec?: Record<string, unknown> }

async function manifests (): Promise<Array<{ file: string, doc: Manifest }>> {
  const files = (await readdir(BASE)).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
  const all = []
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(`${BASE}/${file}`, 'utf8'))) {
      expect(doc.errors, file).toEqual([])
      all.push({ file, doc: doc.toJS() as Manifest })
    }
  }
  return all
}

const validate = (doc: Manifest): void => {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`]
  if (Model === undefined) throw new Error(`no schema mapped for ${doc.apiVersion} ${doc.kind}`)
  new Model(doc as never).validate()
}

describe('Kubernetes manifests', () => {
  it('every object in the base is valid against its OpenAPI schema', async () => {
    const all = await manifests()
    expect(all.length).toBeGreaterThanOrEqual(10)
    for (const { file, doc } of all) expect(() => { validate(doc) }, `${file}: ${doc.kind} ${doc.metadata.name}`).not.toThrow()
  })

  it('the validation does catch a broken object', () => {
    const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'three', selector: {}, template: {} } }
    expect(() => { validate(broken) }).toThrow(/replicas must be integer/)
  })

  it('kustomization.yaml lists every manifest file, and the overlay builds on the base', async () => {
    const kustomization = parseAllDocuments(await readFile(`${BASE}/kustomization.yaml`, 'utf8'))[0]!.toJS() as { resources: string[], configMapGenerator: Array<{ name: string, files?: string[] }> }
    const files = (await readdir(BASE)).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    expect([...kustomization.resources].sort()).toEqual(files.sort())
    expect(kustomization.configMapGenerator.find((map) => map.name === 'nginx-discovery')?.files).toEqual(['resolver.conf.template', 'workers.conf.template'])
    const overlay = parseAllDocuments(await readFile('deploy/kubernetes/overlays/local/kustomization.yaml', 'utf8'))[0]!.toJS() as { resources: string[] }
    expect(overlay.resources).toEqual(['../../base'])
  })

  it('the workers sit behind a headless Service named "apps", with probes, draining and a locked-down container', async () => {
    const all = (await manifests()).map(({ doc }) => doc)
    const apps = all.find((doc) => doc.kind === 'Service' && doc.metadata.name === 'apps')!
    expect(apps.spec).toMatchObject({ clusterIP: 'None', selector: { 'app.kubernetes.io/name': 'worker' } })
    const worker = all.find((doc) => doc.kind === 'Deployment' && doc.metadata.name === 'worker') as unknown as {
      spec: { replicas: number, template: { spec: { terminationGracePeriodSeconds: number, containers: Array<Record<string, any>> } } }
    }
    const container = worker.spec.template.spec.containers[0]!
    expect(worker.spec.replicas).toBe(3)
    expect(container.readinessProbe.httpGet.path).toBe('/readyz')
    // Liveness never asks Redis: a Redis outage must not get every worker restarted.
    expect(container.livenessProbe.httpGet.path).toBe('/healthz')
    expect(container.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } })
    expect(container.lifecycle.preStop).toBeDefined()
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(20)
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
    expect(all.map((doc) => doc.kind)).toEqual(expect.arrayContaining(['StatefulSet', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy']))
  })
})

describe('only the workers reach Redis on Kubernetes, as the user worker', () => {
  interface SecretVolume { name: string, secret?: { secretName: string, items: Array<{ key: string }> } }
  interface Pod { spec: { containers: Array<Record<string, any>>, volumes?: SecretVolume[] } }
  const podOf = async (kind: string, name: string): Promise<Pod> =>
    ((await manifests()).map(({ doc }) => doc as any).find((doc) => doc.kind === kind && doc.metadata.name === name)).spec.template as Pod
  /** The Secret keys a pod mounts, and where. */
  const secretMounts = (pod: Pod): Array<{ path: string, keys: string[] }> => {
    const volumes = pod.spec.volumes!.filter((volume) => volume.secret?.secretName === 'redis-users')
    const mountPath = (name: string): string => pod.spec.containers[0]!.volumeMounts.find((mount: { name: string }) => mount.name === name).mountPath
    return volumes.map((volume) => ({ path: mountPath(volume.name), keys: volume.secret!.items.map((item) => item.key) }))
  }

  it('the workers and Redis read their passwords from the Secret redis-users, each only the keys it needs; no Secret is kept in the repository', async () => {
    const worker = await podOf('Deployment', 'worker')
    expect(secretMounts(worker)).toEqual([{ path: '/run/secrets', keys: ['redis-worker'] }])
    expect(worker.spec.containers[0]!.env).toEqual(expect.arrayContaining([{ name: 'REDIS_USERNAME', value: 'worker' }, { name: 'REDIS_PASSWORD_FILE', value: '/run/secrets/redis-worker' }]))
    const redis = await podOf('StatefulSet', 'redis')
    expect(secretMounts(redis)).toEqual([{ path: '/run/secrets', keys: ['redis-worker', 'redis-admin'] }])
    expect(redis.spec.containers[0]!.args[0]).toBe('hitcounter-redis')
    expect((await manifests()).filter(({ doc }) => doc.kind === 'Secret')).toEqual([])
    expect(await readFile(`${BASE}/kustomization.yaml`, 'utf8')).not.toMatch(/secretGenerator/)
  })

  it('Redis admits the workers only, and nginx may reach nothing but the workers and DNS', async () => {
    const policies = (await manifests()).map(({ doc }) => doc as any).filter((doc) => doc.kind === 'NetworkPolicy')
    const of = (name: string): any => policies.find((policy) => policy.spec.podSelector.matchLabels['app.kubernetes.io/name'] === name)
    expect(of('redis').spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'worker' } } }], ports: [{ port: 6379 }] }])
    const web = of('web').spec
    expect(web.policyTypes).toEqual(['Egress'])
    expect(web.egress[0]).toEqual({ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'worker' } } }], ports: [{ port: 3000 }] })
    expect(web.egress[1].ports.map((port: { port: number }) => port.port)).toEqual([53, 53])
    expect(web.egress).toHaveLength(2)
  })
})

describe('a plain Prometheus on Kubernetes', () => {
  it('finds the workers by the usual annotations, naming the port and path they serve metrics on, and may reach them', async () => {
    const all = (await manifests()).map(({ doc }) => doc as any)
    const pod = all.find((doc) => doc.kind === 'Deployment' && doc.metadata.name === 'worker').spec.template
    expect(pod.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '3000', 'prometheus.io/path': '/metrics' })
    expect(pod.spec.containers[0].ports).toContainEqual({ name: 'http', containerPort: 3000 })
    const policy = all.find((doc) => doc.kind === 'NetworkPolicy' && doc.spec.podSelector.matchLabels['app.kubernetes.io/name'] === 'worker')
    expect(policy.spec.ingress[0].from).toContainEqual({ namespaceSelector: {}, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } })
    expect(policy.spec.ingress[0].ports).toEqual([{ port: 3000 }])
  })

  it('its scrape file keeps the annotated pods of the namespace the base deploys to', async () => {
    const { namespace } = parseAllDocuments(await readFile(`${BASE}/kustomization.yaml`, 'utf8'))[0]!.toJS() as { namespace: string }
    interface PodJob {
      kubernetes_sd_configs: Array<{ role: string, namespaces: { names: string[] } }>
      relabel_configs: Array<Record<string, unknown>>
    }
    const scrape = parseAllDocuments(await readFile('deploy/kubernetes/prometheus-scrape.yml', 'utf8'))[0]!.toJS() as { scrape_configs: PodJob[] }
    const [job] = scrape.scrape_configs
    expect(job!.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: [namespace] } }])
    expect(job!.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' })
  })
})

describe('one nginx config for Compose and Kubernetes', () => {
  it('nginx.conf includes discovery/*.conf, and Kubernetes has a template for each of those files', async () => {
    const lines = [...(await readFile('web/nginx.conf', 'utf8')).matchAll(/^\s*include \/etc\/nginx\/discovery\/(\S+);$/gm)]
    const includes = [...new Set(lines.map((m) => m[1]!))].sort()
    expect(includes).toEqual(['resolver.conf', 'workers.conf'])
    expect((await readdir('web/discovery')).sort()).toEqual(includes)
    const templates = (await readdir(BASE)).filter((file) => file.endsWith('.conf.template'))
    expect(templates.map((file) => file.replace(/\.template$/, '')).sort()).toEqual(includes)
  })

  it('the workers\' server line has the same parameters in both; only the name differs', async () => {
    const line = (text: string): string => /^server (\S+) (.+);$/m.exec(text)![2]!
    expect(line(await readFile(`${BASE}/workers.conf.template`, 'utf8'))).toBe(line(await readFile('web/discovery/workers.conf', 'utf8')))
  })
})
