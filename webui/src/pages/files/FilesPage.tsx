// The files page: a folder's items as a grid of thumbnails or a list, breadcrumbs, sorting,
// multi-select with rename/move/delete/download, new folders, and uploads by picker or by
// dropping files from the desktop. A delete moves items to the trash, with "Undo" in a toast;
// an upload onto a taken name asks Replace (the old content becomes a version) or Keep both;
// a name that differs from a sibling only in case is allowed, with a warning. A Live Photo is one
// tile (the still, marked LIVE); its clip goes along when the still is deleted, moved or renamed.
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react'
import { errorText } from '../../api/client'
import { downloadUrl } from '../../api/routes'
import type { SortBy } from '../../api/local-types'
import type { FileItem, Listing } from '../../api/types'
import { FileIcon, isMediaLike, isVideo, LiveBadge, Thumb, VideoBadge } from '../../components/Thumb'
import { Dialog, ErrorText, Spinner } from '../../components/ui'
import { formatBytes, formatDate, formatDuration } from '../../lib/format'
import { clipNameFor, hideLiveClips, withLiveClips } from '../../lib/live'
import { caseTwins, caseWarning, planUploads, renameSelection, type UploadPlan } from '../../lib/names'
import { Link, navigate } from '../../lib/router'
import { api, refreshMe, toast, uploads } from '../../store/app'
import { answerConflict, type ConflictChoice } from '../../store/uploads'
import { moveToTrash, undoTrash } from '../../store/trash'
import { MoveDialog } from './MoveDialog'
import { ShareDialog } from './ShareDialog'
import { UploadPanel } from './UploadPanel'
import { VirtualItems } from './VirtualItems'

/** The first page is small so the folder shows at once; the rest follows in big pages. */
const FIRST_PAGE = 200
const PAGE = 1000

type DialogState =
  | { kind: 'new-folder' }
  | { kind: 'rename'; item: FileItem }
  | { kind: 'delete'; items: FileItem[] }
  | { kind: 'move'; items: FileItem[] }
  | { kind: 'share'; item: FileItem }
  | { kind: 'upload'; plan: UploadPlan<File> }
  | null

function openItem(item: FileItem) {
  if (item.kind === 'folder') navigate(`/files/${item.id}`)
  else if (isMediaLike(item)) navigate(`/view/${item.id}`)
  else triggerDownload(item)
}

/** Downloads a file through a link (an empty name: the server's Content-Disposition names it). */
export function triggerDownload(item: { id: string; name: string }) {
  const a = document.createElement('a')
  a.href = downloadUrl(item.id)
  a.download = item.name
  document.body.appendChild(a)
  a.click()
  a.remove()
}

