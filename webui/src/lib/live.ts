// Live Photos (a still and its short clip of the same name, paired by the server: `live_video_id`
// on the still, `live_photo_id` on the clip) are shown as one item: the still, with its clip in
// the viewer. What is done to the still (delete, move, rename, download) is done to the clip too,
// so the two never drift apart; the server only ever acts on the files it is given.
import type { FileItem } from '../api/types'

/** The items without the clips whose still is among them (a clip on its own stays). */
export function hideLiveClips(items: FileItem[]): FileItem[] {
  const ids = new Set(items.map((i) => i.id))
  return items.filter((i) => !(i.live_photo_id && ids.has(i.live_photo_id)))
}

/** The chosen items and the clips of the Live Photos among them (found in `all`), each once. */
export function withLiveClips(chosen: FileItem[], all: FileItem[]): FileItem[] {
  const byId = new Map(all.map((i) => [i.id, i]))
  const out = new Map(chosen.map((i) => [i.id, i]))
  for (const i of chosen) {
    const clip = i.live_video_id ? byId.get(i.live_video_id) : undefined
    if (clip) out.set(clip.id, clip)
  }
  return [...out.values()]
}

/** The clip's new name when its still is renamed: the still's new stem, the clip's own extension. */
export function clipNameFor(newStillName: string, clip: FileItem): string | null {
  const dot = newStillName.lastIndexOf('.')
  const clipDot = clip.name.lastIndexOf('.')
  if (dot <= 0 || clipDot <= 0) return null
  return newStillName.slice(0, dot) + clip.name.slice(clipDot)
}
