// The shared time range: presets, absolute from/to, auto-refresh.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useTime } from '../lib/time';
import { describeRange, formatInstant, parseTime, presets, refreshChoices } from '../lib/timerange';

export function TimeRangePicker() {
  const t = useTime();
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(t.spec.from);
  const [to, setTo] = useState(t.spec.to);
  const [err, setErr] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setFrom(t.spec.from);
    setTo(t.spec.to);
  }, [t.spec.from, t.spec.to, open]);

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => box.current && !box.current.contains(e.target as Node) && setOpen(false);
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', esc);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', esc);
    };
  }, [open]);

  useEffect(() => {
    const f = () => setOpen((o) => !o);
    addEventListener('vigil:time-picker', f);
    return () => removeEventListener('vigil:time-picker', f);
  }, []);

  const apply = (e?: Event) => {
    e?.preventDefault();
    // Absolute dates typed as "2026-01-02 15:04:05" are local times.
    const norm = (s: string) => (/^\d{4}-\d{2}-\d{2} \d/.test(s.trim()) ? s.trim().replace(' ', 'T') : s.trim());
    try {
      const now = Date.now();
      const f = norm(from);
      const tt = norm(to);
      if (parseTime(f, now) >= parseTime(tt, now)) throw new Error('"From" must be before "To"');
      setErr(null);
      t.setSpec({ from: f, to: tt });
      setOpen(false);
    } catch (e) {
      setErr((e as Error).message);
    }
  };

  const label = t.range && !t.spec.from.startsWith('now') ? `${formatInstant(t.range.start)} to ${formatInstant(t.range.end)}` : describeRange(t.spec);

  return (
    <div class="timepicker" ref={box}>
      <button type="button" class="btn" aria-haspopup="dialog" aria-expanded={open} onClick={() => setOpen(!open)} title="Time range (t)">
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" style={{ verticalAlign: '-2px', marginRight: '6px' }}>
          <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" stroke-width="1.5" />
          <path d="M8 4v4l3 2" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" />
        </svg>
        {label}
      </button>
      <button type="button" class="btn icon" onClick={t.reload} title="Refresh now (r)" aria-label="Refresh now">
        ⟳
      </button>
      <label class="sr-only" for="refresh-select">
        Auto-refresh
      </label>
      <select id="refresh-select" class="btn" value={t.refresh} onChange={(e) => t.setRefresh((e.target as HTMLSelectElement).value)} title="Auto-refresh">
        {(refreshChoices.includes(t.refresh) ? refreshChoices : [...refreshChoices, t.refresh]).map((r) => (
          <option key={r} value={r}>
            {r === 'off' ? 'Auto-refresh off' : `Every ${r}`}
          </option>
        ))}
      </select>
      {t.error && (
        <span class="error inline" role="alert">
          {t.error}
        </span>
      )}
      {open && (
        <div class="popover timepicker-pop" role="dialog" aria-label="Time range">
          <form class="abs" onSubmit={apply}>
            <label>
              From
              <input value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} placeholder="now-1h or 2026-01-02 15:04:05" />
            </label>
            <label>
              To
              <input value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} placeholder="now" />
            </label>
            {err && (
              <div class="error" role="alert">
                {err}
              </div>
            )}
            <button class="btn primary" type="submit">
              Apply
            </button>
            <p class="hint">Relative: now-15m, now-2d. Absolute: 2026-01-02 15:04:05 (local) or RFC 3339.</p>
          </form>
          <ul class="presets">
            {presets.map((p) => (
              <li key={p.from}>
                <button
                  type="button"
                  class={t.spec.from === p.from && t.spec.to === 'now' ? 'link active' : 'link'}
                  onClick={() => {
                    t.setSpec({ from: p.from, to: 'now' });
                    setOpen(false);
                  }}
                >
                  {p.label}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
