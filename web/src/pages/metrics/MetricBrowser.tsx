// Metric and label browser: names from /api/v1/label/__name__/values,
// help and type from /api/v1/metadata, a metric's labels from
// /api/v1/labels and their values from /api/v1/label/*/values (both
// matched to the metric; values capped, so a label with a million values
// costs what one with fifty does). Picking one inserts a selector into
// the query.
import { useMemo, useState } from 'preact/hooks';
import * as prom from '../../api/prometheus';
import { ErrorBox, Empty, Loading, SendHelp } from '../../components/Status';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { metadataFor } from './metadata';

/** shownValues: values listed per label; one more is asked for to know there are more. */
const shownValues = 50;

export function MetricBrowser({ onPick, onClose }: { onPick: (selector: string) => void; onClose: () => void }) {
  const { range } = useTime();
  const [filter, setFilter] = useState('');
  const [metric, setMetric] = useState('');
  const names = useLoad((signal) => prom.labelValues('__name__', [], range?.start, range?.end, signal), []);
  const meta = useLoad((signal) => prom.metadata(undefined, signal), []);
  const labels = useLoad(
    metric
      ? async (signal) => {
          const sel = [`{__name__=${JSON.stringify(metric)}}`];
          const names = (await prom.labels(sel, range?.start, range?.end, signal)).filter((n) => n !== '__name__').sort();
          const values = await Promise.all(names.map((n) => prom.labelValues(n, sel, range?.start, range?.end, signal, shownValues + 1)));
          return names.map((n, i) => [n, values[i]] as const);
        }
      : null,
    [metric],
  );
  const shown = useMemo(() => {
    const f = filter.toLowerCase();
    return (names.data ?? []).filter((n) => n.toLowerCase().includes(f)).slice(0, 2000);
  }, [names.data, filter]);
  const md = metric ? metadataFor(metric, meta.data) : undefined;

  return (
    <div class="modal-back" onClick={onClose}>
      <div class="modal" style={{ maxWidth: '1000px' }} role="dialog" aria-modal="true" aria-labelledby="browser-title" onClick={(e) => e.stopPropagation()}>
        <div class="panel-head">
          <h2 id="browser-title">Metrics</h2>
          <Loading on={names.loading} />
          <button class="btn" style={{ marginLeft: 'auto' }} onClick={onClose}>
            Close
          </button>
        </div>
        <ErrorBox error={names.error} />
        {names.data && names.data.length === 0 && (
          <Empty title="No metrics yet">
            <SendHelp signal="metrics" />
          </Empty>
        )}
        <div class="browser">
          <div>
            <label>
              Filter ({names.data?.length ?? 0} metrics)
              <input autoFocus value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} placeholder="name contains…" />
            </label>
            <div class="browser-list" role="listbox" aria-label="Metric names">
              {shown.map((n) => (
                <button key={n} role="option" aria-selected={n === metric} class={n === metric ? 'active' : ''} onClick={() => setMetric(n)} onDblClick={() => onPick(n)}>
                  {n}
                </button>
              ))}
            </div>
          </div>
          <div>
            {metric ? (
              <>
                <h3 class="mono">{metric}</h3>
                {md && (
                  <p>
                    <span class="badge">{md.type}</span> {md.help} {md.unit && <span class="muted">({md.unit})</span>}
                  </p>
                )}
                <button class="btn primary" onClick={() => onPick(metric)}>
                  Use in query
                </button>
                <ErrorBox error={labels.error} />
                <Loading on={labels.loading} />
                <table class="table" aria-label="Labels">
                  <thead>
                    <tr>
                      <th>Label</th>
                      <th>Values (click to select)</th>
                    </tr>
                  </thead>
                  <tbody>
                    {(labels.data ?? []).map(([k, vs]) => (
                      <tr key={k}>
                        <td class="mono">{k}</td>
                        <td>
                          <div class="labels">
                            {vs.slice(0, shownValues).map((v) => (
                              <button key={v} class="label link" onClick={() => onPick(`${metric}{${k}=${JSON.stringify(v)}}`)}>
                                {v}
                              </button>
                            ))}
                            {vs.length > shownValues && <span class="muted">and more (the first {shownValues} shown)</span>}
                          </div>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            ) : (
              <p class="hint">Pick a metric to see its help, labels and values.</p>
            )}
          </div>
        </div>
      </div>
    </div>
  );
}
