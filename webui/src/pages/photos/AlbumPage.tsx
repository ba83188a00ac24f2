// One album: its photos in the album's order (by date taken, oldest or newest first), its dates
// and count; rename, change the order, share it with a link, delete it (the photos stay). Select
// photos to remove them from the album (never from the drive), make one the cover, or anything
// the timeline offers.
import { useCallback, useEffect, useState } from 'react'
import { errorText } from '../../api/client'
import type { Album, FileItem } from '../../api/types'
import { Dialog, ErrorText, PageTitle, Spinner } from '../../components/ui'
import { hideLiveClips } from '../../lib/live'
import { Link, navigate } from '../../lib/router'
import { api, toast } from '../../store/app'
import { ShareDialog } from '../files/ShareDialog'
import { AlbumNameDialog } from './AlbumsPage'
import { PhotoGrid, SelectionBar, useSelection, withClips } from './PhotoSelection'

function dates(a: Album): string {
  if (!a.first_at || !a.last_at) return ''
  const f = (s: string) => new Date(s).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' })
  return f(a.first_at) === f(a.last_at) ? f(a.first_at) : `${f(a.first_at)} – ${f(a.last_at)}`
}

export default function AlbumPage({ id }: { id: string }) {
  const [album, setAlbum] = useState<Album | null>(null)
  const [items, setItems] = useState<FileItem[]>([])
  const [error, setError] = useState<unknown>(null)
  const [dialog, setDialog] = useState<null | 'rename' | 'share' | 'delete'>(null)
  const [reload, setReload] = useState(0)

  useEffect(() => {
    api
      .album(id)
      .then((r) => {
        setAlbum(r.album)
        setItems(hideLiveClips(r.items))
      })
      .catch(setError)
  }, [id, reload])

  const order = useCallback(() => items, [items])
  const selection = useSelection(order)
  const chosen = [...selection.chosen.values()]

  async function edit(change: Parameters<typeof api.editAlbum>[1]) {
    try {
      setAlbum(await api.editAlbum(id, change))
      if (change.sort) setReload((r) => r + 1)
    } catch (e) {
      toast(errorText(e), 'error')
    }
  }

  async function removeChosen() {
    try {
      const r = await api.removeFromAlbum(id, withClips(chosen).map((f) => f.id))
      toast(`Removed ${chosen.length === 1 ? `“${chosen[0].name}”` : `${chosen.length} photos`} from the album (the files stay in your drive)`)
      setAlbum(r.album)
      setItems((l) => l.filter((f) => !selection.chosen.has(f.id)))
      selection.clear()
    } catch (e) {
      toast(errorText(e), 'error')
    }
  }

  if (error) return <ErrorText error={error} />
  if (!album) return <Spinner />
  return (
    <div>
      <p className="mb-1 text-sm">
        <Link href="/albums" className="link">
          Albums
        </Link>
      </p>
      <PageTitle
        actions={
          <>
            <label className="flex items-center gap-1 text-sm">
              <span className="sr-only sm:not-sr-only">Order</span>
              <select className="input w-auto py-1.5" value={album.sort} onChange={(e) => void edit({ sort: e.target.value as 'asc' | 'desc' })} aria-label="Order">
                <option value="asc">Oldest first</option>
                <option value="desc">Newest first</option>
              </select>
            </label>
            <button type="button" className="btn" onClick={() => setDialog('rename')}>Rename</button>
            <button type="button" className="btn" onClick={() => setDialog('share')} disabled={album.count === 0}>Share</button>
            <button type="button" className="btn btn-danger" onClick={() => setDialog('delete')}>Delete album</button>
          </>
        }
      >
        <span data-testid="album-name">{album.name}</span>
      </PageTitle>
      <p className="-mt-3 mb-3 text-sm text-slate-600" data-testid="album-facts">
        {album.count} item{album.count === 1 ? '' : 's'}
        {dates(album) && ` · ${dates(album)}`}
      </p>
      <SelectionBar
        chosen={chosen}
        onClear={selection.clear}
        onGone={(ids) => setItems((l) => l.filter((f) => !ids.has(f.id)))}
        onBack={() => setReload((r) => r + 1)}
        extra={
          <>
            <button type="button" className="btn" disabled={chosen.length !== 1} onClick={() => void edit({ cover_id: chosen[0].id }).then(selection.clear)}>
              Make cover
            </button>
            <button type="button" className="btn" onClick={() => void removeChosen()}>
              Remove from album
            </button>
          </>
        }
      />
      {items.length === 0 ? (
        <p className="card text-sm text-slate-600">
          This album is empty. Add photos from the{' '}
          <Link href="/photos" className="link">
            Photos
          </Link>{' '}
          page (select, then Add to album).
        </p>
      ) : (
        <PhotoGrid items={items} hrefOf={(f) => `/view/${f.id}?in=${encodeURIComponent(`album:${id}`)}`} selection={selection} label={`Photos of ${album.name}`} />
      )}
      {dialog === 'rename' && (
        <AlbumNameDialog
          title="Rename album"
          initial={album.name}
          action="Rename"
          onSubmit={async (name) => {
            setAlbum(await api.editAlbum(album.id, { name }))
            setDialog(null)
          }}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === 'share' && <ShareDialog kind="album" targetId={album.id} name={album.name} onClose={() => setDialog(null)} />}
      {dialog === 'delete' && (
        <Dialog title={`Delete the album “${album.name}”?`} onClose={() => setDialog(null)}>
          <p className="text-sm text-slate-700">The album goes and its share links stop working; its {album.count} photos stay in your drive and on the timeline.</p>
          <div className="mt-4 flex justify-end gap-2">
            <button type="button" className="btn" onClick={() => setDialog(null)}>Cancel</button>
            <button
              type="button"
              className="btn btn-danger"
              onClick={async () => {
                try {
                  await api.deleteAlbum(album.id)
                  toast(`Deleted the album “${album.name}”`)
                  navigate('/albums')
                } catch (e) {
                  toast(errorText(e), 'error')
                }
              }}
            >
              Delete album
            </button>
          </div>
        </Dialog>
      )}
    </div>
  )
}
