// @ts-check
// The live panel of the hit page: "keep hitting" sends hits through the load
// balancer, and /stats (which counts nothing) is read every second to draw the
// hits per worker and fade out the workers that stopped serving.

/** A worker that served nothing for this long is shown as gone. */
const SERVING_WINDOW_MS = 10000
const SEQUENCE_LENGTH = 20
const STATS_EVERY_MS = 1000

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id))

/** A colour per hostname (FNV-1a hash to a hue), dark enough for white text. */
function colourOf (/** @type {string} */ name) {
  let hash = 2166136261
  for (const char of name) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 16777619)
  return `hsl(${(hash >>> 0) % 360} 70% 30%)`
}

const hit = byId('hit')
const hostEl = /** @type {HTMLElement} */ (hit.querySelector('[data-testid="hostname"]'))
const hitsEl = /** @type {HTMLElement} */ (hit.querySelector('[data-testid="hits"]'))
const sequence = byId('sequence')
const bars = byId('bars')
const status = byId('status')
const toggle = /** @type {HTMLButtonElement} */ (byId('keep-hitting'))
const rate = /** @type {HTMLSelectElement} */ (byId('rate'))

/** Shows a hit: the banner takes the serving host's colour; the host joins the sequence. */
function showHit (/** @type {string} */ hostname, /** @type {number} */ hits) {
  hostEl.textContent = hostname
  hitsEl.textContent = String(hits)
  hit.style.backgroundColor = colourOf(hostname)
  const item = document.createElement('li')
  item.textContent = hostname
  item.style.backgroundColor = colourOf(hostname)
  sequence.prepend(item)
  while (sequence.children.length > SEQUENCE_LENGTH) sequence.lastElementChild?.remove()
}

/** @typedef {{ total: number, workers: Record<string, number>, lastSeen: Record<string, number>, now: number }} Stats */

function showStats (/** @type {Stats} */ stats) {
  const names = Object.keys(stats.workers).sort()
  const most = Math.max(1, ...Object.values(stats.workers))
  let serving = 0
  bars.replaceChildren(...names.map((name) => {
    const gone = stats.now - (stats.lastSeen[name] ?? 0) > SERVING_WINDOW_MS
    if (!gone) serving++
    const row = document.createElement('li')
    row.className = gone ? 'gone' : 'serving'
    row.dataset.worker = name
    const label = document.createElement('span')
    label.className = 'name'
    label.textContent = name
    const bar = document.createElement('span')
    bar.className = 'bar'
    bar.style.width = `${(100 * (stats.workers[name] ?? 0)) / most}%`
    bar.style.backgroundColor = colourOf(name)
    const count = document.createElement('span')
    count.className = 'hits'
    count.textContent = String(stats.workers[name])
    row.append(label, bar, count)
    return row
  }))
  byId('serving').textContent = String(serving)
  byId('serving-noun').textContent = serving === 1 ? 'worker' : 'workers'
  byId('total').textContent = String(stats.total)
}

async function refreshStats () {
  try {
    const res = await fetch('/stats', { cache: 'no-store' })
    if (res.ok) showStats(await res.json())
  } finally {
    setTimeout(refreshStats, STATS_EVERY_MS)
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
      showHit(body.hostname, body.hits)
      status.textContent = ''
    } else {
      status.textContent = `hit failed: ${res.status} ${body.message ?? ''}`
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

showHit(hit.dataset.hostname ?? '', Number(hit.dataset.hits))
refreshStats()
