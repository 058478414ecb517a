import { describe, expect, it } from 'vitest'
import { limitingFactor, pointFigures, scalingGoals, type PointFigures, type Reading } from '../../bench/explain.js'

const reading = (at: number, scale: number, cores: Array<[number, number]>): Reading => ({
  atUs: at,
  workers: [0, 1].map(() => ({ cpuUs: 50000 * scale, periods: 100 * scale, throttled: 90 * scale, throttledUs: 4000 * scale, accepted: scale })),
  nginxUs: 100000 * scale,
  redisUs: 40000 * scale,
  hits: 2000 * scale,
  scriptCalls: 100 * scale,
  cores: cores.map(([busy, total]) => ({ busy, total }))
})

describe('pointFigures', () => {
  it('turns two readings into per-hit costs and shares', () => {
    // One second, two workers, two cores; 2,000 hits answered.
    const f = pointFigures(reading(0, 0, [[0, 0], [0, 0]]), reading(1e6, 1, [[600000, 1e6], [400000, 1e6]]), 2000, 0.1)
    expect(f.cpu_us).toEqual({ nginx: 50, workers: 50, redis: 20, rest: 1000000 / 2000 - 120 })
    expect(f.workers_of_cap).toBeCloseTo(0.5)
    expect(f.nginx_of_machine).toBeCloseTo(0.05)
    expect(f.redis_of_machine).toBeCloseTo(0.02)
    expect(f.cores_busy).toEqual([0.6, 0.4])
    expect(f.throttled_periods).toBeCloseTo(0.9)
    expect(f.throttled_ms_per_s).toBeCloseTo(4)
    expect(f.hits_per_call).toBe(20)
    expect(f.connections_per_1000).toBe(1)
  })
})

const figures = (over: Partial<PointFigures>): PointFigures => ({
  cpu_us: { nginx: 30, workers: 80, redis: 20, rest: 20 },
  workers_of_cap: 0.5,
  nginx_of_machine: 0.1,
  redis_of_machine: 0.05,
  cores_busy: [0.4, 0.4],
  throttled_periods: 0.1,
  throttled_ms_per_s: 1,
  hits_per_call: 10,
  connections_per_1000: 0,
  ...over
})

describe('limitingFactor', () => {
  it.each([
    { name: 'both cores busy', f: { cores_busy: [0.95, 0.92], workers_of_cap: 0.7 }, says: /^The machine: both cores were busy \(95 % and 92 %\)/ },
    { name: 'one core busy is not the machine', f: { cores_busy: [0.95, 0.5], workers_of_cap: 0.97 }, says: /^The workers' caps: they used 97 % of 4 ×/ },
    { name: 'the caps', f: { workers_of_cap: 0.99, throttled_periods: 0.98 }, says: /held by the quota in 98 % of periods/ },
    { name: 'connections churning', f: { connections_per_1000: 120 }, says: /^New connections: nginx opened 120/ },
    { name: 'nothing busy', f: {}, says: /^Not the workers \(50 % of their caps\) nor the cores \(40 % and 40 %\): the load/ }
  ])('names $name', ({ f, says }) => {
    expect(limitingFactor(4, figures(f), figures({}))).toMatch(says)
  })

  it('says when a hit got dearer than with one worker', () => {
    const one = figures({ hits_per_call: 30 })
    expect(limitingFactor(4, figures({ workers_of_cap: 0.99, hits_per_call: 8, cpu_us: { nginx: 30, workers: 160, redis: 20, rest: 20 } }), one))
      .toMatch(/a hit cost the workers 2\.0× what it did with 1 \(160 µs\), with 8\.0 hits a Redis call against 30\.0/)
    expect(limitingFactor(4, figures({ workers_of_cap: 0.99 }), one)).not.toMatch(/what it did/)
  })
})

describe('scalingGoals', () => {
  const point = (workers: number, rps: number, coresBusy = [0.5, 0.5]): { workers: number, rps: number, figures: { cores_busy: number[] } } =>
    ({ workers, rps, figures: { cores_busy: coresBusy } })

  it.each([
    { name: 'both ratios reached', points: [point(1, 1000), point(4, 3500), point(8, 6100)], met: [true, true] },
    { name: 'ratios short, cores idle', points: [point(1, 1000), point(4, 3300), point(8, 5900)], met: [false, false] },
    { name: '8 short with both cores busy, 4 met', points: [point(1, 1000), point(4, 3500), point(8, 5000, [0.93, 0.91])], met: [true, true] },
    { name: '8 short with cores busy, but 4 short too', points: [point(1, 1000), point(4, 3000), point(8, 5000, [0.93, 0.91])], met: [false, false] },
    { name: 'one busy core is not enough', points: [point(1, 1000), point(4, 3500), point(8, 5000, [0.99, 0.7])], met: [true, false] }
  ])('$name', ({ points, met }) => {
    expect(scalingGoals(points).map((g) => g.met)).toEqual(met)
  })

  it('states the ratio and the efficiency', () => {
    const [four] = scalingGoals([point(1, 1000), point(4, 3600), point(8, 6400)])
    expect(four).toMatchObject({ value: '3.60× (efficiency 0.90)', goal: '≥ 3.4×, or both cores ≥ 90 % busy' })
  })
})
