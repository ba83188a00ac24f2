import { describe, expect, it } from 'vitest'
import { SessionManager, refreshDelayMs, type Clock } from './session'

function fakeClock() {
  let now = 1_000_000
  let timers: { at: number; f: () => void; id: number }[] = []
  let next = 1
  const clock: Clock & { advance(ms: number): void; pending(): number[] } = {
    now: () => now,
    setTimeout(f, ms) {
      const id = next++
      timers.push({ at: now + ms, f, id })
      return id
    },
    clearTimeout(id) {
      timers = timers.filter((t) => t.id !== id)
    },
    advance(ms) {
      now += ms
      const due = timers.filter((t) => t.at <= now)
      timers = timers.filter((t) => t.at > now)
      due.forEach((t) => t.f())
    },
    pending: () => timers.map((t) => t.at - now),
  }
  return clock
}

const tokens = (n: number, ttl = 900) => new Response(JSON.stringify({ access_token: `A${n}`, token_type: 'Bearer', expires_in: ttl, refresh_expires_in: 604800 }), { status: 200 })
const user = { id: 'u', username: 'alice', is_admin: false, disabled: false, quota_bytes: 10, used_bytes: 1, created_at: '' }

describe('refreshDelayMs', () => {
  it('renews a minute early, or 20% early for short lifetimes', () => {
    expect(refreshDelayMs(900)).toBe(840_000)
    expect(refreshDelayMs(20)).toBe(16_000)
    expect(refreshDelayMs(0)).toBe(1000)
  })
})

describe('SessionManager', () => {
  it('starts from the cookie, then renews before expiry on a timer', async () => {
    const clock = fakeClock()
    let refreshes = 0
    const f = (async (url: string) => {
      if (url === '/api/auth/refresh') return tokens(++refreshes, 20)
      if (url === '/api/auth/me') return new Response(JSON.stringify(user), { status: 200 })
      throw new Error(url)
    }) as unknown as typeof fetch
    const s = new SessionManager(f, clock, null)
    await s.start()
    expect(s.store.get().status).toBe('signed-in')
    expect(await s.token()).toBe('A1')
    expect(clock.pending()).toEqual([16_000])
    clock.advance(16_000)
    await new Promise((r) => setTimeout(r, 0))
    expect(refreshes).toBe(2)
    expect(await s.token()).toBe('A2')
    expect(s.store.get().status).toBe('signed-in')
  })

  it('renews once for many callers at the same time', async () => {
    let refreshes = 0
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const f = (async () => {
      refreshes++
      await gate
      return tokens(refreshes)
    }) as unknown as typeof fetch
    const s = new SessionManager(f, fakeClock(), null)
    const all = Promise.all([s.renew(), s.renew(), s.renew()])
    release()
    expect(await all).toEqual(['A1', 'A1', 'A1'])
    expect(refreshes).toBe(1)
  })

  it('asks for a token just before expiry instead of sending a stale one', async () => {
    const clock = fakeClock()
    let n = 0
    const f = (async () => tokens(++n, 900)) as unknown as typeof fetch
    const s = new SessionManager(f, clock, null)
    s.accept({ access_token: 'A0', token_type: 'Bearer', expires_in: 900, refresh_expires_in: 1 })
    clock.now = () => 1_000_000 + 897_000 // 3 s left: the timer was late (sleep)
    expect(await s.token()).toBe('A1')
  })

  it('a refused refresh signs out with a notice; a network error does not', async () => {
    let mode: 'down' | 'refused' = 'down'
    const f = (async () => {
      if (mode === 'down') throw new TypeError('Failed to fetch')
      return new Response(JSON.stringify({ code: 'unauthorized', message: 'revoked' }), { status: 401 })
    }) as unknown as typeof fetch
    const s = new SessionManager(f, fakeClock(), null)
    s.signIn({ user, access_token: 'A0', token_type: 'Bearer', expires_in: 900, refresh_expires_in: 1 })
    expect(await s.renew()).toBe('A0')
    expect(s.store.get().status).toBe('signed-in')
    mode = 'refused'
    expect(await s.renew()).toBeNull()
    expect(s.store.get().status).toBe('signed-out')
    expect(s.store.get().notice).toMatch(/session ended/)
  })

  it('logout forgets the token even if the server is unreachable', async () => {
    const calls: string[] = []
    const f = (async (url: string) => {
      calls.push(url)
      throw new TypeError('offline')
    }) as unknown as typeof fetch
    const s = new SessionManager(f, fakeClock(), null)
    s.signIn({ user, access_token: 'A0', token_type: 'Bearer', expires_in: 900, refresh_expires_in: 1 })
    await s.logout().catch(() => undefined)
    expect(calls).toEqual(['/api/auth/logout'])
    expect(s.store.get().status).toBe('signed-out')
    expect(await s.token()).toBeNull()
  })
})
