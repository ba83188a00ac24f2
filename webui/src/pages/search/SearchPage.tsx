// Search: one box and filters (type, dates, place, album), kept in the address so a search can be
// bookmarked; results as a grid, each saying why it matched. Photos among them can be selected to
// add to an album, share, download or delete.
import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { ApiError } from '../../api/client'
import type { SearchFilters } from '../../api/local-types'
import type { Album, PlaceCountry, SearchReason, SearchResponse } from '../../api/types'
import { Thumb } from '../../components/Thumb'
import { hideLiveClips } from '../../lib/live'
import { ErrorText, PageTitle, Spinner } from '../../components/ui'
import { Link, navigate } from '../../lib/router'
import { useStore } from '../../lib/store'
import { semanticOffText } from './searchText'
import { api, session } from '../../store/app'
import { PhotoTile, SelectionBar, useSelection } from '../photos/PhotoSelection'

const FILTERS = ['type', 'from', 'to', 'place', 'album'] as const

/** The filters in an address's query. */
export function filtersOf(search: URLSearchParams): SearchFilters {
  const out: Record<string, string> = {}
  for (const k of FILTERS) {
    const v = search.get(k)
    if (v) out[k] = v
  }
  return out as SearchFilters
}

/** The address of a search. */
export function searchHref(q: string, f: SearchFilters): string {
  const p = new URLSearchParams({ q })
  for (const k of FILTERS) if (f[k]) p.set(k, f[k] as string)
  return `/search?${p}`
}