export function FilesPage({ folderId }: { folderId: string | null }) {
  const [listing, setListing] = useState<Listing | null>(null)
  const [items, setItems] = useState<FileItem[]>([])
  const [error, setError] = useState<unknown>(null)
  const [sort, setSort] = useState<SortBy>(() => (localStorage.getItem('cv-sort') as SortBy) || 'name')
  const [order, setOrder] = useState<'asc' | 'desc'>(() => (localStorage.getItem('cv-order') as 'asc' | 'desc') || 'asc')
  const [view, setView] = useState<'grid' | 'list'>(() => (localStorage.getItem('cv-view') as 'grid' | 'list') || 'grid')
  const [selected, setSelected] = useState<Set<string>>(new Set())
  const [dialog, setDialog] = useState<DialogState>(null)
  const [dragging, setDragging] = useState(false)
  const [reloadKey, setReloadKey] = useState(0)
  const picker = useRef<HTMLInputElement>(null)

  const load = useCallback(
    async (signal?: AbortSignal) => {
      try {
        const first = await api.listFiles(folderId, sort, order, FIRST_PAGE, 0, signal)
        setListing(first)
        setItems(first.items)
        setError(null)
        let all = first.items
        while (all.length < first.total && !signal?.aborted) {
          const next = await api.listFiles(folderId, sort, order, PAGE, all.length, signal)
          if (next.items.length === 0) break
          all = [...all, ...next.items]
          setItems(all)
        }
      } catch (e) {
        if ((e as Error).name !== 'AbortError') setError(e)
      }
    },
    [folderId, sort, order],
  )

  // Another folder starts with nothing selected; a reload of the same one (an upload finished)
  // keeps what the user selected meanwhile.
  useEffect(() => setSelected(new Set()), [folderId])

  useEffect(() => {
    const ctl = new AbortController()
    void load(ctl.signal)
    return () => ctl.abort()
  }, [load, reloadKey])

  useEffect(() => {
    // Show new files as their uploads finish (one reload for a burst of them).
    let timer: ReturnType<typeof setTimeout> | null = null
    const off = uploads.onFinished((item) => {
      if ((item.folderId ?? null) !== (folderId ?? null) && listing?.folder.id !== item.folderId) return
      if (timer) clearTimeout(timer)
      timer = setTimeout(() => setReloadKey((k) => k + 1), 300)
    })
    return () => {
      off()
      if (timer) clearTimeout(timer)
    }
  }, [folderId, listing?.folder.id])

  useEffect(() => {
    // For the E2E timing: when a folder's first items are on screen.
    if (listing && items.length && performance.getEntriesByName('cloudvault:files-rendered').length === 0) {
      performance.mark('cloudvault:files-rendered')
    }
    if (listing && items.length === listing.total && performance.getEntriesByName('cloudvault:files-complete').length === 0) {
      performance.mark('cloudvault:files-complete')
    }
  }, [listing, items.length])

  useEffect(() => localStorage.setItem('cv-view', view), [view])
  useEffect(() => {
    localStorage.setItem('cv-sort', sort)
    localStorage.setItem('cv-order', order)
  }, [sort, order])

  const targetFolder = folderId ?? listing?.folder.id ?? null
  const addFiles = (files: File[]) => {
    if (!files.length) return
    const plan = planUploads(files, items)
    if (plan.taken.length || plan.twins.length) setDialog({ kind: 'upload', plan })
    else uploads.add(files, folderId)
  }
  const startUploads = (plan: UploadPlan<File>, answers: ConflictChoice[]) => {
    setDialog(null)
    if (plan.fresh.length) uploads.add(plan.fresh, folderId)
    for (const choice of ['overwrite', 'keep_both'] as const) {
      const files = plan.taken.filter((_, i) => answers[i] === choice)
      if (files.length) uploads.add(files, folderId, choice)
    }
  }

  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    setDragging(false)
    const files: File[] = []
    let skipped = 0
    const list = e.dataTransfer.items
    for (let i = 0; i < list.length; i++) {
      const it = list[i]
      if (it.kind !== 'file') continue
      const entry = it.webkitGetAsEntry?.()
      if (entry?.isDirectory) {
        skipped++
        continue
      }
      const f = it.getAsFile()
      if (f) files.push(f)
    }
    if (skipped) toast('Folders cannot be dropped: open the folder and drop the files in it.', 'error')
    addFiles(files)
  }

  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s)
      if (n.has(id)) n.delete(id)
      else n.add(id)
      return n
    })
  // What the page shows: a Live Photo's clip is inside its still's tile.
  const shown = useMemo(() => hideLiveClips(items), [items])
  const chosen = shown.filter((i) => selected.has(i.id))

  async function runAll(what: string, list: FileItem[], f: (i: FileItem) => Promise<unknown>) {
    let failed = 0
    for (const i of list) {
      try {
        await f(i)
      } catch (e) {
        failed++
        toast(`${what} ${i.name}: ${errorText(e)}`, 'error')
      }
    }
    setDialog(null)
    setSelected(new Set())
    setReloadKey((k) => k + 1)
    void refreshMe()
    if (!failed) toast(`${what}: ${list.length} item${list.length > 1 ? 's' : ''} done`)
  }

  async function deleteItems(list: FileItem[]) {
    const { trashed, gone, failed } = await moveToTrash(api, withLiveClips(list, items))
    for (const f of failed) toast(`Delete ${f.item.name}: ${errorText(f.error)}`, 'error')
    if (gone.length) toast(`Deleted ${gone.length === 1 ? `“${gone[0].name}”` : `${gone.length} items`} for good (this server has no trash)`)
    setDialog(null)
    setSelected(new Set())
    setReloadKey((k) => k + 1)
    void refreshMe()
    if (!trashed.length) return
    const what = trashed.length === 1 ? `“${trashed[0].item.name}”` : `${trashed.length} items`
    toast(`Moved ${what} to the Trash`, 'info', {
      action: {
        label: 'Undo',
        run: async () => {
          const back = await undoTrash(api, trashed)
          setReloadKey((k) => k + 1)
          void refreshMe()
          for (const f of back.failed) {
            toast(`${f.item.name} is still in the Trash: ${errorText(f.error)}`, 'error', { action: { label: 'Open Trash', run: () => navigate('/trash') } })
          }
          if (back.restored.length) toast(back.restored.length === 1 ? `Restored “${back.restored[0].name}”` : `Restored ${back.restored.length} items`)
        },
      },
    })
  }

  /** A renamed Live Photo's clip follows its still's new name (else the two would part). */
  async function renameClipOf(still: FileItem, name: string) {
    const clip = still.live_video_id ? items.find((i) => i.id === still.live_video_id) : undefined
    const clipName = clip && clipNameFor(name, clip)
    if (!clip || !clipName || clipName === clip.name) return
    try {
      await api.rename(clip.id, clipName)
    } catch (e) {
      toast(`The Live Photo's clip ${clip.name} keeps its name: ${errorText(e)}`, 'error')
    }
  }

  const folderName = listing ? (listing.path.length <= 1 ? 'My files' : listing.folder.name) : ''

  return (
    <div
      className="relative min-h-[60vh]"
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes('Files')) {
          e.preventDefault()
          setDragging(true)
        }
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false)
      }}
      onDrop={onDrop}
      data-testid="dropzone"
    >
      <nav aria-label="Folder path" className={`mb-2 flex flex-wrap items-center gap-1 text-sm ${listing && listing.path.length <= 1 ? 'sr-only' : ''}`} data-testid="breadcrumbs">
        {listing?.path.map((p, i) => (
          <span key={p.id} className="flex items-center gap-1">
            {i > 0 && <span className="text-slate-400" aria-hidden>/</span>}
            {i === listing.path.length - 1 ? (
              <span aria-current="page" className="font-semibold">{i === 0 ? 'My files' : p.name}</span>
            ) : (
              <Link className="link" href={i === 0 ? '/files' : `/files/${p.id}`}>
                {i === 0 ? 'My files' : p.name}
              </Link>
            )}
          </span>
        ))}
      </nav>

      <div className="mb-3 flex flex-wrap items-center gap-2" role="toolbar" aria-label="File actions">
        <h1 className="mr-auto text-xl font-semibold">{folderName}</h1>
        <button type="button" className="btn btn-primary" onClick={() => picker.current?.click()}>
          Upload
        </button>
        <input
          ref={picker}
          type="file"
          multiple
          className="hidden"
          data-testid="file-picker"
          onChange={(e) => {
            addFiles(Array.from(e.target.files ?? []))
            e.target.value = ''
          }}
        />
        <button type="button" className="btn" onClick={() => setDialog({ kind: 'new-folder' })}>
          New folder
        </button>
        <label className="sr-only" htmlFor="sort">Sort by</label>
        <select id="sort" className="input w-auto py-1.5" value={sort} onChange={(e) => setSort(e.target.value as SortBy)}>
          <option value="name">Name</option>
          <option value="date">Date</option>
          <option value="size">Size</option>
        </select>
        <button type="button" className="btn" onClick={() => setOrder((o) => (o === 'asc' ? 'desc' : 'asc'))} aria-label={order === 'asc' ? 'Ascending: switch to descending' : 'Descending: switch to ascending'}>
          {order === 'asc' ? '↑' : '↓'}
        </button>
        <div className="flex overflow-hidden rounded-md border border-slate-300" role="group" aria-label="View">
          <button type="button" aria-pressed={view === 'grid'} className={`px-3 py-1.5 text-sm ${view === 'grid' ? 'bg-sky-700 text-white' : 'bg-white'}`} onClick={() => setView('grid')}>
            Grid
          </button>
          <button type="button" aria-pressed={view === 'list'} className={`px-3 py-1.5 text-sm ${view === 'list' ? 'bg-sky-700 text-white' : 'bg-white'}`} onClick={() => setView('list')}>
            List
          </button>
        </div>
      </div>

      {chosen.length > 0 && (
        <div className="sticky top-14 z-20 mb-3 flex flex-wrap items-center gap-2 rounded-md border border-sky-200 bg-sky-50 p-2" role="toolbar" aria-label="Selection">
          <span className="mr-auto text-sm font-medium" data-testid="selection-count">
            {chosen.length} selected
          </span>
          <button type="button" className="btn" disabled={!chosen.some((c) => c.kind === 'file')} onClick={() => withLiveClips(chosen, items).filter((c) => c.kind === 'file').forEach(triggerDownload)}>
            Download
          </button>
          <button type="button" className="btn" disabled={chosen.length !== 1} onClick={() => setDialog({ kind: 'rename', item: chosen[0] })}>
            Rename
          </button>
          <button type="button" className="btn" disabled={chosen.length !== 1 || chosen[0].kind !== 'file'} onClick={() => navigate(`/view/${chosen[0].id}`)} title="Details and earlier versions">
            Details
          </button>
          <button type="button" className="btn" onClick={() => setDialog({ kind: 'move', items: chosen })}>
            Move
          </button>
          <button type="button" className="btn" disabled={chosen.length !== 1} onClick={() => setDialog({ kind: 'share', item: chosen[0] })} title="A link for people without an account">
            Share
          </button>
          <button type="button" className="btn btn-danger" onClick={() => setDialog({ kind: 'delete', items: chosen })}>
            Delete
          </button>
          <button type="button" className="btn" onClick={() => setSelected(new Set())}>
            Clear
          </button>
        </div>
      )}

      <ErrorText error={error} />
      {!listing && !error && <Spinner />}
      {listing && (
        <>
          <div className="mb-2 flex items-center gap-2 text-sm text-slate-600">
            <input
              type="checkbox"
              id="select-all"
              checked={shown.length > 0 && chosen.length === shown.length}
              onChange={(e) => setSelected(e.target.checked ? new Set(shown.map((i) => i.id)) : new Set())}
            />
            <label htmlFor="select-all">Select all</label>
            <span className="ml-auto" data-testid="item-count">
              {listing.total - (items.length - shown.length)} item{listing.total - (items.length - shown.length) === 1 ? '' : 's'}
            </span>
          </div>
          {items.length === 0 ? (
            <div className="rounded-lg border-2 border-dashed border-slate-300 p-10 text-center text-slate-500">
              This folder is empty. Drop files here or use Upload.
            </div>
          ) : (
            <VirtualItems
              items={shown}
              view={view}
              label={`Contents of ${folderName}`}
              keyOf={(item) => item.id}
              render={(item) => (view === 'grid' ? <GridCell item={item} selected={selected.has(item.id)} onToggle={toggle} /> : <ListRow item={item} selected={selected.has(item.id)} onToggle={toggle} />)}
            />
          )}
        </>
      )}

      {dragging && (
        <div className="pointer-events-none fixed inset-0 z-40 flex items-center justify-center bg-sky-700/20">
          <p className="rounded-lg bg-white px-6 py-4 text-lg font-semibold shadow-lg">Drop to upload to {folderName}</p>
        </div>
      )}

      {dialog?.kind === 'new-folder' && (
        <NameDialog
          title="New folder"
          initial=""
          siblings={items}
          action="Create"
          onClose={() => setDialog(null)}
          onSubmit={async (name) => {
            await api.createFolder(targetFolder, name)
            setDialog(null)
            setReloadKey((k) => k + 1)
          }}
        />
      )}
      {dialog?.kind === 'rename' && (
        <NameDialog
          title={`Rename ${dialog.item.name}`}
          initial={dialog.item.name}
          kind={dialog.item.kind}
          siblings={items}
          selfId={dialog.item.id}
          action="Rename"
          onClose={() => setDialog(null)}
          onSubmit={async (name) => {
            await api.rename(dialog.item.id, name)
            await renameClipOf(dialog.item, name)
            setDialog(null)
            setSelected(new Set())
            setReloadKey((k) => k + 1)
          }}
        />
      )}
      {dialog?.kind === 'move' && (
        <MoveDialog
          count={dialog.items.length}
          exclude={new Set(dialog.items.map((i) => i.id))}
          onClose={() => setDialog(null)}
          onMove={(dest) => runAll('Move', withLiveClips(dialog.items, items), (i) => api.move(i.id, dest))}
        />
      )}
      {dialog?.kind === 'share' && <ShareDialog kind={dialog.item.kind === 'folder' ? 'folder' : 'file'} targetId={dialog.item.id} name={dialog.item.name} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'delete' && (
        <Dialog title={`Delete ${dialog.items.length} item${dialog.items.length > 1 ? 's' : ''}?`} onClose={() => setDialog(null)}>
          <p className="text-sm text-slate-700">
            {dialog.items.length === 1 ? dialog.items[0].name : `${dialog.items.length} items`}
            {dialog.items.some((i) => i.kind === 'folder') ? ' and everything inside' : ''}
            {dialog.items.some((i) => i.live_video_id) ? (dialog.items.length === 1 ? ' (with its Live Photo clip)' : ' (with the clips of the Live Photos)') : ''} will move to the Trash. You can restore{' '}
            {dialog.items.length === 1 ? 'it' : 'them'} from there until the Trash deletes {dialog.items.length === 1 ? 'it' : 'them'} for good (after 30 days unless your administrator set another period); until then{' '}
            {dialog.items.length === 1 ? 'it still counts' : 'they still count'} toward your storage.
          </p>
          <div className="mt-4 flex justify-end gap-2">
            <button type="button" className="btn" onClick={() => setDialog(null)}>
              Cancel
            </button>
            <button type="button" className="btn btn-danger" onClick={() => void deleteItems(dialog.items)}>
              Delete
            </button>
          </div>
        </Dialog>
      )}
      {dialog?.kind === 'upload' && <UploadConflictDialog plan={dialog.plan} folderName={folderName} onClose={() => setDialog(null)} onDone={(answers) => startUploads(dialog.plan, answers)} />}

      <UploadPanel reloadKey={reloadKey} />
    </div>
  )
}

