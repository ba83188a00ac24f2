// A photo library for the end-to-end tests: thousands of small, real JPEGs (a handful of ffmpeg
// test pictures, made once) each given its own EXIF (camera, capture time with offset, and for
// some a GPS position in a well-known city), built in memory in a few seconds. Only node: built-ins.
import { spawnSync } from 'node:child_process'

/** Where placed photos were taken: city centres in different countries. */
export const CITIES = [
  { cc: 'FR', city: 'Paris', lat: 48.8566, lon: 2.3522 },
  { cc: 'FR', city: 'Nice', lat: 43.7034, lon: 7.2663 },
  { cc: 'IT', city: 'Rome', lat: 41.8933, lon: 12.4829 },
  { cc: 'DE', city: 'Berlin', lat: 52.52, lon: 13.405 },
  { cc: 'JP', city: 'Tokyo', lat: 35.6895, lon: 139.6917 },
  { cc: 'US', city: 'New York', lat: 40.7128, lon: -74.006 },
  { cc: 'AU', city: 'Sydney', lat: -33.8688, lon: 151.2093 },
]

// ffmpeg lavfi sources for the base pictures, each 160x120 and a few KB, so thumbnails differ.
const BASE_SOURCES = [
  'testsrc=s=160x120',
  'testsrc2=s=160x120',
  'smptebars=s=160x120',
  'rgbtestsrc=s=160x120',
  'mandelbrot=s=160x120',
  'gradients=s=160x120:seed=3',
  'color=c=teal:s=160x120[bg];testsrc=s=96x72[fg];[bg][fg]overlay=32:24',
  'color=c=crimson:s=160x120[bg];mandelbrot=s=96x72[fg];[bg][fg]overlay=32:24',
]

let bases = null

/** The base JPEGs (made on first use), without their JFIF/comment segments. */
function baseJpegs() {
  bases ??= BASE_SOURCES.map((src) => {
    const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', src, '-frames:v', '1', '-q:v', '6', '-f', 'mjpeg', 'pipe:1']
    const r = spawnSync('ffmpeg', args, { maxBuffer: 1 << 20 })
    if (r.status !== 0) throw new Error(`ffmpeg ${src}: ${r.stderr}`)
    return stripLeadingMetadata(r.stdout)
  })
  return bases
}

/** The JPEG without the APPn and COM segments that follow its SOI marker. */
function stripLeadingMetadata(jpeg) {
  if (jpeg.readUInt16BE(0) !== 0xffd8) throw new Error('not a JPEG')
  let at = 2
  for (;;) {
    const marker = jpeg.readUInt16BE(at)
    if (!((marker >= 0xffe0 && marker <= 0xffef) || marker === 0xfffe)) break
    at += 2 + jpeg.readUInt16BE(at + 2)
  }
  return Buffer.concat([jpeg.subarray(0, 2), jpeg.subarray(at)])
}

// TIFF field values, little-endian: { type, count, data }.
const TYPE = { BYTE: 1, ASCII: 2, SHORT: 3, LONG: 4, RATIONAL: 5, UNDEFINED: 7 }

function ascii(text) {
  return { type: TYPE.ASCII, count: text.length + 1, data: Buffer.from(`${text}\0`, 'latin1') }
}

function short(value) {
  const data = Buffer.alloc(2)
  data.writeUInt16LE(value)
  return { type: TYPE.SHORT, count: 1, data }
}

function long(value) {
  const data = Buffer.alloc(4)
  data.writeUInt32LE(value)
  return { type: TYPE.LONG, count: 1, data }
}

function rationals(pairs) {
  const data = Buffer.alloc(8 * pairs.length)
  pairs.forEach(([num, den], k) => {
    data.writeUInt32LE(num, 8 * k)
    data.writeUInt32LE(den, 8 * k + 4)
  })
  return { type: TYPE.RATIONAL, count: pairs.length, data }
}

function raw(type, bytes) {
  return { type, count: bytes.length, data: Buffer.from(bytes) }
}

/** Bytes an IFD takes with its out-of-line values; entries are [tag, value]. */
function ifdSize(entries) {
  return 2 + 12 * entries.length + 4 + entries.reduce((sum, [, v]) => sum + outOfLineSize(v), 0)
}

function outOfLineSize({ data }) {
  return data.length <= 4 ? 0 : data.length + (data.length % 2)
}

/** One IFD (no next IFD) at TIFF offset `at`, its longer values right after it. */
function encodeIfd(entries, at) {
  const out = Buffer.alloc(ifdSize(entries))
  out.writeUInt16LE(entries.length, 0)
  let extra = 2 + 12 * entries.length + 4
  ;[...entries].sort((a, b) => a[0] - b[0]).forEach(([tag, { type, count, data }], k) => {
    const e = 2 + 12 * k
    out.writeUInt16LE(tag, e)
    out.writeUInt16LE(type, e + 2)
    out.writeUInt32LE(count, e + 4)
    if (data.length <= 4) {
      data.copy(out, e + 8)
    } else {
      out.writeUInt32LE(at + extra, e + 8)
      data.copy(out, extra)
      extra += data.length + (data.length % 2)
    }
  })
  return out
}

/** "±HH:MM" as minutes east of UTC. */
function offsetMinutes(offset) {
  const m = /^([+-])(\d\d):(\d\d)$/.exec(offset)
  if (!m) throw new Error(`bad offset ${offset}`)
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]))
}

