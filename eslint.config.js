// Lint for every TypeScript and JavaScript file: neostandard, as Fastify's demo app uses.
import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'test-results/**', 'bench/results/**'] }),
  {
    rules: {
      '@stylistic/max-len': ['error', { code: 150, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }]
    }
  },
  {
    // The page's script runs in the browser.
    files: ['worker/src/public/**/*.js'],
    languageOptions: { globals: { document: 'readonly', window: 'readonly', fetch: 'readonly', performance: 'readonly', location: 'readonly', URL: 'readonly', AbortSignal: 'readonly' } }
  }
]
