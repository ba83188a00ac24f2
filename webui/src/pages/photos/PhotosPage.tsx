// Photos: every picture and video of the user, newest first by when it was taken, under month
// headings, by day, with a scrubber of years and months at the side to jump. The page is laid out
// from the month buckets (timeline.ts) and draws only the blocks near the screen; months load in
// pages as they come near, and the view stays put while months above it change height. Select
// with the round button (Shift for a range, a day's heading for the whole day) to download, add
// to an album, share or delete. "On this day" shows earlier years' photos of today.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react'
import { thumbnailUrl } from '../../api/routes'
import type { FileItem, OnThisDay, PhotoBucket } from '../../api/types'
import { ErrorText, PageTitle, Spinner } from '../../components/ui'
import { hideLiveClips } from '../../lib/live'
import { Link } from '../../lib/router'
import { api } from '../../store/app'
import { PhotoTile, SelectionBar, useSelection, type Selection } from './PhotoSelection'
import { GAP, blocksIn, gridFor, layoutTimeline, loadedInOrder, monthAt, without, type Block, type MonthItems } from './timeline'

/** Minutes east of UTC, as the API wants it. */
const TZ = -new Date().getTimezoneOffset()
const PAGE = 500
/** How far beyond the screen blocks are drawn, and months loaded (px). */
const OVERSCAN = 800
/** The sticky header's height: the timeline shows from there down. */
const HEADER = 56

function monthLabel(month: string): string {
  const [y, m] = month.split('-').map(Number)
  return new Date(y, m - 1, 1).toLocaleDateString(undefined, { month: 'long', year: 'numeric' })
}

function dayLabel(key: string): string {
  const [y, m, d] = key.split('-').map(Number)
  return new Date(y, m - 1, d).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'long', year: 'numeric' })
}

const viewHref = (f: FileItem) => `/view/${f.id}?in=photos`

/** The page's width (the timeline's container), followed as the window changes. */
function useWidth(ref: React.RefObject<HTMLElement | null>): number {
  const [w, setW] = useState(0)
  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    setW(el.clientWidth)
    const ro = new ResizeObserver(() => setW(el.clientWidth))
    ro.observe(el)
    return () => ro.disconnect()
  }, [ref])
  return w
}

/** [top, bottom) of the screen in the timeline's coordinates, followed as the page scrolls. */
function useViewport(ref: React.RefObject<HTMLElement | null>, deps: unknown[]): [number, number] {
  const [view, setView] = useState<[number, number]>([0, 1000])
  useEffect(() => {
    const update = () => {
      const el = ref.current
      if (!el) return
      const top = -el.getBoundingClientRect().top
      setView((v) => (Math.abs(v[0] - top) < 40 && v[1] - v[0] === window.innerHeight ? v : [top, top + window.innerHeight]))
    }
    update()
    window.addEventListener('scroll', update, { passive: true })
    window.addEventListener('resize', update)
    return () => {
      window.removeEventListener('scroll', update)
      window.removeEventListener('resize', update)
    }
  }, deps) // eslint-disable-line react-hooks/exhaustive-deps
  return view
}

function BlockView({ b, selection, cell, cols }: { b: Block; selection: Selection; cell: number; cols: number }) {
  const selecting = selection.chosen.size > 0
  const style = { top: b.top, height: b.height }
  if (b.kind === 'month')
    return (
      <h2 className="absolute inset-x-0 flex items-end pb-2 text-lg font-semibold" style={style} id={`month-${b.month}`} data-testid="photo-month" data-month={b.month}>
        {monthLabel(b.month)} <span className="ml-2 text-sm font-normal text-slate-500">{b.count}</span>
      </h2>
    )
  if (b.kind === 'day') {
    const all = b.items.every((f) => selection.chosen.has(f.id))
    return (
      <div className="absolute inset-x-0 flex items-center gap-2 text-sm text-slate-600" style={style}>
        <h3>{dayLabel(b.day)}</h3>
        <button type="button" className={`rounded px-1.5 text-xs text-sky-700 hover:bg-sky-100 ${selecting ? '' : 'opacity-60'}`} onClick={() => selection.setMany(b.items, !all)} aria-label={`${all ? 'Unselect' : 'Select'} ${dayLabel(b.day)}`}>
          {all ? 'Unselect day' : 'Select day'}
        </button>
      </div>
    )
  }
  if (b.kind === 'rest') return <div className="absolute inset-x-0 rounded bg-slate-100/70" style={style} aria-hidden data-testid="photo-rest" />
  return (
    <div className="absolute inset-x-0 flex" style={{ ...style, gap: GAP }} role="list">
      {b.items.slice(0, cols).map((f) => (
        <div key={f.id} role="listitem">
          <PhotoTile f={f} href={viewHref(f)} selected={selection.chosen.has(f.id)} selecting={selecting} onToggle={selection.toggle} size={cell} />
        </div>
      ))}
    </div>
  )
}

