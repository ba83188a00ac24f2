import { describe, expect, it } from 'vitest'
import { answerConflict, panelOpen, quotaText, totals, uploadMetadata, UploadQueue, type Transport, type TransportOptions } from './uploads'

/** A transport driven by the test: it records what the queue asked for. */
function harness(resumable: Record<string, string> = {}, roomLeft: number | null = null) {
  const started: { name: string; opts: TransportOptions; paused: number; cancelled: number }[] = []
  const queue = new UploadQueue(
    (file, opts): Transport => {
      const rec = { name: file.name, opts, paused: 0, cancelled: 0 }
      return {
        start: () => started.push(rec),
        pause: async () => void rec.paused++,
        cancel: async () => void rec.cancelled++,
      }
    },
    async (file) => resumable[file.name] ?? null,
    2,
    async () => roomLeft,
  )
  return { queue, started }
}

const file = (name: string, size: number) => new File([new Uint8Array(size)], name, { type: 'image/jpeg', lastModified: 42 })
const tick = () => new Promise((r) => setTimeout(r, 0))

describe('UploadQueue', () => {
  it('uploads two at a time and starts the next when one finishes', async () => {
    const { queue, started } = harness()
    queue.add([file('a.jpg', 10), file('b.jpg', 20), file('c.jpg', 30)], 'F1')
    await tick()
    expect(started.map((s) => s.name)).toEqual(['a.jpg', 'b.jpg'])
    expect(queue.items.map((i) => i.status)).toEqual(['uploading', 'uploading', 'queued'])
    started[0].opts.onProgress(5, 10)
    expect(totals(queue.items)).toMatchObject({ sent: 5, total: 60, active: 3 })
    const finished: string[] = []
    queue.onFinished((i) => finished.push(`${i.name}:${i.fileId}`))
    started[0].opts.onSuccess('file-1')
    await tick()
    expect(finished).toEqual(['a.jpg:file-1'])
    expect(started.map((s) => s.name)).toEqual(['a.jpg', 'b.jpg', 'c.jpg'])
    expect(totals(queue.items)).toMatchObject({ sent: 10, done: 1, active: 2 })
  })

  it('sends the metadata the server reads and resumes a known upload', async () => {
    const { queue, started } = harness({ 'big.bin': '/api/files/uploads/xyz' })
    queue.add([file('big.bin', 100)], null)
    await tick()
    expect(started[0].opts.uploadUrl).toBe('/api/files/uploads/xyz')
    expect(started[0].opts.metadata).toEqual({ filename: 'big.bin', filetype: 'image/jpeg', on_conflict: 'fail', lastmod: '42' })
    started[0].opts.onStart(60)
    expect(queue.items[0]).toMatchObject({ resumedFrom: 60, sent: 60 })
    expect(uploadMetadata(file('x', 1), 'F9').folder).toBe('F9')
  })

  it('replaces a taken name only when asked (the old content becomes a version)', async () => {
    const { queue, started } = harness()
    queue.add([file('new.jpg', 1)], null)
    queue.add([file('taken.jpg', 1)], null, 'overwrite')
    await tick()
    expect(started.map((s) => [s.name, s.opts.metadata.on_conflict])).toEqual([
      ['new.jpg', 'fail'],
      ['taken.jpg', 'overwrite'],
    ])
  })

  it('never renames behind the user: a name the server finds taken waits for an answer', async () => {
    const { queue, started } = harness()
    const [a, b, c] = queue.add([file('a.png', 5), file('b.png', 6), file('c.png', 7)], null)
    await tick()
    started[0].opts.onError('A file or folder with that name already exists here', 'name-exists')
    await tick()
    expect(queue.items.find((i) => i.key === a)).toMatchObject({ status: 'conflict', error: undefined })
    expect(totals(queue.items)).toMatchObject({ conflicts: 1, failed: 0 })
    // Its slot went to the next file.
    expect(started.map((s) => s.name)).toEqual(['a.png', 'b.png', 'c.png'])
    queue.resume(a) // not a failure to resume: it needs an answer
    expect(queue.items[0].status).toBe('conflict')
    queue.resolve(a, 'overwrite')
    started[1].opts.onSuccess('f-b')
    await tick()
    expect(started.map((s) => [s.name, s.opts.metadata.on_conflict])).toEqual([
      ['a.png', 'fail'],
      ['b.png', 'fail'],
      ['c.png', 'fail'],
      ['a.png', 'overwrite'],
    ])
    // "Apply to all": one answer for every waiting question.
    started[2].opts.onError('taken', 'name-exists')
    started[3].opts.onError('taken', 'name-exists')
    await tick()
    expect(totals(queue.items).conflicts).toBe(2)
    queue.resolveAll('keep_both')
    await tick()
    expect(started.slice(4).map((s) => [s.name, s.opts.metadata.on_conflict])).toEqual([
      ['a.png', 'keep_both'],
      ['c.png', 'keep_both'],
    ])
    started[5].opts.onError('taken', 'name-exists')
    await tick()
    queue.resolve(c, 'skip')
    expect(queue.items.find((i) => i.key === c)!.status).toBe('skipped')
    expect(totals(queue.items)).toMatchObject({ conflicts: 0, total: 5 + 6 })
    expect(b).toBeTruthy()
  })

  it('a refusal for quota says how much room is left and offers no Resume', async () => {
    const { queue, started } = harness({}, 300_000_000)
    const [k] = queue.add([file('movie.mp4', 1200)], null)
    await tick()
    started[0].opts.onError('This upload would exceed your storage quota', 'quota-exceeded')
    await tick()
    await tick()
    expect(queue.items[0]).toMatchObject({ status: 'error', resumable: false, error: 'Not enough room: 1.20 KB needed, 300 MB left.' })
    queue.resume(k)
    expect(queue.items[0].status).toBe('error')
    expect(started.length).toBe(1)
    expect(quotaText(1_200_000_000, -5)).toBe('Not enough room: 1.20 GB needed, 0 B left.')
    expect(quotaText(10, null)).toMatch(/^Not enough room: 10 B needed/)
  })

  it('the panel folds away once all is done, unless something needs the user', () => {
    const t = (o: Partial<ReturnType<typeof totals>>) => ({ sent: 0, total: 0, active: 0, done: 0, failed: 0, conflicts: 0, paused: 0, ...o })
    expect(panelOpen(t({ active: 2 }), 2, null)).toBe(true)
    expect(panelOpen(t({ done: 3 }), 3, null)).toBe(false)
    expect(panelOpen(t({ done: 2, failed: 1 }), 3, null)).toBe(true)
    expect(panelOpen(t({ done: 2, conflicts: 1 }), 3, null)).toBe(true)
    expect(panelOpen(t({ done: 2, paused: 1 }), 3, null)).toBe(true)
    expect(panelOpen(t({ done: 3 }), 3, true)).toBe(true) // the user opened it again
    expect(panelOpen(t({ active: 1 }), 1, false)).toBe(false)
    expect(panelOpen(t({ conflicts: 1 }), 1, false)).toBe(true) // a question is never hidden
    expect(panelOpen(t({}), 0, null)).toBe(true) // only the server's unfinished uploads
  })

  it('the conflict dialog answers one name at a time, or all the rest at once', () => {
    expect(answerConflict(3, [], 'overwrite', false)).toEqual(['overwrite'])
    expect(answerConflict(3, ['overwrite'], 'skip', true)).toEqual(['overwrite', 'skip', 'skip'])
    expect(answerConflict(1, [], 'keep_both', true)).toEqual(['keep_both'])
    expect(answerConflict(2, ['skip', 'skip'], 'overwrite', false)).toEqual(['skip', 'skip'])
  })

  it('pauses, resumes and cancels', async () => {
    const { queue, started } = harness()
    const [k] = queue.add([file('a.jpg', 10)], null)
    await tick()
    await queue.pause(k)
    expect(started[0].paused).toBe(1)
    expect(queue.items[0].status).toBe('paused')
    queue.resume(k)
    await tick()
    expect(started.length).toBe(2)
    expect(queue.items[0].status).toBe('uploading')
    await queue.cancel(k)
    expect(started[1].cancelled).toBe(1)
    expect(queue.items[0].status).toBe('canceled')
    expect(totals(queue.items).total).toBe(0)
  })

  it('keeps a failed upload resumable and frees its slot', async () => {
    const { queue, started } = harness()
    const [a] = queue.add([file('a.jpg', 10), file('b.jpg', 10), file('c.jpg', 10)], null)
    await tick()
    started[0].opts.onError('The connection to the server was lost')
    await tick()
    expect(queue.items[0]).toMatchObject({ status: 'error', error: 'The connection to the server was lost' })
    expect(started.map((s) => s.name)).toEqual(['a.jpg', 'b.jpg', 'c.jpg'])
    expect(totals(queue.items).failed).toBe(1)
    queue.resume(a)
    expect(queue.items[0].status).toBe('queued')
  })
})
