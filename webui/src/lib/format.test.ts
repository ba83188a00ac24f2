import { describe, expect, it } from 'vitest'
import { formatAgo, formatBytes, formatDuration, formatExpiry, parseSize, percent, toDate } from './format'

describe('formatBytes', () => {
  it('uses decimal units like the quota settings', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(999)).toBe('999 B')
    expect(formatBytes(1000)).toBe('1.00 KB')
    expect(formatBytes(250_000_000)).toBe('250 MB')
    expect(formatBytes(10 * 1000 ** 3)).toBe('10.0 GB')
    expect(formatBytes(-1)).toBe('—')
  })
})

describe('percent', () => {
  it('is clamped and never NaN', () => {
    expect(percent(50, 200)).toBe(25)
    expect(percent(5, 0)).toBe(0)
    expect(percent(300, 200)).toBe(100)
    expect(percent(NaN, 10)).toBe(0)
  })
})

describe('parseSize', () => {
  it('reads what an admin types', () => {
    expect(parseSize('50GB')).toBe(50e9)
    expect(parseSize('1.5 TB')).toBe(1.5e12)
    expect(parseSize('512MiB')).toBe(512 * 1024 ** 2)
    expect(parseSize('1000')).toBe(1000)
    expect(parseSize('lots')).toBeNull()
    expect(parseSize('5 XB')).toBeNull()
  })
})

describe('formatExpiry', () => {
  it('says when, in words', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(formatExpiry('2025-12-31T00:00:00Z', now)).toBe('expired')
    expect(formatExpiry('2026-01-01T00:30:00Z', now)).toBe('in 30 min')
    expect(formatExpiry('2026-01-01T05:00:00Z', now)).toBe('in 5 hours')
    expect(formatExpiry('2026-01-08T00:00:00Z', now)).toBe('in 7 days')
  })
})

describe('server times', () => {
  it('reads milliseconds and RFC 3339 alike', () => {
    expect(toDate(1_700_000_000_000)?.toISOString()).toBe('2023-11-14T22:13:20.000Z')
    expect(toDate('1700000000000')?.toISOString()).toBe('2023-11-14T22:13:20.000Z')
    expect(toDate('2023-11-14T22:13:20Z')?.getTime()).toBe(1_700_000_000_000)
    expect(toDate('soon')).toBeNull()
    expect(toDate(null)).toBeNull()
  })

  it('says how long ago an item was deleted', () => {
    const now = 1_700_000_000_000
    expect(formatAgo(now - 10_000, now)).toBe('just now')
    expect(formatAgo(now - 5 * 60_000, now)).toBe('5 min ago')
    expect(formatAgo(now - 3600_000, now)).toBe('1 hour ago')
    expect(formatAgo(now - 3 * 3600_000, now)).toBe('3 hours ago')
    expect(formatAgo(now - 30 * 3600_000, now)).toBe('yesterday')
    expect(formatAgo(now - 4 * 86_400_000, now)).toBe('4 days ago')
    expect(formatAgo(now - 40 * 86_400_000, now)).toMatch(/2023/)
    expect(formatAgo(undefined, now)).toBe('—')
  })
})

describe('formatDuration', () => {
  it('reads like a player', () => {
    expect(formatDuration(7_400)).toBe('0:07')
    expect(formatDuration(245_000)).toBe('4:05')
    expect(formatDuration(3_723_000)).toBe('1:02:03')
    expect(formatDuration(0)).toBe('0:00')
    expect(formatDuration(null)).toBeNull()
    expect(formatDuration(undefined)).toBeNull()
  })
})