function Scrubber({ buckets, current, onJump }: { buckets: PhotoBucket[]; current: string | null; onJump: (month: string) => void }) {
  const years = useMemo(() => {
    const out: [string, PhotoBucket[]][] = []
    for (const b of buckets) {
      const y = b.month.slice(0, 4)
      const last = out[out.length - 1]
      if (last && last[0] === y) last[1].push(b)
      else out.push([y, [b]])
    }
    return out
  }, [buckets])
  return (
    <nav aria-label="Timeline scrubber" className="fixed right-1 top-20 bottom-4 z-20 w-14 overflow-y-auto text-right text-xs" data-testid="scrubber">
      {years.map(([y, months]) => (
        <div key={y} className="mb-1">
          <button type="button" className={`font-semibold hover:underline ${current?.startsWith(y) ? 'text-sky-800' : 'text-slate-800'}`} onClick={() => onJump(months[0].month)}>
            {y}
          </button>
          {months.map((m) => (
            <button key={m.month} type="button" className={`block w-full ${current === m.month ? 'font-semibold text-sky-800' : 'text-slate-500 hover:text-slate-900'}`} onClick={() => onJump(m.month)} aria-label={monthLabel(m.month)} aria-current={current === m.month ? 'true' : undefined}>
              {new Date(Number(y), Number(m.month.slice(5)) - 1, 1).toLocaleDateString(undefined, { month: 'short' })}
            </button>
          ))}
        </div>
      ))}
    </nav>
  )
}

function OnThisDayStrip({ memories }: { memories: OnThisDay }) {
  const now = new Date().getFullYear()
  return (
    <section aria-label="On this day" className="mb-4" data-testid="on-this-day">
      <h2 className="mb-2 font-semibold">On this day</h2>
      <div className="flex gap-3 overflow-x-auto pb-2">
        {memories.years.map((y) => (
          <div key={y.year} className="shrink-0">
            <p className="mb-1 text-sm text-slate-600">
              {now - y.year} year{now - y.year === 1 ? '' : 's'} ago
            </p>
            <div className="flex gap-1">
              {y.items.slice(0, 6).map((f) => (
                <Link key={f.id} href={viewHref(f)} className="block h-28 w-28 overflow-hidden rounded bg-slate-100" aria-label={f.name}>
                  <img src={thumbnailUrl(f.id, 'small')} alt="" className="h-full w-full object-cover" />
                </Link>
              ))}
            </div>
          </div>
        ))}
      </div>
    </section>
  )
}

/** Loads the next page of each month whose unloaded part is near the screen, one at a time per month. */
function useMonthLoader(visible: Block[], loaded: Map<string, MonthItems>, setLoaded: (f: (m: Map<string, MonthItems>) => Map<string, MonthItems>) => void) {
  const busy = useRef(new Set<string>())
  const [error, setError] = useState<unknown>(null)
  useEffect(() => {
    for (const b of visible) {
      if (b.kind !== 'rest' || busy.current.has(b.month)) continue
      const month = b.month
      const got = loaded.get(month)
      busy.current.add(month)
      api
        .photos({ month }, TZ, got?.cursor ?? null, PAGE)
        .then((page) =>
          setLoaded((m) => {
            const n = new Map(m)
            const before = n.get(month)
            n.set(month, { items: (before?.items ?? []).concat(page.items), cursor: page.next_cursor })
            return n
          }),
        )
        .catch(setError)
        .finally(() => busy.current.delete(month))
    }
  }, [visible, loaded, setLoaded])
  return error
}

