import { describe, expect, it } from 'vitest'
import type { FileItem } from '../api/types'
import { clipNameFor, hideLiveClips, withLiveClips } from './live'

const file = (id: string, name: string, extra: Partial<FileItem> = {}): FileItem => ({
  id,
  name,
  kind: 'file',
  parent_id: 'root',
  size: 1,
  content_type: null,
  content_hash: null,
  etag: 'e',
  created_at: '',
  modified_at: '',
  has_thumbnail: false,
  ...extra,
})

const still = file('s', 'IMG_1.HEIC', { live_video_id: 'c' })
const clip = file('c', 'IMG_1.MOV', { live_photo_id: 's' })
const other = file('o', 'notes.txt')

describe('Live Photos in a listing', () => {
  it('hides a clip whose still is listed, and only then', () => {
    expect(hideLiveClips([still, clip, other]).map((i) => i.id)).toEqual(['s', 'o'])
    expect(hideLiveClips([clip, other]).map((i) => i.id)).toEqual(['c', 'o'])
  })
  it('takes the clip along with its still, once', () => {
    expect(withLiveClips([still], [still, clip, other]).map((i) => i.id)).toEqual(['s', 'c'])
    expect(withLiveClips([still, clip], [still, clip]).map((i) => i.id)).toEqual(['s', 'c'])
    expect(withLiveClips([other], [still, clip, other]).map((i) => i.id)).toEqual(['o'])
    expect(withLiveClips([still], [still]).map((i) => i.id)).toEqual(['s'])
  })
  it('renames the clip after the still, keeping its own extension', () => {
    expect(clipNameFor('Paris.HEIC', clip)).toBe('Paris.MOV')
    expect(clipNameFor('noext', clip)).toBeNull()
  })
})
