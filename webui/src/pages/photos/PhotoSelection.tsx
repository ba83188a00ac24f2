// What the photo views share: a square tile that opens the viewer (or, while some are selected,
// selects), the selection (Shift selects a range), and the bar of what to do with it: download,
// add to an album, share, delete to the trash (with Undo). A Live Photo's clip goes with its still.
import { useCallback, useEffect, useState, type MouseEvent, type ReactNode } from 'react'
import { errorText } from '../../api/client'
import type { Album, FileItem } from '../../api/types'
import { thumbnailUrl } from '../../api/routes'
import { LiveBadge, Thumb, VideoBadge } from '../../components/Thumb'
import { Dialog, ErrorText, Spinner } from '../../components/ui'
import { Link, navigate } from '../../lib/router'
import { api, refreshMe, toast } from '../../store/app'
import { moveToTrash, undoTrash, type Named } from '../../store/trash'
import { triggerDownload } from '../files/FilesPage'
import { rangeBetween } from './timeline'
import { ShareDialog } from '../files/ShareDialog'

/** The chosen items and the clips of the Live Photos among them (by id: the clip is not listed,
 *  so its name is left empty). */
export function withClips(chosen: FileItem[]): Named[] {
  const out: Named[] = []
  for (const f of chosen) {
    out.push(f)
    if (f.live_video_id) out.push({ id: f.live_video_id, name: '' })
  }
  return out
}

export interface Selection {
  chosen: Map<string, FileItem>
  /** Adds or removes `f`; with Shift, everything between the last one clicked and `f`. */
  toggle: (f: FileItem, e?: { shiftKey: boolean }) => void
  setMany: (files: FileItem[], on: boolean) => void
  clear: () => void
}

/** A selection of photos; `orderNow()` is the view's items in order, for Shift ranges. */
export function useSelection(orderNow: () => FileItem[]): Selection {
  const [chosen, setChosen] = useState<Map<string, FileItem>>(new Map())
  const [last, setLast] = useState<string | null>(null)
  const setMany = useCallback((files: FileItem[], on: boolean) => {
    setChosen((m) => {
      const n = new Map(m)
      for (const f of files) {
        if (on) n.set(f.id, f)
        else n.delete(f.id)
      }
      return n
    })
  }, [])
  const toggle = useCallback(
    (f: FileItem, e?: { shiftKey: boolean }) => {
      const range = e?.shiftKey && last ? rangeBetween(orderNow(), last, f.id) : []
      if (range.length) {
        setMany(range, true)
        setLast(f.id)
        return
      }
      setChosen((m) => {
        const n = new Map(m)
        if (n.has(f.id)) n.delete(f.id)
        else n.set(f.id, f)
        return n
      })
      setLast(f.id)
    },
    [last, orderNow, setMany],
  )
  const clear = useCallback(() => setChosen(new Map()), [])
  // Esc lets go of the selection; with a dialog open over it, Esc closes only the dialog.
  const any = chosen.size > 0
  useEffect(() => {
    if (!any) return
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && !document.querySelector('[role=dialog]') && clear()
    window.addEventListener('keydown', onKey, { capture: true }) // before the dialog's own
    return () => window.removeEventListener('keydown', onKey, { capture: true })
  }, [any, clear])
  return { chosen, toggle, setMany, clear }
}

/** A photo's square: opens the viewer (`href`), or selects while a selection is under way. */
export function PhotoTile({ f, href, selected, selecting, onToggle, size }: { f: FileItem; href: string; selected: boolean; selecting: boolean; onToggle: (f: FileItem, e: MouseEvent) => void; size?: number }) {
  return (
    <div className={`group relative overflow-hidden rounded-sm bg-slate-100 ${size ? '' : 'h-full w-full'} ${selected ? 'ring-4 ring-sky-600 ring-inset' : ''}`} style={size ? { width: size, height: size } : undefined} data-testid="photo-tile" data-id={f.id} data-name={f.name}>
      <Link
        href={href}
        className="block h-full w-full"
        aria-label={f.name}
        onClick={(e) => {
          if (selecting || e.shiftKey) {
            e.preventDefault()
            onToggle(f, e)
          }
        }}
      >
        <Thumb file={f} className={`h-full w-full ${selected ? 'scale-90' : ''} transition-transform`} />
      </Link>
      <VideoBadge file={f} compact />
      <LiveBadge file={f} compact />
      <button
        type="button"
        role="checkbox"
        aria-checked={selected}
        aria-label={`Select ${f.name}`}
        data-testid="photo-select"
        onClick={(e) => onToggle(f, e)}
        className={`absolute right-1 top-1 flex h-6 w-6 items-center justify-center rounded-full border-2 border-white text-xs text-white shadow ${selected ? 'bg-sky-600' : 'bg-slate-900/30'} ${selecting || selected ? '' : 'opacity-0 focus:opacity-100 group-hover:opacity-100 pointer-coarse:opacity-70'}`}
      >
        {selected ? '✓' : ''}
      </button>
    </div>
  )
}

