import { describe, expect, it } from 'vitest'
import { ncLoginUrl } from './ConnectPage'

describe('the phone app sign-in hand-over', () => {
  it('is nc://login/ with the values percent-encoded', () => {
    expect(ncLoginUrl('https://cloud.example.org', 'alice', 'cvap_a+b/c')).toBe('nc://login/server:https://cloud.example.org&user:alice&password:cvap_a%2Bb%2Fc')
    expect(ncLoginUrl('http://h:8080', 'é&x', 'p')).toBe('nc://login/server:http://h:8080&user:%C3%A9%26x&password:p')
  })
})
