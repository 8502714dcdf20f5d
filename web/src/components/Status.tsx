// Errors, empty states and loading marks, shown where the data would be.
import type { ComponentChildren } from 'preact';
import { APIError } from '../api/http';

export function ErrorBox({ error, title }: { error: Error | string | null | undefined; title?: string }) {
  if (!error) return null;
  const msg = typeof error === 'string' ? error : error.message;
  const retry = error instanceof APIError && error.retryAfter ? ` (retry in ${error.retryAfter}s)` : '';
  return (
    <div class="error" role="alert">
      {title && <strong>{title}: </strong>}
      {msg}
      {retry}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children}
    </div>
  );
}

export function Loading({ on }: { on: boolean }) {
  return on ? (
    <span class="loading" role="status">
      loading…
    </span>
  ) : null;
}

/** SendHelp: how to send each signal, shown when a page has no data yet. */
export function SendHelp({ signal }: { signal: 'metrics' | 'traces' | 'logs' }) {
  const host = location.host;
  const otlpHost = location.hostname;
  return (
    <div class="send-help">
      {signal === 'metrics' && (
        <>
          <p>
            Point Prometheus, Grafana Alloy or vmagent at <code>http://{host}/api/v1/write</code> (remote write), send OTLP metrics
            to <code>{otlpHost}:4317</code> (gRPC) or <code>http://{otlpHost}:4318/v1/metrics</code>, or add{' '}
            <code>scrape_configs</code> to the configuration file.
          </p>
          <pre>{`# prometheus.yml\nremote_write:\n  - url: http://${host}/api/v1/write`}</pre>
        </>
      )}
      {signal === 'traces' && (
        <>
          <p>
            Send OTLP traces from any OpenTelemetry SDK or collector to <code>{otlpHost}:4317</code> (gRPC) or{' '}
            <code>http://{otlpHost}:4318/v1/traces</code> (HTTP).
          </p>
          <pre>{`OTEL_EXPORTER_OTLP_ENDPOINT=http://${otlpHost}:4318 ./your-service`}</pre>
        </>
      )}
      {signal === 'logs' && (
        <>
          <p>
            Push with Promtail, Alloy or Fluent Bit to <code>http://{host}/loki/api/v1/push</code>, or send OTLP logs to{' '}
            <code>http://{otlpHost}:4318/v1/logs</code>.
          </p>
          <pre>{`curl -H 'Content-Type: application/json' http://${host}/loki/api/v1/push \\\n  -d '{"streams":[{"stream":{"job":"demo"},"values":[["'$(date +%s%N)'","hello"]]}]}'`}</pre>
        </>
      )}
    </div>
  );
}
