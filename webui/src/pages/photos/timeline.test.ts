import { describe, expect, it } from 'vitest'
import type { FileItem, PhotoBucket } from '../../api/types'
import { DAY_HEIGHT, GAP, MONTH_HEIGHT, blocksIn, byDay, gridFor, layoutTimeline, loadedInOrder, monthAt, rangeBetween, without, type MonthItems } from './timeline'

/** A photo taken at local time `y-m-d h:00`. */
function photo(id: string, y: number, m: number, d: number, h = 12): FileItem {
  const at = new Date(y, m - 1, d, h).toISOString()
  return { id, name: `${id}.jpg`, kind: 'file', parent_id: null, size: 1, content_type: 'image/jpeg', content_hash: null, etag: id, created_at: at, modified_at: at, has_thumbnail: true, media: { kind: 'image', taken_at: at } as FileItem['media'] }
}

const grid = { cols: 4, cell: 100 }
const ROW = 100 + GAP

describe('the timeline layout', () => {
  it('fits columns to the width, small tiles on phones', () => {
    expect(gridFor(390).cols).toBeGreaterThanOrEqual(4)
    expect(gridFor(1200).cols).toBe(7)
    const g = gridFor(1200)
    expect(g.cols * g.cell + (g.cols - 1) * GAP).toBeCloseTo(1200)
  })

  it('gives months not loaded yet their estimated height', () => {
    const buckets: PhotoBucket[] = [
      { month: '2024-02', count: 9 },
      { month: '2024-01', count: 4 },
    ]
    const { blocks, height } = layoutTimeline(buckets, new Map(), grid)
    expect(blocks.map((b) => b.kind)).toEqual(['month', 'rest', 'month', 'rest'])
    expect(blocks[1].height).toBe(DAY_HEIGHT + 3 * ROW)
    expect(blocks[2].top).toBe(MONTH_HEIGHT + DAY_HEIGHT + 3 * ROW)
    expect(height).toBe(2 * MONTH_HEIGHT + 2 * DAY_HEIGHT + 4 * ROW)
  })

  it('splits a loaded month into days and rows, and keeps a rest while pages remain', () => {
    const items = [photo('a', 2024, 2, 20), photo('b', 2024, 2, 20, 9), photo('c', 2024, 2, 20, 8), photo('d', 2024, 2, 20, 7), photo('e', 2024, 2, 20, 6), photo('f', 2024, 2, 3)]
    expect(byDay(items).map(([d, i]) => [d, i.length])).toEqual([
      ['2024-02-20', 5],
      ['2024-02-03', 1],
    ])
    const loaded = new Map<string, MonthItems>([['2024-02', { items, cursor: 'next' }]])
    const { blocks } = layoutTimeline([{ month: '2024-02', count: 14 }], loaded, grid)
    expect(blocks.map((b) => b.kind)).toEqual(['month', 'day', 'row', 'row', 'day', 'row', 'rest'])
    const rows = blocks.filter((b) => b.kind === 'row')
    expect(rows.map((r) => (r.kind === 'row' ? r.items.map((i) => i.id).join('') : ''))).toEqual(['abcd', 'e', 'f'])
    // 8 of the 14 still to come: two rows, no day heading of their own.
    expect(blocks[6].height).toBe(2 * ROW)
    // Loaded to the end: no rest.
    const done = layoutTimeline([{ month: '2024-02', count: 6 }], new Map([['2024-02', { items, cursor: null }]]), grid)
    expect(done.blocks.some((b) => b.kind === 'rest')).toBe(false)
  })

  it('finds the blocks near the screen and the month heading above a point', () => {
    const buckets = Array.from({ length: 50 }, (_, i) => ({ month: `20${String(70 - i).padStart(2, '0')}-01`, count: 40 }))
    const { blocks } = layoutTimeline(buckets, new Map(), grid)
    const per = MONTH_HEIGHT + DAY_HEIGHT + 10 * ROW
    const seen = blocksIn(blocks, per * 10 + 5, per * 10 + 400)
    expect(seen[0].kind).toBe('month')
    expect(seen[0].key).toBe(`m:${buckets[10].month}`)
    expect(seen.every((b) => b.top < per * 10 + 400 && b.top + b.height > per * 10 + 5)).toBe(true)
    expect(monthAt(blocks, per * 10 + 300)?.key).toBe(`m:${buckets[10].month}`)
    expect(monthAt(blocks, 0)?.key).toBe(`m:${buckets[0].month}`)
  })

  it('selects a range across months in timeline order, and forgets deleted items', () => {
    const buckets = [
      { month: '2024-02', count: 2 },
      { month: '2024-01', count: 2 },
    ]
    const loaded = new Map<string, MonthItems>([
      ['2024-02', { items: [photo('a', 2024, 2, 5), photo('b', 2024, 2, 1)], cursor: null }],
      ['2024-01', { items: [photo('c', 2024, 1, 9), photo('d', 2024, 1, 2)], cursor: null }],
    ])
    const order = loadedInOrder(buckets, loaded)
    expect(rangeBetween(order, 'c', 'a').map((f) => f.id)).toEqual(['a', 'b', 'c'])
    expect(rangeBetween(order, 'a', 'zz')).toEqual([])
    const after = without(buckets, loaded, new Set(['a', 'b', 'c']))
    expect(after.buckets).toEqual([{ month: '2024-01', count: 1 }])
    expect(after.loaded.get('2024-01')?.items.map((f) => f.id)).toEqual(['d'])
  })
})

describe('a library of 100,000 photos', () => {
  it('draws only a screenful of blocks wherever the page is scrolled', () => {
    const buckets: PhotoBucket[] = Array.from({ length: 120 }, (_, i) => ({ month: `${2016 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`, count: 834 + (i % 5) * 10 })).reverse()
    const loaded = new Map<string, MonthItems>()
    // Every month loaded, a photo every 2 hours from its first day on.
    for (const b of buckets) {
      const [y, m] = b.month.split('-').map(Number)
      loaded.set(b.month, { items: Array.from({ length: b.count }, (_, i) => photo(`${b.month}-${i}`, y, m, 1 + Math.floor(i / 12) % 28, 23 - (i % 12) * 2)), cursor: null })
    }
    const total = buckets.reduce((n, b) => n + b.count, 0)
    expect(total).toBeGreaterThanOrEqual(100_000)
    const g = gridFor(1200)
    const { blocks, height } = layoutTimeline(buckets, loaded, g)
    expect(blocks.filter((b) => b.kind === 'row').reduce((n, b) => n + (b.kind === 'row' ? b.items.length : 0), 0)).toBe(total)
    for (const y of [0, height / 3, height / 2, height - 900]) {
      const seen = blocksIn(blocks, y - 800, y + 900 + 800)
      expect(seen.length).toBeLessThan(40)
      expect(seen.reduce((n, b) => n + (b.kind === 'row' ? b.items.length : 0), 0)).toBeLessThan(200)
    }
  })
})
