// Uploads in progress (per-file and total progress, pause/resume/cancel) and the server's
// unfinished uploads, which resume when their file is chosen again.
import { useEffect, useRef, useState } from 'react'
import { errorText } from '../../api/client'
import type { UnfinishedUpload } from '../../api/types'
import { ProgressBar } from '../../components/ui'
import { formatBytes, formatExpiry } from '../../lib/format'
import { useStore } from '../../lib/store'
import { api, refreshMe, toast, uploads } from '../../store/app'
import { panelOpen, totals, type UploadItem } from '../../store/uploads'

const STATUS: Record<UploadItem['status'], string> = {
  queued: 'Waiting',
  uploading: 'Uploading',
  paused: 'Paused',
  done: 'Done',
  error: 'Failed',
  canceled: 'Cancelled',
  conflict: 'Name taken',
  skipped: 'Skipped',
}

function ItemRow({ item }: { item: UploadItem }) {
  return (
    <li className="py-2" data-testid="upload-item" data-name={item.name} data-status={item.status}>
      <div className="flex items-center gap-2">
        <span className="min-w-0 flex-1 truncate text-sm font-medium" title={item.name}>
          {item.name}
        </span>
        <span className="shrink-0 text-xs text-slate-500">{STATUS[item.status]}</span>
        {(item.status === 'uploading' || item.status === 'queued') && (
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => void uploads.pause(item.key)} aria-label={`Pause ${item.name}`}>
            Pause
          </button>
        )}
        {(item.status === 'paused' || (item.status === 'error' && item.resumable !== false)) && (
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => uploads.resume(item.key)} aria-label={`Resume ${item.name}`}>
            Resume
          </button>
        )}
        {item.status !== 'done' && item.status !== 'canceled' && item.status !== 'skipped' && item.status !== 'conflict' && (
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => void uploads.cancel(item.key)} aria-label={`Cancel ${item.name}`}>
            Cancel
          </button>
        )}
      </div>
      {item.status === 'conflict' && (
        <div className="mt-1 rounded-md border border-amber-200 bg-amber-50 p-2 text-xs text-amber-900" data-testid="upload-question">
          <p>
            “{item.name}” already exists here. <strong>Replace</strong> keeps its current content as an earlier version; <strong>Keep both</strong> uploads this one under a free name.
          </p>
          <div className="mt-1.5 flex flex-wrap gap-1.5">
            <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => uploads.resolve(item.key, 'overwrite')}>
              Replace
            </button>
            <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => uploads.resolve(item.key, 'keep_both')}>
              Keep both
            </button>
            <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => uploads.resolve(item.key, 'skip')}>
              Skip
            </button>
          </div>
        </div>
      )}
      <ProgressBar value={item.sent} max={item.size} label={`Upload of ${item.name}`} className="mt-1" />
      <p className="mt-0.5 text-xs text-slate-500" data-testid="upload-progress-text">
        {formatBytes(item.sent)} of {formatBytes(item.size)}
        {item.resumedFrom ? ` · resumed at ${formatBytes(item.resumedFrom)}` : ''}
      </p>
      {item.error && (
        <p role="alert" className="text-xs text-red-700">
          {item.error}
        </p>
      )}
    </li>
  )
}

