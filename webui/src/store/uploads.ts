// The upload queue: files wait, a few upload at a time through a resumable transport (tus), can
// be paused, resumed and cancelled, and report per-file and total progress. An upload the server
// already knows (same name, size, folder and modification time: a reload, another tab, a
// dropped connection) continues where it stopped instead of starting again.
import type { OnConflict } from '../api/types'
import { createStore, type Store } from '../lib/store'

export type UploadStatus = 'queued' | 'uploading' | 'paused' | 'done' | 'error' | 'canceled'

export interface UploadItem {
  key: string
  name: string
  size: number
  folderId: string | null
  /** What the server does when the name is taken: keep both (a new name) or replace (a version). */
  onConflict: OnConflict
  sent: number
  status: UploadStatus
  error?: string
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
  onError(message: string): void
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

export interface Totals {
  sent: number
  total: number
  active: number
  done: number
  failed: number
}

export function totals(items: UploadItem[]): Totals {
  const counted = items.filter((i) => i.status !== 'canceled')
  return {
    sent: counted.reduce((a, i) => a + Math.min(i.sent, i.size), 0),
    total: counted.reduce((a, i) => a + i.size, 0),
    active: items.filter((i) => i.status === 'uploading' || i.status === 'queued').length,
    done: items.filter((i) => i.status === 'done').length,
    failed: items.filter((i) => i.status === 'error').length,
  }
}

export function uploadMetadata(file: File, folderId: string | null, onConflict: OnConflict = 'keep_both'): Record<string, string> {
  const m: Record<string, string> = {
    filename: file.name,
    filetype: file.type || 'application/octet-stream',
    on_conflict: onConflict,
    lastmod: String(file.lastModified),
  }
  if (folderId) m.folder = folderId
  return m
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

  add(files: File[], folderId: string | null, onConflict: OnConflict = 'keep_both'): string[] {
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
      onError: (message) => {
        this.transports.delete(key)
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
    if (!item || (item.status !== 'paused' && item.status !== 'error') || !this.files.has(key)) return
    this.update(key, { status: 'queued', error: undefined })
    this.pump()
  }

  async cancel(key: string): Promise<void> {
    const item = this.item(key)
    if (!item || item.status === 'done' || item.status === 'canceled') return
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
    this.store.set((s) => ({ items: s.items.filter((i) => i.status !== 'done' && i.status !== 'canceled') }))
  }
}
