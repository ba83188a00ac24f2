// The frame of every signed-in page: navigation (a menu button on phones), the quota bar, sign out.
import { useState, type ReactNode } from 'react'
import { Link, useLocation } from '../lib/router'
import { useStore } from '../lib/store'
import { session } from '../store/app'
import { QuotaBar } from './ui'

const LINKS = [
  { href: '/files', label: 'Files' },
  { href: '/photos', label: 'Photos' },
  { href: '/albums', label: 'Albums' },
  { href: '/places', label: 'Places' },
  { href: '/search', label: 'Search' },
  { href: '/tags', label: 'Tags' },
  { href: '/trash', label: 'Trash' },
  { href: '/account', label: 'Account' },
]

export function Layout({ children }: { children: ReactNode }) {
  const user = useStore(session.store, (s) => s.user)
  const { path } = useLocation()
  const [open, setOpen] = useState(false)
  const links = user?.is_admin ? [...LINKS, { href: '/admin', label: 'Admin' }] : LINKS
  const current = (href: string) => path === href || path.startsWith(href + '/') || (href === '/files' && path.startsWith('/view/'))
  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2">
        Skip to content
      </a>
      <header className="sticky top-0 z-30 border-b border-slate-200 bg-white/95 backdrop-blur">
        <div className="mx-auto flex max-w-7xl items-center gap-3 px-3 py-2">
          <Link href="/files" className="flex items-center gap-2 text-lg font-bold text-sky-800">
            <svg viewBox="0 0 24 24" className="h-6 w-6" fill="currentColor" aria-hidden>
              <path d="M7 18a5 5 0 0 1-.5-9.98A6 6 0 0 1 18 9a4.5 4.5 0 0 1-.5 9z" />
            </svg>
            CloudVault
          </Link>
          <nav aria-label="Main" className="ml-4 hidden gap-1 lg:flex">
            {links.map((l) => (
              <Link key={l.href} href={l.href} aria-current={current(l.href) ? 'page' : undefined} className={`rounded-md px-3 py-1.5 text-sm font-medium ${current(l.href) ? 'bg-sky-100 text-sky-900' : 'text-slate-700 hover:bg-slate-100'}`}>
                {l.label}
              </Link>
            ))}
          </nav>
          <div className="ml-auto hidden w-40 xl:block">{user && <QuotaBar used={user.used_bytes} quota={user.quota_bytes} compact />}</div>
          <span className="hidden text-sm text-slate-600 sm:inline" data-testid="whoami">
            {user?.username}
          </span>
          <button type="button" className="btn hidden lg:inline-flex" onClick={() => void session.logout()}>
            Sign out
          </button>
          <button type="button" className="btn ml-auto lg:hidden" aria-expanded={open} aria-controls="mobile-nav" onClick={() => setOpen((o) => !o)}>
            Menu
          </button>
        </div>
        {open && (
          <nav id="mobile-nav" aria-label="Main" className="border-t border-slate-200 px-3 pb-3 lg:hidden">
            {links.map((l) => (
              <Link key={l.href} href={l.href} onClick={() => setOpen(false)} aria-current={current(l.href) ? 'page' : undefined} className="block rounded-md px-3 py-2 text-base font-medium text-slate-800 hover:bg-slate-100">
                {l.label}
              </Link>
            ))}
            {user && (
              <div className="px-3 py-2">
                <QuotaBar used={user.used_bytes} quota={user.quota_bytes} compact />
              </div>
            )}
            <button type="button" className="btn mt-1 w-full" onClick={() => void session.logout()}>
              Sign out {user?.username}
            </button>
          </nav>
        )}
      </header>
      <main id="main" className="mx-auto max-w-7xl px-3 py-4">
        {children}
      </main>
    </div>
  )
}

/** The frame of the signed-out pages (sign in, register, request access). */
export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main id="main" className="flex min-h-screen items-start justify-center px-3 pt-[10vh]">
      <div className="w-full max-w-sm">
        <p className="mb-6 flex items-center justify-center gap-2 text-2xl font-bold text-sky-800">
          <svg viewBox="0 0 24 24" className="h-8 w-8" fill="currentColor" aria-hidden>
            <path d="M7 18a5 5 0 0 1-.5-9.98A6 6 0 0 1 18 9a4.5 4.5 0 0 1-.5 9z" />
          </svg>
          CloudVault
        </p>
        <div className="card">
          <h1 className="mb-4 text-xl font-semibold">{title}</h1>
          {children}
        </div>
      </div>
    </main>
  )
}
