// Where the viewer was opened from: `?in=photos`, `?in=place:FR:Nice`, `?in=album:ID` (the parts
// percent-encoded), or nothing for the file's folder.
import type { PhotoFilter } from '../../api/local-types'

/** Where the viewer was opened from (`?in=`), which sets what ← and → go through and where Back goes:
 *  the file's folder (default), the photo timeline, a place of it, or an album. */
export type ViewContext = { kind: 'folder' } | { kind: 'timeline'; filter: PhotoFilter; back: string; label: string } | { kind: 'album'; id: string; back: string }

export function parseContext(v: string | null): ViewContext {
  if (v === 'photos') return { kind: 'timeline', filter: {}, back: '/photos', label: 'Photos' }
  let kind, a, b
  try {
    ;[kind, a, b] = (v ?? '').split(':').map(decodeURIComponent)
  } catch {
    return { kind: 'folder' } // a mangled address
  }
  if (kind === 'place' && a) return { kind: 'timeline', filter: { cc: a, city: b || undefined }, back: `/places/${encodeURIComponent(a)}${b ? `/${encodeURIComponent(b)}` : ''}`, label: b || 'place' }
  if (kind === 'album' && a) return { kind: 'album', id: a, back: `/albums/${encodeURIComponent(a)}` }
  return { kind: 'folder' }
}

