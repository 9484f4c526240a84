import { useCallback, useEffect, useState } from 'react'
import { backends, databases, project } from './config.js'

const REFRESH_MS = 5000

// nginx sends /api/ to the first backend and /api/<name>/ to each backend.
function readyUrl(name, index) {
  return index === 0 ? '/api/readyz' : `/api/${name}/readyz`
}

async function checkReady(url) {
  try {
    const res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' })
    const body = await res.json().catch(() => null)
    if (!body || typeof body !== 'object') {
      return { ok: false, code: res.status, error: `HTTP ${res.status}, not a JSON answer` }
    }
    return { ok: res.ok, code: res.status, body }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) }
  }
}

// A database state is "ok" or a description of what went wrong.
function DatabaseList({ states }) {
  const entries = Object.entries(states ?? {})
  if (entries.length === 0) {
    return <p className="muted">This backend reports no database.</p>
  }
  return (
    <ul className="databases">
      {entries.map(([name, state]) => {
        const ok = state === 'ok'
        return (
          <li key={name} className={ok ? 'ok' : 'bad'}>
            <span className="dot" aria-hidden="true" />
            <code>{name}</code>
            <span>{ok ? 'ok' : typeof state === 'string' ? state : JSON.stringify(state)}</span>
          </li>
        )
      })}
    </ul>
  )
}

function BackendCard({ name, url, result }) {
  const body = result?.body
  const error = result?.error ?? body?.error ?? body?.errors
  return (
    <section className="card">
      <h2>
        {name ? <code>{name}</code> : 'backend'}
        <span className={`badge ${result?.ok ? 'ok' : result ? 'bad' : ''}`}>
          {result ? body?.status ?? (result.ok ? 'ready' : 'unreachable') : 'checking…'}
        </span>
      </h2>
      <p className="muted">
        <code>GET {url}</code>
        {result?.code ? ` → HTTP ${result.code}` : ''}
      </p>
      {error ? (
        <p className="error">{typeof error === 'string' ? error : JSON.stringify(error)}</p>
      ) : null}
      {body?.databases ? <DatabaseList states={body.databases} /> : null}
    </section>
  )
}

// With no backend, /api/readyz still answers: nginx says, in JSON, that there is none.
const targets = backends.length
  ? backends.map((name, i) => ({ name, url: readyUrl(name, i) }))
  : [{ name: null, url: '/api/readyz' }]

export default function App() {
  const [results, setResults] = useState({})
  const [checkedAt, setCheckedAt] = useState(null)

  const refresh = useCallback(async () => {
    const answers = await Promise.all(targets.map((t) => checkReady(t.url)))
    setResults(Object.fromEntries(targets.map((t, i) => [t.url, answers[i]])))
    setCheckedAt(new Date())
  }, [])

  useEffect(() => {
    refresh()
    const timer = setInterval(refresh, REFRESH_MS)
    return () => clearInterval(timer)
  }, [refresh])

  return (
    <main>
      <header>
        <h1>{project}</h1>
        <p className="muted">
          {checkedAt ? `Checked at ${checkedAt.toLocaleTimeString()}, every ${REFRESH_MS / 1000} s. ` : ''}
          <button type="button" onClick={refresh}>
            Check now
          </button>
        </p>
      </header>

      {targets.map((t) => (
        <BackendCard key={t.url} name={t.name} url={t.url} result={results[t.url]} />
      ))}

      <section className="explain">
        <h2>How this page works</h2>
        <p>
          This React app was built by Vite in a Node stage of the image; the final image holds only
          the built files, served by nginx running as an unprivileged user on a read-only
          filesystem. Nothing here runs Node.
        </p>
        {backends.length ? (
          <p>
            The page asks <code>/api/readyz</code>. nginx forwards <code>/api/</code> to the backend{' '}
            <code>{backends[0]}</code> (and <code>/api/&lt;name&gt;/</code> to each backend), which
            checks its connection to every database
            {databases.length ? (
              <>
                {' '}
                ({databases.map((d, i) => (
                  <span key={d}>
                    {i ? ', ' : ''}
                    <code>{d}</code>
                  </span>
                ))})
              </>
            ) : null}{' '}
            and answers <code>503</code> until all of them respond. The databases sit on an
            internal network: the browser can never reach them directly, only through the backend.
          </p>
        ) : (
          <p>
            This project has no backend yet, so nginx answers <code>/api/</code> itself with a
            503. Add a backend to <code>dockergen.yml</code> and run <code>dockergen update</code>:
            this page will then show its database checks.
          </p>
        )}
        <p>
          Docker Compose starts this frontend only after the services it depends on report healthy,
          and probes it through <code>/healthz</code>.
        </p>
      </section>
    </main>
  )
}
