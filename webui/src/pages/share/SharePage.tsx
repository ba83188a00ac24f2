// The guest page of a share link (/s/{token}), for people without an account: what the link
// shows (a file, a folder to browse, an album), the password form when it has one, a grid of
// thumbnails, a viewer that pages through them, and the whole share as one zip. It talks only to
// the link's public API; the password's grant is a cookie the server scopes to this link.
import { useEffect, useState, type FormEvent } from 'react'
import { pathOf } from '../../api/routes'
import type { PublicItem, PublicShare, PublicShareItems } from '../../api/types'
import { formatBytes } from '../../lib/format'

type Load<T> = { state: 'loading' } | { state: 'error'; status: number; message: string } | { state: 'ok'; value: T }

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { credentials: 'same-origin' })
  if (!res.ok) {
    const body = await res.json().catch(() => ({ message: res.statusText }))
    throw Object.assign(new Error(body.message ?? res.statusText), { status: res.status, code: body.code })
  }
  return res.json()
}

function thumb(token: string, id: string, size: 'small' | 'large') {
  return `${pathOf('publicThumbnail', { token, id })}?size=${size}`
}

function isVideo(i: PublicItem) {
  return i.media?.kind === 'video' || /^video\//.test(i.content_type ?? '')
}

function Unlock({ token, onDone }: { token: string; onDone: () => void }) {
  const [password, setPassword] = useState('')
  const [error, setError] = useState('')
  async function submit(e: FormEvent) {
    e.preventDefault()
    const res = await fetch(pathOf('unlockShare', { token }), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password }),
    })
    if (res.ok) onDone()
    else setError(res.status === 429 ? 'Too many tries: wait a few minutes and try again.' : 'That password is not right.')
  }
  return (
    <form onSubmit={submit} className="card mx-auto mt-8 max-w-sm space-y-3" aria-label="Unlock the link">
      <p className="text-sm text-slate-700">This link is protected by a password.</p>
      <label htmlFor="share-password" className="block text-sm font-medium">Password</label>
      <input id="share-password" type="password" className="input" autoFocus value={password} onChange={(e) => setPassword(e.target.value)} />
      {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
      <button type="submit" className="btn btn-primary w-full">Open</button>
    </form>
  )
}

function Viewer({ token, items, index, allowDownload, onMove, onClose }: { token: string; items: PublicItem[]; index: number; allowDownload: boolean; onMove: (i: number) => void; onClose: () => void }) {
  const item = items[index]
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'ArrowLeft' && index > 0) onMove(index - 1)
      else if (e.key === 'ArrowRight' && index < items.length - 1) onMove(index + 1)
      else if (e.key === 'Escape') onClose()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [index, items.length, onMove, onClose])
  const download = `${pathOf('publicDownload', { token, id: item.id })}`
  return (
    <div role="dialog" aria-label={item.name} className="fixed inset-0 z-50 flex flex-col bg-slate-950/95 text-white" data-testid="share-viewer">
      <div className="flex items-center gap-2 p-2">
        <button type="button" className="btn" onClick={onClose} aria-label="Close">✕</button>
        <h2 className="min-w-0 flex-1 truncate font-medium">{item.name}</h2>
        <span className="text-sm text-slate-300">{index + 1} of {items.length}</span>
        {allowDownload && (
          <a className="btn" href={download} download={item.name}>
            Download
          </a>
        )}
      </div>
      <div className="relative flex min-h-0 flex-1 items-center justify-center p-2">
        {isVideo(item) && allowDownload ? (
          <video controls src={`${download}?inline=true`} poster={thumb(token, item.id, 'large')} className="max-h-full max-w-full" />
        ) : item.has_thumbnail ? (
          <img src={thumb(token, item.id, 'large')} alt={item.name} className="max-h-full max-w-full object-contain" data-testid="share-viewer-image" />
        ) : (
          <p className="text-slate-300">No preview of this file.</p>
        )}
        {index > 0 && (
          <button type="button" aria-label="Previous" className="absolute left-2 top-1/2 -translate-y-1/2 rounded-full bg-white/80 px-3 py-2 text-lg text-slate-900" onClick={() => onMove(index - 1)}>‹</button>
        )}
        {index < items.length - 1 && (
          <button type="button" aria-label="Next" className="absolute right-2 top-1/2 -translate-y-1/2 rounded-full bg-white/80 px-3 py-2 text-lg text-slate-900" onClick={() => onMove(index + 1)}>›</button>
        )}
      </div>
    </div>
  )
}

