import { describe, expect, it } from 'vitest'
import { ApiError } from '../api/client'
import type { RestoreOptions } from '../api/local-types'
import type { DeleteResult, FileItem } from '../api/types'
import { isNameTaken, moveToTrash, originalPlace, pageInfo, retentionDays, undoTrash, type TrashApi } from './trash'

/** A trash that behaves like the server's: delete moves a node in, restore puts it back unless
 *  its name was taken meanwhile. */
function fakeServer(names: Record<string, string>) {
  const folder = new Map(Object.entries(names)) // id → name
  const trash = new Map<string, string>()
  const calls: string[] = []
  const api: TrashApi = {
    async remove(id) {
      calls.push(`DELETE ${id}`)
      const name = folder.get(id)
      if (!name) throw new ApiError(404, 'not-found', 'no such file or folder')
      folder.delete(id)
      trash.set(id, name)
      return { trash_id: id, deleted_files: 1, trashed_bytes: 10 }
    },
    async restoreFromTrash(id: string, opts?: RestoreOptions) {
      calls.push(`RESTORE ${id} ${JSON.stringify(opts ?? {})}`)
      const name = trash.get(id)!
      if ([...folder.values()].includes(name)) throw new ApiError(409, 'name-exists', 'a file or folder with that name already exists here')
      trash.delete(id)
      folder.set(id, name)
      return { id, name, parent_id: 'root' } as FileItem
    },
  }
  return { api, folder, trash, calls }
}

describe('delete and undo', () => {
  it('moves every item to the trash and undo puts them back with their ids', async () => {
    const s = fakeServer({ a: 'a.jpg', b: 'b.jpg', c: 'c.jpg' })
    const del = await moveToTrash(s.api, [
      { id: 'a', name: 'a.jpg' },
      { id: 'x', name: 'gone.jpg' },
      { id: 'b', name: 'b.jpg' },
    ])
    expect(del.trashed.map((t) => t.trashId)).toEqual(['a', 'b'])
    expect(del.failed.map((f) => f.item.name)).toEqual(['gone.jpg'])
    expect(del.bytes).toBe(20)
    expect([...s.folder.keys()]).toEqual(['c'])
    const back = await undoTrash(s.api, del.trashed)
    expect(back.restored.map((f) => f.id)).toEqual(['a', 'b'])
    expect(back.failed).toEqual([])
    expect([...s.folder.keys()].sort()).toEqual(['a', 'b', 'c'])
    expect(s.trash.size).toBe(0)
    // The default restore: to the old place, failing on a taken name (never replacing silently).
    expect(s.calls.filter((c) => c.startsWith('RESTORE'))).toEqual(['RESTORE b {}', 'RESTORE a {}'])
  })

  it('undo leaves an item in the trash when its name was taken meanwhile', async () => {
    const s = fakeServer({ a: 'a.jpg', b: 'b.jpg' })
    const del = await moveToTrash(s.api, [
      { id: 'a', name: 'a.jpg' },
      { id: 'b', name: 'b.jpg' },
    ])
    s.folder.set('n', 'a.jpg') // a new a.jpg was uploaded
    const back = await undoTrash(s.api, del.trashed)
    expect(back.restored.map((f) => f.id)).toEqual(['b'])
    expect(back.failed.map((f) => f.item.id)).toEqual(['a'])
    expect(isNameTaken(back.failed[0].error)).toBe(true)
    expect(s.trash.has('a')).toBe(true)
  })

  it('knows a name conflict from other errors', () => {
    expect(isNameTaken(new ApiError(409, 'name-exists', 'x'))).toBe(true)
    expect(isNameTaken(new ApiError(409, 'upload-busy', 'x'))).toBe(false)
    expect(isNameTaken(new Error('name-exists'))).toBe(false)
  })

  it('offers no undo for what a server without a trash deleted for good', async () => {
    const api: TrashApi = {
      remove: async () => ({ deleted_files: 1, freed_bytes: 5 }) as unknown as DeleteResult,
      restoreFromTrash: async () => {
        throw new Error('no trash')
      },
    }
    const del = await moveToTrash(api, [{ id: 'a', name: 'a.jpg' }])
    expect(del.trashed).toEqual([])
    expect(del.gone.map((i) => i.id)).toEqual(['a'])
  })
})

describe('the trash list', () => {
  it('shows the folder an item came from', () => {
    expect(originalPlace('/photos/2024/beach.jpg')).toBe('My files / photos / 2024')
    expect(originalPlace('/beach.jpg')).toBe('My files')
    expect(originalPlace('/Old stuff/')).toBe('My files')
  })

  it('pages by 100', () => {
    expect(pageInfo(0, 100, 345)).toEqual({ text: '1–100 of 345', prev: false, next: true })
    expect(pageInfo(300, 45, 345)).toEqual({ text: '301–345 of 345', prev: true, next: false })
    expect(pageInfo(0, 3, 3)).toEqual({ text: '1–3 of 3', prev: false, next: false })
    expect(pageInfo(0, 0, 0)).toEqual({ text: '0 of 0', prev: false, next: false })
  })
})

describe('retention', () => {
  it('is read off an item as the server states it', () => {
    expect(retentionDays({ deleted_at: '2026-12-03T14:00:00Z', expires_at: '2027-01-02T14:00:00Z' })).toBe(30)
    expect(retentionDays({ deleted_at: 0, expires_at: 7 * 86_400_000 })).toBe(7)
    expect(retentionDays({ deleted_at: '2026-12-03T14:00:00Z' })).toBeNull()
    expect(retentionDays(undefined)).toBeNull()
  })
})
