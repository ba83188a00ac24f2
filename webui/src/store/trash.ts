// Deleting moves items to the owner's trash; "Undo" right after puts them back where they were
// (same ids, so tags, thumbnails and shares of the file come back with it).
import { ApiError } from '../api/client'
import type { RestoreOptions } from '../api/local-types'
import type { DeleteResult, FileItem } from '../api/types'
import { toDate } from '../lib/format'

export interface TrashApi {
  remove(id: string): Promise<DeleteResult>
  restoreFromTrash(id: string, opts?: RestoreOptions): Promise<FileItem>
}

export interface Named {
  id: string
  name: string
}

export interface Trashed<T extends Named> {
  item: T
  trashId: string
}

export interface Failed<T> {
  item: T
  error: unknown
}

/** Deletes one item after the other; a failure does not stop the others. `gone` lists what a
 *  server without a trash deleted for good (its answer names no trash id): no Undo for those. */
export async function moveToTrash<T extends Named>(api: TrashApi, items: readonly T[]): Promise<{ trashed: Trashed<T>[]; gone: T[]; failed: Failed<T>[]; bytes: number }> {
  const trashed: Trashed<T>[] = []
  const gone: T[] = []
  const failed: Failed<T>[] = []
  let bytes = 0
  for (const item of items) {
    try {
      const r = await api.remove(item.id)
      if (r.trash_id) {
        trashed.push({ item, trashId: r.trash_id })
        bytes += r.trashed_bytes ?? 0
      } else gone.push(item)
    } catch (error) {
      failed.push({ item, error })
    }
  }
  return { trashed, gone, failed, bytes }
}

/** Puts what `moveToTrash` deleted back in its old place. A name taken there meanwhile is a failure
 *  (the item stays in the trash, where the Trash page offers Keep both and Replace). */
export async function undoTrash<T extends Named>(api: TrashApi, trashed: readonly Trashed<T>[]): Promise<{ restored: FileItem[]; failed: Failed<T>[] }> {
  const restored: FileItem[] = []
  const failed: Failed<T>[] = []
  for (const t of [...trashed].reverse()) {
    try {
      restored.push(await api.restoreFromTrash(t.trashId))
    } catch (error) {
      failed.push({ item: t.item, error })
    }
  }
  return { restored: restored.reverse(), failed: failed.reverse() }
}

/** The server's answer when the old place already holds an item with that exact name. */
export function isNameTaken(e: unknown): boolean {
  return e instanceof ApiError && e.status === 409 && e.code === 'name-exists'
}

/** "/photos/2024/beach.jpg" → "My files / photos / 2024": the folder an item was deleted from. */
export function originalPlace(originalPath: string): string {
  const parts = originalPath.split('/').filter(Boolean)
  parts.pop()
  return ['My files', ...parts].join(' / ')
}

export const TRASH_PAGE = 100

/** "1–100 of 345" and whether there are pages before and after. */
export function pageInfo(offset: number, count: number, total: number): { text: string; prev: boolean; next: boolean } {
  if (total === 0 || count === 0) return { text: `0 of ${total}`, prev: offset > 0, next: false }
  return { text: `${offset + 1}–${offset + count} of ${total}`, prev: offset > 0, next: offset + count < total }
}

const DAY = 86_400_000

/** The server's retention in whole days, read off an item (`expires_at` − `deleted_at`), or null. */
export function retentionDays(item: { deleted_at: string | number; expires_at?: string | number } | undefined): number | null {
  if (!item || item.expires_at === undefined) return null
  const d = toDate(item.deleted_at)
  const e = toDate(item.expires_at)
  if (!d || !e || e.getTime() <= d.getTime()) return null
  return Math.round((e.getTime() - d.getTime()) / DAY)
}
