import { describe, expect, it } from 'vitest'
import { readSetupToken, setupErrorText } from './setupToken'

describe('readSetupToken', () => {
  it('reads the token from the fragment, or else the query', () => {
    expect(readSetupToken('#token=abc123', '')).toBe('abc123')
    expect(readSetupToken('', '?token=q-1')).toBe('q-1')
    expect(readSetupToken('#token=frag', '?token=query')).toBe('frag')
    expect(readSetupToken('#token=a%2Bb', '')).toBe('a+b')
    expect(readSetupToken('', '')).toBeNull()
    expect(readSetupToken('#token=', '?x=1')).toBeNull()
  })

  it('explains a used or wrong token and a server already set up', () => {
    expect(setupErrorText('setup-token-invalid')).toMatch(/not valid/)
    expect(setupErrorText('setup-done')).toMatch(/sign in/)
    expect(setupErrorText('password-too-short')).toBeNull()
  })
})