/** Type, dates, place and album: each change searches again. */
function Filters({ value, onChange }: { value: SearchFilters; onChange: (f: SearchFilters) => void }) {
  const [places, setPlaces] = useState<PlaceCountry[]>([])
  const [albums, setAlbums] = useState<Album[]>([])
  useEffect(() => {
    api.places().then((p) => setPlaces(p.countries), () => undefined)
    api.albums().then((a) => setAlbums(a.albums), () => undefined)
  }, [])
  const set = (k: keyof SearchFilters, v: string) => onChange({ ...value, [k]: v || undefined })
  return (
    <fieldset className="mb-4 flex flex-wrap items-end gap-3 text-sm" aria-label="Filters">
      <label className="flex flex-col">
        <span className="text-slate-600">Type</span>
        <select className="input w-auto py-1.5" value={value.type ?? ''} onChange={(e) => set('type', e.target.value)}>
          <option value="">Everything</option>
          <option value="photo">Photos</option>
          <option value="video">Videos</option>
        </select>
      </label>
      <label className="flex flex-col">
        <span className="text-slate-600">From</span>
        <input type="date" className="input w-auto py-1" value={value.from ?? ''} onChange={(e) => set('from', e.target.value)} />
      </label>
      <label className="flex flex-col">
        <span className="text-slate-600">To</span>
        <input type="date" className="input w-auto py-1" value={value.to ?? ''} onChange={(e) => set('to', e.target.value)} />
      </label>
      <label className="flex flex-col">
        <span className="text-slate-600">Place</span>
        <select className="input w-auto py-1.5" value={value.place ?? ''} onChange={(e) => set('place', e.target.value)}>
          <option value="">Anywhere</option>
          {places.map((c) => (
            <optgroup key={c.cc} label={c.country}>
              <option value={c.cc}>All of {c.country}</option>
              {c.cities
                .filter((x) => x.city)
                .map((x) => (
                  <option key={`${x.city}|${x.region}`} value={x.city}>
                    {x.city}
                  </option>
                ))}
            </optgroup>
          ))}
        </select>
      </label>
      <label className="flex flex-col">
        <span className="text-slate-600">Album</span>
        <select className="input w-auto py-1.5" value={value.album ?? ''} onChange={(e) => set('album', e.target.value)}>
          <option value="">Any</option>
          {albums.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
      </label>
    </fieldset>
  )
}

export function reasonText(r: SearchReason): string {
  if (r.kind === 'semantic') return `looks like it${r.score != null ? ` (${r.score.toFixed(2)})` : ''}`
  if (r.kind === 'tag') return `tagged “${r.tag}”`
  if (r.kind === 'place') return `taken in ${r.place}`
  if (r.kind === 'date') return `taken in ${r.date}`
  return 'name matches'
}

/** A Live Photo's clip found beside its still is shown as the still's. */
function withoutLiveClips(items: SearchResponse['items']): SearchResponse['items'] {
  const keep = new Set(hideLiveClips(items.map((i) => i.file)).map((f) => f.id))
  return items.filter((i) => keep.has(i.file.id))
}

export function SearchPage({ query, filters }: { query: string; filters: SearchFilters }) {
  const isAdmin = useStore(session.store, (s) => s.user?.is_admin === true)
  const [text, setText] = useState(query)
  const [result, setResult] = useState<SearchResponse | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  const filterKey = JSON.stringify(filters)
  useEffect(() => {
    setText(query)
    if (!query.trim()) {
      setResult(null)
      return
    }
    const ctl = new AbortController()
    setBusy(true)
    setError(null)
    api
      .search(query, filters, 60, 0, ctl.signal)
      .then(setResult)
      .catch((e) => (e as Error).name !== 'AbortError' && setError(e))
      .finally(() => setBusy(false))
    return () => ctl.abort()
  }, [query, filterKey]) // eslint-disable-line react-hooks/exhaustive-deps

  const items = result ? withoutLiveClips(result.items) : []
  const order = useCallback(() => items.map((i) => i.file).filter((f) => f.kind === 'file'), [items])
  const selection = useSelection(order)

  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (text.trim()) navigate(searchHref(text.trim(), filters))
  }
  const missing = error instanceof ApiError && error.code === 'no-such-route'
  return (
    <div>
      <PageTitle>Search</PageTitle>
      <form onSubmit={submit} role="search" className="mb-4 flex gap-2">
        <label htmlFor="q" className="sr-only">Describe what you are looking for</label>
        <input id="q" type="search" className="input" placeholder="a dog on a beach, receipts, holiday 2023…" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit" className="btn btn-primary">Search</button>
      </form>
      <Filters value={filters} onChange={(f) => navigate(searchHref(text.trim() || query, f), { replace: true })} />
      <SelectionBar
        chosen={[...selection.chosen.values()]}
        onClear={selection.clear}
        onGone={(ids) => setResult((r) => r && { ...r, items: r.items.filter((i) => !ids.has(i.file.id)) })}
        onBack={() => navigate(searchHref(query, filters), { replace: true })}
      />
      {missing ? <p className="card text-sm text-slate-600">Search is not available on this server yet.</p> : <ErrorText error={error} />}
      {busy && <Spinner label="Searching" />}
      {result && !result.semantic && result.model_status && (
        <p className="mb-3 break-words rounded-md bg-slate-100 px-3 py-2 text-sm text-slate-700" role="status" data-testid="semantic-off">
          {semanticOffText(isAdmin)}
          {isAdmin && (
            <>
              {' '}
              <Link className="link" href="/admin">
                See the Admin page
              </Link>{' '}
              for what it needs.
            </>
          )}
        </p>
      )}
      {result && (
        <>
          <p className="mb-2 text-sm text-slate-600" data-testid="result-count">
            {result.total} result{result.total === 1 ? '' : 's'} for “{result.query}”
          </p>
          <ul className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-5 [&>li]:min-w-0">
            {items.map(({ file, reasons }) => (
              <li key={file.id} className="overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm">
                {file.kind === 'file' ? (
                  <div className="aspect-square">
                    <PhotoTile f={file} href={`/view/${file.id}`} selected={selection.chosen.has(file.id)} selecting={selection.chosen.size > 0} onToggle={selection.toggle} />
                  </div>
                ) : (
                  <Link href={`/files/${file.id}`} className="relative block">
                    <Thumb file={file} className="aspect-square w-full bg-slate-50" />
                  </Link>
                )}
                <span className="block truncate px-2 pt-1.5 text-sm font-medium" title={file.name}>{file.name}</span>
                <p className="px-2 pb-2 text-xs text-slate-500">{reasons.map(reasonText).join(' · ')}</p>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  )
}
