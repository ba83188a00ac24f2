// Tags: a cloud (or a list) with counts; a tag opens its files.
import { useEffect, useState } from 'react'
import { ApiError } from '../../api/client'
import type { FileItem, TagCount } from '../../api/types'
import { Thumb, VideoBadge } from '../../components/Thumb'
import { ErrorText, PageTitle, Spinner } from '../../components/ui'
import { Link } from '../../lib/router'
import { api } from '../../store/app'

export function tagSize(count: number, max: number): string {
  const steps = ['text-sm', 'text-base', 'text-lg', 'text-xl', 'text-2xl', 'text-3xl']
  if (max <= 1) return steps[1]
  const i = Math.round((Math.log(count) / Math.log(max)) * (steps.length - 1))
  return steps[Math.max(0, Math.min(steps.length - 1, i))]
}

function Unsupported({ error }: { error: unknown }) {
  if (error instanceof ApiError && error.code === 'no-such-route') return <p className="card text-sm text-slate-600">Tags are not available on this server yet.</p>
  return <ErrorText error={error} />
}

export function TagsPage({ tag }: { tag: string | null }) {
  const [tags, setTags] = useState<TagCount[] | null>(null)
  const [files, setFiles] = useState<{ items: FileItem[]; total: number } | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [asList, setAsList] = useState(false)

  useEffect(() => {
    setError(null)
    if (tag) {
      setFiles(null)
      api.tagFiles(tag).then(setFiles).catch(setError)
    } else {
      api
        .tags()
        .then((r) => setTags(r.tags))
        .catch(setError)
    }
  }, [tag])

  if (tag) {
    return (
      <div>
        <PageTitle actions={<Link className="btn" href="/tags">All tags</Link>}>Tagged “{tag}”</PageTitle>
        <Unsupported error={error} />
        {!files && !error && <Spinner />}
        {files && (
          <>
            <p className="mb-2 text-sm text-slate-600">{files.total} file{files.total === 1 ? '' : 's'}</p>
            <ul className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-5">
              {files.items.map((f) => (
                <li key={f.id} className="overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm">
                  <Link href={`/view/${f.id}`} className="block">
                    <div className="relative">
                      <Thumb file={f} className="aspect-square w-full bg-slate-50" />
                      <VideoBadge file={f} />
                    </div>
                    <span className="block truncate p-2 text-sm">{f.name}</span>
                  </Link>
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
    )
  }
  const max = Math.max(1, ...(tags ?? []).map((t) => t.count))
  return (
    <div>
      <PageTitle
        actions={
          <button type="button" className="btn" aria-pressed={asList} onClick={() => setAsList((l) => !l)}>
            {asList ? 'Show as cloud' : 'Show as list'}
          </button>
        }
      >
        Tags
      </PageTitle>
      <Unsupported error={error} />
      {!tags && !error && <Spinner />}
      {tags && tags.length === 0 && <p className="card text-sm text-slate-600">No tags yet: pictures get tags as they are processed, and you can add your own in the viewer.</p>}
      {tags && tags.length > 0 && asList && (
        <ul className="card divide-y divide-slate-100" data-testid="tag-list">
          {tags.map((t) => (
            <li key={t.tag} className="flex justify-between py-1.5">
              <Link className="link" href={`/tags/${encodeURIComponent(t.tag)}`}>{t.tag}</Link>
              <span className="text-sm text-slate-500">{t.count}</span>
            </li>
          ))}
        </ul>
      )}
      {tags && tags.length > 0 && !asList && (
        <ul className="card flex flex-wrap items-baseline gap-x-4 gap-y-2" data-testid="tag-cloud">
          {tags.map((t) => (
            <li key={t.tag}>
              <Link className={`link ${tagSize(t.count, max)}`} href={`/tags/${encodeURIComponent(t.tag)}`}>
                {t.tag}
              </Link>
              <span className="ml-1 text-xs text-slate-500">{t.count}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
