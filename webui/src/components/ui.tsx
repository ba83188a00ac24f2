// Small shared pieces: progress and quota bars, error text, dialogs, copy buttons, toasts.
import { useEffect, useRef, useState, type ReactNode } from 'react'
import { errorText } from '../api/client'
import { formatBytes, percent } from '../lib/format'
import { useStore } from '../lib/store'
import { dismissToast, toasts } from '../store/app'

export function ProgressBar({ value, max, label, className = '' }: { value: number; max: number; label: string; className?: string }) {
  const p = percent(value, max)
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(p)}
      className={`h-2 w-full overflow-hidden rounded-full bg-slate-200 ${className}`}
    >
      <div className="h-full rounded-full bg-sky-600 transition-[width] duration-200" style={{ width: `${p}%` }} />
    </div>
  )
}

export function QuotaBar({ used, quota, compact = false }: { used: number; quota: number; compact?: boolean }) {
  const p = percent(used, quota)
  const color = p > 90 ? 'bg-red-600' : p > 75 ? 'bg-amber-500' : 'bg-emerald-600'
  return (
    <div data-testid="quota" className={compact ? 'text-xs' : 'text-sm'}>
      <div
        role="meter"
        aria-label="Storage used"
        aria-valuemin={0}
        aria-valuemax={quota}
        aria-valuenow={used}
        className="h-2 w-full overflow-hidden rounded-full bg-slate-200"
      >
        <div className={`h-full ${color}`} style={{ width: `${p}%` }} />
      </div>
      <p className="mt-1 text-slate-600" data-testid="quota-text">
        {formatBytes(used)} of {formatBytes(quota)} used
      </p>
    </div>
  )
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null
  return (
    <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
      {errorText(error)}
    </p>
  )
}

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <p role="status" className="flex items-center gap-2 p-4 text-sm text-slate-500">
      <span className="inline-block h-4 w-4 animate-spin rounded-full border-2 border-slate-300 border-t-sky-600" aria-hidden />
      {label}…
    </p>
  )
}

/** A modal dialog: focus moves in, Escape closes, the page behind is inert. */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null)
  const close = useRef(onClose)
  close.current = onClose
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null
    if (!ref.current?.contains(document.activeElement)) ref.current?.querySelector<HTMLElement>('input, select, textarea, button')?.focus()
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') close.current()
    }
    document.addEventListener('keydown', onKey)
    return () => {
      document.removeEventListener('keydown', onKey)
      prev?.focus()
    }
  }, [])
  return (
    <div className="fixed inset-0 z-40 flex items-end justify-center bg-slate-900/40 p-2 sm:items-center" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div ref={ref} role="dialog" aria-modal="true" aria-label={title} className="w-full max-w-md rounded-lg bg-white p-4 shadow-xl">
        <h2 className="mb-3 break-words text-lg font-semibold">{title}</h2>
        {children}
      </div>
    </div>
  )
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false)
  return (
    <button
      type="button"
      className="btn"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text)
        } catch {
          // No clipboard permission (plain HTTP): select-and-copy by hand still works.
          const t = document.createElement('textarea')
          t.value = text
          document.body.appendChild(t)
          t.select()
          document.execCommand('copy')
          t.remove()
        }
        setDone(true)
        setTimeout(() => setDone(false), 1500)
      }}
    >
      {done ? 'Copied' : label}
    </button>
  )
}

export function Toasts() {
  const list = useStore(toasts, (s) => s.list)
  return (
    <div aria-live="polite" className="pointer-events-none fixed inset-x-0 bottom-2 z-50 flex flex-col items-center gap-2 px-2">
      {list.map((t) => (
        <div
          key={t.id}
          role={t.kind === 'error' ? 'alert' : 'status'}
          data-testid="toast"
          className={`pointer-events-auto flex max-w-lg items-center gap-3 rounded-md px-4 py-2 text-sm shadow-lg ${t.kind === 'error' ? 'bg-red-700 text-white' : 'bg-slate-800 text-white'}`}
        >
          <span>{t.text}</span>
          {t.action && (
            <button
              type="button"
              className="shrink-0 rounded px-2 py-0.5 font-semibold text-sky-300 underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-white"
              onClick={() => {
                dismissToast(t.id)
                t.action!.run()
              }}
            >
              {t.action.label}
            </button>
          )}
        </div>
      ))}
    </div>
  )
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-2">
      <h1 className="text-xl font-semibold">{children}</h1>
      {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
    </div>
  )
}
