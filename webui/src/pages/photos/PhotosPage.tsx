// Photos: every picture and video of the user, newest first by when it was taken, a section per
// month with the days under it, and a scrubber of years and months at the side to jump. Only the
// months near the screen are loaded and drawn (the others keep their estimated height), so the
// page stays light with a large library. "On this day" shows earlier years' photos of today.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { FileItem, OnThisDay, PhotoBucket } from '../../api/types'
import { Thumb, VideoBadge, LiveBadge } from '../../components/Thumb'
import { ErrorText, PageTitle, Spinner } from '../../components/ui'
import { hideLiveClips } from '../../lib/live'
import { Link } from '../../lib/router'
import { api } from '../../store/app'

/** Minutes east of UTC, as the API wants it. */
const TZ = -new Date().getTimezoneOffset()
const TILE = 132 // px, tile plus gap: for the height of a month not drawn yet
const DAY_HEADING = 32

function monthLabel(month: string): string {
  const [y, m] = month.split('-').map(Number)
  return new Date(y, m - 1, 1).toLocaleDateString(undefined, { month: 'long', year: 'numeric' })
}

function dayKey(f: FileItem): string {
  const d = new Date(f.media?.taken_at ?? f.modified_at)
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

function dayLabel(key: string): string {
  const [y, m, d] = key.split('-').map(Number)
  return new Date(y, m - 1, d).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'long', year: 'numeric' })
}

function Tile({ f }: { f: FileItem }) {
  return (
    <Link href={`/view/${f.id}`} className="relative block aspect-square overflow-hidden rounded bg-slate-100" aria-label={f.name} data-testid="photo-tile">
      <Thumb file={f} className="h-full w-full" />
      <VideoBadge file={f} compact />
      <LiveBadge file={f} compact />
    </Link>
  )
}