function GridCell({ item, selected, onToggle }: { item: FileItem; selected: boolean; onToggle: (id: string) => void }) {
  return (
    <div className={`group relative flex h-full flex-col overflow-hidden rounded-lg border bg-white shadow-sm ${selected ? 'border-sky-600 ring-2 ring-sky-600' : 'border-slate-200'}`} data-testid="file-item" data-name={item.name} data-kind={item.kind}>
      <input type="checkbox" className="absolute left-2 top-2 z-10 h-5 w-5" checked={selected} onChange={() => onToggle(item.id)} aria-label={`Select ${item.name}`} />
      <button type="button" className="flex min-h-0 flex-1 flex-col text-left focus-visible:outline-2 focus-visible:outline-sky-600" onClick={() => openItem(item)} aria-label={`Open ${item.name}`}>
        {item.kind === 'folder' ? (
          <div className="flex min-h-0 w-full flex-1 items-center justify-center bg-amber-50">
            <FileIcon file={item} className="h-1/2 w-1/2" />
          </div>
        ) : (
          <div className="relative flex min-h-0 w-full flex-1">
            <Thumb file={item} className="min-h-0 w-full flex-1 bg-slate-50" />
            <VideoBadge file={item} />
            <LiveBadge file={item} />
          </div>
        )}
        <span className="block truncate px-2 pt-1.5 text-sm font-medium" title={item.name}>
          {item.name}
        </span>
        <span className="block px-2 pb-1.5 text-xs text-slate-500">{item.kind === 'folder' ? 'Folder' : formatBytes(item.size)}</span>
      </button>
    </div>
  )
}

