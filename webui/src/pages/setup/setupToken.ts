// The set-up link the server prints: http://HOST:PORT/setup#token=TOKEN (in the fragment, so it
// never reaches a proxy's logs); `?token=` works too.

/** The token of a set-up link, from its fragment or its query; null when there is none. */
export function readSetupToken(hash: string, search: string): string | null {
  for (const part of [hash.replace(/^#/, ''), search.replace(/^\?/, '')]) {
    const token = new URLSearchParams(part).get('token')?.trim()
    if (token) return token
  }
  return null
}

/** What a refused set-up means for the person at the browser. */
export function setupErrorText(code: string): string | null {
  if (code === 'setup-token-invalid') return 'This set-up link is not valid: it was used already, or it is not the latest one the server printed. Use the link from the server’s latest start.'
  if (code === 'setup-done') return 'This server already has an administrator: sign in instead.'
  return null
}
