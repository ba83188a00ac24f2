import { describe, expect, it } from 'vitest'
import { visibleCells } from './VirtualItems'

const files = (names: string[]) => names.map((n) => ({ id: `id-${n}`, name: n }))

describe('visibleCells', () => {
  it('keys each cell by its file id, not by its position', () => {
    const before = visibleCells(files(['a', 'b', 'c', 'd', 'e']), [0, 2], 2, (f) => f.id)
    expect(before.map((c) => [c.key, c.row, c.col])).toEqual([
      ['id-a', 0, 0],
      ['id-b', 0, 1],
      ['id-c', 1, 0],
      ['id-d', 1, 1],
    ])
    // "b" deleted: the cell at position 1 is now "c", and it is c's cell (its own key), so
    // nothing of b's cell (its thumbnail request) is reused for c.
    const after = visibleCells(files(['a', 'c', 'd', 'e']), [0, 2], 2, (f) => f.id)
    expect(after[1]).toEqual({ key: 'id-c', index: 1, row: 0, col: 1 })
    expect(new Set(after.map((c) => c.key)).size).toBe(after.length)
  })

  it('stops at the last item and starts at the first visible row', () => {
    const cells = visibleCells(files(['a', 'b', 'c', 'd', 'e']), [1, 9], 3, (f) => f.id)
    expect(cells.map((c) => c.index)).toEqual([3, 4])
    expect(visibleCells([], [0, 3], 3, (f: { id: string }) => f.id)).toEqual([])
  })
})
