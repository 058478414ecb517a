// The Universal Scalability Law (Neil Gunther): X(N) = λN / (1 + σ(N−1) + κN(N−1)).
// σ (contention) is the share of the work that waits its turn at something
// shared; κ (coherency) is the cost of the parts keeping each other in step,
// which grows with every pair of them and so bends the curve down past a peak.

export interface UslFit {
  /** Throughput of one (req/s): the measured X(1). */
  lambda: number
  sigma: number
  kappa: number
  /** N where the fitted curve peaks, sqrt((1 − σ) / κ); Infinity when κ is 0 (it only flattens). */
  peakN: number
  /** The fitted curve's throughput at `n`. */
  at: (n: number) => number
}

export interface Point { workers: number, rps: number }

/** The law's throughput at `n`, for given λ, σ and κ. */
export const uslAt = ({ lambda, sigma, kappa }: Pick<UslFit, 'lambda' | 'sigma' | 'kappa'>, n: number): number =>
  (lambda * n) / (1 + sigma * (n - 1) + kappa * n * (n - 1))

const clampedSolve = (sxx: number, sxz: number, szz: number, sxy: number, szy: number): [number, number] => {
  // Least squares of y = a·x + b·z through the origin, a and b ≥ 0.
  const det = sxx * szz - sxz * sxz
  if (det > 0) {
    const a = (sxy * szz - szy * sxz) / det
    const b = (szy * sxx - sxy * sxz) / det
    if (a >= 0 && b >= 0) return [a, b]
  }
  const onlyA: [number, number] = [Math.max(0, sxx > 0 ? sxy / sxx : 0), 0]
  const onlyB: [number, number] = [0, Math.max(0, szz > 0 ? szy / szz : 0)]
  const error = ([a, b]: [number, number]): number => a * a * sxx + 2 * a * b * sxz + b * b * szz - 2 * (a * sxy + b * szy)
  return error(onlyA) <= error(onlyB) ? onlyA : onlyB
}

/**
 * Fits σ and κ to measured points, λ taken as the measured X(1), the way
 * Gunther fits it: with C(N) = X(N)/X(1), the deviation from linear,
 * N/C(N) − 1 = σ(N − 1) + κN(N − 1), is linear in σ and κ with no constant
 * term, solved by least squares with σ, κ ≥ 0.
 */
export function fitUsl (points: readonly Point[]): UslFit {
  const one = points.find((p) => p.workers === 1)
  if (one === undefined || one.rps <= 0) throw new Error('the USL fit needs a measured point at 1 worker')
  let sxx = 0; let sxz = 0; let szz = 0; let sxy = 0; let szy = 0
  for (const { workers: n, rps } of points) {
    if (n === 1) continue
    const x = n - 1
    const z = n * (n - 1)
    const y = n / (rps / one.rps) - 1
    sxx += x * x; sxz += x * z; szz += z * z; sxy += x * y; szy += z * y
  }
  const [sigma, kappa] = clampedSolve(sxx, sxz, szz, sxy, szy)
  const lambda = one.rps
  return {
    lambda,
    sigma,
    kappa,
    peakN: kappa > 0 ? Math.sqrt((1 - sigma) / kappa) : Infinity,
    at: (n) => uslAt({ lambda, sigma, kappa }, n)
  }
}
