// @ts-check
// The live panel of the hit page. It polls /stats once a second (which counts
// nothing and, at nginx, does not move the hits' rotation) and draws each
// serving worker's hits per second over the last minute, from the change in
// its count between two polls. Polling, not a push stream: one small request a
// second per open page goes through nginx like any other, holds no connection
// open on a worker (a worker that leaves drains at once), and a missed poll
// only widens one step of the chart.

const POLL_MS = 1000
/** Seconds of history in the chart. */
const WINDOW = 60
/** How long a worker that left stays on view, at zero, fading. */
const FADE_MS = 4000
/** Seconds the table's hits/s is averaged over (worker/src/live-view/page.ts; the page says). */
const RATE_SECONDS = Number(document.documentElement.dataset.rateSeconds)
/** The most lines the chart draws one by one; beyond, the quieter workers share one band. */
const MAX_LINES = 12
/** How many colours and marks /colours.css has (worker/src/live-view/colours.ts; the page says). */
const COLOURS = Number(document.documentElement.dataset.colours)
const MARKS = Number(document.documentElement.dataset.marks)
const SVG = 'http://www.w3.org/2000/svg'

/**
 * @typedef {{ hostname: string, hits: number }} RecentHit
 * @typedef {Object} Stats
 * @property {number} total
 * @property {Record<string, number>} workers
 * @property {Record<string, number>} serving
 * @property {Record<string, string>} nodes
 * @property {number} now
 * @property {RecentHit[]} recent
 * @typedef {{ now: number, seconds: Array<Record<string, number>> }} History
 */
/** @typedef {{ rates: number[], slot: number, node: string, goneSince: number | null, row: HTMLTableRowElement, line: SVGPolylineElement }} Worker */

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id))
/** @param {number | null | undefined} slot */
const colourClass = (slot) => (slot === null || slot === undefined || Number.isNaN(slot)
  ? 'slot-none'
  : `slot-${slot % COLOURS} mark-${Math.floor(slot / COLOURS) % MARKS}`)

const hit = byId('hit')
const hostEl = /** @type {HTMLElement} */ (hit.querySelector('[data-testid="hostname"]'))
const hitsEl = /** @type {HTMLElement} */ (hit.querySelector('[data-testid="hits"]'))
const recent = byId('recent')
const trouble = byId('trouble')
const panel = /** @type {HTMLElement} */ (document.querySelector('.panel'))
const status = byId('status')
const chart = byId('chart')
const rows = /** @type {HTMLTableSectionElement} */ (byId('rates').querySelector('tbody'))
const toggle = /** @type {HTMLButtonElement} */ (byId('keep-hitting'))
const rate = /** @type {HTMLSelectElement} */ (byId('rate'))

/** A worker's hits per second over the last RATE_SECONDS, as its row shows it. */
const recentRate = (/** @type {Worker} */ worker) =>
  (worker.rates.slice(-RATE_SECONDS).reduce((sum, value) => sum + value, 0) / RATE_SECONDS).toFixed(1)

/** Shows this page's own hit: name, number and colour change together. */
function showHit (/** @type {string} */ hostname, /** @type {number} */ hits, /** @type {number | null} */ slot) {
  hostEl.textContent = hostname
  hitsEl.textContent = String(hits)
  hit.className = `hit ${colourClass(slot)}`
}

/** The recent hits as the counter has them, whoever sent them, newest first (the page renders the same first). */
function showRecent (/** @type {Stats} */ stats) {
  recent.replaceChildren(...stats.recent.map(({ hostname, hits }) => {
    const item = document.createElement('li')
    const number = document.createElement('span')
    number.className = 'number'
    number.textContent = String(hits)
    const host = document.createElement('span')
    host.className = 'host'
    host.textContent = hostname
    item.append(number, ' ', host)
    item.dataset.hits = String(hits)
    item.className = colourClass(stats.serving[hostname])
    return item
  }))
}

/** Trouble in words, or none: shown while hits are not being counted, cleared once they are again. */
function showTrouble (/** @type {string} */ words) {
  trouble.textContent = words
  trouble.hidden = words === ''
}

