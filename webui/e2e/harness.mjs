// E2E harness: the real cloudvault binary on a random port with an empty temp data folder (the
// first admin is made by the story through the set-up link the server prints, as a new user
// would), Debian's Chromium driven by playwright-core, test files made with ffmpeg, and a small
// JSON client for checks from outside the browser.
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const WEBUI = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const REPO = resolve(WEBUI, '..')
export const ARTIFACTS = join(WEBUI, 'e2e', 'artifacts')
export const PASSWORD = 'tulip-orbit-92'

export function binaryPath() {
  if (process.env.CLOUDVAULT_BIN) return process.env.CLOUDVAULT_BIN
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO, process.env.CARGO_TARGET_DIR) : join(REPO, 'target')
  return join(target, 'release', 'cloudvault')
}

/** Starts the server on an empty data folder; resolves with { base, setupLink, data, stop(),
 *  logPath } once it said where it listens and printed its one-time set-up link. */
export async function startServer({ accessTtl = '12s' } = {}) {
  const bin = binaryPath()
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run cargo build --release first (or set CLOUDVAULT_BIN)`)
  if (!existsSync(join(WEBUI, 'dist', 'index.html'))) throw new Error('webui/dist is missing: run npm run build first')
  mkdirSync(ARTIFACTS, { recursive: true })
  const root = mkdtempSync(join(tmpdir(), 'cloudvault-e2e-'))
  const data = join(root, 'data')
  const config = join(root, 'cloudvault.toml')
  writeFileSync(config, `[auth]\naccess_token_ttl = "${accessTtl}"\n`)
  const env = { ...process.env, CLOUDVAULT_CONFIG: config, CLOUDVAULT_WEBUI_DIR: join(WEBUI, 'dist'), RUST_LOG: process.env.RUST_LOG ?? 'info' }
  const logPath = join(ARTIFACTS, 'server.log')
  const log = createWriteStream(logPath)
  const child = spawn(bin, ['--data', data, 'serve', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stderr.pipe(log)
  // Both lines, in either order: where it listens, and (no admin yet) the set-up link.
  const { base, setupLink } = await new Promise((ok, fail) => {
    let buf = ''
    const timer = setTimeout(() => fail(new Error(`the server did not print where it listens and its set-up link (/setup#token=…) within 30 s; its output:\n${buf}`)), 30_000)
    child.stdout.on('data', (d) => {
      log.write(d)
      buf += d
      const listen = buf.match(/listening on (http:\/\/[^\s/]+)/)
      const setup = buf.match(/(https?:\/\/[^\s]+\/setup[?#]token=[^\s"'<>]+)/)
      if (listen && setup) {
        clearTimeout(timer)
        ok({ base: listen[1], setupLink: setup[1] })
      }
    })
    child.on('exit', (code) => fail(new Error(`the server exited (${code}); see ${logPath}`)))
  })
  return {
    base,
    setupLink,
    data,
    logPath,
    async stop() {
      child.kill('SIGTERM')
      await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)))
      log.end()
      rmSync(root, { recursive: true, force: true })
    },
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  })
}

export const DESKTOP = { viewport: { width: 1280, height: 800 } }
export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 }