function ListRow({ item, selected, onToggle }: { item: FileItem; selected: boolean; onToggle: (id: string) => void }) {
  return (
    <div className={`flex h-full items-center gap-3 rounded-md border px-2 ${selected ? 'border-sky-600 bg-sky-50' : 'border-transparent hover:bg-white'}`} data-testid="file-item" data-name={item.name} data-kind={item.kind}>
      <input type="checkbox" className="h-5 w-5 shrink-0" checked={selected} onChange={() => onToggle(item.id)} aria-label={`Select ${item.name}`} />
      {item.kind === 'folder' ? (
        <FileIcon file={item} className="h-9 w-9 shrink-0" />
      ) : (
        <div className="relative shrink-0">
          <Thumb file={item} className="h-10 w-10 rounded" />
          <VideoBadge file={item} compact />
          <LiveBadge file={item} compact />
        </div>
      )}
      <button type="button" className="min-w-0 flex-1 truncate text-left text-sm font-medium hover:underline" onClick={() => openItem(item)} title={item.name}>
        {item.name}
      </button>
      <span className="hidden w-24 shrink-0 text-right text-sm text-slate-600 sm:block">
        {item.kind === 'folder' ? '—' : isVideo(item) && item.media?.duration_ms != null ? `${formatDuration(item.media.duration_ms)} · ${formatBytes(item.size)}` : formatBytes(item.size)}
      </span>
      <span className="hidden w-28 shrink-0 text-right text-sm text-slate-600 md:block">{formatDate(item.modified_at)}</span>
    </div>
  )
}

