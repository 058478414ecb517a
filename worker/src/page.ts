export interface HitView {
  hostname: string
  hits: number
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => escapes[c] ?? c)

/** The answer a browser gets: which worker served this hit, and its number. */
export function renderHitPage ({ hostname, hits }: HitView): string {
  const host = escapeHtml(hostname)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hitcounter: ${host}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f6f7f9; color: #1b1f24; }
  main { text-align: center; padding: 2rem; }
  h1 { font-size: clamp(1.5rem, 5vw, 3rem); margin: 0 0 1rem; }
  .host { font-family: ui-monospace, monospace; }
  .hits { font-size: clamp(2.5rem, 10vw, 6rem); font-weight: 700; margin: 0; }
</style>
</head>
<body>
<main>
  <h1>Hello World I am <span class="host" data-testid="hostname">${host}</span>!</h1>
  <p class="hits"><span data-testid="hits">${hits}</span> times.</p>
  <p>Refresh to be served again: nginx hands each hit to the next worker.</p>
</main>
</body>
</html>
`
}
