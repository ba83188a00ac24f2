// The upload transport: tus 1.0 through tus-js-client, in 50 MiB requests (Cloudflare refuses
// request bodies over 100 MB), retried with backoff when the connection drops.
import { Upload, type HttpRequest } from 'tus-js-client'
import { sentence } from '../api/client'
import { pathOf } from '../api/routes'
import type { ErrorCode } from '../api/types'
import type { TransportFactory } from './uploads'

export const CHUNK_SIZE = 50 * 1024 * 1024

export interface TokenGetter {
  token(): Promise<string | null>
  renew(): Promise<string | null>
}

/** The `code` of a JSON error body, if it is one. */
export function errorCode(body: string | undefined): ErrorCode | undefined {
  try {
    const code = body ? JSON.parse(body).code : undefined
    return typeof code === 'string' ? (code as ErrorCode) : undefined
  } catch {
    return undefined
  }
}

export function tusTransport(tokens: TokenGetter): TransportFactory {
  return (file, opts) => {
    let started = false
    const upload = new Upload(file, {
      endpoint: pathOf('uploads'),
      uploadUrl: opts.uploadUrl,
      chunkSize: CHUNK_SIZE,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
      metadata: opts.metadata,
      // The server lists unfinished uploads itself (ResumeFinder): no fingerprints in localStorage.
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: true,
      async onBeforeRequest(req: HttpRequest) {
        const t = await tokens.token()
        if (t) req.setHeader('Authorization', `Bearer ${t}`)
      },
      onShouldRetry(err, _attempt, options) {
        const status = err.originalResponse?.getStatus() ?? 0
        if (status === 401) {
          void tokens.renew()
          return true
        }
        // A refusal the user must answer (the name is taken, no room) is not retried.
        if (status === 409 || status === 413 || status === 507) {
          const code = errorCode(err.originalResponse?.getBody())
          if (code === 'name-exists' || code === 'quota-exceeded') return false
        }
        // tus-js-client's own rule: retry network errors, 5xx, 409 (offset) and 423.
        return (status === 0 || status >= 500 || status === 409 || status === 423) && (options.retryDelays?.length ?? 0) > 0
      },
      onAfterResponse(req, res) {
        // The first answer says where the upload stands: a resume starts from its offset.
        if (!started && req.getMethod() !== 'OPTIONS') {
          const off = Number(res.getHeader('Upload-Offset') ?? 0)
          started = true
          opts.onStart(Number.isFinite(off) ? off : 0)
        }
      },
      onProgress: (sent, total) => opts.onProgress(sent, total),
      onSuccess(payload) {
        const id = payload?.lastResponse?.getHeader('CloudVault-File-Id') ?? null
        opts.onSuccess(id)
      },
      onError(err) {
        const res = (err as { originalResponse?: { getBody(): string; getStatus(): number } }).originalResponse
        let message = err.message
        let code: ErrorCode | undefined
        if (res) {
          try {
            const body = JSON.parse(res.getBody())
            message = sentence(body.message ?? message)
            code = typeof body.code === 'string' ? (body.code as ErrorCode) : undefined
          } catch {
            message = `The server answered ${res.getStatus()}`
          }
        } else {
          message = 'The connection to the server was lost. Resume to continue where it stopped.'
        }
        opts.onError(message, code)
      },
    })
    return {
      start: () => upload.start(),
      pause: () => upload.abort(false),
      cancel: () => upload.abort(true).catch(() => undefined),
    }
  }
}