export default function SharePage({ token }: { token: string }) {
  const [info, setInfo] = useState<Load<PublicShare>>({ state: 'loading' })
  const [folder, setFolder] = useState<string | null>(null)
  const [items, setItems] = useState<PublicShareItems | null>(null)
  const [viewing, setViewing] = useState<number | null>(null)
  const [reload, setReload] = useState(0)

  useEffect(() => {
    getJson<PublicShare>(pathOf('publicShare', { token }))
      .then((value) => setInfo({ state: 'ok', value }))
      .catch((e) => setInfo({ state: 'error', status: e.status ?? 0, message: e.message }))
  }, [token, reload])

  const unlocked = info.state === 'ok' && info.value.unlocked
  useEffect(() => {
    if (!unlocked) return
    const q = folder ? `?folder=${encodeURIComponent(folder)}` : ''
    getJson<PublicShareItems>(`${pathOf('publicItems', { token })}${q}`)
      .then(setItems)
      .catch((e) => setInfo({ state: 'error', status: e.status ?? 0, message: e.message }))
  }, [token, unlocked, folder])

  if (info.state === 'loading') return <p className="p-8 text-center text-slate-500">Loading…</p>
  if (info.state === 'error')
    return (
      <div className="card mx-auto mt-16 max-w-lg" data-testid="share-gone">
        <h1 className="text-lg font-semibold">This link does not work</h1>
        <p className="mt-2 text-sm text-slate-600">
          {info.status === 404 ? 'It may have been revoked by its owner, or have expired, or the address is wrong.' : info.message}
        </p>
      </div>
    )
  const share = info.value
  const files = items?.items.filter((i) => i.kind === 'file') ?? []
  return (
    <div className="mx-auto max-w-6xl p-4">
      <header className="mb-4 flex flex-wrap items-center gap-3">
        <div className="min-w-0 flex-1">
          <h1 className="truncate text-xl font-semibold" data-testid="share-title">{share.name}</h1>
          <p className="text-sm text-slate-600">
            Shared by {share.owner}
            {share.expires_at ? ` · until ${new Date(share.expires_at).toLocaleDateString()}` : ''}
            {share.allow_download ? '' : ' · view only'}
          </p>
        </div>
        {unlocked && share.allow_download && (
          <a className="btn btn-primary" href={pathOf('publicZip', { token })} download={`${share.name}.zip`} data-testid="share-zip">
            Download all (zip)
          </a>
        )}
      </header>
      {!unlocked && <Unlock token={token} onDone={() => setReload((r) => r + 1)} />}
      {unlocked && items && (
        <>
          {items.path.length > 1 && (
            <nav aria-label="Folder path" className="mb-2 flex flex-wrap gap-1 text-sm">
              {items.path.map((p, i) => (
                <span key={p.id}>
                  {i > 0 && ' / '}
                  <button type="button" className="link" onClick={() => setFolder(i === 0 ? null : p.id)}>{p.name}</button>
                </span>
              ))}
            </nav>
          )}
          <ul className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-5" data-testid="share-grid">
            {items.items.map((i) => (
              <li key={i.id} className="overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm" data-testid="share-item" data-name={i.name}>
                <button
                  type="button"
                  className="block w-full text-left"
                  aria-label={`Open ${i.name}`}
                  onClick={() => (i.kind === 'folder' ? setFolder(i.id) : setViewing(files.findIndex((f) => f.id === i.id)))}
                >
                  <div className="flex aspect-square items-center justify-center bg-slate-50">
                    {i.kind === 'folder' ? <span className="text-4xl" aria-hidden>📁</span> : i.has_thumbnail ? <img src={thumb(token, i.id, 'small')} alt={i.name} loading="lazy" className="h-full w-full object-cover" /> : <span className="text-sm text-slate-400">{formatBytes(i.size)}</span>}
                  </div>
                  <span className="block truncate px-2 py-1.5 text-sm">{i.name}</span>
                </button>
              </li>
            ))}
          </ul>
          {items.items.length === 0 && <p className="text-sm text-slate-500">Nothing here.</p>}
        </>
      )}
      {viewing !== null && viewing >= 0 && <Viewer token={token} items={files} index={viewing} allowDownload={share.allow_download} onMove={setViewing} onClose={() => setViewing(null)} />}
    </div>
  )
}
