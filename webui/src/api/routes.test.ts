// The client's route table against the Rust router: every route the UI calls must exist on the
// server with that method.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ROUTES, pathOf, versionContentUrl } from './routes'

const src = (p: string) => readFileSync(new URL(`../../../src/http/${p}`, import.meta.url), 'utf8')

/** "METHOD /api/path" for every `.route("/x", get(..).post(..))` in the given Rust sources. */
function serverRoutes(): Set<string> {
  const out = new Set<string>()
  for (const [file, prefix] of [['mod.rs', '/api'], ['tus.rs', '/api'], ['photos.rs', '/api'], ['shares.rs', '/api'], ['nextcloud.rs', '/api']] as const) {
    const text = src(file)
    const re = /\.route\(\s*"([^"]+)",\s*((?:[^()]|\([^()]*(?:\([^()]*\))*[^()]*\))*)\)/g
    for (const m of text.matchAll(re)) {
      const methods = [...m[2].matchAll(/\b(get|post|put|patch|delete|head|options)\(/g)].map((x) => x[1].toUpperCase())
      if (m[2].includes('axum::routing::delete(')) methods.push('DELETE')
      for (const method of methods) out.add(`${method} ${prefix}${m[1]}`)
    }
  }
  return out
}

describe('API routes', () => {
  const server = serverRoutes()

  it('parses the server router', () => {
    expect(server.has('POST /api/auth/login')).toBe(true)
    expect(server.has('PATCH /api/files/uploads/{id}')).toBe(true)
    expect(server.size).toBeGreaterThan(20)
  })

  for (const [name, route] of Object.entries(ROUTES)) {
    it(`${name}: ${route.method} ${route.path}`, () => {
      const key = `${route.method} ${route.path}`
      expect(server.has(key), `${key} is not a server route`).toBe(true)
    })
  }

  it('fills and encodes path parameters', () => {
    expect(pathOf('getFile', { id: 'a b' })).toBe('/api/files/a%20b')
    expect(pathOf('addTag', { id: 'x', tag: 'new york' })).toBe('/api/files/x/tags/new%20york')
    expect(() => pathOf('getFile')).toThrow(/needs id/)
    expect(pathOf('restoreTrash', { id: 'n1' })).toBe('/api/trash/n1/restore')
    expect(versionContentUrl('f 1', 'v/2')).toBe('/api/files/f%201/versions/v%2F2/content')
  })
})
