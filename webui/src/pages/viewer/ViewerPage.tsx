// The file viewer: the large preview of a picture or video (the original while the preview is
// not ready; an icon for other files), EXIF details, tags to add and remove, the file's earlier
// versions (download, restore), Add to album, and ← / → to go through the pictures of the folder
// (or of the timeline, a place or an album, when opened from there: `?in=`). A Live Photo
// plays its clip once when opened and again with its LIVE button; its clip is not a stop of its own.
import { useEffect, useRef, useState, type FormEvent } from 'react'
import { ApiError, errorText } from '../../api/client'
import { downloadUrl, thumbnailUrl } from '../../api/routes'
import type { FileItem, FileTag } from '../../api/types'
import { FileIcon, isMediaLike } from '../../components/Thumb'
import { ErrorText, Spinner } from '../../components/ui'
import { formatBytes } from '../../lib/format'
import { hideLiveClips } from '../../lib/live'
import { Versions } from './Versions'
import { AddToAlbumDialog } from '../photos/PhotoSelection'
import { parseContext, type ViewContext } from './context'
import { Link, navigate } from '../../lib/router'
import { api, toast } from '../../store/app'

function Preview({ file }: { file: FileItem }) {
  // The etag is in the URL: a restored version shows its own picture, not the cached one.
  const [src, setSrc] = useState(thumbnailUrl(file.id, 'large', 0, file.etag))
  const [tries, setTries] = useState(0)
  useEffect(() => {
    setSrc(thumbnailUrl(file.id, 'large', 0, file.etag))
    setTries(0)
  }, [file.id, file.etag])
  if (!isMediaLike(file)) {
    return (
      <div className="flex flex-col items-center gap-2 py-16 text-slate-300" data-testid="viewer-icon">
        <FileIcon file={file} className="h-24 w-24" />
        <p className="text-sm">No preview for this kind of file.</p>
      </div>
    )
  }
  const isImage = /^image\//.test(file.content_type ?? '') || file.media?.kind === 'image'
  if (file.media?.kind === 'video' || /^video\//.test(file.content_type ?? '')) {
    // Played from the file itself (Range requests), the thumbnail as its poster.
    return <video controls preload="metadata" poster={thumbnailUrl(file.id, 'large')} src={downloadUrl(file.id, true)} className="max-h-[75vh] w-full" data-testid="viewer-video" />
  }
  const still = (
    <img
      src={src}
      alt={file.name}
      data-testid="viewer-image"
      className="max-h-[75vh] w-full object-contain"
      onError={() => {
        // No preview (yet): a picture can be shown from its original; else ask again later.
        if (isImage && tries === 0) setSrc(downloadUrl(file.id, true))
        else if (tries < 4) setTimeout(() => setSrc(thumbnailUrl(file.id, 'large', tries + 1, file.etag)), 3000 * (tries + 1))
        setTries((t) => t + 1)
      }}
    />
  )
  return file.live_video_id ? <LivePhoto file={file} clipId={file.live_video_id} still={still} /> : still
}

/** The still, with its clip played over it (muted, as phones do): once on opening, then on LIVE. */
function LivePhoto({ file, clipId, still }: { file: FileItem; clipId: string; still: JSX.Element }) {
  const [playing, setPlaying] = useState(true)
  const video = useRef<HTMLVideoElement>(null)
  useEffect(() => setPlaying(true), [file.id])
  return (
    <div className="relative w-full">
      {still}
      {playing && (
        <video
          ref={video}
          key={clipId}
          src={downloadUrl(clipId, true)}
          autoPlay
          muted
          playsInline
          className="absolute inset-0 h-full w-full object-contain"
          data-testid="live-video"
          onEnded={() => setPlaying(false)}
          onError={() => setPlaying(false)}
        />
      )}
      <button
        type="button"
        className="absolute left-2 top-2 rounded bg-white/85 px-2 py-0.5 text-xs font-semibold tracking-wide text-slate-800 shadow"
        aria-pressed={playing}
        aria-label={playing ? 'Stop the Live Photo' : 'Play the Live Photo'}
        data-testid="live-button"
        onClick={() => {
          if (!playing) setPlaying(true)
          else {
            video.current?.pause()
            setPlaying(false)
          }
        }}
      >
        LIVE
      </button>
    </div>
  )
}

