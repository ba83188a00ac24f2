// The trash: what the user (or a sync client, or Finder) deleted, newest first, 100 a page.
// Restore puts an item back where it was (its folder comes back too when that was deleted), or
// in a folder the user picks; a name taken there asks Keep both or Replace, as uploads do. Delete
// for good and Empty trash ask first.
import { useEffect, useState } from 'react'
import { ApiError, errorText } from '../../api/client'
import type { OnConflict } from '../../api/local-types'
import type { FileItem, TrashItem, TrashListing } from '../../api/types'
import { Dialog, ErrorText, PageTitle, Spinner } from '../../components/ui'
import { formatAgo, formatBytes, formatDateTime, formatExpiry, toDate } from '../../lib/format'
import { navigate } from '../../lib/router'
import { api, dismissUndoToasts, refreshMe, toast } from '../../store/app'
import { isNameTaken, originalPlace, pageInfo, retentionDays, TRASH_PAGE } from '../../store/trash'
import { MoveDialog } from '../files/MoveDialog'

type DialogState =
  | { kind: 'purge'; item: TrashItem }
  | { kind: 'empty' }
  | { kind: 'conflict'; item: TrashItem; parentId?: string }
  | { kind: 'restore-to'; item: TrashItem }
  | null

const isFolder = (item: TrashItem) => item.kind !== 'file'

function ItemIcon({ item }: { item: TrashItem }) {
  return (
    <svg viewBox="0 0 24 24" className={`h-8 w-8 shrink-0 ${isFolder(item) ? 'text-amber-500' : 'text-slate-400'}`} fill={isFolder(item) ? 'currentColor' : 'none'} stroke="currentColor" strokeWidth={isFolder(item) ? 0 : 1.5} aria-hidden>
      <path d={isFolder(item) ? 'M3 6a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z' : 'M6 3h8l4 4v14H6zM14 3v4h4'} strokeLinejoin="round" />
    </svg>
  )
}

