// Shared by the browser tests (test/browser) and the benchmark (bench/ui):
// start the real bin/vigil on loopback ports chosen at run time, seed it as
// clients would (remote write, OTLP, Loki push), and drive Debian's
// Chromium with playwright-core.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../..');
const require = createRequire(import.meta.url);

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

/** eventually polls f until it returns a truthy value or the deadline passes. */
export async function eventually(what, ms, f) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
      last = new Error('not yet');
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms: ${last?.message ?? last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** hookServer: a webhook receiver for the alerting route. */
export async function hookServer() {
  const got = [];
  const srv = http.createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => {
      got.push(b);
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}/hook`, got, close: () => new Promise((r) => srv.close(r)) };
}

/** startVigil: selfScrape false leaves out the job scraping Vigil itself (a Vigil nothing is sent to). */
export async function startVigil({ rules = '', hookURL = '', extra = '', port, env = {}, selfScrape = true } = {}) {
  const bin = process.env.VIGIL_BIN || join(repo, 'bin/vigil');
  if (!existsSync(bin)) throw new Error(`no ${bin}: run make build (or set VIGIL_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-ui-'));
  const [httpPort, grpcPort, otlpPort] = [port ?? (await freePort()), await freePort(), await freePort()];
  const rulesFile = join(dir, 'rules.yml');
  writeFileSync(rulesFile, rules || 'groups: []\n');
  const cfg = `global:
  scrape_interval: 2s
  evaluation_interval: 1s
${
  selfScrape
    ? `scrape_configs:
  - job_name: vigil
    static_configs: [{targets: ['127.0.0.1:${httpPort}']}]
`
    : ''
}rule_files: [${JSON.stringify(rulesFile)}]
${
  hookURL
    ? `alerting:
  route: {receiver: hook, group_by: [alertname], group_wait: 200ms, group_interval: 1s, repeat_interval: 1h}
  receivers:
    - name: hook
      webhook_configs: [{url: ${JSON.stringify(hookURL)}}]
`
    : ''
}${extra}`;
  writeFileSync(join(dir, 'vigil.yaml'), cfg);
  const logFile = join(dir, 'vigil.log');
  const out = [];
  const proc = spawn(
    bin,
    ['serve', '--config', join(dir, 'vigil.yaml'), '--data-dir', join(dir, 'data'), '--http-addr', `127.0.0.1:${httpPort}`, '--otlp-grpc-addr', `127.0.0.1:${grpcPort}`, '--otlp-http-addr', `127.0.0.1:${otlpPort}`],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  proc.stdout.on('data', (d) => out.push(d));
  proc.stderr.on('data', (d) => out.push(d));
  let exited = null;
  proc.on('exit', (c) => (exited = c));
  const url = `http://127.0.0.1:${httpPort}`;
  try {
    await eventually('vigil ready', 90_000, async () => {
      if (exited !== null) throw new Error(`vigil exited ${exited}: ${Buffer.concat(out).toString().slice(-2000)}`);
      const r = await fetch(`${url}/readyz`);
      return r.ok;
    });
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return {
    url,
    dir,
    grpc: `127.0.0.1:${grpcPort}`,
    otlpHTTP: `http://127.0.0.1:${otlpPort}`,
    log: () => Buffer.concat(out).toString(),
    async stop() {
      if (exited === null) {
        proc.kill('SIGTERM');
        await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 10_000))]);
        if (exited === null) proc.kill('SIGKILL');
      }
      writeFileSync(logFile, Buffer.concat(out));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// --- Prometheus remote write 1.0: protobuf and snappy, by hand (a few
// lines each: WriteRequest has four message types, and snappy's block
// format allows a stream of literals).
function varint(n) {
  const b = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  while (v >= 0x80n) {
    b.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  b.push(Number(v));
  return Buffer.from(b);
}
const field = (no, wire) => varint((no << 3) | wire);
const bytesField = (no, buf) => Buffer.concat([field(no, 2), varint(buf.length), buf]);
const str = (no, s) => bytesField(no, Buffer.from(s, 'utf8'));
function sample(v, ts) {
  const d = Buffer.alloc(8);
  d.writeDoubleLE(v);
  return Buffer.concat([field(1, 1), d, field(2, 0), varint(ts)]);
}
export function writeRequest(series) {
  return Buffer.concat(
    series.map((s) => {
      const labels = Object.keys(s.labels)
        .sort()
        .map((k) => bytesField(1, Buffer.concat([str(1, k), str(2, s.labels[k])])));
      const samples = s.samples.map(([ts, v]) => bytesField(2, sample(v, ts)));
      return bytesField(1, Buffer.concat([...labels, ...samples]));
    }),
  );
}
export function snappy(buf) {
  const parts = [varint(buf.length)];
  for (let i = 0; i < buf.length; i += 65536) {
    const chunk = buf.subarray(i, i + 65536);
    const n = chunk.length - 1;
    if (n < 60) parts.push(Buffer.from([n << 2]));
    else if (n < 256) parts.push(Buffer.from([60 << 2, n]));
    else parts.push(Buffer.from([61 << 2, n & 0xff, n >> 8]));
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}
export async function remoteWrite(url, series) {
  const r = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    body: snappy(writeRequest(series)),
  });
  if (r.status !== 204 && r.status !== 200) throw new Error(`remote write: ${r.status} ${await r.text()}`);
}

export async function lokiPush(url, streams) {
  const r = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ streams }) });
  if (r.status !== 204 && r.status !== 200) throw new Error(`loki push: ${r.status} ${await r.text()}`);
}

export async function otlpTraces(otlpHTTP, body) {
  const r = await fetch(`${otlpHTTP}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`otlp traces: ${r.status} ${await r.text()}`);
}

export function run(cmd, args, opts = {}) {
  return new Promise((res, rej) =>
    execFile(cmd, args, { timeout: 60_000, ...opts }, (err, stdout, stderr) => (err ? rej(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`)) : res(stdout))),
  );
}

export function telemetrygenPath() {
  for (const p of [process.env.TELEMETRYGEN, join(repo, '.cache/tools/telemetrygen')]) if (p && existsSync(p)) return p;
  throw new Error('no telemetrygen: run make tools (installs .cache/tools/telemetrygen)');
}

export async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return r.json();
}

// --- the browser
export async function launch() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

/** watch records console errors and page errors of a page. */
export function watch(page) {
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    // Aborted fetches are the UI cancelling superseded requests.
    if (!/ERR_ABORTED/.test(r.failure()?.errorText ?? '')) errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`);
  });
  return errors;
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe runs axe-core (WCAG 2.x A and AA rules) and returns the serious and critical violations. */
export async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  const r = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const res = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const minor = r.filter((v) => v.impact !== 'serious' && v.impact !== 'critical');
  if (minor.length) console.log(`# axe ${page.url()}: ${minor.map((v) => `${v.impact} ${v.id}`).join(', ')}`);
  return r.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export const artifacts = join(repo, 'web/test-results');
export function shotPath(name) {
  mkdirSync(artifacts, { recursive: true });
  return join(artifacts, `${name}.png`);
}