export default function PhotosPage() {
  const [buckets, setBuckets] = useState<PhotoBucket[] | null>(null)
  const [loaded, setLoaded] = useState<Map<string, MonthItems>>(new Map())
  const [memories, setMemories] = useState<OnThisDay | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [reload, setReload] = useState(0)
  const box = useRef<HTMLDivElement>(null)
  const width = useWidth(box)
  const grid = gridFor(width || 800)

  useEffect(() => {
    setLoaded(new Map())
    api
      .photoBuckets(TZ)
      .then((b) => setBuckets(b.buckets))
      .catch(setError)
    api
      .onThisDay(TZ)
      .then(setMemories)
      .catch(() => setMemories(null))
  }, [reload])

  const { blocks, height } = useMemo(() => layoutTimeline(buckets ?? [], loaded, grid, hideLiveClips), [buckets, loaded, grid.cols, grid.cell]) // eslint-disable-line react-hooks/exhaustive-deps
  const view = useViewport(box, [buckets === null])
  const visible = useMemo(() => blocksIn(blocks, view[0] - OVERSCAN, view[1] + OVERSCAN), [blocks, view])
  const loadError = useMonthLoader(visible, loaded, setLoaded)

  // Months above the screen that load change height: move the page by as much, so what is on
  // screen stays there. The anchor is the month at the top of the screen (under the header): a
  // month above it that loads moves its heading, one that loads below it or itself does not.
  const anchor = useRef<{ key: string; top: number } | null>(null)
  useLayoutEffect(() => {
    const a = anchor.current
    const now = a && blocks.find((b) => b.key === a.key)
    if (a && now && now.top !== a.top) window.scrollBy(0, now.top - a.top)
    const top = box.current ? HEADER - box.current.getBoundingClientRect().top : 0
    const m = monthAt(blocks, Math.max(0, top))
    anchor.current = m ? { key: m.key, top: m.top } : null
  }, [blocks, view])

  const order = useCallback(() => loadedInOrder(buckets ?? [], loaded, hideLiveClips), [buckets, loaded])
  const selection = useSelection(order)
  const chosen = [...selection.chosen.values()]

  const jump = useCallback(
    (month: string) => {
      const b = blocks.find((x) => x.key === `m:${month}`)
      if (!b || !box.current) return
      const boxTop = box.current.getBoundingClientRect().top + window.scrollY
      anchor.current = null
      window.scrollTo({ top: b.top === 0 ? 0 : boxTop + b.top - HEADER })
    },
    [blocks],
  )

  const forget = (ids: Set<string>) => {
    const next = without(buckets ?? [], loaded, ids)
    setBuckets(next.buckets)
    setLoaded(next.loaded)
  }

  if (error) return <ErrorText error={error} />
  const current = monthAt(blocks, Math.max(0, view[0] + HEADER))
  return (
    <div className="relative pr-14">
      <PageTitle
        actions={
          <>
            <Link href="/albums" className="btn">Albums</Link>
            <Link href="/places" className="btn">Places</Link>
          </>
        }
      >
        Photos
      </PageTitle>
      <SelectionBar chosen={chosen} onClear={selection.clear} onGone={forget} onBack={() => setReload((r) => r + 1)} />
      {memories && memories.years.length > 0 && <OnThisDayStrip memories={memories} />}
      <ErrorText error={loadError} />
      {!buckets && <Spinner />}
      {buckets && buckets.length === 0 && (
        <p className="card text-sm text-slate-600">
          No photos or videos yet. Upload some on the{' '}
          <Link href="/files" className="link">
            Files
          </Link>{' '}
          page, or let a phone or rclone copy them in.
        </p>
      )}
      <div ref={box} className="relative" style={{ height }} data-testid="timeline">
        {width > 0 && visible.map((b) => <BlockView key={b.key} b={b} selection={selection} cell={grid.cell} cols={grid.cols} />)}
      </div>
      {buckets && buckets.length > 0 && (
        // Room below the oldest month, so the scrubber can bring any month to the top.
        <p className="pt-6 text-center text-sm text-slate-500" style={{ minHeight: '100vh' }}>
          The beginning: {buckets.reduce((n, b) => n + b.count, 0)} photos and videos.
        </p>
      )}
      {buckets && buckets.length > 0 && <Scrubber buckets={buckets} current={current?.kind === 'month' ? current.month : null} onJump={jump} />}
    </div>
  )
}