/** One month: a placeholder of its estimated height until it comes near the screen. */
function Month({ bucket, columns }: { bucket: PhotoBucket; columns: number }) {
  const ref = useRef<HTMLElement>(null)
  const [near, setNear] = useState(false)
  const [items, setItems] = useState<FileItem[] | null>(null)
  const [error, setError] = useState<unknown>(null)

  useEffect(() => {
    const el = ref.current
    if (!el) return
    const io = new IntersectionObserver((entries) => setNear(entries.some((e) => e.isIntersecting)), { rootMargin: '1200px 0px' })
    io.observe(el)
    return () => io.disconnect()
  }, [])

  useEffect(() => {
    if (!near || items) return
    const ctl = new AbortController()
    ;(async () => {
      let all: FileItem[] = []
      let cursor: string | null = null
      do {
        const page = await api.photos(bucket.month, TZ, cursor, ctl.signal)
        all = all.concat(page.items)
        cursor = page.next_cursor
      } while (cursor && !ctl.signal.aborted)
      setItems(hideLiveClips(all))
    })().catch((e) => (e as Error).name !== 'AbortError' && setError(e))
    return () => ctl.abort()
  }, [near, items, bucket.month])

  const days = useMemo(() => {
    const out: [string, FileItem[]][] = []
    for (const f of items ?? []) {
      const k = dayKey(f)
      if (out.length && out[out.length - 1][0] === k) out[out.length - 1][1].push(f)
      else out.push([k, [f]])
    }
    return out
  }, [items])

  const estimate = Math.ceil(bucket.count / columns) * TILE + DAY_HEADING * 2
  return (
    <section ref={ref} id={`month-${bucket.month}`} aria-label={monthLabel(bucket.month)} data-testid="photo-month" data-month={bucket.month} className="scroll-mt-16">
      <h2 className="sticky top-14 z-10 bg-slate-50/95 py-2 text-lg font-semibold">
        {monthLabel(bucket.month)} <span className="text-sm font-normal text-slate-500">{bucket.count}</span>
      </h2>
      <ErrorText error={error} />
      {near && items ? (
        days.map(([day, files]) => (
          <div key={day} className="mb-3">
            <h3 className="mb-1 text-sm text-slate-600">{dayLabel(day)}</h3>
            <div className="grid gap-1" style={{ gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))` }}>
              {files.map((f) => (
                <Tile key={f.id} f={f} />
              ))}
            </div>
          </div>
        ))
      ) : (
        <div style={{ height: estimate }} aria-hidden className="rounded bg-slate-100/60" />
      )}
    </section>
  )
}

function useColumns(): number {
  const get = () => Math.max(3, Math.min(10, Math.floor((window.innerWidth - 80) / TILE)))
  const [n, setN] = useState(get)
  useEffect(() => {
    const on = () => setN(get())
    window.addEventListener('resize', on)
    return () => window.removeEventListener('resize', on)
  }, [])
  return n
}

export default function PhotosPage() {
  const [buckets, setBuckets] = useState<PhotoBucket[] | null>(null)
  const [memories, setMemories] = useState<OnThisDay | null>(null)
  const [error, setError] = useState<unknown>(null)
  const columns = useColumns()

  useEffect(() => {
    api
      .photoBuckets(TZ)
      .then((b) => setBuckets(b.buckets))
      .catch(setError)
    api
      .onThisDay(TZ)
      .then(setMemories)
      .catch(() => setMemories(null))
  }, [])

  const years = useMemo(() => {
    const out: [string, PhotoBucket[]][] = []
    for (const b of buckets ?? []) {
      const y = b.month.slice(0, 4)
      if (out.length && out[out.length - 1][0] === y) out[out.length - 1][1].push(b)
      else out.push([y, [b]])
    }
    return out
  }, [buckets])

  const jump = useCallback((month: string) => {
    document.getElementById(`month-${month}`)?.scrollIntoView({ block: 'start' })
  }, [])

  if (error) return <ErrorText error={error} />
  if (!buckets) return <Spinner />
  return (
    <div className="relative pr-16">
      <PageTitle>Photos</PageTitle>
      {buckets.length === 0 && (
        <p className="card text-sm text-slate-600">
          No photos or videos yet. Upload some on the{' '}
          <Link href="/files" className="link">
            Files
          </Link>{' '}
          page, or let a phone or rclone copy them in.
        </p>
      )}
      {memories && memories.years.length > 0 && (
        <section aria-label="On this day" className="mb-4" data-testid="on-this-day">
          <h2 className="mb-2 font-semibold">On this day</h2>
          <div className="flex gap-3 overflow-x-auto pb-2">
            {memories.years.map((y) => (
              <div key={y.year} className="shrink-0">
                <p className="mb-1 text-sm text-slate-600">{new Date().getFullYear() - y.year} year{new Date().getFullYear() - y.year === 1 ? '' : 's'} ago</p>
                <div className="flex gap-1">
                  {y.items.slice(0, 6).map((f) => (
                    <div key={f.id} className="w-28">
                      <Tile f={f} />
                    </div>
                  ))}
                </div>
              </div>
            ))}
          </div>
        </section>
      )}
      {buckets.map((b) => (
        <Month key={b.month} bucket={b} columns={columns} />
      ))}
      {buckets.length > 0 && (
        <nav aria-label="Timeline scrubber" className="fixed right-2 top-20 bottom-4 z-20 w-14 overflow-y-auto text-right text-xs" data-testid="scrubber">
          {years.map(([y, months]) => (
            <div key={y} className="mb-1">
              <button type="button" className="font-semibold text-slate-800 hover:underline" onClick={() => jump(months[0].month)}>
                {y}
              </button>
              {months.map((m) => (
                <button key={m.month} type="button" className="block w-full text-slate-500 hover:text-slate-900" onClick={() => jump(m.month)} aria-label={monthLabel(m.month)}>
                  {new Date(Number(y), Number(m.month.slice(5)) - 1, 1).toLocaleDateString(undefined, { month: 'short' })}
                </button>
              ))}
            </div>
          ))}
        </nav>
      )}
    </div>
  )
}
