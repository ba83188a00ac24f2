import { describe, expect, it } from 'vitest'
import { ApiClient, ApiError, errorText, type TokenSource } from './client'

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
    expect(errorText(err)).toBe('the access token is invalid or expired')
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

  it('sends login without a token and asks for a cookie session', async () => {
    const { f, calls } = scripted([json(200, { user: {}, access_token: 'A', expires_in: 900 })])
    await new ApiClient(tokens('T', null), f).login('alice', 'pw')
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBeUndefined()
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ username: 'alice', password: 'pw', cookie: true })
  })
})
