// Renders only the rows of a long folder that are on screen (a folder of thousands of files
// stays fast): fixed-height rows, columns from the container's width, window scrolling.
import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react'

const GAP = 12
const OVERSCAN = 3

export interface Layout {
  cols: number
  cellWidth: number
  rowHeight: number
}

export function gridLayout(width: number, view: 'grid' | 'list'): Layout {
  if (view === 'list' || width <= 0) return { cols: 1, cellWidth: Math.max(0, width), rowHeight: 56 }
  const min = width < 500 ? 150 : 180
  const cols = Math.max(2, Math.floor((width + GAP) / (min + GAP)))
  const cellWidth = (width - GAP * (cols - 1)) / cols
  return { cols, cellWidth, rowHeight: Math.round(cellWidth + 56) }
}

/** Rows [first, last) to render for a viewport over a list starting at `top` (page coordinates). */
export function visibleRows(scrollY: number, viewport: number, top: number, rowHeight: number, rows: number): [number, number] {
  if (rowHeight <= 0) return [0, Math.min(rows, 20)]
  const first = Math.max(0, Math.floor((scrollY - top) / rowHeight) - OVERSCAN)
  const last = Math.min(rows, Math.ceil((scrollY + viewport - top) / rowHeight) + OVERSCAN)
  return [first, Math.max(first, last)]
}

export interface Cell {
  /** The item's own key (its file id), never its position: when a listing changes under a
   *  cell (a sort, a delete, a page arriving), React must not hand one file's cell, with its
   *  thumbnail state, to another file. */
  key: string
  index: number
  row: number
  col: number
}

/** The cells of rows [first, last) in a grid of `cols` columns. */
export function visibleCells<T>(items: readonly T[], range: [number, number], cols: number, keyOf: (item: T) => string): Cell[] {
  const out: Cell[] = []
  for (let row = range[0]; row < range[1]; row++) {
    for (let col = 0; col < cols; col++) {
      const index = row * cols + col
      if (index >= items.length) return out
      out.push({ key: keyOf(items[index]), index, row, col })
    }
  }
  return out
}

export function VirtualItems<T>({
  items,
  view,
  render,
  label,
  keyOf,
}: {
  items: T[]
  view: 'grid' | 'list'
  render: (item: T, index: number, width: number) => ReactNode
  label: string
  keyOf: (item: T) => string
}) {
  const ref = useRef<HTMLDivElement>(null)
  const [width, setWidth] = useState(0)
  const [range, setRange] = useState<[number, number]>([0, 30])
  const layout = gridLayout(width, view)
  const rows = Math.ceil(items.length / layout.cols)

  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    setWidth(el.clientWidth)
    const ro = new ResizeObserver(() => setWidth(el.clientWidth))
    ro.observe(el)
    return () => ro.disconnect()
  }, [])

  useEffect(() => {
    const update = () => {
      const el = ref.current
      if (!el) return
      const top = el.getBoundingClientRect().top + window.scrollY
      const next = visibleRows(window.scrollY, window.innerHeight, top, layout.rowHeight, rows)
      setRange((r) => (r[0] === next[0] && r[1] === next[1] ? r : next))
    }
    update()
    window.addEventListener('scroll', update, { passive: true })
    window.addEventListener('resize', update)
    return () => {
      window.removeEventListener('scroll', update)
      window.removeEventListener('resize', update)
    }
  }, [layout.rowHeight, rows])

  const cells = visibleCells(items, range, layout.cols, keyOf).map(({ key, index, row, col }) => (
    <div
      key={key}
      role="listitem"
      className="absolute"
      style={{
        top: row * layout.rowHeight,
        left: view === 'grid' ? col * (layout.cellWidth + GAP) : 0,
        width: layout.cellWidth,
        height: layout.rowHeight - (view === 'grid' ? GAP : 4),
      }}
    >
      {render(items[index], index, layout.cellWidth)}
    </div>
  ))
  return (
    <div ref={ref} role="list" aria-label={label} className="relative w-full" style={{ height: rows * layout.rowHeight }}>
      {width > 0 && cells}
    </div>
  )
}
