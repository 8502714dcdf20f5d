// The application frame: navigation, theme, time range, shortcuts, and
// the pages, each loaded on first visit (the metrics and logs editors
// bring CodeMirror, which the first load does not need).
import { lazy, Suspense } from 'preact/compat';
import { useEffect, useState } from 'preact/hooks';
import { Link, Route, Router, Switch, useLocation } from 'wouter-preact';
import { prefix } from './api/http';
import { TimeProvider, useTime } from './lib/time';
import { shiftRange, zoomRange } from './lib/timerange';
import { goKeys, shortcuts, typing } from './lib/shortcuts';
import { withRange } from './lib/url';
import { TimeRangePicker } from './components/TimeRangePicker';
import { Session } from './lib/session';

const Home = lazy(() => import('./pages/home/HomePage'));
const Metrics = lazy(() => import('./pages/metrics/MetricsPage'));
const Traces = lazy(() => import('./pages/traces/TracesPage'));
const TraceView = lazy(() => import('./pages/traces/TracePage'));
const Logs = lazy(() => import('./pages/logs/LogsPage'));
const Alerting = lazy(() => import('./pages/alerts/AlertingPage'));
const Incidents = lazy(() => import('./pages/incidents/IncidentsPage'));
const OnCall = lazy(() => import('./pages/oncall/OnCallPage'));
const Uptime = lazy(() => import('./pages/uptime/UptimePage'));

const nav = [
  { href: '/', label: 'Home', match: (p: string) => p === '/' },
  { href: '/query', label: 'Metrics', match: (p: string) => p.startsWith('/query') },
  { href: '/traces', label: 'Traces', match: (p: string) => p.startsWith('/traces') },
  { href: '/logs', label: 'Logs', match: (p: string) => p.startsWith('/logs') },
  { href: '/alerting', label: 'Alerting', match: (p: string) => p.startsWith('/alerting') },
  { href: '/incidents', label: 'Incidents', match: (p: string) => p.startsWith('/incidents') },
  { href: '/oncall', label: 'On-call', match: (p: string) => p.startsWith('/oncall') },
  { href: '/uptime', label: 'Uptime', match: (p: string) => p.startsWith('/uptime') },
];

function useTheme(): [string, () => void] {
  const [theme, setTheme] = useState(document.documentElement.dataset.theme ?? 'light');
  const toggle = () => {
    const t = theme === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = t;
    try {
      localStorage.setItem('vigil.theme', t);
    } catch {
      /* private mode */
    }
    setTheme(t);
    dispatchEvent(new Event('vigil:theme'));
  };
  return [theme, toggle];
}

function Shortcuts({ toggleTheme, showHelp }: { toggleTheme: () => void; showHelp: () => void }) {
  const t = useTime();
  const [, navigate] = useLocation();
  useEffect(() => {
    let g = false;
    let gTimer = 0;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
      if (g) {
        g = false;
        const to = goKeys[e.key];
        if (to) {
          e.preventDefault();
          navigate(withRange(to));
        }
        return;
      }
      const r = t.range;
      switch (e.key) {
        case 'g':
          g = true;
          clearTimeout(gTimer);
          gTimer = window.setTimeout(() => (g = false), 1200);
          return;
        case 't':
          dispatchEvent(new Event('vigil:time-picker'));
          break;
        case 'r':
          t.reload();
          break;
        case '[':
          if (r) t.setRange(shiftRange(r, -0.5));
          break;
        case ']':
          if (r) t.setRange(shiftRange(r, 0.5));
          break;
        case '-':
          if (r) t.setRange(zoomRange(r, 2));
          break;
        case '+':
        case '=':
          if (r) t.setRange(zoomRange(r, 0.5));
          break;
        case 'd':
          toggleTheme();
          break;
        case '?':
          showHelp();
          break;
        default:
          return;
      }
      e.preventDefault();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [t.range, toggleTheme]);
  return null;
}

function Help({ onClose }: { onClose: () => void }) {
  useEffect(() => {
    const f = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    addEventListener('keydown', f);
    return () => removeEventListener('keydown', f);
  }, []);
  return (
    <div class="modal-back" onClick={onClose}>
      <div class="modal" role="dialog" aria-modal="true" aria-labelledby="help-title" onClick={(e) => e.stopPropagation()}>
        <h2 id="help-title">Keyboard shortcuts</h2>
        <table class="table">
          <tbody>
            {shortcuts.map((s) => (
              <tr key={s.keys}>
                <td>
                  <kbd>{s.keys}</kbd>
                </td>
                <td>{s.what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button class="btn" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </div>
  );
}

function Frame() {
  const [loc] = useLocation();
  const [theme, toggleTheme] = useTheme();
  const [help, setHelp] = useState(false);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href={withRange('/')} class="brand" aria-label="Vigil home">
          <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
            <circle cx="16" cy="16" r="13" fill="none" stroke="currentColor" stroke-width="4" />
            <circle cx="16" cy="16" r="5" fill="currentColor" />
          </svg>
          Vigil
        </Link>
        <nav class="mainnav" aria-label="Pages">
          {nav.map((n) => (
            <Link key={n.href} href={withRange(n.href)} class={n.match(loc) ? 'active' : ''} aria-current={n.match(loc) ? 'page' : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div class="top-right">
          <TimeRangePicker />
          <button class="btn icon" onClick={toggleTheme} aria-label={theme === 'dark' ? 'Light theme' : 'Dark theme'} title="Theme (d)">
            {theme === 'dark' ? '☀' : '☾'}
          </button>
          <button class="btn icon" onClick={() => setHelp(true)} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">
            ?
          </button>
          <Session />
        </div>
      </header>
      <Shortcuts toggleTheme={toggleTheme} showHelp={() => setHelp(true)} />
      {help && <Help onClose={() => setHelp(false)} />}
      <main id="main">
        <Suspense fallback={<p class="loading">loading…</p>}>
          <Switch>
            <Route path="/" component={Home} />
            <Route path="/query" component={Metrics} />
            <Route path="/traces" component={Traces} />
            <Route path="/traces/:id" component={TraceView} />
            <Route path="/logs" component={Logs} />
            <Route path="/alerting" component={Alerting} />
            <Route path="/alerting/*" component={Alerting} />
            <Route path="/incidents" component={Incidents} />
            <Route path="/incidents/:id" component={Incidents} />
            <Route path="/oncall" component={OnCall} />
            <Route path="/uptime" component={Uptime} />
            <Route>
              <div class="page">
                <h1>Not found</h1>
                <p>
                  No page at <code>{loc}</code>. <Link href="/">Home</Link>
                </p>
              </div>
            </Route>
          </Switch>
        </Suspense>
      </main>
    </>
  );
}

export function App() {
  return (
    <Router base={prefix}>
      <TimeProvider>
        <Frame />
      </TimeProvider>
    </Router>
  );
}
