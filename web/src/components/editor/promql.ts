// PromQL for the editor: Prometheus's own grammar, completion and linter
// (@prometheus-io/codemirror-promql), completing from this Vigil's labels
// and metadata through the API layer's fetch.
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import type { Extension } from '@codemirror/state';
import { apiFetch, prefix } from '../../api/http';

let ext: Extension | null = null;

export function promql(): Extension {
  if (!ext) {
    ext = new PromQLExtension()
      .setComplete({
        remote: { url: prefix, fetchFn: apiFetch, lookbackInterval: 12 * 3600 * 1000, cache: { maxAge: 5 * 60 * 1000 }, httpMethod: 'GET' },
        maxMetricsMetadata: 10000,
      })
      .asExtension();
  }
  return ext;
}
