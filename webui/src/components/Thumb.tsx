// A file's picture: its thumbnail (through the media cookie, so a plain <img>), with a
// placeholder while the server is still making it (404 thumbnail-not-ready: asked again
// politely, with growing pauses) and an icon for files that have none.
import { useState } from 'react'
import { thumbnailUrl } from '../api/routes'
import type { ErrorCode, FileItem } from '../api/types'
import { formatDuration } from '../lib/format'

const RETRY_MS = [1500, 3000, 6000, 12000, 30000, 60000]

export function isMediaLike(f: FileItem): boolean {
  if (f.kind !== 'file') return false
  if (f.media?.kind) return true
  return /^(image|video)\//.test(f.content_type ?? '')
}

export function isVideo(f: FileItem): boolean {
  return f.kind === 'file' && (f.media?.kind === 'video' || /^video\//.test(f.content_type ?? ''))
}

/** On a video's tile: a play mark and, once the server has read it, the length. */
export function VideoBadge({ file, compact = false }: { file: FileItem; compact?: boolean }) {
  if (!isVideo(file)) return null
  const length = formatDuration(file.media?.duration_ms)
  return (
    <span
      className={`pointer-events-none absolute flex items-center gap-1 rounded bg-slate-900/75 font-medium text-white ${compact ? 'bottom-0.5 right-0.5 px-0.5 text-[10px]' : 'bottom-1.5 right-1.5 px-1.5 py-0.5 text-xs'}`}
      data-testid="video-badge"
      aria-label={length ? `Video, ${length}` : 'Video'}
    >
      <svg viewBox="0 0 10 10" className={compact ? 'h-2 w-2' : 'h-2.5 w-2.5'} fill="currentColor" aria-hidden>
        <path d="M2 1l7 4-7 4z" />
      </svg>
      {!compact && length && <span data-testid="video-duration">{length}</span>}
    </span>
  )
}

/** On a Live Photo's tile: the still has a short clip (shown in the viewer). */
export function LiveBadge({ file, compact = false }: { file: FileItem; compact?: boolean }) {
  if (!file.live_video_id) return null
  return (
    <span
      className={`pointer-events-none absolute rounded bg-white/85 font-semibold tracking-wide text-slate-800 ${compact ? 'left-0.5 top-0.5 px-0.5 text-[8px]' : 'right-1.5 top-1.5 px-1.5 py-0.5 text-[10px]'}`}
      data-testid="live-badge"
      aria-label="Live Photo"
    >
      LIVE
    </span>
  )
}

export function FileIcon({ file, className = 'h-10 w-10' }: { file: FileItem; className?: string }) {
  const kind = file.kind === 'folder' ? 'folder' : /^image\//.test(file.content_type ?? '') ? 'image' : /^video\//.test(file.content_type ?? '') ? 'video' : 'file'
  const paths: Record<string, string> = {
    folder: 'M3 6a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z',
    image: 'M4 5h16v14H4zM4 16l5-5 4 4 3-3 4 4M15 9.5a1.5 1.5 0 1 0 0-.01',
    video: 'M4 6h12v12H4zM16 10l5-3v10l-5-3',
    file: 'M6 3h8l4 4v14H6zM14 3v4h4',
  }
  const color = kind === 'folder' ? 'text-amber-500' : kind === 'image' ? 'text-emerald-600' : kind === 'video' ? 'text-violet-600' : 'text-slate-400'
  return (
    <svg viewBox="0 0 24 24" className={`${className} ${color}`} fill={kind === 'folder' ? 'currentColor' : 'none'} stroke="currentColor" strokeWidth={kind === 'folder' ? 0 : 1.5} aria-hidden>
      <path d={paths[kind]} strokeLinejoin="round" strokeLinecap="round" />
    </svg>
  )
}

export function Thumb({ file, size = 'small', className = '' }: { file: FileItem; size?: 'small' | 'large'; className?: string }) {
  const [attempt, setAttempt] = useState(0)
  const [state, setState] = useState<'loading' | 'ok' | 'waiting' | 'none'>(isMediaLike(file) ? 'loading' : 'none')
  // Another file (or a new version) starts over, at once while rendering: an effect would run
  // after a cached picture's load event and put the placeholder back over it.
  const ident = `${file.id}|${file.etag}`
  const [shown, setShown] = useState(ident)
  if (shown !== ident) {
    setShown(ident)
    setAttempt(0)
    setState(isMediaLike(file) ? 'loading' : 'none')
  }

  const onError = async () => {
    let code: ErrorCode | '' = ''
    try {
      const res = await fetch(thumbnailUrl(file.id, size, attempt, file.etag), { credentials: 'same-origin' })
      if (res.ok) {
        setAttempt((a) => a + 1) // it became ready between the two requests
        return
      }
      code = (await res.json()).code ?? ''
    } catch {
      code = ''
    }
    if (code === 'no-thumbnail' || code === 'not-found' || attempt >= RETRY_MS.length) {
      setState('none')
      return
    }
    setState('waiting')
    setTimeout(() => {
      setAttempt((a) => a + 1)
      setState('loading')
    }, RETRY_MS[attempt])
  }

  if (state === 'none') {
    return (
      <div className={`flex items-center justify-center ${className}`}>
        <FileIcon file={file} className="h-1/2 max-h-16 w-1/2 max-w-16" />
      </div>
    )
  }
  return (
    <div className={`relative flex items-center justify-center overflow-hidden ${className}`}>
      {state !== 'ok' && (
        <div className="absolute inset-0 flex animate-pulse items-center justify-center bg-slate-100" aria-hidden>
          <FileIcon file={file} className="h-1/3 max-h-12 w-1/3 max-w-12 opacity-40" />
        </div>
      )}
      {state !== 'waiting' && (
        <img
          key={attempt}
          src={thumbnailUrl(file.id, size, attempt, file.etag)}
          alt={file.name}
          loading="lazy"
          decoding="async"
          data-testid="thumbnail"
          className={`h-full w-full ${size === 'small' ? 'object-cover' : 'object-contain'} ${state === 'ok' ? '' : 'opacity-0'}`}
          onLoad={() => setState('ok')}
          onError={() => void onError()}
        />
      )}
    </div>
  )
}