export default function TrashPage() {
  const [offset, setOffset] = useState(0)
  const [data, setData] = useState<TrashListing | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [reloadKey, setReloadKey] = useState(0)
  const [dialog, setDialog] = useState<DialogState>(null)
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    let live = true
    api
      .trash(TRASH_PAGE, offset)
      .then((d) => {
        if (!live) return
        // The last item of a later page went: show the page before it.
        if (d.items.length === 0 && offset > 0) setOffset(Math.max(0, offset - TRASH_PAGE))
        setData(d)
        setError(null)
      })
      .catch((e) => live && setError(e))
    return () => {
      live = false
    }
  }, [offset, reloadKey])

  const reload = () => {
    setReloadKey((k) => k + 1)
    void refreshMe()
  }

  async function restore(item: TrashItem, opts: { on_conflict?: OnConflict; parent_id?: string } = {}) {
    setBusy(true)
    try {
      const file: FileItem = await api.restoreFromTrash(item.id, opts)
      setDialog(null)
      const folder = file.parent_id ? `/files/${file.parent_id}` : '/files'
      toast(file.name === item.name ? `Restored “${file.name}”` : `Restored “${item.name}” as “${file.name}”`, 'info', { action: { label: 'Open folder', run: () => navigate(folder) } })
      reload()
    } catch (e) {
      if (isNameTaken(e)) setDialog({ kind: 'conflict', item, parentId: opts.parent_id })
      else {
        setDialog(null)
        toast(`Restore ${item.name}: ${errorText(e)}`, 'error')
      }
    } finally {
      setBusy(false)
    }
  }

  async function purge(item: TrashItem) {
    setBusy(true)
    try {
      await api.deleteFromTrash(item.id)
      dismissUndoToasts()
      toast(`Deleted “${item.name}” for good`)
      reload()
    } catch (e) {
      toast(`Delete ${item.name}: ${errorText(e)}`, 'error')
    } finally {
      setBusy(false)
      setDialog(null)
    }
  }

  async function empty() {
    setBusy(true)
    try {
      const r = await api.emptyTrash()
      dismissUndoToasts()
      toast(`Deleted ${r.deleted} item${r.deleted === 1 ? '' : 's'} for good, ${formatBytes(r.freed_bytes)} freed`)
      setOffset(0)
      reload()
    } catch (e) {
      toast(`Empty trash: ${errorText(e)}`, 'error')
    } finally {
      setBusy(false)
      setDialog(null)
    }
  }

  if (error instanceof ApiError && error.code === 'no-such-route') return <p className="card text-sm text-slate-600">This server has no trash yet: deletes are final here.</p>
  const page = data ? pageInfo(offset, data.items.length, data.total) : null
  const days = retentionDays(data?.items[0])
  const keep = days ? `${days} day${days === 1 ? '' : 's'}` : '30 days (unless your administrator set another period)'

  return (
    <div>
      <PageTitle
        actions={
          <button type="button" className="btn btn-danger" disabled={!data || data.total === 0 || busy} onClick={() => setDialog({ kind: 'empty' })}>
            Empty trash
          </button>
        }
      >
        Trash
      </PageTitle>
      <div className="mb-4 rounded-md border border-slate-200 bg-slate-50 px-3 py-2 text-sm text-slate-700" data-testid="trash-help">
        <p>
          Files and folders you delete — here, or from a synced or mounted drive (rclone, Finder, Explorer, WebDAV) — stay in the Trash for {keep}, then they are
          deleted for good. Until then they count toward your storage, and when an upload needs the space, the oldest items here are deleted first to make room.
        </p>
        <p className="mt-1">
          Restore puts an item back in the folder it came from; when that folder was deleted too, it comes back with it (so files a sync client deleted one by one can be restored in any order). A folder comes
          back with everything in it.
        </p>
      </div>
      <ErrorText error={error} />
      {!data && !error && <Spinner />}
      {data && data.total === 0 && (
        <div className="rounded-lg border-2 border-dashed border-slate-300 p-10 text-center text-slate-500" data-testid="trash-empty">
          The Trash is empty. Items you delete show up here for {days ? `${days} day${days === 1 ? '' : 's'}` : '30 days'}.
        </div>
      )}
      {data && data.total > 0 && (
        <>
          <p className="mb-2 text-sm text-slate-600" data-testid="trash-summary">
            {data.total} item{data.total === 1 ? '' : 's'} · {formatBytes(data.bytes)} in the Trash
          </p>
          <ul className="divide-y divide-slate-100 rounded-lg border border-slate-200 bg-white" aria-label="Deleted items">
            {data.items.map((item) => (
              <li key={item.id} className="flex flex-wrap items-center gap-3 px-3 py-2" data-testid="trash-item" data-name={item.name}>
                <ItemIcon item={item} />
                <div className="min-w-0 flex-1">
                  <p className="truncate text-sm font-medium" title={item.name}>
                    {item.name}
                  </p>
                  <p className="text-xs text-slate-600">
                    <span data-testid="trash-place" title={item.original_path}>
                      from {originalPlace(item.original_path)}
                    </span>
                    {' · '}
                    <time dateTime={toDate(item.deleted_at)?.toISOString()} title={`Deleted ${formatDateTime(item.deleted_at)}`}>
                      deleted {formatAgo(item.deleted_at)}
                    </time>
                    {' · '}
                    {formatBytes(item.size)}
                    {isFolder(item) ? ` in ${item.files} file${item.files === 1 ? '' : 's'}` : ''}
                    {item.expires_at !== undefined && toDate(item.expires_at) && (
                      <span title={`Deleted for good ${formatDateTime(item.expires_at)}`}> · gone for good {formatExpiry(toDate(item.expires_at)!.toISOString())}</span>
                    )}
                  </p>
                </div>
                <div className="flex flex-wrap gap-2">
                  <button type="button" className="btn" disabled={busy} onClick={() => void restore(item)} aria-label={`Restore ${item.name}`}>
                    Restore
                  </button>
                  <button type="button" className="btn" disabled={busy} onClick={() => setDialog({ kind: 'restore-to', item })} aria-label={`Restore ${item.name} to another folder`}>
                    Restore to…
                  </button>
                  <button type="button" className="btn" disabled={busy} onClick={() => setDialog({ kind: 'purge', item })} aria-label={`Delete ${item.name} for good`}>
                    Delete for good
                  </button>
                </div>
              </li>
            ))}
          </ul>
          {page && (page.prev || page.next) && (
            <nav aria-label="Trash pages" className="mt-3 flex items-center justify-center gap-3 text-sm">
              <button type="button" className="btn" disabled={!page.prev} onClick={() => setOffset(Math.max(0, offset - TRASH_PAGE))}>
                Previous
              </button>
              <span>{page.text}</span>
              <button type="button" className="btn" disabled={!page.next} onClick={() => setOffset(offset + TRASH_PAGE)}>
                Next
              </button>
            </nav>
          )}
        </>
      )}

      {dialog?.kind === 'purge' && (
        <Dialog title={`Delete “${dialog.item.name}” for good?`} onClose={() => setDialog(null)}>
          <p className="text-sm text-slate-700">
            {isFolder(dialog.item) ? `The folder and its ${dialog.item.files} file${dialog.item.files === 1 ? '' : 's'}` : 'The file'} cannot be restored afterwards. This frees {formatBytes(dialog.item.size)}.
          </p>
          <div className="mt-4 flex justify-end gap-2">
            <button type="button" className="btn" onClick={() => setDialog(null)}>
              Cancel
            </button>
            <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void purge(dialog.item)}>
              Delete for good
            </button>
          </div>
        </Dialog>
      )}
      {dialog?.kind === 'empty' && data && (
        <Dialog title="Empty the Trash?" onClose={() => setDialog(null)}>
          <p className="text-sm text-slate-700">
            All {data.total} item{data.total === 1 ? '' : 's'} in the Trash ({formatBytes(data.bytes)}) will be deleted for good. This cannot be undone.
          </p>
          <div className="mt-4 flex justify-end gap-2">
            <button type="button" className="btn" onClick={() => setDialog(null)}>
              Cancel
            </button>
            <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void empty()}>
              Empty trash
            </button>
          </div>
        </Dialog>
      )}
      {dialog?.kind === 'conflict' && (
        <Dialog title={`“${dialog.item.name}” already exists there`} onClose={() => setDialog(null)}>
          <p className="text-sm text-slate-700" data-testid="restore-conflict">
            The folder {dialog.parentId ? 'you chose' : originalPlace(dialog.item.original_path)} already holds an item named exactly “{dialog.item.name}”. <strong>Keep both</strong> restores it under a free name
            such as “name (1)”. <strong>Replace</strong> puts the restored item in place of the current one, which moves to the Trash.
          </p>
          <div className="mt-4 flex flex-wrap justify-end gap-2">
            <button type="button" className="btn" onClick={() => setDialog(null)}>
              Cancel
            </button>
            <button type="button" className="btn" disabled={busy} onClick={() => void restore(dialog.item, { on_conflict: 'keep_both', parent_id: dialog.parentId })}>
              Keep both
            </button>
            <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void restore(dialog.item, { on_conflict: 'overwrite', parent_id: dialog.parentId })}>
              Replace
            </button>
          </div>
        </Dialog>
      )}
      {dialog?.kind === 'restore-to' && (
        <MoveDialog
          count={1}
          exclude={new Set()}
          title={`Restore “${dialog.item.name}” to…`}
          action="Restore here"
          onClose={() => setDialog(null)}
          onMove={(dest) => restore(dialog.item, { parent_id: dest })}
        />
      )}
    </div>
  )
}
