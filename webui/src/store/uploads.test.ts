import { describe, expect, it } from 'vitest'
import { totals, uploadMetadata, UploadQueue, type Transport, type TransportOptions } from './uploads'

/** A transport driven by the test: it records what the queue asked for. */
function harness(resumable: Record<string, string> = {}) {
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
    expect(started[0].opts.metadata).toEqual({ filename: 'big.bin', filetype: 'image/jpeg', on_conflict: 'keep_both', lastmod: '42' })
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
      ['new.jpg', 'keep_both'],
      ['taken.jpg', 'overwrite'],
    ])
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
    started[0].opts.onError('this upload would exceed your storage quota')
    await tick()
    expect(queue.items[0]).toMatchObject({ status: 'error', error: 'this upload would exceed your storage quota' })
    expect(started.map((s) => s.name)).toEqual(['a.jpg', 'b.jpg', 'c.jpg'])
    expect(totals(queue.items).failed).toBe(1)
    queue.resume(a)
    expect(queue.items[0].status).toBe('queued')
  })
})
