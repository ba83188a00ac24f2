import { describe, expect, it } from 'vitest'
import { parseContext } from './context'

describe('where the viewer was opened from', () => {
  it('reads the timeline, a place, an album, else the folder', () => {
    expect(parseContext('photos')).toEqual({ kind: 'timeline', filter: {}, back: '/photos', label: 'Photos' })
    expect(parseContext(`place:FR:${encodeURIComponent('Saint-Étienne')}`)).toEqual({ kind: 'timeline', filter: { cc: 'FR', city: 'Saint-Étienne' }, back: '/places/FR/Saint-%C3%89tienne', label: 'Saint-Étienne' })
    expect(parseContext('place:JP')).toEqual({ kind: 'timeline', filter: { cc: 'JP', city: undefined }, back: '/places/JP', label: 'place' })
    expect(parseContext('album:a1')).toEqual({ kind: 'album', id: 'a1', back: '/albums/a1' })
    for (const v of [null, '', 'album:', 'place:', 'nonsense', 'album:%E0%A4%A']) expect(parseContext(v)).toEqual({ kind: 'folder' })
  })
})