/** A cover picture by file id (albums, places): the small thumbnail, or a grey square. */
export function Cover({ id, label, className = '' }: { id: string | null; label: string; className?: string }) {
  const [failed, setFailed] = useState(false)
  if (!id || failed) return <div className={`bg-slate-200 ${className}`} aria-hidden />
  return <img src={thumbnailUrl(id, 'small')} alt={label} loading="lazy" className={`object-cover ${className}`} onError={() => setFailed(true)} />
}

/** Moves photos to the trash, with Undo in the toast; `onGone` gets the ids that left. */
export async function trashPhotos(chosen: FileItem[], onGone: (ids: Set<string>) => void, onBack: () => void) {
  const { trashed, gone, failed } = await moveToTrash(api, withClips(chosen))
  for (const f of failed) toast(`Delete ${f.item.name || 'a Live Photo’s clip'}: ${errorText(f.error)}`, 'error')
  const left = new Set([...trashed.map((t) => t.item.id), ...gone.map((g) => g.id)])
  onGone(left)
  void refreshMe()
  const photos = trashed.filter((t) => t.item.name !== '')
  if (!photos.length) return
  toast(`Moved ${photos.length === 1 ? `“${photos[0].item.name}”` : `${photos.length} photos`} to the Trash`, 'info', {
    action: {
      label: 'Undo',
      run: async () => {
        const back = await undoTrash(api, trashed)
        for (const f of back.failed) if (f.item.name) toast(`${f.item.name} is still in the Trash: ${errorText(f.error)}`, 'error')
        void refreshMe()
        onBack()
      },
    },
  })
}

type BarDialog = null | 'album' | 'share'

/** The bar over a view while photos are selected. `extra` adds the view's own actions. */
export function SelectionBar({ chosen, onClear, onGone, onBack, extra }: { chosen: FileItem[]; onClear: () => void; onGone: (ids: Set<string>) => void; onBack: () => void; extra?: ReactNode }) {
  const [dialog, setDialog] = useState<BarDialog>(null)
  if (chosen.length === 0) return null
  return (
    // Fixed over the page, so the photos under it do not move when it comes and goes.
    <div className="fixed left-1/2 top-16 z-30 flex w-[min(calc(100%-1rem),56rem)] -translate-x-1/2 flex-wrap items-center gap-2 rounded-md border border-sky-200 bg-sky-50 p-2 shadow-lg" role="toolbar" aria-label="Selection">
      <span className="mr-auto text-sm font-medium" data-testid="selection-count">
        {chosen.length} selected
      </span>
      {extra}
      <button type="button" className="btn" onClick={() => withClips(chosen).forEach(triggerDownload)}>
        Download
      </button>
      <button type="button" className="btn" onClick={() => setDialog('album')}>
        Add to album
      </button>
      <button type="button" className="btn" onClick={() => setDialog('share')} title="A link for people without an account">
        Share
      </button>
      <button
        type="button"
        className="btn btn-danger"
        onClick={() =>
          void trashPhotos(chosen, (ids) => {
            onGone(ids)
            onClear()
          }, onBack)
        }
      >
        Delete
      </button>
      <button type="button" className="btn" onClick={onClear}>
        Clear
      </button>
      {dialog === 'album' && (
        <AddToAlbumDialog
          files={chosen}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null)
            onClear()
          }}
        />
      )}
      {dialog === 'share' && <ShareSelectionDialog files={chosen} onClose={() => setDialog(null)} />}
    </div>
  )
}

function albumIdsOf(files: FileItem[]): string[] {
  return withClips(files).map((f) => f.id)
}

