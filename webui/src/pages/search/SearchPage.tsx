// Search: one box; results as a grid, each saying why it matched.
import { useEffect, useState, type FormEvent } from 'react'
import { ApiError } from '../../api/client'
import type { SearchReason, SearchResponse } from '../../api/types'
import { LiveBadge, Thumb, VideoBadge } from '../../components/Thumb'
import { hideLiveClips } from '../../lib/live'
import { ErrorText, PageTitle, Spinner } from '../../components/ui'
import { Link, navigate } from '../../lib/router'
import { useStore } from '../../lib/store'
import { semanticOffText } from './searchText'
import { api, session } from '../../store/app'

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

export function SearchPage({ query }: { query: string }) {
  const isAdmin = useStore(session.store, (s) => s.user?.is_admin === true)
  const [text, setText] = useState(query)
  const [result, setResult] = useState<SearchResponse | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

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
      .search(query, 60, 0, ctl.signal)
      .then(setResult)
      .catch((e) => (e as Error).name !== 'AbortError' && setError(e))
      .finally(() => setBusy(false))
    return () => ctl.abort()
  }, [query])

  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (text.trim()) navigate(`/search?q=${encodeURIComponent(text.trim())}`)
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
            {withoutLiveClips(result.items).map(({ file, reasons }) => (
              <li key={file.id} className="overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm">
                <Link href={file.kind === 'folder' ? `/files/${file.id}` : `/view/${file.id}`} className="block">
                  <div className="relative">
                    <Thumb file={file} className="aspect-square w-full bg-slate-50" />
                    <VideoBadge file={file} />
                    <LiveBadge file={file} />
                  </div>
                  <span className="block truncate px-2 pt-1.5 text-sm font-medium" title={file.name}>{file.name}</span>
                </Link>
                <p className="px-2 pb-2 text-xs text-slate-500">{reasons.map(reasonText).join(' · ')}</p>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  )
}
