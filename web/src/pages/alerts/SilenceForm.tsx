// A new silence: matchers (from an alert's labels or typed), duration or
// end, author, comment; the preview lists the alerts it would silence.
import { useMemo, useState } from 'preact/hooks';
import { useLocation } from 'wouter-preact';
import * as am from '../../api/alertmanager';
import { ErrorBox, Loading } from '../../components/Status';
import { useLoad } from '../../lib/load';
import { parseDuration } from '../../lib/timerange';
import { Labels } from './Labels';
import { useCan } from '../../lib/session';
import { matcher, matches, opOf, ops, parseMatcher, validate, type Op } from './matchers';

interface Row {
  name: string;
  op: Op;
  value: string;
}

export function SilenceForm() {
  const [, navigate] = useLocation();
  const init = useMemo(() => {
    const q = new URLSearchParams(location.search);
    const rows = q.getAll('matcher').map(parseMatcher).filter((m): m is am.Matcher => !!m).map((m) => ({ name: m.name, op: opOf(m), value: m.value }));
    return rows.length ? rows : [{ name: 'alertname', op: '=' as Op, value: '' }];
  }, []);
  const [rows, setRows] = useState<Row[]>(init);
  const [duration, setDuration] = useState('2h');
  const [createdBy, setCreatedBy] = useState(() => localStorage.getItem('vigil.silence.author') ?? '');
  const [comment, setComment] = useState('');
  const [err, setErr] = useState<string | Error | null>(null);
  const [busy, setBusy] = useState(false);
  const can = useCan('write');

  const ms = rows.filter((r) => r.name || r.value).map((r) => matcher(r.name.trim(), r.op, r.value));
  const problem = validate(ms);
  const alerts = useLoad((signal) => am.alerts({}, signal), []);
  const preview = problem ? [] : (alerts.data ?? []).filter((a) => matches(ms, a.labels));

  const set = (i: number, p: Partial<Row>) => setRows(rows.map((r, j) => (i === j ? { ...r, ...p } : r)));

  const submit = async (e: Event) => {
    e.preventDefault();
    setErr(null);
    if (problem) return setErr(problem);
    let ms2: number;
    try {
      ms2 = parseDuration(duration);
      if (ms2 <= 0) throw new Error('the duration must be positive');
    } catch (x) {
      return setErr(x as Error);
    }
    if (!createdBy.trim()) return setErr('say who creates the silence');
    if (!comment.trim()) return setErr('say why (the comment)');
    setBusy(true);
    try {
      const now = Date.now();
      await am.createSilence({ matchers: ms, startsAt: new Date(now).toISOString(), endsAt: new Date(now + ms2).toISOString(), createdBy: createdBy.trim(), comment: comment.trim() });
      localStorage.setItem('vigil.silence.author', createdBy.trim());
      navigate('/alerting/silences');
    } catch (x) {
      setErr(x as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel" onSubmit={submit} aria-label="New silence">
      <h2>New silence</h2>
      <div class="matchers">
        {rows.map((r, i) => (
          <div class="matcher" key={i}>
            <label>
              Label
              <input value={r.name} onInput={(e) => set(i, { name: (e.target as HTMLInputElement).value })} placeholder="alertname" />
            </label>
            <label>
              Operator
              <select value={r.op} onChange={(e) => set(i, { op: (e.target as HTMLSelectElement).value as Op })}>
                {ops.map((o) => (
                  <option key={o}>{o}</option>
                ))}
              </select>
            </label>
            <label class="grow">
              Value
              <input value={r.value} onInput={(e) => set(i, { value: (e.target as HTMLInputElement).value })} />
            </label>
            <button type="button" class="btn icon" aria-label={`Remove matcher ${i + 1}`} onClick={() => setRows(rows.filter((_, j) => j !== i))}>
              ✕
            </button>
          </div>
        ))}
        <div>
          <button type="button" class="btn small" onClick={() => setRows([...rows, { name: '', op: '=', value: '' }])}>
            Add matcher
          </button>
        </div>
      </div>
      <div class="row" style={{ marginTop: '10px' }}>
        <label>
          Duration
          <input size={8} value={duration} onInput={(e) => setDuration((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Created by
          <input value={createdBy} disabled={!can} title={can ? undefined : 'your role may not create silences'} onInput={(e) => setCreatedBy((e.target as HTMLInputElement).value)} />
        </label>
        <label class="grow">
          Comment
          <input
            value={comment}
            disabled={!can}
            title={can ? undefined : 'your role may not create silences'}
            onInput={(e) => setComment((e.target as HTMLInputElement).value)}
            placeholder="why, and a ticket"
          />
        </label>
      </div>
      <ErrorBox error={err} />
      <div class="row" style={{ margin: '10px 0' }}>
        <button class="btn primary" type="submit" disabled={busy || !can} title={can ? undefined : 'your role may not create silences'}>
          Create silence
        </button>
        <button class="btn" type="button" onClick={() => navigate('/alerting/silences')}>
          Cancel
        </button>
      </div>
      <h3>Preview: {problem ? '–' : `${preview.length} firing alert${preview.length === 1 ? '' : 's'} would be silenced`}</h3>
      {problem && <p class="warning">{problem}</p>}
      <ErrorBox error={alerts.error} />
      <Loading on={alerts.loading} />
      <ul data-testid="silence-preview">
        {preview.map((a) => (
          <li key={a.fingerprint}>
            <strong>{a.labels.alertname}</strong> <Labels labels={a.labels} skip={['alertname']} />
          </li>
        ))}
      </ul>
    </form>
  );
}
