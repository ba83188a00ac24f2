// Places: where the photos were taken (named offline from their GPS by the server), countries by
// number of photos, each with its cities and a cover; a place opens its photos, newest first,
// loaded in pages as the page scrolls, to select or view one after the other.
import { useCallback, useEffect, useRef, useState } from 'react'
import type { FileItem, PlaceCountry } from '../../api/types'
import { ErrorText, PageTitle, Spinner } from '../../components/ui'
import { hideLiveClips } from '../../lib/live'
import { Link } from '../../lib/router'
import { api } from '../../store/app'
import { Cover, PhotoGrid, SelectionBar, useSelection } from './PhotoSelection'

const TZ = -new Date().getTimezoneOffset()
const PAGE = 300

const placeHref = (cc: string, city?: string) => `/places/${encodeURIComponent(cc)}${city ? `/${encodeURIComponent(city)}` : ''}`

export default function PlacesPage() {
  const [countries, setCountries] = useState<PlaceCountry[] | null>(null)
  const [error, setError] = useState<unknown>(null)
  useEffect(() => {
    api
      .places()
      .then((p) => setCountries(p.countries))
      .catch(setError)
  }, [])
  return (
    <div>
      <PageTitle>Places</PageTitle>
      <ErrorText error={error} />
      {!countries && !error && <Spinner />}
      {countries && countries.length === 0 && <p className="card text-sm text-slate-600">No places yet: photos with a location (GPS, as phones record it) show here by country and city.</p>}
      {countries && countries.length > 0 && (
        <>
          <ul className="mb-4 flex flex-wrap gap-2" aria-label="Countries">
            {countries.map((c) => (
              <li key={c.cc}>
                <Link href={placeHref(c.cc)} className="flex items-center gap-2 rounded-full border border-slate-200 bg-white py-1 pl-1 pr-3 text-sm shadow-sm hover:bg-slate-50" data-testid="place-country" data-cc={c.cc}>
                  <Cover id={c.cover_id} label="" className="h-7 w-7 rounded-full" />
                  <span className="font-medium">{c.country}</span>
                  <span className="text-slate-500">{c.count}</span>
                </Link>
              </li>
            ))}
          </ul>
          <ul className="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-6" aria-label="Cities">
            {countries.flatMap((c) =>
              c.cities.map((city) => (
                <li key={`${c.cc}|${city.city}|${city.region}`} className="min-w-0">
                  <Link href={placeHref(c.cc, city.city || undefined)} className="relative block overflow-hidden rounded-lg" data-testid="place-city" title={[city.city, city.region, c.country].filter(Boolean).join(', ')}>
                    <Cover id={city.cover_id} label={city.city || c.country} className="aspect-square w-full" />
                    <span className="absolute inset-x-0 bottom-0 bg-linear-to-t from-slate-900/80 to-transparent px-2 pb-1.5 pt-6 text-white">
                      <span className="block truncate font-semibold">{city.city || c.country}</span>
                      <span className="block truncate text-xs text-white/85">
                        {city.city ? `${c.country} · ` : ''}
                        {city.count} photo{city.count === 1 ? '' : 's'}
                      </span>
                    </span>
                  </Link>
                </li>
              )),
            )}
          </ul>
        </>
      )}
    </div>
  )
}

/** The photos of one country, or one city in it. */
export function PlacePage({ cc, city }: { cc: string; city: string | null }) {
  const [items, setItems] = useState<FileItem[]>([])
  const [cursor, setCursor] = useState<string | null | undefined>(undefined) // undefined: first page not asked yet
  const [country, setCountry] = useState<string>(cc)
  const [error, setError] = useState<unknown>(null)
  const busy = useRef(false)
  const end = useRef<HTMLDivElement>(null)
  const filter = { cc, city: city ?? undefined }

  const more = useCallback(() => {
    if (busy.current || cursor === null) return
    busy.current = true
    api
      .photos(filter, TZ, cursor ?? null, PAGE)
      .then((p) => {
        setItems((l) => hideLiveClips(l.concat(p.items)))
        setCursor(p.next_cursor)
      })
      .catch(setError)
      .finally(() => (busy.current = false))
  }, [cursor, cc, city]) // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    api
      .places()
      .then((p) => setCountry(p.countries.find((c) => c.cc === cc)?.country ?? cc))
      .catch(() => undefined)
  }, [cc])
  useEffect(() => {
    if (cursor === undefined) more()
  }, [cursor, more])
  useEffect(() => {
    const el = end.current
    if (!el) return
    const io = new IntersectionObserver((e) => e.some((x) => x.isIntersecting) && more(), { rootMargin: '800px 0px' })
    io.observe(el)
    return () => io.disconnect()
  }, [more])

  const order = useCallback(() => items, [items])
  const selection = useSelection(order)
  const context = `place:${encodeURIComponent(cc)}${city ? `:${encodeURIComponent(city)}` : ''}`
  return (
    <div>
      <p className="mb-1 text-sm">
        <Link href="/places" className="link">
          Places
        </Link>
        {city && (
          <>
            {' › '}
            <Link href={placeHref(cc)} className="link">
              {country}
            </Link>
          </>
        )}
      </p>
      <PageTitle>{city ? `${city}, ${country}` : country}</PageTitle>
      <SelectionBar chosen={[...selection.chosen.values()]} onClear={selection.clear} onGone={(ids) => setItems((l) => l.filter((f) => !ids.has(f.id)))} onBack={() => {
          setItems([])
          setCursor(undefined)
        }}
      />
      <ErrorText error={error} />
      <PhotoGrid items={items} hrefOf={(f) => `/view/${f.id}?in=${encodeURIComponent(context)}`} selection={selection} label={`Photos taken in ${city ?? country}`} />
      {cursor !== null && <Spinner />}
      <div ref={end} aria-hidden />
    </div>
  )
}
