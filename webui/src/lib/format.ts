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