function NameDialog({
  title,
  initial,
  siblings,
  selfId,
  action,
  kind = 'file',
  onSubmit,
  onClose,
}: {
  title: string
  initial: string
  kind?: 'file' | 'folder'
  siblings: FileItem[]
  selfId?: string
  action: string
  onSubmit: (name: string) => Promise<void>
  onClose: () => void
}) {
  const [name, setName] = useState(initial)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const warning = name.trim() ? caseWarning(name.trim(), caseTwins(name.trim(), siblings, selfId)) : null
  return (
    <Dialog title={title} onClose={onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          setBusy(true)
          setError(null)
          try {
            await onSubmit(name.trim())
          } catch (err) {
            setError(err)
            setBusy(false)
          }
        }}
      >
        <label className="label" htmlFor="item-name">Name</label>
        <input
          id="item-name"
          className="input"
          value={name}
          required
          onChange={(e) => setName(e.target.value)}
          ref={(el) => {
            // Once, when the dialog opens: select a file's name without its extension.
            if (el && !el.dataset.selected) {
              el.dataset.selected = '1'
              el.focus()
              el.setSelectionRange(...renameSelection(initial, kind))
            }
          }}
        />
        {warning && (
          <p className="mt-2 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="case-warning">
            {warning}
          </p>
        )}
        <div className="mt-3">
          <ErrorText error={error} />
        </div>
        <div className="mt-4 flex justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
            {action}
          </button>
        </div>
      </form>
    </Dialog>
  )
}

