// Human-readable sizes, dates and percentages.

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']

/** Decimal units, as disks and the quota settings ("50GB") use them. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—'
  if (n < 1000) return `${n} B`
  let i = 0
  let v = n
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000
    i++
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${UNITS[i]}`
}

/** 0..100, never NaN, for progress and quota bars. */
export function percent(part: number, whole: number): number {
  if (!whole || whole <= 0 || !Number.isFinite(part)) return 0
  return Math.max(0, Math.min(100, (part / whole) * 100))
}

export function formatDate(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return '—'
  const sameDay = d.toDateString() === now.toDateString()
  if (sameDay) return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
  const sameYear = d.getFullYear() === now.getFullYear()
  return d.toLocaleDateString(undefined, sameYear ? { month: 'short', day: 'numeric' } : { year: 'numeric', month: 'short', day: 'numeric' })
}

/** "in 3 days", "in 5 hours", "expired" — for invite codes and uploads. */
export function formatExpiry(iso: string, now: number = Date.now()): string {
  const ms = new Date(iso).getTime() - now
  if (!Number.isFinite(ms)) return '—'
  if (ms <= 0) return 'expired'
  const h = ms / 3_600_000
  if (h < 1) return `in ${Math.max(1, Math.round(ms / 60_000))} min`
  if (h < 48) return `in ${Math.round(h)} hours`
  return `in ${Math.round(h / 24)} days`
}

/** Parses "50GB", "1.5 TB", "500MB" or a plain number of bytes; null when unreadable. */
export function parseSize(text: string): number | null {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)?$/i)
  if (!m) return null
  const value = parseFloat(m[1])
  const unit = (m[2] || 'b').toLowerCase()
  const binary = unit.includes('i')
  const power = 'bkmgtp'.indexOf(unit[0] === 'b' ? 'b' : unit[0])
  if (power < 0) return null
  return Math.round(value * Math.pow(binary ? 1024 : 1000, power))
}

/** A server time as a Date: milliseconds since the epoch or an RFC 3339 string. */
export function toDate(v: number | string | null | undefined): Date | null {
  if (v === null || v === undefined || v === '') return null
  const d = typeof v === 'number' ? new Date(v) : /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v)
  return Number.isNaN(d.getTime()) ? null : d
}

/** "3 Dec 2026, 14:05": a moment the user may need to tell apart from another one that day. */
export function formatDateTime(v: number | string | null | undefined): string {
  const d = toDate(v)
  if (!d) return '—'
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

/** "just now", "5 min ago", "3 hours ago", "yesterday", "4 days ago", then the date. */
export function formatAgo(v: number | string | null | undefined, now: number = Date.now()): string {
  const d = toDate(v)
  if (!d) return '—'
  const s = Math.max(0, (now - d.getTime()) / 1000)
  if (s < 45) return 'just now'
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`
  if (s < 86_400) return `${Math.round(s / 3600)} hour${Math.round(s / 3600) === 1 ? '' : 's'} ago`
  const days = Math.floor(s / 86_400)
  if (days === 1) return 'yesterday'
  if (days < 30) return `${days} days ago`
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' })
}

/** A video's length as players show it: "0:07", "4:05", "1:02:03"; null when unknown. */
export function formatDuration(ms: number | null | undefined): string | null {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return null
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}
