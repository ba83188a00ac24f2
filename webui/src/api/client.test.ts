import { describe, expect, it } from 'vitest'
import { ApiClient, ApiError, errorText, filenameOf, formatWait, parseRetryAfter, sentence, type TokenSource } from './client'

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

/** A recording fetch that answers from a script. */
function scripted(answers: Response[]) {
  const calls: { url: string; init: RequestInit }[] = []
  const f = (async (url: string, init: RequestInit) => {
    calls.push({ url, init })
    const a = answers.shift()
    if (!a) throw new TypeError('Failed to fetch')
    return a
  }) as unknown as typeof fetch
  return { f, calls }
}

function tokens(initial: string | null, renewed: string | null): TokenSource & { renewals: number } {
  const t = {
    renewals: 0,
    current: initial,
    async token() {
      return t.current
    },
    async renew() {
      t.renewals++
      t.current = renewed
      return renewed
    },
  }
  return t
}

describe('ApiClient', () => {
  it('sends the bearer token, the query and JSON', async () => {
    const { f, calls } = scripted([json(200, { items: [], total: 0 })])
    const api = new ApiClient(tokens('T1', null), f)
    await api.listFiles('abc', 'size', 'desc', 50, 100)
    expect(calls[0].url).toBe('/api/files/?folder=abc&sort=size&order=desc&limit=50&offset=100')
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer T1')
    const { f: f2, calls: c2 } = scripted([json(201, { id: 'x' })])
    await new ApiClient(tokens('T1', null), f2).createFolder(null, 'Photos')
    expect(c2[0].init.method).toBe('POST')
    expect(JSON.parse(c2[0].init.body as string)).toEqual({ parent_id: null, name: 'Photos' })
  })

  it('renews the token once after a 401 and retries', async () => {
    const { f, calls } = scripted([json(401, { code: 'unauthorized', message: 'expired' }), json(200, { username: 'alice' })])
    const t = tokens('OLD', 'NEW')
    const me = await new ApiClient(t, f).me()
    expect(me.username).toBe('alice')
    expect(t.renewals).toBe(1)
    expect((calls[1].init.headers as Record<string, string>).Authorization).toBe('Bearer NEW')
  })

  it('gives up when renewal fails, with the server words', async () => {
    const { f } = scripted([json(401, { code: 'unauthorized', message: 'the access token is invalid or expired' })])
    const err = await new ApiClient(tokens('OLD', null), f).me().catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(401)
    expect(errorText(err)).toBe('The access token is invalid or expired')
  })

  it('turns any error answer into words', async () => {
    const { f } = scripted([json(413, { code: 'quota-exceeded', message: 'this upload would exceed your storage quota' })])
    const err = await new ApiClient(tokens('T', null), f).rename('id', 'x').catch((e) => e)
    expect(err.code).toBe('quota-exceeded')
    const { f: f2 } = scripted([new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })])
    const err2 = await new ApiClient(tokens('T', null), f2).me().catch((e) => e)
    expect(err2.message).toMatch(/not reachable/)
    const { f: f3 } = scripted([])
    expect(errorText(await new ApiClient(tokens('T', null), f3).me().catch((e) => e))).toMatch(/cannot be reached/)
  })

  it('shows server messages as sentences, capitalised like the UI', async () => {
    expect(sentence('no such file or folder')).toBe('No such file or folder')
    expect(sentence('ÉTÉ déjà')).toBe('ÉTÉ déjà')
    expect(sentence('')).toBe('')
    const { f } = scripted([json(404, { code: 'not-found', message: 'no such file or folder' })])
    expect(errorText(await new ApiClient(tokens('T', null), f).getFile('x').catch((e) => e))).toBe('No such file or folder')
  })

  it("tells how long to wait from a 429's Retry-After", async () => {
    const limited = new Response(JSON.stringify({ code: 'rate-limited', message: 'too many attempts; try again later' }), {
      status: 429,
      headers: { 'Content-Type': 'application/json', 'Retry-After': '42' },
    })
    const { f } = scripted([limited])
    const err = await new ApiClient(tokens(null, null), f).login('alice', 'pw').catch((e) => e)
    expect(err).toMatchObject({ status: 429, code: 'rate-limited', retryAfter: 42 })
    expect(errorText(err)).toBe('Too many attempts: try again in 42 s.')
    expect(errorText(new ApiError(429, 'rate-limited', 'x', 600))).toBe('Too many attempts: try again in 10 min.')
    expect(errorText(new ApiError(429, 'rate-limited', 'x'))).toBe('Too many attempts: wait a moment and try again.')
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(30)
    expect(parseRetryAfter('soon')).toBeNull()
    expect(parseRetryAfter(null)).toBeNull()
    expect(formatWait(3700)).toBe('1 h 2 min')
  })

  it('sends login without a token and asks for a cookie session', async () => {
    const { f, calls } = scripted([json(200, { user: {}, access_token: 'A', expires_in: 900 })])
    await new ApiClient(tokens('T', null), f).login('alice', 'pw')
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBeUndefined()
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ username: 'alice', password: 'pw', cookie: true })
  })

  it('speaks the trash routes', async () => {
    const { f, calls } = scripted([
      json(200, { trash_id: 'n1', deleted_files: 3, trashed_bytes: 30 }),
      json(200, { items: [], total: 0, bytes: 0 }),
      json(200, { id: 'n1', name: 'a (2).jpg', parent_id: 'p' }),
      new Response(null, { status: 204 }),
      json(200, { deleted: 4, freed_bytes: 99 }),
    ])
    const api = new ApiClient(tokens('T', null), f)
    expect((await api.remove('n1')).trash_id).toBe('n1')
    await api.trash(100, 200)
    expect(calls[1].url).toBe('/api/trash?limit=100&offset=200')
    expect((await api.restoreFromTrash('n1', { on_conflict: 'keep_both', parent_id: 'p' })).name).toBe('a (2).jpg')
    expect(calls[2].url).toBe('/api/trash/n1/restore')
    expect(calls[2].init.method).toBe('POST')
    expect(JSON.parse(calls[2].init.body as string)).toEqual({ on_conflict: 'keep_both', parent_id: 'p' })
    expect(await api.deleteFromTrash('n1')).toBeUndefined()
    expect([calls[3].init.method, calls[3].url]).toEqual(['DELETE', '/api/trash/n1'])
    expect(await api.emptyTrash()).toEqual({ deleted: 4, freed_bytes: 99 })
    expect([calls[4].init.method, calls[4].url]).toEqual(['DELETE', '/api/trash'])
  })

  it('turns a taken name on restore into a name-exists error', async () => {
    const { f } = scripted([json(409, { code: 'name-exists', message: 'a file or folder with that name already exists here' })])
    const err = await new ApiClient(tokens('T', null), f).restoreFromTrash('n1').catch((e) => e)
    expect([err.status, err.code]).toEqual([409, 'name-exists'])
  })

  it('speaks the version routes and downloads a version with the token', async () => {
    const body = new Uint8Array([1, 2, 3])
    const { f, calls } = scripted([
      json(200, { items: [{ id: 'v1', size: 3, modified_at: 1, created_at: 2, content_hash: 'h' }] }),
      new Response(body, { status: 200, headers: { 'Content-Disposition': `attachment; filename="notes.txt"; filename*=UTF-8''n%C3%B6tes.txt` } }),
      json(200, { id: 'f1', size: 3 }),
      new Response(null, { status: 204 }),
    ])
    const api = new ApiClient(tokens('T', null), f)
    expect((await api.versions('f1')).items[0].id).toBe('v1')
    expect(calls[0].url).toBe('/api/files/f1/versions')
    const { blob, filename } = await api.versionContent('f1', 'v1')
    expect(calls[1].url).toBe('/api/files/f1/versions/v1/content')
    expect((calls[1].init.headers as Record<string, string>).Authorization).toBe('Bearer T')
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(body)
    expect(filename).toBe('nötes.txt')
    await api.restoreVersion('f1', 'v1')
    expect([calls[2].init.method, calls[2].url]).toEqual(['POST', '/api/files/f1/versions/v1/restore'])
    await api.deleteVersion('f1', 'v1')
    expect([calls[3].init.method, calls[3].url]).toEqual(['DELETE', '/api/files/f1/versions/v1'])
  })

  it('reads the file name of a Content-Disposition header', () => {
    expect(filenameOf('attachment; filename="a b.txt"')).toBe('a b.txt')
    expect(filenameOf('attachment; filename=plain.bin')).toBe('plain.bin')
    expect(filenameOf(`attachment; filename="fallback.txt"; filename*=UTF-8''%E2%82%AC.txt`)).toBe('€.txt')
    expect(filenameOf('attachment; filename="q\\"uote.txt"')).toBe('q"uote.txt')
    expect(filenameOf('attachment')).toBeNull()
    expect(filenameOf(null)).toBeNull()
  })
})
