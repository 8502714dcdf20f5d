// Who is signed in (docs/security.md, "Sessions"): GET /vigil/api/v1/me
// once at start. With authentication on, a 401 from any API sends the
// browser to the login page (/login?next=...); the header shows the user
// and signs out; actions the role may not take are disabled (useCan).
// With authentication off there is no session and everything is allowed.
import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized, prefix } from '../api/http';
import * as auth from '../api/auth';

let me: auth.Me | null = null;
const listeners = new Set<() => void>();

export function toLogin() {
  const next = location.pathname.slice(prefix.length) + location.search;
  location.assign(`${prefix}/login?next=${encodeURIComponent(next || '/')}`);
}

let started = false;
const authOn = typeof document !== 'undefined' && document.querySelector<HTMLMetaElement>('meta[name="vigil-auth"]')?.content === 'on';

function start() {
  if (started || !authOn) return;
  started = true;
  onUnauthorized(toLogin);
  auth.me().then(
    (m) => {
      me = m;
      listeners.forEach((f) => f());
    },
    () => {
      /* no auth API or auth off: no session */
    },
  );
}

/**
 * useCan: may the caller use a scope ('write', 'admin')? True with
 * authentication off; with it on, false until /me has said (a viewer's
 * buttons must not be live while the answer is on its way).
 */
export function useCan(scope: string): boolean {
  const [, set] = useState(0);
  useEffect(() => {
    start();
    const f = () => set((n) => n + 1);
    listeners.add(f);
    return () => {
      listeners.delete(f);
    };
  }, []);
  if (!authOn) return true;
  return !!me && (!me.scopes || me.scopes.includes(scope));
}

export function Session() {
  useCan('read');
  if (!me || me.via !== 'session') return null;
  return (
    <span class="row" style={{ alignItems: 'center', gap: '6px' }}>
      <span title={`scopes: ${me.scopes?.join(', ')}`}>
        {me.user} <span class="badge">{me.role}</span>
      </span>
      <button
        class="btn small"
        onClick={async () => {
          try {
            await auth.logout();
          } finally {
            location.assign(`${prefix}/login`);
          }
        }}
      >
        Sign out
      </button>
    </span>
  );
}