function Details({ file }: { file: FileItem }) {
  const m = file.media
  const rows: [string, string][] = [
    ['Size', formatBytes(file.size)],
    ['Type', file.content_type ?? '—'],
  ]
  if (m?.width && m?.height) rows.push(['Dimensions', `${m.width} × ${m.height}`])
  if (m?.taken_at) rows.push(['Taken', new Date(m.taken_at).toLocaleString()])
  if (m?.camera_make || m?.camera_model) rows.push(['Camera', [m.camera_make, m.camera_model].filter(Boolean).join(' ')])
  if (m?.duration_ms) rows.push(['Duration', `${Math.round(m.duration_ms / 1000)} s`])
  if (file.live_video_id) rows.push(['Live Photo', 'with a short clip (LIVE plays it)'])
  if (m?.gps_lat != null && m?.gps_lon != null) rows.push(['Location', `${m.gps_lat.toFixed(5)}, ${m.gps_lon.toFixed(5)}`])
  rows.push(['Modified', new Date(file.modified_at).toLocaleString()])
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm" data-testid="exif">
      {rows.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-slate-500">{k}</dt>
          <dd className="break-words">{v}</dd>
        </div>
      ))}
      {file.live_photo_id && (
        <p className="col-span-2 text-sm">
          The clip of a{' '}
          <Link href={`/view/${file.live_photo_id}`} className="link" data-testid="live-still-link">
            Live Photo
          </Link>
        </p>
      )}
      {file.processing === 'pending' && <p className="col-span-2 text-xs text-slate-500">Still being processed: details and tags appear soon.</p>}
    </dl>
  )
}