/** Puts photos in an album: one of the user's, or a new one named here. */
export function AddToAlbumDialog({ files, onClose, onDone }: { files: FileItem[]; onClose: () => void; onDone: (album: Album) => void }) {
  const [albums, setAlbums] = useState<Album[] | null>(null)
  const [name, setName] = useState('')
  const [error, setError] = useState<unknown>(null)
  useEffect(() => {
    api
      .albums()
      .then((a) => setAlbums(a.albums))
      .catch(setError)
  }, [])
  const what = files.length === 1 ? `“${files[0].name}”` : `${files.length} photos`
  async function done(album: Album, added: number) {
    toast(`Added ${added === 1 ? '1 photo' : `${added} photos`} to “${album.name}”`, 'info', { action: { label: 'Open', run: () => navigate(`/albums/${album.id}`) } })
    onDone(album)
  }
  return (
    <Dialog title={`Add ${what} to an album`} onClose={onClose}>
      <form
        className="mb-3 flex gap-2"
        onSubmit={async (e) => {
          e.preventDefault()
          try {
            const a = await api.createAlbum(name, albumIdsOf(files))
            await done(a, files.length)
          } catch (err) {
            setError(err)
          }
        }}
      >
        <label htmlFor="new-album" className="sr-only">New album</label>
        <input id="new-album" className="input" placeholder="New album name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} required />
        <button type="submit" className="btn btn-primary shrink-0">Create</button>
      </form>
      <ErrorText error={error} />
      {!albums && !error && <Spinner />}
      {albums && albums.length > 0 && (
        <ul className="max-h-72 space-y-1 overflow-y-auto" aria-label="Your albums">
          {albums.map((a) => (
            <li key={a.id}>
              <button
                type="button"
                className="flex w-full items-center gap-3 rounded-md p-1.5 text-left hover:bg-slate-100"
                onClick={async () => {
                  try {
                    const r = await api.addToAlbum(a.id, albumIdsOf(files))
                    await done(r.album, files.length)
                  } catch (err) {
                    setError(err)
                  }
                }}
              >
                <Cover id={a.cover_id} label="" className="h-10 w-10 rounded" />
                <span className="min-w-0 flex-1 truncate font-medium">{a.name}</span>
                <span className="text-sm text-slate-500">{a.count}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  )
}

/** One photo is shared as itself; several go into a new album first, and the album is shared. */
function ShareSelectionDialog({ files, onClose }: { files: FileItem[]; onClose: () => void }) {
  const [album, setAlbum] = useState<Album | null>(null)
  const [name, setName] = useState(`Shared ${new Date().toLocaleDateString()}`)
  const [error, setError] = useState<unknown>(null)
  if (files.length === 1) return <ShareDialog kind="file" targetId={files[0].id} name={files[0].name} onClose={onClose} />
  if (album) return <ShareDialog kind="album" targetId={album.id} name={album.name} onClose={onClose} />
  return (
    <Dialog title={`Share ${files.length} photos`} onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={async (e) => {
          e.preventDefault()
          try {
            setAlbum(await api.createAlbum(name, albumIdsOf(files)))
          } catch (err) {
            setError(err)
          }
        }}
      >
        <p className="text-sm text-slate-600">They are gathered in a new album, and the album gets the link (you can revoke it, or delete the album, later; the photos stay where they are).</p>
        <label className="block text-sm">
          <span className="font-medium">Album name</span>
          <input className="input mt-1" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} required />
        </label>
        <ErrorText error={error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="submit" className="btn btn-primary">Next</button>
        </div>
      </form>
    </Dialog>
  )
}

/** Album, place and search pages: the view's items loaded so far as a plain grid of tiles. */
export function PhotoGrid({ items, hrefOf, selection, label }: { items: FileItem[]; hrefOf: (f: FileItem) => string; selection: Selection; label: string }) {
  const selecting = selection.chosen.size > 0
  return (
    <ul className="grid grid-cols-[repeat(auto-fill,minmax(6rem,1fr))] gap-1 sm:grid-cols-[repeat(auto-fill,minmax(10rem,1fr))]" aria-label={label}>
      {items.map((f) => (
        <li key={f.id} className="aspect-square">
          <PhotoTile f={f} href={hrefOf(f)} selected={selection.chosen.has(f.id)} selecting={selecting} onToggle={selection.toggle} />
        </li>
      ))}
    </ul>
  )
}
