/** One sample of Prometheus's text format: its name, labels and value. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** The samples of a /metrics answer (comments skipped). Label values here hold no escaped quotes. */
export function parseSamples (text: string): Sample[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) throw new Error(`not a sample line: ${line}`)
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map(([, key, value]) => [key!, value!]))
    return { name: match[1]!, labels, value: Number(match[3]) }
  })
}

/** The sum of the samples named `name` whose labels include `labels`. */
export function total (samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0)
}

/** A target as Prometheus's /api/v1/targets lists it. */
export interface Target {
  labels: Record<string, string>
  scrapeUrl: string
  health: 'up' | 'down' | 'unknown'
  lastError: string
  lastScrape: string
}

/** A real Prometheus server, asked through its HTTP API. */
export class PrometheusApi {
  constructor (readonly url: string) {}

  private async get<T> (path: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`)
    const body = await res.json() as { status: string, data: T, error?: string }
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`)
    return body.data
  }

  async version (): Promise<string> {
    return (await this.get<{ version: string }>('/api/v1/status/buildinfo')).version
  }

  /** The active targets of `job`. */
  async targets (job: string): Promise<Target[]> {
    const { activeTargets } = await this.get<{ activeTargets: Target[] }>('/api/v1/targets?state=active')
    return activeTargets.filter((target) => target.labels.job === job)
  }

  /** An instant query's vector: each series' labels and value. */
  async query (expr: string): Promise<Array<{ labels: Record<string, string>, value: number }>> {
    const { result } = await this.get<{ result: Array<{ metric: Record<string, string>, value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)
    return result.map(({ metric, value }) => ({ labels: metric, value: Number(value[1]) }))
  }
}