function Tags({ file }: { file: FileItem }) {
  const [tags, setTags] = useState<FileTag[]>(file.tags ?? [])
  const [text, setText] = useState('')
  const [error, setError] = useState<unknown>(null)
  useEffect(() => setTags(file.tags ?? []), [file])
  const unsupported = error instanceof ApiError && error.code === 'no-such-route'

  async function add(e: FormEvent) {
    e.preventDefault()
    const tag = text.trim().toLowerCase()
    if (!tag) return
    try {
      setTags((await api.addTag(file.id, tag)).tags)
      setText('')
      setError(null)
    } catch (err) {
      setError(err)
    }
  }
  return (
    <section aria-label="Tags">
      <h2 className="mb-2 text-sm font-semibold">Tags</h2>
      <ul className="flex flex-wrap gap-1.5" data-testid="tags">
        {tags.length === 0 && <li className="text-sm text-slate-500">No tags yet.</li>}
        {tags.map((t) => (
          <li key={t.tag} className={`flex items-center gap-1 rounded-full px-2.5 py-0.5 text-sm ${t.source === 'user' ? 'bg-sky-100 text-sky-900' : 'bg-slate-100 text-slate-700'}`}>
            <Link href={`/tags/${encodeURIComponent(t.tag)}`} className="hover:underline">
              {t.tag}
            </Link>
            {t.source === 'auto' && t.score != null && <span className="text-xs text-slate-500">{Math.round(t.score * 100)}%</span>}
            <button
              type="button"
              className="ml-0.5 rounded-full px-1 text-slate-500 hover:bg-slate-200"
              aria-label={`Remove tag ${t.tag}`}
              onClick={async () => {
                try {
                  setTags((await api.removeTag(file.id, t.tag)).tags)
                } catch (err) {
                  toast(errorText(err), 'error')
                }
              }}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={add} className="mt-2 flex gap-2">
        <label htmlFor="new-tag" className="sr-only">Add a tag</label>
        <input id="new-tag" className="input" placeholder="Add a tag" value={text} maxLength={64} onChange={(e) => setText(e.target.value)} />
        <button type="submit" className="btn">Add</button>
      </form>
      {unsupported ? <p className="mt-2 text-sm text-slate-500">This server does not support tags yet.</p> : <div className="mt-2"><ErrorText error={error} /></div>}
    </section>
  )
}

/** An id that names no file of this user (deleted, mistyped, someone else's): say so, with ways out. */
function ViewerNotFound() {
  return (
    <div className="card mx-auto max-w-lg" data-testid="viewer-not-found">
      <h1 className="text-lg font-semibold">This file is not here</h1>
      <p className="mt-2 text-sm text-slate-600">It may have been deleted or moved to the Trash, or the link is wrong.</p>
      <div className="mt-4 flex flex-wrap gap-2">
        <Link href="/files" className="btn btn-primary">
          Go to My files
        </Link>
        <Link href="/trash" className="btn">
          Look in the Trash
        </Link>
        {window.history.length > 1 && (
          <button type="button" className="btn" onClick={() => window.history.back()}>
            Go back
          </button>
        )}
      </div>
    </div>
  )
}

/** The pictures before and after `file` in its context, and how far along it is (when known). */
function useNeighbours(file: FileItem | null, ctx: ViewContext): { prev: FileItem | null; next: FileItem | null; position: [number, number] | null } {
  const [siblings, setSiblings] = useState<FileItem[]>([])
  const [around, setAround] = useState<{ id: string; newer: FileItem | null; older: FileItem | null } | null>(null)
  const source = ctx.kind === 'folder' ? file?.parent_id ?? null : ctx.kind === 'album' ? ctx.id : null
  useEffect(() => {
    if (!source) return
    const load = ctx.kind === 'album' ? api.album(source).then((a) => a.items) : api.listFiles(source, 'name', 'asc', 1000, 0).then((l) => l.items)
    load.then((items) => setSiblings(hideLiveClips(items).filter(isMediaLike))).catch(() => setSiblings([]))
  }, [source, ctx.kind]) // eslint-disable-line react-hooks/exhaustive-deps
  const filterKey = ctx.kind === 'timeline' ? JSON.stringify(ctx.filter) : ''
  useEffect(() => {
    if (ctx.kind !== 'timeline' || !file) return
    api
      .photoNeighbours(file.id, ctx.filter)
      .then((n) => setAround({ id: file.id, newer: n.newer, older: n.older }))
      .catch(() => setAround(null))
  }, [file?.id, filterKey]) // eslint-disable-line react-hooks/exhaustive-deps
  if (ctx.kind === 'timeline') {
    const a = around && around.id === file?.id ? around : null
    return { prev: a?.newer ?? null, next: a?.older ?? null, position: null }
  }
  const index = file ? siblings.findIndex((s) => s.id === file.id) : -1
  return {
    prev: index > 0 ? siblings[index - 1] : null,
    next: index >= 0 && index < siblings.length - 1 ? siblings[index + 1] : null,
    position: index >= 0 && siblings.length > 1 ? [index + 1, siblings.length] : null,
  }
}

export default function ViewerPage({ fileId, context = null }: { fileId: string; context?: string | null }) {
  const [file, setFile] = useState<FileItem | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [adding, setAdding] = useState(false)
  const ctx = parseContext(context)
  const suffix = context ? `?in=${encodeURIComponent(context)}` : ''

  useEffect(() => {
    setError(null)
    api.getFile(fileId).then(setFile).catch(setError)
  }, [fileId])

  const { prev, next, position } = useNeighbours(file, ctx)
  const back = ctx.kind !== 'folder' ? ctx.back : file?.parent_id ? `/files/${file.parent_id}` : '/files'
  const backLabel = ctx.kind === 'timeline' ? `Back to ${ctx.label}` : ctx.kind === 'album' ? 'Back to album' : 'Back to folder'

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement
      if (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA') return
      if (e.key === 'ArrowLeft' && prev) navigate(`/view/${prev.id}${suffix}`, { replace: true })
      else if (e.key === 'ArrowRight' && next) navigate(`/view/${next.id}${suffix}`, { replace: true })
      else if (e.key === 'Escape') navigate(back)
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [prev, next, back, suffix])

  if (error instanceof ApiError && error.status === 404) return <ViewerNotFound />
  if (error) return <ErrorText error={error} />
  if (!file) return <Spinner />
  // minmax(0, …): a grid column's minimum is otherwise its content's, and a long name (one
  // line, truncated) would widen the page past a phone's screen.
  return (
    <div className="grid grid-cols-[minmax(0,1fr)] gap-4 lg:grid-cols-[minmax(0,1fr)_20rem]">
      <div className="min-w-0">
        <div className="mb-2 flex items-center gap-2">
          <Link href={back} className="btn shrink-0" aria-label={backLabel}>
            ←<span className="hidden sm:inline">&nbsp;{backLabel}</span>
          </Link>
          <h1 className="min-w-0 flex-1 truncate text-lg font-semibold" title={file.name}>{file.name}</h1>
          {isMediaLike(file) && (
            <button type="button" className="btn shrink-0" onClick={() => setAdding(true)}>
              <span className="sm:hidden">+ Album</span>
              <span className="hidden sm:inline">Add to album</span>
            </button>
          )}
          <a className="btn shrink-0" href={downloadUrl(file.id)} download={file.name}>Download</a>
        </div>
        <div className="relative flex items-center justify-center rounded-lg bg-slate-900 p-2">
          <Preview file={file} />
          {prev && (
            <Link href={`/view/${prev.id}${suffix}`} aria-label="Previous picture" className="absolute left-2 top-1/2 -translate-y-1/2 rounded-full bg-white/80 px-3 py-2 text-lg shadow">‹</Link>
          )}
          {next && (
            <Link href={`/view/${next.id}${suffix}`} aria-label="Next picture" className="absolute right-2 top-1/2 -translate-y-1/2 rounded-full bg-white/80 px-3 py-2 text-lg shadow">›</Link>
          )}
        </div>
        {(position || prev || next) && (
          <p className="mt-1 text-center text-xs text-slate-500" data-testid="viewer-position">
            {position && `${position[0]} of ${position[1]}`}
            {/* Keys only where there is a keyboard: not on touch screens or phone widths. */}
            <span className="hidden pointer-fine:sm:inline" data-testid="keyboard-hints">
              {position ? ' · ' : ''}← → to move, Esc to go back
            </span>
          </p>
        )}
      </div>
      <aside className="card min-w-0 space-y-4">
        <Details file={file} />
        <Tags file={file} />
        <Versions file={file} onRestored={setFile} />
      </aside>
      {adding && <AddToAlbumDialog files={[file]} onClose={() => setAdding(false)} onDone={() => setAdding(false)} />}
    </div>
  )
}