/** @type {Map<string, Worker>} */
const workers = new Map()
/** @type {Stats | null} */
let previous = null

/** A machine's name as the table shows it: nothing for Compose's one machine. */
const nodeLabel = (/** @type {string} */ node) => (node === 'local' ? '' : ` on ${node}`)

function addWorker (/** @type {string} */ name, /** @type {number} */ slot, /** @type {string} */ node) {
  const row = document.createElement('tr')
  row.dataset.worker = name
  row.dataset.node = node
  const label = document.createElement('th')
  label.scope = 'row'
  const swatch = document.createElement('span')
  swatch.className = 'swatch'
  swatch.setAttribute('aria-hidden', 'true')
  const where = document.createElement('span')
  where.className = 'node'
  where.dataset.testid = 'node'
  where.textContent = nodeLabel(node)
  label.append(swatch, name, where)
  row.append(label, document.createElement('td'), document.createElement('td'))
  // The table lists the workers node by node, like a cluster's visualizer.
  const after = [...rows.rows].find((other) => `${other.dataset.node} ${other.dataset.worker}` > `${node} ${name}`)
  rows.insertBefore(row, after ?? null)
  const line = /** @type {SVGPolylineElement} */ (document.createElementNS(SVG, 'polyline'))
  line.dataset.worker = name
  chart.append(line)
  /** @type {Worker} */
  const worker = { rates: Array(WINDOW).fill(0), slot, node, goneSince: null, row, line }
  workers.set(name, worker)
  return worker
}

/** One poll: each worker's rate since the last, who serves now, who left, the recent hits. */
function update (/** @type {Stats} */ stats) {
  const seconds = previous === null ? 0 : (stats.now - previous.now) / 1000
  showRecent(stats)
  for (const [name, slot] of Object.entries(stats.serving)) {
    const worker = workers.get(name) ?? addWorker(name, slot, stats.nodes?.[name] ?? 'local')
    worker.slot = slot
    worker.goneSince = null
  }
  for (const [name, worker] of workers) {
    const served = previous === null ? 0 : (stats.workers[name] ?? 0) - (previous.workers[name] ?? 0)
    worker.rates.push(seconds > 0 ? Math.max(0, served) / seconds : 0)
    worker.rates.shift()
    if (!(name in stats.serving)) worker.goneSince ??= stats.now
    if (worker.goneSince !== null && stats.now - worker.goneSince > FADE_MS) {
      worker.row.remove()
      worker.line.remove()
      workers.delete(name)
      continue
    }
    const state = worker.goneSince === null ? 'serving' : 'gone'
    worker.row.className = `${state} ${colourClass(worker.slot)}`
    worker.line.setAttribute('class', `${state} ${colourClass(worker.slot)}`)
    const cells = worker.row.querySelectorAll('td')
    cells[0].textContent = recentRate(worker)
    cells[1].textContent = String(stats.workers[name] ?? 0)
  }
  previous = stats
  draw()
  const serving = Object.keys(stats.serving).length
  byId('serving').textContent = String(serving)
  byId('serving-noun').textContent = serving === 1 ? 'worker' : 'workers'
  byId('total').textContent = String(stats.total)
}

const others = /** @type {SVGPolylineElement} */ (document.createElementNS(SVG, 'polyline'))
others.setAttribute('class', 'others')
chart.append(others)

/**
 * The lines, scaled so the busiest second of the window reaches the top. Up to
 * MAX_LINES workers get a line each; beyond, the busiest of the minute keep
 * theirs and the rest are drawn as one grey band, their sum (the table has them all).
 */