/** A JSON API client (Bearer), for checks made outside the browser. */
export class Api {
  constructor(base) {
    this.base = base
    this.token = null
  }
  async login(username, password = PASSWORD) {
    this.credentials = { username, password }
    this.token = null
    const r = await this.call('POST', '/api/auth/login', { username, password })
    this.token = r.access_token
    return r
  }
  /** Short-lived access tokens (the story uses 12 s): sign in again when one has expired. */
  async fresh() {
    if (this.credentials && this.token && Date.now() - (this.at ?? 0) > 8_000) {
      const res = await fetch(this.base + '/api/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(this.credentials) })
      if (!res.ok) throw new Error(`login: ${res.status}`)
      this.token = (await res.json()).access_token
      this.at = Date.now()
    }
  }
  async call(method, path, json) {
    if (path !== '/api/auth/login') await this.fresh()
    else this.at = Date.now()
    const res = await fetch(this.base + path, {
      method,
      headers: { ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}), ...(json ? { 'Content-Type': 'application/json' } : {}) },
      body: json ? JSON.stringify(json) : undefined,
    })
    const text = await res.text()
    const body = text ? JSON.parse(text) : null
    if (!res.ok) throw Object.assign(new Error(`${method} ${path}: ${res.status} ${text}`), { status: res.status, body })
    return body
  }
  async status(method, path) {
    await this.fresh()
    const res = await fetch(this.base + path, { method, headers: this.token ? { Authorization: `Bearer ${this.token}` } : {} })
    await res.arrayBuffer()
    return res.status
  }
  /** Every item of a folder (root when null). */
  async list(folder = null) {
    const q = folder ? `?folder=${folder}&limit=1000` : '?limit=1000'
    return (await this.call('GET', `/api/files/${q}`)).items
  }
  async sha256Of(id) {
    await this.fresh()
    const res = await fetch(`${this.base}/api/files/${id}/download`, { headers: { Authorization: `Bearer ${this.token}` } })
    if (!res.ok) throw new Error(`download ${id}: ${res.status}`)
    const h = createHash('sha256')
    for await (const chunk of res.body) h.update(chunk)
    return h.digest('hex')
  }
  /** Uploads many small files in one multipart request (into the root when `folder` is null);
   *  `onConflict` as the API takes it (fail, keep_both, overwrite). Answers the files made. */
  async uploadMany(folder, files, onConflict) {
    await this.fresh()
    const form = new FormData()
    for (const [name, bytes] of files) form.append('file', new Blob([bytes]), name)
    const q = new URLSearchParams()
    if (folder) q.set('folder', folder)
    if (onConflict) q.set('on_conflict', onConflict)
    const res = await fetch(`${this.base}/api/files/upload?${q}`, { method: 'POST', headers: { Authorization: `Bearer ${this.token}` }, body: form })
    if (res.status !== 201) throw new Error(`bulk upload: ${res.status} ${await res.text()}`)
    return res.json()
  }
}

/** Real pictures made by ffmpeg's test sources: [{ name, path, type, size, sha256 }]. */
export function makePhotos(dir) {
  const specs = [
    ['beach.jpg', 'testsrc=size=800x600', 'image/jpeg'],
    ['mountain.jpg', 'mandelbrot=size=640x480', 'image/jpeg'],
    ['bars.png', 'smptebars=size=640x360', 'image/png'],
    ['sunset.jpg', 'testsrc2=size=1024x768', 'image/jpeg'],
    ['forest.png', 'rgbtestsrc=size=320x240', 'image/png'],
  ]
  return specs.map(([name, src, type]) => {
    const path = join(dir, name)
    const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', src, '-frames:v', '1', '-y', path])
    if (r.status !== 0) throw new Error(`ffmpeg ${name}: ${r.stderr}`)
    const bytes = readFileSync(path)
    return { name, path, type, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), b64: bytes.toString('base64') }
  })
}

/**
 * A short video: { name, path, bytes }. MPEG-4 part 2 by default (every ffmpeg build encodes it);
 * `h264` for one the browser plays (Debian's ffmpeg has libx264, Debian's Chromium plays H.264).
 */
export function makeVideo(dir, name, seconds, { h264 = false } = {}) {
  const path = join(dir, name)
  const codec = h264 ? ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'] : ['-c:v', 'mpeg4']
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc=size=320x240:rate=10:duration=${seconds}`, ...codec, '-y', path])
  if (r.status !== 0) throw new Error(`ffmpeg ${name}: ${r.stderr}`)
  return { name, path, bytes: readFileSync(path) }
}

/** How far the page is wider than the screen (0 when nothing scrolls sideways). */
export async function overflowOf(page) {
  return page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth)
}

/** A file of `mib` MiB of incompressible bytes; returns its sha256. */
export async function makeBigFile(path, mib) {
  const h = createHash('sha256')
  const out = createWriteStream(path)
  const block = randomBytes(1 << 20)
  for (let i = 0; i < mib; i++) {
    block.writeUInt32LE(i, 0) // every MiB differs
    h.update(block)
    if (!out.write(block)) await new Promise((r) => out.once('drain', r))
  }
  await new Promise((r) => out.end(r))
  return h.digest('hex')
}

export async function sha256File(path) {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk)
  return h.digest('hex')
}

/** Polls `f` until it returns a truthy value. */
export async function until(what, f, timeoutMs = 30_000, everyMs = 200) {
  const end = Date.now() + timeoutMs
  let last
  for (;;) {
    try {
      last = await f()
      if (last) return last
    } catch (e) {
      last = e
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) })
}
