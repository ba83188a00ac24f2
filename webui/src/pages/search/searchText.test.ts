import { describe, expect, it } from 'vitest'
import { semanticOffText } from './searchText'

describe('semanticOffText', () => {
  it('gives users a neutral line, never an admin instruction', () => {
    const user = semanticOffText(false)
    expect(user).toMatch(/^Search by description isn't available on this server yet/)
    expect(user).not.toMatch(/scripts\/|\.sh|onnx|install|config|admin/i)
    expect(semanticOffText(true)).toMatch(/off on this server/)
  })
})
