// The app's stores: session, uploads, and the toast messages.
import { api, session } from './session'
import { tusTransport } from './tusTransport'
import { UploadQueue } from './uploads'
import { createStore } from '../lib/store'

export { api, session }

export const uploads = new UploadQueue(tusTransport(session), async (file, folderId) => {
  const { uploads: open } = await api.unfinishedUploads()
  const match = open.find(
    (u) =>
      u.filename === file.name &&
      u.length === file.size &&
      (u.folder_id ?? null) === (folderId ?? null) &&
      (u.metadata.lastmod === undefined || u.metadata.lastmod === String(file.lastModified)),
  )
  return match ? match.url : null
}, 2, async () => {
  const me = await api.me()
  session.setUser(me)
  return me.quota_bytes - me.used_bytes
})

export interface ToastAction {
  label: string
  run(): void
}

export interface Toast {
  id: number
  text: string
  kind: 'error' | 'info'
  /** A button in the toast ("Undo", "Open folder"); pressing it closes the toast. */
  action?: ToastAction
}

export const toasts = createStore<{ list: Toast[] }>({ list: [] })
let toastId = 0

export function toast(text: string, kind: Toast['kind'] = 'info', opts: { action?: ToastAction; ms?: number } = {}): number {
  const id = ++toastId
  toasts.set((s) => ({ list: [...s.list, { id, text, kind, action: opts.action }] }))
  // A toast with a button stays long enough to reach the button.
  setTimeout(() => dismissToast(id), opts.ms ?? (opts.action ? 10_000 : kind === 'error' ? 8000 : 4000))
  return id
}

export function dismissToast(id: number): void {
  toasts.set((s) => ({ list: s.list.filter((t) => t.id !== id) }))
}

/** After a delete for good, an "Undo" of an earlier delete could no longer work: take it away. */
export function dismissUndoToasts(): void {
  toasts.set((s) => ({ list: s.list.filter((t) => t.action?.label !== 'Undo') }))
}

/** Refreshes the signed-in user (quota bar) after uploads and deletes. */
export async function refreshMe(): Promise<void> {
  try {
    session.setUser(await api.me())
  } catch {
    /* the next action shows the error */
  }
}

uploads.onFinished(() => void refreshMe())
