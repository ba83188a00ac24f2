// Picks a destination folder by browsing the folder tree.
import { useEffect, useState } from 'react'
import type { Listing } from '../../api/types'
import { FileIcon } from '../../components/Thumb'
import { Dialog, ErrorText, Spinner } from '../../components/ui'
import { api } from '../../store/app'

export function MoveDialog({
  count,
  exclude,
  onMove,
  onClose,
  title,
  action = 'Move here',
}: {
  count: number
  exclude: Set<string>
  onMove: (folderId: string) => Promise<void>
  onClose: () => void
  title?: string
  action?: string
}) {
  const [folder, setFolder] = useState<string | null>(null)
  const [listing, setListing] = useState<Listing | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    setListing(null)
    api
      .listFiles(folder, 'name', 'asc', 1000, 0)
      .then(setListing)
      .catch(setError)
  }, [folder])

  const folders = listing?.items.filter((i) => i.kind === 'folder' && !exclude.has(i.id)) ?? []
  return (
    <Dialog title={title ?? `Move ${count} item${count > 1 ? 's' : ''}`} onClose={onClose}>
      <nav aria-label="Destination path" className="mb-2 flex flex-wrap gap-1 text-sm">
        {listing?.path.map((p, i) => (
          <span key={p.id}>
            {i > 0 && <span className="text-slate-400"> / </span>}
            <button type="button" className="link" onClick={() => setFolder(i === 0 ? null : p.id)}>
              {i === 0 ? 'My files' : p.name}
            </button>
          </span>
        ))}
      </nav>
      {!listing && !error && <Spinner />}
      <ErrorText error={error} />
      <ul className="max-h-64 overflow-auto rounded-md border border-slate-200" aria-label="Folders">
        {folders.length === 0 && listing && <li className="p-2 text-sm text-slate-500">No folders here.</li>}
        {folders.map((f) => (
          <li key={f.id}>
            <button type="button" className="flex w-full items-center gap-2 px-3 py-2 text-left text-sm hover:bg-slate-100" onClick={() => setFolder(f.id)}>
              <FileIcon file={f} className="h-5 w-5" /> {f.name}
            </button>
          </li>
        ))}
      </ul>
      <div className="mt-4 flex justify-end gap-2">
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          className="btn btn-primary"
          disabled={!listing || busy}
          onClick={async () => {
            setBusy(true)
            try {
              await onMove(listing!.folder.id)
            } catch (e) {
              setError(e)
              setBusy(false)
            }
          }}
        >
          {action}
        </button>
      </div>
    </Dialog>
  )
}