function draw () {
  const ranked = [...workers.values()].sort((a, b) => b.rates.reduce((x, y) => x + y, 0) - a.rates.reduce((x, y) => x + y, 0))
  const drawn = ranked.length <= MAX_LINES ? ranked : ranked.slice(0, MAX_LINES - 1)
  const rest = ranked.slice(drawn.length)
  const restRates = Array.from({ length: WINDOW }, (_, i) => rest.reduce((sum, worker) => sum + (worker.rates[i] ?? 0), 0))
  const most = Math.max(1, ...drawn.flatMap((worker) => worker.rates), ...restRates)
  const top = Math.ceil(most / 5) * 5
  byId('chart-top').textContent = String(top)
  byId('chart-others').textContent = rest.length === 0 ? '' : `; the grey band: the other ${rest.length} workers together`
  /** @param {number[]} rates */
  const points = (rates) => rates.map((value, i) => `${(i * 600) / (WINDOW - 1)},${(200 - (value / top) * 196).toFixed(1)}`).join(' ')
  for (const worker of drawn) {
    worker.line.setAttribute('points', points(worker.rates))
    worker.line.removeAttribute('display')
  }
  for (const worker of rest) worker.line.setAttribute('display', 'none')
  others.setAttribute('points', rest.length === 0 ? '' : points(restRates))
}

/** Why the counter cannot be read, in a person's words: Redis (a worker said so) or no worker at all (nginx did). */
function troubleOf (/** @type {Response | null} */ res) {
  if (res === null) return 'The demo is not reachable: hits are not being counted.'
  return res.headers.has('x-served-by')
    ? 'Redis is not reachable: hits are not being counted.'
    : 'No worker is serving: hits are not being counted.'
}

/** While the counter cannot be read, nothing is counted: every line drops to zero, and no worker is shown counting. */
function outage () {
  for (const worker of workers.values()) {
    worker.rates.push(0)
    worker.rates.shift()
    worker.row.querySelectorAll('td')[0].textContent = '0.0'
  }
  previous = null
  draw()
  byId('serving').textContent = '0'
  byId('serving-noun').textContent = 'workers'
}

async function poll () {
  /** @type {Response | null} */
  let res = null
  try {
    res = await fetch('/stats', { cache: 'no-store' })
    if (!res.ok) throw new Error(String(res.status))
    update(await res.json())
    showTrouble('')
  } catch {
    showTrouble(troubleOf(res))
    outage()
  } finally {
    setTimeout(poll, POLL_MS)
  }
}

// Each press of the toggle starts a new loop; a loop whose number is no longer
// current stops, so quick presses never leave two loops running.
let hitting = false
let loop = 0
async function keepHitting (/** @type {number} */ mine) {
  if (!hitting || mine !== loop) return
  const started = performance.now()
  try {
    const res = await fetch('/', { headers: { accept: 'application/json' }, cache: 'no-store' })
    const body = await res.json()
    if (res.ok) {
      showHit(body.hostname, body.hits, body.colourSlot)
      status.textContent = ''
    } else {
      status.textContent = `hit failed: ${res.status} ${body.message ?? ''}`
      showTrouble(troubleOf(res))
    }
  } catch (err) {
    status.textContent = `hit failed: ${err instanceof Error ? err.message : String(err)}`
  }
  const pause = Math.max(0, 1000 / Number(rate.value) - (performance.now() - started))
  setTimeout(() => keepHitting(mine), pause)
}

toggle.addEventListener('click', () => {
  hitting = !hitting
  toggle.setAttribute('aria-pressed', String(hitting))
  toggle.textContent = hitting ? 'Stop hitting' : 'Keep hitting'
  keepHitting(++loop)
})

/** The first paint: the counter as this page's hit left it, and each worker's last minute from the server's own history. */
function start () {
  /** @type {Stats} */
  const stats = JSON.parse(panel.dataset.stats ?? '')
  /** @type {History} */
  const history = JSON.parse(panel.dataset.history ?? '')
  update(stats)
  const offset = WINDOW - history.seconds.length
  for (const [name, worker] of workers) {
    history.seconds.forEach((second, i) => { if (i + offset >= 0) worker.rates[i + offset] = second[name] ?? 0 })
    worker.row.querySelectorAll('td')[0].textContent = recentRate(worker)
  }
  draw()
  showHit(hit.dataset.hostname ?? '', Number(hit.dataset.hits), hit.dataset.slot === '' ? null : Number(hit.dataset.slot))
  setTimeout(poll, POLL_MS)
}
start()
