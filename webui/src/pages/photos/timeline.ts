// The timeline's layout, without React: months (from the buckets, with their counts) split into
// days and rows of square tiles, as absolutely placed blocks with their heights, so the page
// draws only the blocks near the screen however many photos there are. A month's items arrive
// in pages; the part not loaded yet is one "rest" block of its estimated height, and coming near
// it asks for the next page.
import type { FileItem, PhotoBucket } from '../../api/types'

export const GAP = 4
export const MONTH_HEIGHT = 52
export const DAY_HEIGHT = 34

/** What is loaded of a month: its items so far (newest first) and the cursor of the rest. */
export interface MonthItems {
  items: FileItem[]
  cursor: string | null
}

export type Block =
  | { kind: 'month'; key: string; top: number; height: number; month: string; count: number }
  | { kind: 'day'; key: string; top: number; height: number; month: string; day: string; items: FileItem[] }
  | { kind: 'row'; key: string; top: number; height: number; month: string; items: FileItem[] }
  | { kind: 'rest'; key: string; top: number; height: number; month: string }

export interface Grid {
  cols: number
  cell: number
}

/** Columns and the tile's side for a width: small tiles on phones, about 160 px on desktops. */
export function gridFor(width: number): Grid {
  const target = width < 640 ? 96 : 160
  const cols = Math.max(3, Math.round((width + GAP) / (target + GAP)))
  return { cols, cell: Math.max(1, (width - GAP * (cols - 1)) / cols) }
}

/** The local day (YYYY-MM-DD) a photo belongs to: when it was taken, else its file's time. */
export function dayOf(f: FileItem): string {
  const d = new Date(f.media?.taken_at ?? f.modified_at)
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

/** Items in runs of the same day, in their order. */
export function byDay(items: FileItem[]): [string, FileItem[]][] {
  const out: [string, FileItem[]][] = []
  for (const f of items) {
    const k = dayOf(f)
    const last = out[out.length - 1]
    if (last && last[0] === k) last[1].push(f)
    else out.push([k, [f]])
  }
  return out
}

/** Every block of the timeline and its whole height. `shown(items)` is what a month's loaded
 *  items show as (Live Photo clips hidden); `count` of the bucket stays the server's. */
export function layoutTimeline(buckets: PhotoBucket[], loaded: ReadonlyMap<string, MonthItems>, grid: Grid, shown: (items: FileItem[]) => FileItem[] = (i) => i): { blocks: Block[]; height: number } {
  const row = grid.cell + GAP
  const blocks: Block[] = []
  let top = 0
  const push = (b: Block) => {
    blocks.push(b)
    top += b.height
  }
  for (const b of buckets) {
    push({ kind: 'month', key: `m:${b.month}`, top, height: MONTH_HEIGHT, month: b.month, count: b.count })
    const got = loaded.get(b.month)
    const items = got ? shown(got.items) : []
    for (const [day, dayItems] of byDay(items)) {
      push({ kind: 'day', key: `d:${day}`, top, height: DAY_HEIGHT, month: b.month, day, items: dayItems })
      for (let i = 0; i < dayItems.length; i += grid.cols) {
        const slice = dayItems.slice(i, i + grid.cols)
        push({ kind: 'row', key: `r:${slice[0].id}`, top, height: row, month: b.month, items: slice })
      }
    }
    // The part not loaded yet: all of it before the first page, else what the cursor has left.
    const rest = got ? (got.cursor ? Math.max(1, b.count - (got.items.length)) : 0) : b.count
    if (rest > 0) push({ kind: 'rest', key: `s:${b.month}`, top, height: (got ? 0 : DAY_HEIGHT) + Math.ceil(rest / grid.cols) * row, month: b.month })
  }
  return { blocks, height: top }
}

/** Index of the first block whose bottom is below `y` (blocks are sorted by top). */
function firstEndingAfter(blocks: Block[], y: number): number {
  let lo = 0
  let hi = blocks.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (blocks[mid].top + blocks[mid].height <= y) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The blocks that meet [from, to) (positions inside the timeline). */
export function blocksIn(blocks: Block[], from: number, to: number): Block[] {
  const out: Block[] = []
  for (let i = firstEndingAfter(blocks, from); i < blocks.length && blocks[i].top < to; i++) out.push(blocks[i])
  return out
}

/** The month heading at or above `y`: what the scrubber marks, and the anchor that keeps the
 *  view still while months above it load and change height. */
export function monthAt(blocks: Block[], y: number): Block | null {
  let found: Block | null = null
  for (let i = Math.min(firstEndingAfter(blocks, y), blocks.length - 1); i >= 0; i--) {
    if (blocks[i].kind === 'month') {
      found = blocks[i]
      break
    }
  }
  return found
}

/** Items of the loaded months in timeline order (for a range selected with Shift). */
export function loadedInOrder(buckets: PhotoBucket[], loaded: ReadonlyMap<string, MonthItems>, shown: (items: FileItem[]) => FileItem[] = (i) => i): FileItem[] {
  const out: FileItem[] = []
  for (const b of buckets) {
    const got = loaded.get(b.month)
    if (got) for (const f of shown(got.items)) out.push(f)
  }
  return out
}

/** The items from `a` to `b` (either order) of `order`; empty when one is not there. */
export function rangeBetween(order: FileItem[], a: string, b: string): FileItem[] {
  const i = order.findIndex((f) => f.id === a)
  const j = order.findIndex((f) => f.id === b)
  if (i < 0 || j < 0) return []
  return order.slice(Math.min(i, j), Math.max(i, j) + 1)
}

/** The timeline without `ids` (deleted): items taken out, bucket counts lowered, empty months gone. */
export function without(buckets: PhotoBucket[], loaded: ReadonlyMap<string, MonthItems>, ids: ReadonlySet<string>): { buckets: PhotoBucket[]; loaded: Map<string, MonthItems> } {
  const next = new Map<string, MonthItems>()
  const out: PhotoBucket[] = []
  for (const b of buckets) {
    const got = loaded.get(b.month)
    let count = b.count
    if (got) {
      const items = got.items.filter((f) => !ids.has(f.id))
      count -= got.items.length - items.length
      next.set(b.month, { items, cursor: got.cursor })
    }
    if (count > 0) out.push({ ...b, count })
  }
  return { buckets: out, loaded: next }
}
