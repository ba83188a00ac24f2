// Albums: the user's named collections of photos, each with its cover, name and count, newest
// change first; "New album" makes an empty one to fill from the timeline, search or the viewer.
import { useEffect, useState, type FormEvent } from 'react'
import type { Album } from '../../api/types'
import { Dialog, ErrorText, PageTitle, Spinner } from '../../components/ui'
import { Link, navigate } from '../../lib/router'
import { api } from '../../store/app'
import { Cover } from './PhotoSelection'

/** A dialog asking for an album's name (a new one, or a rename). */
export function AlbumNameDialog({ title, initial = '', action, hint, onSubmit, onClose }: { title: string; initial?: string; action: string; hint?: string; onSubmit: (name: string) => Promise<void>; onClose: () => void }) {
  const [name, setName] = useState(initial)
  const [error, setError] = useState<unknown>(null)
  async function submit(e: FormEvent) {
    e.preventDefault()
    try {
      await onSubmit(name)
    } catch (err) {
      setError(err)
    }
  }
  return (
    <Dialog title={title} onClose={onClose}>
      <form onSubmit={submit} className="space-y-3">
        <label className="block text-sm">
          <span className="font-medium">Name</span>
          <input className="input mt-1" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} required />
        </label>
        {hint && <p className="text-sm text-slate-600">{hint}</p>}
        <ErrorText error={error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="submit" className="btn btn-primary">{action}</button>
        </div>
      </form>
    </Dialog>
  )
}

export default function AlbumsPage() {
  const [albums, setAlbums] = useState<Album[] | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [creating, setCreating] = useState(false)
  useEffect(() => {
    api
      .albums()
      .then((a) => setAlbums(a.albums))
      .catch(setError)
  }, [])
  return (
    <div>
      <PageTitle
        actions={
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            New album
          </button>
        }
      >
        Albums
      </PageTitle>
      <ErrorText error={error} />
      {!albums && !error && <Spinner />}
      {albums && albums.length === 0 && (
        <p className="card text-sm text-slate-600">
          No albums yet. Select photos on the{' '}
          <Link href="/photos" className="link">
            Photos
          </Link>{' '}
          page and choose Add to album, or make an empty one with New album.
        </p>
      )}
      {albums && albums.length > 0 && (
        <ul className="grid grid-cols-2 gap-4 sm:grid-cols-3 lg:grid-cols-5" aria-label="Albums">
          {albums.map((a) => (
            <li key={a.id} className="min-w-0">
              <Link href={`/albums/${a.id}`} className="block" data-testid="album-card">
                <Cover id={a.cover_id} label={a.name} className="aspect-square w-full rounded-lg" />
                <span className="mt-1 block truncate font-medium" title={a.name}>
                  {a.name}
                </span>
                <span className="text-sm text-slate-500">
                  {a.count} item{a.count === 1 ? '' : 's'}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
      {creating && (
        <AlbumNameDialog
          title="New album"
          action="Create"
          hint="Then add photos from the timeline, a search or the viewer (Add to album)."
          onSubmit={async (name) => navigate(`/albums/${(await api.createAlbum(name)).id}`)}
          onClose={() => setCreating(false)}
        />
      )}
    </div>
  )
}
