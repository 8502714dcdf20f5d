// Errors, empty states and loading marks, shown where the data would be.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { APIError, prefix } from '../api/http';
import * as prom from '../api/prometheus';
import { sendAddresses } from '../lib/addresses';

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

// One request for every SendHelp on the page (home shows three); a failed
// one (no read scope, an older server) leaves the default ports.
let flagsOnce: Promise<Record<string, string> | null> | null = null;
function otlpFlags() {
  flagsOnce ??= prom.flags().catch(() => null);
  return flagsOnce;
}

/** SendHelp: how to send each signal, shown when a page has no data yet, with this Vigil's own addresses. */
export function SendHelp({ signal }: { signal: 'metrics' | 'traces' | 'logs' }) {
  const [flags, setFlags] = useState<Record<string, string> | null>(null);
  useEffect(() => {
    let live = true;
    otlpFlags().then((f) => live && setFlags(f));
    return () => {
      live = false;
    };
  }, []);
  const a = sendAddresses(flags, location, prefix);
  const otlpOff = <>OTLP is turned off (<code>otlp.disabled</code>).</>;
  return (
    <div class="send-help">
      {signal === 'metrics' && (
        <>
          <p>
            Point Prometheus, Grafana Alloy or vmagent at <code>{a.http}/api/v1/write</code> (remote write),{' '}
            {a.otlpGRPC ? (
              <>
                send OTLP metrics to <code>{a.otlpGRPC}</code> (gRPC) or <code>{a.otlpHTTP}/v1/metrics</code>,
              </>
            ) : null}{' '}
            or add <code>scrape_configs</code> to the configuration file. {!a.otlpGRPC && otlpOff}
          </p>
          <pre>{`# prometheus.yml\nremote_write:\n  - url: ${a.http}/api/v1/write`}</pre>
        </>
      )}
      {signal === 'traces' &&
        (a.otlpGRPC ? (
          <>
            <p>
              Send OTLP traces from any OpenTelemetry SDK or collector to <code>{a.otlpGRPC}</code> (gRPC) or <code>{a.otlpHTTP}/v1/traces</code> (HTTP).
            </p>
            <pre>{`OTEL_EXPORTER_OTLP_ENDPOINT=${a.otlpHTTP} ./your-service`}</pre>
          </>
        ) : (
          <p>Traces come in over OTLP: {otlpOff}</p>
        ))}
      {signal === 'logs' && (
        <>
          <p>
            Push with Promtail, Alloy or Fluent Bit to <code>{a.http}/loki/api/v1/push</code>
            {a.otlpHTTP ? (
              <>
                , or send OTLP logs to <code>{a.otlpHTTP}/v1/logs</code>
              </>
            ) : null}
            .
          </p>
          <pre>{`curl -H 'Content-Type: application/json' ${a.http}/loki/api/v1/push \\\n  -d '{"streams":[{"stream":{"job":"demo"},"values":[["'$(date +%s%N)'","hello"]]}]}'`}</pre>
        </>
      )}
    </div>
  );
}