/** Before an upload: each name already taken here gets a question, as in Nextcloud — Replace
 *  (the current content is kept as an earlier version), Keep both (the new file gets a free name)
 *  or Skip, with "do this for the others" — and names that differ from another only in case get
 *  a warning. */
function UploadConflictDialog({ plan, folderName, onDone, onClose }: { plan: UploadPlan<File>; folderName: string; onDone: (answers: ConflictChoice[]) => void; onClose: () => void }) {
  const n = plan.taken.length
  const [answers, setAnswers] = useState<ConflictChoice[]>([])
  const [all, setAll] = useState(false)
  const current = plan.taken[answers.length]
  const left = n - answers.length
  const choose = (c: ConflictChoice) => {
    const next = answerConflict(n, answers, c, all)
    if (next.length >= n) onDone(next)
    else setAnswers(next)
  }
  const title = n ? `“${current.name}” already exists in ${folderName}` : 'Names that differ only in case'
  return (
    <Dialog title={title} onClose={onClose}>
      {n > 0 && (
        <div className="space-y-2 text-sm text-slate-700" data-testid="upload-conflicts" data-name={current.name}>
          {n > 1 && (
            <p className="text-xs font-medium text-slate-500" data-testid="upload-conflict-count">
              Name {answers.length + 1} of {n} that are taken
            </p>
          )}
          <p className="break-words">
            <strong>Replace</strong> puts the new content in place; the current content is kept as an earlier version, which you can restore from the file&apos;s details. <strong>Keep both</strong> uploads the new file under a
            free name such as “name (1)”. <strong>Skip</strong> leaves this file out.
          </p>
          {left > 1 && (
            <label className="flex items-center gap-2">
              <input type="checkbox" className="h-4 w-4" checked={all} onChange={(e) => setAll(e.target.checked)} />
              Do the same for the other {left - 1} taken name{left - 1 > 1 ? 's' : ''}
            </label>
          )}
        </div>
      )}
      {answers.length === 0 && plan.twins.length > 0 && (
        <ul className="mt-2 space-y-1 break-words rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="case-warning">
          {plan.twins.slice(0, 5).map((t) => (
            <li key={t.file.name}>{caseWarning(t.file.name, t.twins)}</li>
          ))}
          {plan.twins.length > 5 && <li>… and {plan.twins.length - 5} more.</li>}
        </ul>
      )}
      <div className="mt-4 flex flex-wrap justify-end gap-2">
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
        {n > 0 ? (
          <>
            <button type="button" className="btn" onClick={() => choose('skip')}>
              Skip
            </button>
            <button type="button" className="btn" onClick={() => choose('keep_both')}>
              Keep both
            </button>
            <button type="button" className="btn btn-primary" onClick={() => choose('overwrite')}>
              Replace
            </button>
          </>
        ) : (
          <button type="button" className="btn btn-primary" onClick={() => onDone([])}>
            Upload
          </button>
        )}
      </div>
    </Dialog>
  )
}
