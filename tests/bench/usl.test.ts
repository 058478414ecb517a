import { describe, expect, it } from 'vitest'
import { fitUsl } from '../../bench/usl.js'

const curve = (lambda: number, sigma: number, kappa: number, ns: number[]): Array<{ workers: number, rps: number }> =>
  ns.map((n) => ({ workers: n, rps: (lambda * n) / (1 + sigma * (n - 1) + kappa * n * (n - 1)) }))

describe('fitUsl', () => {
  it.each([
    { name: 'linear scaling', sigma: 0, kappa: 0, peak: Infinity },
    { name: 'contention only (Amdahl)', sigma: 0.05, kappa: 0, peak: Infinity },
    { name: 'contention and coherency', sigma: 0.03, kappa: 0.002, peak: Math.sqrt(0.97 / 0.002) },
    { name: 'a curve that falls past its peak', sigma: 0.1, kappa: 0.02, peak: Math.sqrt(0.9 / 0.02) }
  ])('recovers σ and κ of $name', ({ sigma, kappa, peak }) => {
    const fit = fitUsl(curve(1000, sigma, kappa, [1, 2, 4, 8, 16]))
    expect(fit.lambda).toBe(1000)
    expect(fit.sigma).toBeCloseTo(sigma, 6)
    expect(fit.kappa).toBeCloseTo(kappa, 6)
    if (peak === Infinity) expect(fit.peakN).toBe(Infinity)
    else expect(fit.peakN).toBeCloseTo(peak, 4)
    expect(fit.at(8)).toBeCloseTo(curve(1000, sigma, kappa, [8])[0]!.rps, 4)
  })

  it('keeps σ and κ at zero or more when the points beat linear (noise)', () => {
    const fit = fitUsl([{ workers: 1, rps: 1000 }, { workers: 2, rps: 2100 }, { workers: 4, rps: 4300 }])
    expect(fit.sigma).toBe(0)
    expect(fit.kappa).toBe(0)
    expect(fit.at(4)).toBe(4000)
  })

  it('fits the best σ ≥ 0 when the least-squares σ alone would be negative', () => {
    // Superlinear at first, then falling: the unconstrained fit wants σ < 0.
    const fit = fitUsl([{ workers: 1, rps: 1000 }, { workers: 2, rps: 2050 }, { workers: 8, rps: 5000 }, { workers: 16, rps: 4000 }])
    expect(fit.sigma).toBe(0)
    expect(fit.kappa).toBeGreaterThan(0)
  })

  it('needs the point at 1 worker', () => {
    expect(() => fitUsl([{ workers: 2, rps: 10 }])).toThrow(/1 worker/)
  })
})
