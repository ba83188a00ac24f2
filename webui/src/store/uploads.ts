// The upload queue: files wait, a few upload at a time through a resumable transport (tus), can
// be paused, resumed and cancelled, and report per-file and total progress. An upload the server
// already knows (same name, size, folder and modification time: a reload, another tab, a
// dropped connection) continues where it stopped instead of starting again.
import type { OnConflict } from '../api/local-types'
import type { ErrorCode } from '../api/types'
import { formatBytes } from '../lib/format'
import { createStore, type Store } from '../lib/store'

export type UploadStatus = 'queued' | 'uploading' | 'paused' | 'done' | 'error' | 'canceled' | 'conflict' | 'skipped'

export interface UploadItem {
  key: string
  name: string
  size: number
  folderId: string | null
  /** What the server does when the name is taken: refuse (then the user is asked: status
   *  `conflict`), keep both (a new name) or replace (the old content becomes a version). */
  onConflict: OnConflict
  sent: number
  status: UploadStatus
  error?: string
  /** False when resuming cannot help (the quota refused it): no Resume button. */
  resumable?: boolean
  fileId?: string
  /** Bytes the server already had when this upload (re)started. */
  resumedFrom?: number
}

export interface TransportOptions {
  uploadUrl: string | null
  metadata: Record<string, string>
  onStart(resumedFrom: number): void
  onProgress(sent: number, total: number): void
  onSuccess(fileId: string | null): void
  /** `code` is the server's error code when it answered one (`name-exists`, `quota-exceeded`). */
  onError(message: string, code?: ErrorCode): void
}

export interface Transport {
  start(): void
  /** Stops sending; the server keeps what it has. */
  pause(): Promise<void>
  /** Stops and asks the server to delete the upload. */
  cancel(): Promise<void>
}

export type TransportFactory = (file: File, opts: TransportOptions) => Transport

/** Finds an unfinished upload on the server for this file, if any (its URL). */
export type ResumeFinder = (file: File, folderId: string | null) => Promise<string | null>

/** Bytes the user may still store (quota minus use), or null when unknown. */
export type RoomLeft = () => Promise<number | null>

/** What a refusal for quota says: how much the upload needs and how much room is left. */
export function quotaText(needed: number, left: number | null): string {
  if (left === null) return `Not enough room: ${formatBytes(needed)} needed, more than your storage has left.`
  return `Not enough room: ${formatBytes(needed)} needed, ${formatBytes(Math.max(0, left))} left.`
}

export type ConflictChoice = 'overwrite' | 'keep_both' | 'skip'

export interface Totals {
  sent: number
  total: number
  active: number
  done: number
  failed: number
  /** Refused because the name is taken: waiting for the user's answer. */
  conflicts: number
  paused: number
}

export function totals(items: UploadItem[]): Totals {
  const counted = items.filter((i) => i.status !== 'canceled' && i.status !== 'skipped')
  return {
    sent: counted.reduce((a, i) => a + Math.min(i.sent, i.size), 0),
    total: counted.reduce((a, i) => a + i.size, 0),
    active: items.filter((i) => i.status === 'uploading' || i.status === 'queued').length,
    done: items.filter((i) => i.status === 'done').length,
    failed: items.filter((i) => i.status === 'error').length,
    conflicts: items.filter((i) => i.status === 'conflict').length,
    paused: items.filter((i) => i.status === 'paused').length,
  }
}

export function uploadMetadata(file: File, folderId: string | null, onConflict: OnConflict = 'fail'): Record<string, string> {
  const m: Record<string, string> = {
    filename: file.name,
    filetype: file.type || 'application/octet-stream',
    on_conflict: onConflict,
    lastmod: String(file.lastModified),
  }
  if (folderId) m.folder = folderId
  return m
}

/** Whether the upload panel shows its list. It folds itself away once everything is done (no
 *  failure, no question waiting) so it does not cover the files; the user's own Show/Hide wins
 *  until the next batch starts, except over a question waiting for an answer. */
export function panelOpen(t: Totals, items: number, userChoice: boolean | null): boolean {
  if (t.conflicts > 0) return true // a question waits for its answer
  if (userChoice !== null) return userChoice
  if (items === 0) return true // only the server's unfinished uploads: say what they are
  return t.active > 0 || t.failed > 0 || t.conflicts > 0 || t.paused > 0
}

/** The conflict dialog, one taken name at a time: the answers so far plus this one — for every
 *  remaining file when "apply to all" is ticked. Done when there are as many answers as files. */
export function answerConflict(total: number, answers: readonly ConflictChoice[], choice: ConflictChoice, applyToAll: boolean): ConflictChoice[] {
  const left = total - answers.length
  if (left <= 0) return [...answers]
  return [...answers, ...Array<ConflictChoice>(applyToAll ? left : 1).fill(choice)]
}

let counter = 0

export class UploadQueue {
  readonly store: Store<{ items: UploadItem[] }> = createStore({ items: [] as UploadItem[] })
  private files = new Map<string, File>()
  private transports = new Map<string, Transport>()
  private listeners = new Set<(item: UploadItem) => void>()

  constructor(
    private makeTransport: TransportFactory,
    private findResumable: ResumeFinder,
    private concurrency = 2,
    private roomLeft: RoomLeft = async () => null,
  ) {}