export function UploadPanel({ reloadKey }: { reloadKey: number }) {
  const items = useStore(uploads.store, (s) => s.items)
  const [userOpen, setUserOpen] = useState<boolean | null>(null)
  const [unfinished, setUnfinished] = useState<UnfinishedUpload[]>([])
  const picker = useRef<HTMLInputElement>(null)
  const [resuming, setResuming] = useState<UnfinishedUpload | null>(null)
  const t = totals(items)
  const open = panelOpen(t, items.length, userOpen)
  // A new batch: the panel decides again (open while it runs, folded away when all is done).
  useEffect(() => {
    if (t.active > 0) setUserOpen(null)
  }, [t.active > 0]) // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    api
      .unfinishedUploads()
      .then((r) => setUnfinished(r.uploads))
      .catch(() => setUnfinished([]))
  }, [reloadKey, t.active])

  const active = new Set(items.filter((i) => i.status !== 'done' && i.status !== 'canceled').map((i) => `${i.name}|${i.size}|${i.folderId ?? ''}`))
  const waiting = unfinished.filter((u) => !active.has(`${u.filename}|${u.length}|${u.folder_id ?? ''}`))
  if (items.length === 0 && waiting.length === 0) return null

  return (
    <section
      aria-label="Uploads"
      className={`fixed bottom-2 right-2 z-30 max-h-[60vh] overflow-auto rounded-lg border border-slate-200 bg-white shadow-xl sm:right-4 ${open ? 'left-2 p-3 sm:left-auto sm:w-96' : 'max-w-[calc(100vw-1rem)] px-3 py-2'}`}
      data-testid="upload-panel"
      data-open={open}
    >
      <div className="flex items-center gap-2">
        <h2 className={`${open ? 'flex-1' : 'min-w-0 truncate'} text-sm font-semibold`}>
          {t.active > 0
            ? `Uploading ${t.active} file${t.active > 1 ? 's' : ''}`
            : t.conflicts > 0
              ? `${t.conflicts} name${t.conflicts > 1 ? 's' : ''} taken: what should happen?`
              : items.length
                ? `Uploads: ${t.done} done${t.failed ? `, ${t.failed} failed` : ''}`
                : 'Unfinished uploads'}
        </h2>
        {t.active > 0 && (
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => void uploads.pauseAll()}>
            Pause all
          </button>
        )}
        {items.some((i) => i.status === 'paused') && (
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => uploads.resumeAll()}>
            Resume all
          </button>
        )}
        {open && t.active === 0 && t.conflicts === 0 && items.length > 0 && (
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => uploads.clearFinished()}>
            Clear
          </button>
        )}
        <button type="button" className="btn shrink-0 px-2 py-0.5 text-xs" aria-expanded={open} onClick={() => setUserOpen(!open)}>
          {open ? 'Hide' : 'Show'}
        </button>
      </div>
      {open && t.conflicts > 1 && (
        <div className="mt-2 flex flex-wrap items-center gap-1.5 text-xs" data-testid="upload-question-all">
          <span className="mr-1 font-medium">For all {t.conflicts}:</span>
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => uploads.resolveAll('overwrite')}>
            Replace all
          </button>
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => uploads.resolveAll('keep_both')}>
            Keep both for all
          </button>
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => uploads.resolveAll('skip')}>
            Skip all
          </button>
        </div>
      )}
      {/* Folded away, the list stays in the page (hidden) so its state is kept and comes back as it was. */}
      <div hidden={!open} data-testid="upload-list">
        {items.length > 0 && (
          <div className="mt-2">
            <ProgressBar value={t.sent} max={t.total} label="All uploads" />
            <p className="mt-0.5 text-xs text-slate-500" data-testid="upload-total-text">
              {formatBytes(t.sent)} of {formatBytes(t.total)} in all
            </p>
          </div>
        )}
        <ul className="divide-y divide-slate-100">
          {items.map((i) => (
            <ItemRow key={i.key} item={i} />
          ))}
        </ul>
        {waiting.length > 0 && (
          <div className="mt-2 border-t border-slate-200 pt-2" data-testid="unfinished-uploads">
            <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500">Unfinished — choose the same file to continue</h3>
            <ul>
              {waiting.map((u) => (
                <li key={u.id} className="py-2" data-testid="unfinished-upload" data-name={u.filename}>
                  <div className="flex items-center gap-2">
                    <span className="min-w-0 flex-1 truncate text-sm">{u.filename}</span>
                    <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => { setResuming(u); picker.current?.click() }} aria-label={`Resume ${u.filename}`}>
                      Resume…
                    </button>
                    <button
                      type="button"
                      className="btn px-2 py-0.5 text-xs"
                      aria-label={`Discard ${u.filename}`}
                      onClick={async () => {
                        try {
                          await api.discardUpload(u.id)
                          setUnfinished((l) => l.filter((x) => x.id !== u.id))
                          void refreshMe()
                        } catch (e) {
                          toast(errorText(e), 'error')
                        }
                      }}
                    >
                      Discard
                    </button>
                  </div>
                  <ProgressBar value={u.offset} max={u.length} label={`Unfinished upload of ${u.filename}`} className="mt-1" />
                  <p className="text-xs text-slate-500">
                    {formatBytes(u.offset)} of {formatBytes(u.length)} · expires {formatExpiry(u.expires_at)}
                  </p>
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
      <input
        ref={picker}
        type="file"
        className="hidden"
        data-testid="resume-picker"
        onChange={(e) => {
          const file = e.target.files?.[0]
          e.target.value = ''
          const u = resuming
          if (!file || !u) return
          if (file.name !== u.filename || file.size !== u.length) {
            toast(`That is not ${u.filename} (${formatBytes(u.length)}): choose the same file to continue.`, 'error')
            return
          }
          uploads.add([file], u.folder_id)
        }}
      />
    </section>
  )
}
