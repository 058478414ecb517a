import { escapeHtml } from '../http/html.js'
import type { HistoryReply, StatsReply } from '../http/schemas.js'
import { colourClass, WORKER_COLOURS, WORKER_MARKS } from './colours.js'

export interface HitView {
  hostname: string
  hits: number
  /** The serving worker's colour slot (see colours.ts); null: not known yet. */
  colourSlot: number | null
  /** The counter as this hit left it (the recent hits, this one first) and the last minute: the panel's first paint. */
  stats: StatsReply
  history: HistoryReply
  /** How this deployment is scaled (SCALE_COMMAND), for the hint. */
  scaleCommand: string
}

/**
 * The table's hits/s is each worker's average over this many seconds: one
 * second is too short at a person's pace (a reload every 1.5 s over 3 workers
 * leaves most seconds at 0 for each), ten reads steadily.
 */
export const RATE_SECONDS = 10

/** The recent hits, newest first: one item per hit, its number and the worker that served it ("7 1f35fa9d5b61"). */
export function renderRecentHits (stats: StatsReply): string {
  return stats.recent.map(({ hostname, hits }) => {
    const slot = stats.serving[hostname]
    return `<li class="${colourClass(slot ?? null)}" data-hits="${hits}"><span class="number">${hits}</span> <span class="host">${escapeHtml(hostname)}</span></li>`
  }).join('')
}

/**
 * The answer a browser gets: which worker served this hit and its number, and
 * the live panel that /live.js fills (hits per second per worker, as a chart
 * and a table, the last hosts that served, "keep hitting"). Everything is
 * served by the worker: no CDN.
 */
export function renderHitPage ({ hostname, hits, colourSlot, stats, history, scaleCommand }: HitView): string {
  const host = escapeHtml(hostname)
  return `<!doctype html>
<html lang="en" data-colours="${WORKER_COLOURS.length}" data-marks="${WORKER_MARKS.length}" data-rate-seconds="${RATE_SECONDS}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hitcounter: ${host}</title>
<link rel="stylesheet" href="/live.css">
<link rel="stylesheet" href="/colours.css">
<script src="/live.js" defer></script>
</head>
<body>
<main>
  <section id="hit" class="hit ${colourClass(colourSlot)}" data-hostname="${host}" data-hits="${hits}" data-slot="${colourSlot ?? ''}">
    <p class="hello">Hello World I am <strong class="host" data-testid="hostname">${host}</strong>!</p>
    <p class="count"><span data-testid="hits">${hits}</span> times.</p>
  </section>

  <section class="controls" aria-label="Send hits">
    <button id="keep-hitting" type="button" aria-pressed="false">Keep hitting</button>
    <label for="rate">Rate</label>
    <select id="rate">
      <option value="1">1 hit/s</option>
      <option value="2">2 hits/s</option>
      <option value="5" selected>5 hits/s</option>
      <option value="10">10 hits/s</option>
      <option value="20">20 hits/s</option>
    </select>
    <span id="status" role="status"></span>
  </section>

  <p id="trouble" class="trouble" role="alert" data-testid="trouble" hidden></p>

  <section class="panel" aria-labelledby="panel-title" data-stats="${escapeHtml(JSON.stringify(stats))}" data-history="${escapeHtml(JSON.stringify(history))}">
    <h2 id="panel-title"><span id="serving" data-testid="serving">–</span> <span id="serving-noun">workers</span> serving · <span id="total">–</span> hits in all</h2>
    <figure class="chart">
      <svg id="chart" viewBox="0 0 600 200" preserveAspectRatio="none" role="img" aria-labelledby="chart-caption"></svg>
      <figcaption id="chart-caption">Hits per second, per worker, each second of the last minute (<span id="chart-top">0</span> hits/s at the top<span id="chart-others"></span>). The table below gives each worker's average over the last ${RATE_SECONDS} s.</figcaption>
    </figure>
    <table id="rates">
      <caption>Serving workers: hits per second now, and in all</caption>
      <thead><tr><th scope="col">worker</th><th scope="col">hits/s, last ${RATE_SECONDS} s</th><th scope="col">hits in all</th></tr></thead>
      <tbody></tbody>
    </table>
    <h3>Last hits were served by <span class="muted">(anyone's: this page's, other browsers', curl's)</span></h3>
    <ol id="recent" class="sequence" data-testid="recent-hits" aria-label="Workers that served the last hits, newest first">${renderRecentHits(stats)}</ol>
  </section>

  <p class="hint">Refresh, or keep hitting, then scale in a second terminal: <code>${escapeHtml(scaleCommand)}</code>.
  New workers' lines rise as the others' fall; workers that leave drop to zero and fade out.</p>
</main>
</body>
</html>
`
}
