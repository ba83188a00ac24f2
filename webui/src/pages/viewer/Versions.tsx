// A file's earlier versions: every body replaced by an upload, a sync client or a save over
// WebDAV is kept (thinned out with age). Download one, restore one (the current body becomes a
// version, so a restore can itself be undone), or delete one.
import { useEffect, useState } from 'react'
import { ApiError, errorText } from '../../api/client'
import type { FileItem, FileVersion } from '../../api/types'
import { Dialog, ErrorText } from '../../components/ui'
import { formatBytes, formatDateTime } from '../../lib/format'
import { api, refreshMe, toast } from '../../store/app'
import { versionContentUrl } from '../../api/routes'

/** Downloads `url` as `name` through a temporary link: the browser streams it to disk (the
 * media cookie opens a version's body as it opens a download), nothing is held in memory. */
function saveLink(url: string, name: string) {
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
}

export function Versions({ file, onRestored }: { file: FileItem; onRestored: (f: FileItem) => void }) {
  const [versions, setVersions] = useState<FileVersion[] | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [confirm, setConfirm] = useState<{ kind: 'restore' | 'delete'; version: FileVersion } | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [reloadKey, setReloadKey] = useState(0)

  useEffect(() => {
    let live = true
    setError(null)
    api
      .versions(file.id)
      .then((r) => live && setVersions(r.items))
      .catch((e) => live && setError(e))
    return () => {
      live = false
    }
  }, [file.id, file.etag, reloadKey])

  if (error instanceof ApiError && error.code === 'no-such-route') {
    return (
      <section aria-label="Versions">
        <h2 className="mb-2 text-sm font-semibold">Versions</h2>
        <p className="text-sm text-slate-500">This server does not keep earlier versions yet.</p>
      </section>
    )
  }

  function download(v: FileVersion) {
    saveLink(versionContentUrl(file.id, v.id), file.name)
  }

  async function run(kind: 'restore' | 'delete', v: FileVersion) {
    setBusy(v.id)
    try {
      if (kind === 'restore') {
        const restored = await api.restoreVersion(file.id, v.id)
        toast(`Restored the version from ${formatDateTime(v.modified_at)}`)
        onRestored(restored)
      } else {
        await api.deleteVersion(file.id, v.id)
        toast(`Deleted the version from ${formatDateTime(v.modified_at)}`)
      }
      setReloadKey((k) => k + 1)
      void refreshMe()
    } catch (e) {
      toast(errorText(e), 'error')
    } finally {
      setBusy(null)
      setConfirm(null)
    }
  }

  return (
    <section aria-label="Versions">
      <h2 className="mb-1 text-sm font-semibold">Versions</h2>
      <p className="mb-2 text-xs text-slate-500">
        When this file is replaced — by an upload, a sync client or a program saving over the drive — its earlier content is kept here. Versions are thinned out as they age (one a minute for the
        first hour, one an hour for the first day, one a day for a month, then one a week) and deleted after 180 days (the server's default). They count toward your storage, and the oldest go first when space is needed.
      </p>
      <ul className="divide-y divide-slate-100 rounded-md border border-slate-200 text-sm" data-testid="versions">
        <li className="flex items-center gap-2 px-2 py-1.5" data-testid="version-current" data-size={file.size}>
          <span className="min-w-0 flex-1">
            <span className="font-medium">Current</span>
            <span className="block text-xs text-slate-500">
              {formatDateTime(file.modified_at)} · {formatBytes(file.size)}
            </span>
          </span>
        </li>
        {versions?.map((v) => (
          <li key={v.id} className="px-2 py-1.5" data-testid="version" data-size={v.size}>
            <p>
              <span className="font-medium">{formatDateTime(v.modified_at)}</span>
              <span className="text-xs text-slate-500"> · {formatBytes(v.size)}</span>
            </p>
            <div className="mt-1 flex flex-wrap gap-2">
              <button type="button" className="btn px-2 py-0.5 text-xs" disabled={busy !== null} onClick={() => download(v)} aria-label={`Download the version from ${formatDateTime(v.modified_at)}`}>
                Download
              </button>
              <button type="button" className="btn px-2 py-0.5 text-xs" disabled={busy !== null} onClick={() => setConfirm({ kind: 'restore', version: v })} aria-label={`Restore the version from ${formatDateTime(v.modified_at)}`}>
                Restore
              </button>
              <button type="button" className="btn px-2 py-0.5 text-xs" disabled={busy !== null} onClick={() => setConfirm({ kind: 'delete', version: v })} aria-label={`Delete the version from ${formatDateTime(v.modified_at)}`}>
                Delete
              </button>
            </div>
          </li>
        ))}
        {versions && versions.length === 0 && <li className="px-2 py-1.5 text-slate-500">No earlier versions.</li>}
      </ul>
      {error !== null && (
        <div className="mt-2">
          <ErrorText error={error} />
        </div>
      )}
      {confirm?.kind === 'restore' && (
        <Dialog title="Restore this version?" onClose={() => setConfirm(null)}>
          <p className="text-sm text-slate-700">
            “{file.name}” gets its content from {formatDateTime(confirm.version.modified_at)} ({formatBytes(confirm.version.size)}) back. The current content ({formatBytes(file.size)}) is kept as a version, so you can
            switch back.
          </p>
          <div className="mt-4 flex justify-end gap-2">
            <button type="button" className="btn" onClick={() => setConfirm(null)}>
              Cancel
            </button>
            <button type="button" className="btn btn-primary" disabled={busy !== null} onClick={() => void run('restore', confirm.version)}>
              Restore
            </button>
          </div>
        </Dialog>
      )}
      {confirm?.kind === 'delete' && (
        <Dialog title="Delete this version for good?" onClose={() => setConfirm(null)}>
          <p className="text-sm text-slate-700">
            The content of “{file.name}” from {formatDateTime(confirm.version.modified_at)} cannot be restored afterwards. This frees {formatBytes(confirm.version.size)}.
          </p>
          <div className="mt-4 flex justify-end gap-2">
            <button type="button" className="btn" onClick={() => setConfirm(null)}>
              Cancel
            </button>
            <button type="button" className="btn btn-danger" disabled={busy !== null} onClick={() => void run('delete', confirm.version)}>
              Delete for good
            </button>
          </div>
        </Dialog>
      )}
    </section>
  )
}
