// Routes: a share link's guest page, the signed-out pages, then the app behind the session. Admin, the viewer and the
// trash load on demand (their code stays out of the first load).
import { Component, lazy, Suspense, useEffect, type ReactNode } from 'react'
import { Layout } from './components/Layout'
import { Spinner, Toasts } from './components/ui'
import { Link, match, navigate, useLocation } from './lib/router'
import { adminAccess } from './lib/access'
import { useStore } from './lib/store'
import { api, session } from './store/app'
import { LoginPage } from './pages/login/LoginPage'
import { RegisterPage } from './pages/register/RegisterPage'
import { RequestAccessPage } from './pages/request-access/RequestAccessPage'
import { SetupPage } from './pages/setup/SetupPage'
import { FilesPage } from './pages/files/FilesPage'
import { SearchPage, filtersOf } from './pages/search/SearchPage'
import { TagsPage } from './pages/tags/TagsPage'
import { AccountPage } from './pages/account/AccountPage'

const AdminPage = lazy(() => import('./pages/admin/AdminPage'))
const ViewerPage = lazy(() => import('./pages/viewer/ViewerPage'))
const TrashPage = lazy(() => import('./pages/trash/TrashPage'))
const SharePage = lazy(() => import('./pages/share/SharePage'))
const PhotosPage = lazy(() => import('./pages/photos/PhotosPage'))
const AlbumsPage = lazy(() => import('./pages/photos/AlbumsPage'))
const AlbumPage = lazy(() => import('./pages/photos/AlbumPage'))
const PlacesPage = lazy(() => import('./pages/photos/PlacesPage'))
const ConnectPage = lazy(() => import('./pages/connect/ConnectPage'))
const PlacePage = lazy(() => import('./pages/photos/PlacesPage').then((m) => ({ default: m.PlacePage })))

class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null }
  static getDerivedStateFromError(error: Error) {
    return { error }
  }
  render() {
    if (this.state.error) {
      return (
        <div role="alert" className="mx-auto mt-16 max-w-lg rounded-lg border border-red-200 bg-red-50 p-6 text-red-900">
          <h1 className="text-lg font-semibold">Something went wrong on this page</h1>
          <p className="mt-2 text-sm">{this.state.error.message}</p>
          <button type="button" className="btn mt-4" onClick={() => window.location.reload()}>
            Reload
          </button>
        </div>
      )
    }
    return this.props.children
  }
}

/** Where a signed-in user lands: Photos when they have any, else their files. */
function Landing() {
  useEffect(() => {
    api
      .photoBuckets(0)
      .then((b) => navigate(b.total > 0 ? '/photos' : '/files', { replace: true }))
      .catch(() => navigate('/files', { replace: true }))
  }, [])
  return <Spinner />
}

function AdminGate() {
  const user = useStore(session.store, (s) => s.user)
  const access = adminAccess(user)
  if (access === 'wait') return <Spinner />
  if (access === 'admin') return <AdminPage />
  return (
    <div className="card mx-auto max-w-lg" data-testid="admins-only">
      <h1 className="text-lg font-semibold">Admins only</h1>
      <p className="mt-2 text-sm text-slate-600">This page is for the server's administrators. Your account, {user?.username}, is not one. If you need more storage or an invite for someone, ask your administrator.</p>
      <Link href="/files" className="btn btn-primary mt-4">
        Go to My files
      </Link>
    </div>
  )
}

function SignedIn({ path, search }: { path: string; search: URLSearchParams }) {
  let m: Record<string, string> | null
  let page: ReactNode
  if (path === '/' || path === '/login' || path === '/register' || path === '/request-access' || path === '/setup') page = <Landing />
  else if (path === '/files') page = <FilesPage folderId={null} />
  else if ((m = match('/files/:id', path))) page = <FilesPage folderId={m.id} />
  else if ((m = match('/view/:id', path))) page = <ViewerPage fileId={m.id} context={search.get('in')} />
  else if (path === '/photos') page = <PhotosPage />
  else if ((m = match('/login/v2/flow/:token', path))) page = <ConnectPage token={m.token} />
  else if (path === '/index.php/login/flow') page = <ConnectPage token={null} />
  else if (path === '/albums') page = <AlbumsPage />
  else if ((m = match('/albums/:id', path))) page = <AlbumPage key={m.id} id={m.id} />
  else if (path === '/places') page = <PlacesPage />
  else if ((m = match('/places/:cc', path))) page = <PlacePage key={m.cc} cc={m.cc} city={null} />
  else if ((m = match('/places/:cc/:city', path))) page = <PlacePage key={`${m.cc}/${m.city}`} cc={m.cc} city={m.city} />
  else if (path === '/search') page = <SearchPage query={search.get('q') ?? ''} filters={filtersOf(search)} />
  else if (path === '/tags') page = <TagsPage tag={null} />
  else if ((m = match('/tags/:tag', path))) page = <TagsPage tag={m.tag} />
  else if (path === '/trash') page = <TrashPage />
  else if (path === '/account') page = <AccountPage />
  else if (path === '/admin') page = <AdminGate />
  else
    page = (
      <div className="card">
        <h1 className="text-lg font-semibold">Page not found</h1>
        <p className="mt-2 text-sm text-slate-600">There is no page at {path}.</p>
      </div>
    )
  return (
    <Layout>
      <Suspense fallback={<Spinner />}>{page}</Suspense>
    </Layout>
  )
}

export function App() {
  const status = useStore(session.store, (s) => s.status)
  const { path, search } = useLocation()
  let body: ReactNode
  const shared = match('/s/:token', path)
  // A share link's guest page: the same for everyone, signed in or not.
  if (shared)
    body = (
      <Suspense fallback={<Spinner />}>
        <SharePage token={shared.token} />
      </Suspense>
    )
  else if (status === 'loading') body = <Spinner label="Starting" />
  else if (status === 'signed-out') {
    if (path === '/register') body = <RegisterPage invite={search.get('invite') ?? ''} />
    else if (path === '/request-access') body = <RequestAccessPage />
    else if (path === '/setup') body = <SetupPage />
    else body = <LoginPage />
  } else body = <SignedIn path={path} search={search} />
  return (
    <ErrorBoundary>
      {body}
      <Toasts />
    </ErrorBoundary>
  )
}