  /** Called when an upload finishes (to refresh listings and the quota bar). */
  onFinished(f: (item: UploadItem) => void): () => void {
    this.listeners.add(f)
    return () => this.listeners.delete(f)
  }

  get items(): UploadItem[] {
    return this.store.get().items
  }

  private update(key: string, patch: Partial<UploadItem>): void {
    this.store.set((s) => ({ items: s.items.map((i) => (i.key === key ? { ...i, ...patch } : i)) }))
  }

  private item(key: string): UploadItem | undefined {
    return this.items.find((i) => i.key === key)
  }

  /** Queues files. By default a taken name is refused by the server (never renamed behind the
   *  user's back): the item waits in status `conflict` for {@link resolve}. */
  add(files: File[], folderId: string | null, onConflict: OnConflict = 'fail'): string[] {
    const keys: string[] = []
    const added: UploadItem[] = files.map((file) => {
      const key = `u${++counter}`
      keys.push(key)
      this.files.set(key, file)
      return { key, name: file.name, size: file.size, folderId, onConflict, sent: 0, status: 'queued' }
    })
    this.store.set((s) => ({ items: [...s.items, ...added] }))
    this.pump()
    return keys
  }

  private pump(): void {
    const running = this.items.filter((i) => i.status === 'uploading').length
    const waiting = this.items.filter((i) => i.status === 'queued')
    for (const item of waiting.slice(0, Math.max(0, this.concurrency - running))) {
      void this.begin(item.key)
    }
  }

  private async begin(key: string): Promise<void> {
    const file = this.files.get(key)
    const item = this.item(key)
    if (!file || !item) return
    this.update(key, { status: 'uploading', error: undefined })
    let uploadUrl: string | null = null
    try {
      uploadUrl = await this.findResumable(file, item.folderId)
    } catch {
      uploadUrl = null // not fatal: upload from the start
    }
    if (this.item(key)?.status !== 'uploading') return // paused or cancelled meanwhile
    const t = this.makeTransport(file, {
      uploadUrl,
      metadata: uploadMetadata(file, item.folderId, item.onConflict),
      onStart: (from) => this.update(key, { resumedFrom: from, sent: from }),
      onProgress: (sent) => this.update(key, { sent }),
      onSuccess: (fileId) => {
        this.transports.delete(key)
        this.files.delete(key)
        this.update(key, { status: 'done', sent: file.size, fileId: fileId ?? undefined })
        const done = this.item(key)
        if (done) this.listeners.forEach((l) => l(done))
        this.pump()
      },
      onError: (message, code) => {
        this.transports.delete(key)
        if (code === 'name-exists') {
          this.update(key, { status: 'conflict', error: undefined })
          this.pump()
          return
        }
        if (code === 'quota-exceeded') {
          // Resuming cannot help: say how much is missing instead.
          this.update(key, { status: 'error', resumable: false, error: quotaText(file.size, null) })
          this.pump()
          void this.roomLeft()
            .catch(() => null)
            .then((left) => this.item(key)?.status === 'error' && this.update(key, { error: quotaText(file.size, left) }))
          return
        }
        this.update(key, { status: 'error', error: message })
        this.pump()
      },
    })
    this.transports.set(key, t)
    t.start()
  }

  async pause(key: string): Promise<void> {
    const item = this.item(key)
    if (!item || (item.status !== 'uploading' && item.status !== 'queued')) return
    this.update(key, { status: 'paused' })
    const t = this.transports.get(key)
    this.transports.delete(key)
    await t?.pause()
    this.pump()
  }

  resume(key: string): void {
    const item = this.item(key)
    if (!item || (item.status !== 'paused' && item.status !== 'error') || item.resumable === false || !this.files.has(key)) return
    this.update(key, { status: 'queued', error: undefined })
    this.pump()
  }

  /** The user's answer for an upload whose name was taken: send it again replacing the file
   *  (its content becomes a version) or under a free name, or leave it. */
  resolve(key: string, choice: ConflictChoice): void {
    const item = this.item(key)
    if (!item || item.status !== 'conflict') return
    if (choice === 'skip') {
      this.files.delete(key)
      this.update(key, { status: 'skipped' })
      return
    }
    this.update(key, { status: 'queued', onConflict: choice })
    this.pump()
  }

  /** The same answer for every upload waiting on one ("apply to all"). */
  resolveAll(choice: ConflictChoice): void {
    for (const i of this.items) if (i.status === 'conflict') this.resolve(i.key, choice)
  }

  async cancel(key: string): Promise<void> {
    const item = this.item(key)
    if (!item || item.status === 'done' || item.status === 'canceled' || item.status === 'skipped') return
    this.update(key, { status: 'canceled' })
    const t = this.transports.get(key)
    this.transports.delete(key)
    this.files.delete(key)
    await t?.cancel()
    this.pump()
  }

  async pauseAll(): Promise<void> {
    await Promise.all(this.items.map((i) => this.pause(i.key)))
  }

  resumeAll(): void {
    for (const i of this.items) if (i.status === 'paused') this.update(i.key, { status: 'queued' })
    this.pump()
  }

  clearFinished(): void {
    this.store.set((s) => ({ items: s.items.filter((i) => i.status !== 'done' && i.status !== 'canceled' && i.status !== 'skipped') }))
  }
}
