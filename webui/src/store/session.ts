// The browser session: the access token lives only in memory here; the refresh token is an
// HttpOnly cookie the page cannot read. The access token is renewed silently before it expires
// (and once more after any 401), one renewal at a time across tabs (Web Locks), since presenting
// an already rotated refresh token ends the session everywhere.
import { ApiClient, errorText, toApiError, type TokenSource } from '../api/client'
import { pathOf } from '../api/routes'
import type { Session, Tokens, User } from '../api/types'
import { createStore, type Store } from '../lib/store'

export type Status = 'loading' | 'signed-in' | 'signed-out'

export interface SessionState {
  status: Status
  user: User | null
  /** Why the session ended, shown on the sign-in page. */
  notice: string | null
}

/** When to renew a token that lives `expiresIn` seconds: a minute early, or 20% early for
 * short lifetimes, never sooner than a second. */
export function refreshDelayMs(expiresIn: number): number {
  const life = Math.max(0, expiresIn) * 1000
  const margin = Math.min(60_000, life * 0.2)
  return Math.max(1000, life - margin)
}

export interface Clock {
  now(): number
  setTimeout(f: () => void, ms: number): unknown
  clearTimeout(t: unknown): void
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
}

type LockRunner = <R>(name: string, f: () => Promise<R>) => Promise<R>

function browserLocks(): LockRunner | null {
  const locks = typeof navigator !== 'undefined' ? (navigator as Navigator & { locks?: LockManager }).locks : undefined
  if (!locks) return null
  return (name, f) => locks.request(name, f) as Promise<never>
}

export class SessionManager implements TokenSource {
  readonly store: Store<SessionState> = createStore<SessionState>({ status: 'loading', user: null, notice: null })
  readonly api: ApiClient
  private access: string | null = null
  private expiresAt = 0
  private timer: unknown = null
  private inflight: Promise<string | null> | null = null

  constructor(
    private fetchImpl: typeof fetch = (...a) => fetch(...a),
    private clock: Clock = realClock,
    private lock: LockRunner | null = browserLocks(),
  ) {
    this.api = new ApiClient(this, fetchImpl)
  }

  /** At page load: the cookie (if any) gives a new access token without asking for a password. */
  async start(): Promise<void> {
    const token = await this.renew()
    if (!token) return
    // The page can load its data now; who the user is (quota bar, admin link) follows.
    this.store.set({ status: 'signed-in', notice: null })
    try {
      this.store.set({ user: await this.api.me() })
    } catch {
      /* a 401 here already signed out; anything else shows on the next action */
    }
  }

  /** After login or registration. */
  signIn(s: Session): void {
    this.accept(s)
    this.store.set({ status: 'signed-in', user: s.user, notice: null })
  }

  setUser(user: User): void {
    this.store.set({ user })
  }

  /** Takes a new pair (after a password change, say). */
  accept(t: Tokens): void {
    this.access = t.access_token
    this.expiresAt = this.clock.now() + t.expires_in * 1000
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = this.clock.setTimeout(() => void this.renew(), refreshDelayMs(t.expires_in))
  }

  async token(): Promise<string | null> {
    if (this.access && this.expiresAt - this.clock.now() < 5_000) return this.renew()
    return this.access
  }

  /** Renews the access token now (one renewal in flight at a time). */
  renew(): Promise<string | null> {
    if (!this.inflight) {
      const run = () => this.refreshOnce()
      const p = this.lock ? this.lock('cloudvault-refresh', run) : run()
      this.inflight = p.finally(() => {
        this.inflight = null
      })
    }
    return this.inflight
  }

  private async refreshOnce(): Promise<string | null> {
    let res: Response
    try {
      res = await this.fetchImpl(pathOf('refresh'), { method: 'POST', credentials: 'same-origin', headers: { Accept: 'application/json' } })
    } catch {
      // Offline or the server restarting: keep what we have and try again soon.
      if (this.timer !== null) this.clock.clearTimeout(this.timer)
      this.timer = this.clock.setTimeout(() => void this.renew(), 10_000)
      if (this.store.get().status === 'loading') this.signedOut('The server cannot be reached. Reload the page to try again.')
      return this.access
    }
    if (res.ok) {
      const t = (await res.json()) as Tokens
      this.accept(t)
      return t.access_token
    }
    const wasIn = this.store.get().status === 'signed-in'
    const err = await toApiError(res)
    this.signedOut(wasIn ? 'Your session ended: sign in again.' : res.status === 401 ? null : errorText(err))
    return null
  }

  private signedOut(notice: string | null): void {
    this.access = null
    this.expiresAt = 0
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
    this.store.set({ status: 'signed-out', user: null, notice })
  }

  /** Revokes the session on the server (and its cookies), then forgets it here. */
  async logout(): Promise<void> {
    try {
      await this.fetchImpl(pathOf('logout'), { method: 'POST', credentials: 'same-origin' })
    } finally {
      this.signedOut(null)
    }
  }
}

export const session = new SessionManager()
export const api = session.api
