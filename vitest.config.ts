import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The JSON report lets .ci/run print a plain "N passed, N failed" line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      {
        test: {
          name: 'worker',
          include: ['tests/worker/**/*.test.ts'],
          testTimeout: 20000,
          hookTimeout: 20000,
          sequence: { groupOrder: 0 }
        }
      },
      {
        // The balance check's logic: no Docker, no network.
        test: {
          name: 'tools',
          include: ['tests/tools/**/*.test.ts'],
          sequence: { groupOrder: 0 }
        }
      },
      {
        // The benchmark's own logic (its model fit, its report): no Docker.
        test: {
          name: 'bench',
          include: ['tests/bench/**/*.test.ts'],
          sequence: { groupOrder: 0 }
        }
      },
      {
        // Deployment files checked without a cluster.
        test: {
          name: 'deploy',
          include: ['tests/deploy/**/*.test.ts'],
          sequence: { groupOrder: 0 }
        }
      },
      {
        // The real compose stack: after the worker tests, one file at a time.
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 120000,
          hookTimeout: 600000,
          fileParallelism: false,
          sequence: { groupOrder: 1 }
        }
      }
    ]
  }
})