/** EXIF "YYYY:MM:DD HH:MM:SS": the wall-clock time at `offset` of the instant `takenAt`. */
function exifDateTime(takenAt, offset) {
  const local = new Date(takenAt.getTime() + offsetMinutes(offset) * 60_000)
  const p = (v) => String(v).padStart(2, '0')
  return `${local.getUTCFullYear()}:${p(local.getUTCMonth() + 1)}:${p(local.getUTCDate())} ${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}`
}

/** |degrees| as degrees, minutes and seconds (to 1/10000 s) rationals. */
function dms(degrees) {
  const units = Math.round(Math.abs(degrees) * 3600 * 10_000) // 1/10000 arc-seconds
  return rationals([
    [Math.floor(units / 36_000_000), 1],
    [Math.floor((units % 36_000_000) / 600_000), 1],
    [units % 600_000, 10_000],
  ])
}

function gpsEntries({ lat, lon }) {
  return [
    [0x0000, raw(TYPE.BYTE, [2, 2, 0, 0])], // GPSVersionID
    [0x0001, ascii(lat < 0 ? 'S' : 'N')],
    [0x0002, dms(lat)],
    [0x0003, ascii(lon < 0 ? 'W' : 'E')],
    [0x0004, dms(lon)],
  ]
}

function exifEntries(takenAt, offset) {
  const when = exifDateTime(takenAt, offset)
  return [
    [0x9000, raw(TYPE.UNDEFINED, Buffer.from('0232'))], // ExifVersion 2.32 (has the offset tags)
    [0x9003, ascii(when)], // DateTimeOriginal
    [0x9004, ascii(when)], // DateTimeDigitized
    [0x9011, ascii(offset)], // OffsetTimeOriginal
    [0x9012, ascii(offset)], // OffsetTimeDigitized
  ]
}

/**
 * The APP1 segment (FFE1, length, "Exif\0\0", little-endian TIFF) for a photo by "CloudVault"
 * "E2E Cam", upright; with DateTimeOriginal/OffsetTimeOriginal when `takenAt` is given (to the
 * whole second) and a GPS position when `gps` ({ lat, lon } in signed degrees) is.
 */
export function exifBlock({ takenAt = null, offset = '+00:00', gps = null } = {}) {
  const subIfds = [takenAt && [0x8769, exifEntries(takenAt, offset)], gps && [0x8825, gpsEntries(gps)]].filter(Boolean)
  const ifd0 = [[0x010f, ascii('CloudVault')], [0x0110, ascii('E2E Cam')], [0x0112, short(1)], ...subIfds.map(([tag]) => [tag, long(0)])]
  // Header, IFD0 at 8, then each sub-IFD; pointers are inline, so setting them keeps IFD0's size.
  let at = 8 + ifdSize(ifd0)
  const encoded = subIfds.map(([tag, entries]) => {
    ifd0.find(([t]) => t === tag)[1] = long(at)
    const bytes = encodeIfd(entries, at)
    at += bytes.length
    return bytes
  })
  const header = Buffer.from('II*\0\x08\0\0\0', 'latin1') // little-endian TIFF, IFD0 at 8
  const tiff = Buffer.concat([header, encodeIfd(ifd0, 8), ...encoded])
  const head = Buffer.alloc(10)
  head.writeUInt16BE(0xffe1, 0)
  head.writeUInt16BE(2 + 6 + tiff.length, 2)
  head.write('Exif\0\0', 4, 'latin1')
  return Buffer.concat([head, tiff])
}

/**
 * One JPEG: base picture `base` (of 8, taken modulo 8) with exifBlock({ takenAt, offset, gps }) right after SOI.
 * With neither takenAt nor gps it has no EXIF at all.
 */
export function makePhoto({ takenAt = null, offset = '+00:00', gps = null, base = 0 } = {}) {
  const jpeg = baseJpegs()[base % BASE_SOURCES.length]
  if (!takenAt && !gps) return jpeg
  return Buffer.concat([jpeg.subarray(0, 2), exifBlock({ takenAt, offset, gps }), jpeg.subarray(2)])
}

/** Seeded PRNG in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * n JPEG photos: [{ name, bytes: Buffer, takenAt: Date | null, place: {cc, city} | null }],
 * the same for the same arguments. Capture times (whole seconds, offset +00:00) are spread over
 * the `months` months before `newest`; every 100th photo (i % 100 === 99) has no EXIF; about one
 * in five of the others was taken in one of CITIES.
 */
export function makeLibrary(n, { seed = 1, newest = new Date(Date.UTC(2026, 10, 20, 12)), months = 36 } = {}) {
  const random = mulberry32(seed)
  const end = newest.getTime()
  const oldest = new Date(end)
  oldest.setUTCMonth(oldest.getUTCMonth() - months)
  const span = end - oldest.getTime()
  return Array.from({ length: n }, (_, i) => {
    const name = `IMG_${String(i).padStart(5, '0')}.jpg`
    const when = Math.floor((end - random() * span) / 1000) * 1000
    const city = random() < 0.2 ? CITIES[Math.floor(random() * CITIES.length)] : null
    if (i % 100 === 99) return { name, bytes: makePhoto({ base: i }), takenAt: null, place: null }
    const takenAt = new Date(when)
    return { name, bytes: makePhoto({ takenAt, gps: city, base: i }), takenAt, place: city && { cc: city.cc, city: city.city } }
  })
}
