// A small history router: the location lives in a store, links and navigate() push to it.
import { createElement, type AnchorHTMLAttributes, type MouseEvent } from 'react'
import { createStore, useStore } from './store'

export interface Location {
  path: string
  search: URLSearchParams
}

function read(): Location {
  return { path: window.location.pathname, search: new URLSearchParams(window.location.search) }
}

export const locationStore = createStore<{ loc: Location }>({ loc: typeof window === 'undefined' ? { path: '/', search: new URLSearchParams() } : read() })

if (typeof window !== 'undefined') {
  window.addEventListener('popstate', () => locationStore.set({ loc: read() }))
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) window.history.replaceState(null, '', to)
  else window.history.pushState(null, '', to)
  locationStore.set({ loc: read() })
  window.scrollTo(0, 0)
}

export function useLocation(): Location {
  return useStore(locationStore, (s) => s.loc)
}

/** Matches "/files/:id" against a path; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean)
  const s = path.split('/').filter(Boolean)
  if (p.length !== s.length) return null
  const params: Record<string, string> = {}
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i])
    else if (p[i] !== s[i]) return null
  }
  return params
}

export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { href, onClick, ...rest } = props
  return createElement('a', {
    ...rest,
    href,
    onClick(e: MouseEvent<HTMLAnchorElement>) {
      onClick?.(e)
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
      e.preventDefault()
      navigate(href)
    },
  })
}
