import { describe, expect, it } from 'vitest'
import { caseTwins, caseWarning, exactSibling, planUploads, renameSelection } from './names'

const siblings = [
  { id: '1', name: 'holiday.jpg' },
  { id: '2', name: 'Notes.txt' },
  { id: '3', name: 'café.txt' }, // NFC
]

describe('exact names', () => {
  it('finds a sibling only by its exact name (after NFC)', () => {
    expect(exactSibling('holiday.jpg', siblings)?.id).toBe('1')
    expect(exactSibling('Holiday.JPG', siblings)).toBeUndefined()
    expect(exactSibling('cafe\u0301.txt', siblings)?.id).toBe('3') // NFD spelling of the same name
    expect(exactSibling('holiday.jpg', siblings, '1')).toBeUndefined() // renaming itself
  })

  it('warns about names that differ only in case, never about the item itself', () => {
    expect(caseTwins('Holiday.JPG', siblings).map((s) => s.id)).toEqual(['1'])
    expect(caseTwins('Holiday.JPG', siblings, '1')).toEqual([]) // a case-only rename of that file
    expect(caseTwins('holiday.jpg', siblings)).toEqual([]) // the same name is a conflict, not a twin
    expect(caseTwins('CAFÉ.txt', siblings).map((s) => s.id)).toEqual(['3'])
    expect(caseWarning('Holiday.JPG', [])).toBeNull()
    expect(caseWarning('Holiday.JPG', [siblings[0]])).toMatch(/“Holiday.JPG” differs from “holiday.jpg” only in upper and lower case.*separate files.*Windows and macOS/)
  })

  it('sorts an upload into taken names, case twins and the rest', () => {
    const files = [{ name: 'holiday.jpg' }, { name: 'NOTES.txt' }, { name: 'new.png' }, { name: 'IMG_1.JPG' }, { name: 'img_1.jpg' }]
    const plan = planUploads(files, siblings)
    expect(plan.taken.map((f) => f.name)).toEqual(['holiday.jpg'])
    expect(plan.fresh.map((f) => f.name)).toEqual(['NOTES.txt', 'new.png', 'IMG_1.JPG', 'img_1.jpg'])
    expect(plan.twins.map((t) => [t.file.name, t.twins.map((x) => x.name)])).toEqual([
      ['NOTES.txt', ['Notes.txt']],
      ['img_1.jpg', ['IMG_1.JPG']],
    ])
    // A taken name and its case twin in one batch: the twin is told once, against both.
    expect(planUploads([{ name: 'notes.txt' }, { name: 'NOTES.TXT' }], [{ name: 'notes.txt' }]).twins.map((t) => [t.file.name, t.twins.map((x) => x.name)])).toEqual([['NOTES.TXT', ['notes.txt']]])
    expect(planUploads([{ name: 'a.txt' }], siblings)).toEqual({ taken: [], twins: [], fresh: [{ name: 'a.txt' }] })
  })
})

describe('renameSelection', () => {
  it('selects the base name of a file, the whole name of a folder', () => {
    expect(renameSelection('diagram.png', 'file')).toEqual([0, 7])
    expect(renameSelection('archive.tar.gz', 'file')).toEqual([0, 11])
    expect(renameSelection('README', 'file')).toEqual([0, 6])
    expect(renameSelection('.bashrc', 'file')).toEqual([0, 7])
    expect(renameSelection('Holiday 2024.v2', 'folder')).toEqual([0, 15])
  })
})
