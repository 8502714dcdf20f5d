// Browser benchmark of the web UI (issue 14): navigation to a drawn graph
// of 50 series x 1,000 points and of 10 series x 10,000 points, a
// 10,000-span trace opened and scrolled, 10,000 log lines rendered and
// scrolled, and the JavaScript of the first load, gzipped. Same setup as
// the browser tests: a real bin/vigil seeded over its APIs, Debian's
// Chromium through playwright-core. Run with `bash bench/ui/run.sh`.
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { launch, lokiPush, otlpTraces, remoteWrite, startVigil } from '../../web/test/harness.mjs';

const runs = Number(process.env.RUNS ?? 5);
// ONLY=trace (a word of the measure's name) runs only the measures it names.
const want = (name) => !process.env.ONLY || name.includes(process.env.ONLY);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;

// Loki's default line limit (5,000) is below the 10,000 lines measured.
const v = await startVigil({ extra: 'logs:\n  query:\n    max_lines: 10000\n' });
const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
const results = [];
try {
  // --- seed
  const now = Math.floor(Date.now() / 1000) * 1000;
  const aStart = now - 999_000; // 1,000 points at 1 s
  await remoteWrite(
    v.url,
    Array.from({ length: 50 }, (_, i) => ({
      labels: { __name__: 'bench_a', series: String(i) },
      samples: Array.from({ length: 1000 }, (_, k) => [aStart + k * 1000, i + Math.sin(k / 50 + i)]),
    })),
  );
  const bStart = now - 2_499_750; // 10,000 points at 250 ms
  for (let i = 0; i < 10; i++) {
    await remoteWrite(v.url, [
      { labels: { __name__: 'bench_b', series: String(i) }, samples: Array.from({ length: 10_000 }, (_, k) => [bStart + k * 250, i * 3 + Math.sin(k / 300 + i)]) },
    ]);
  }
  const traceID = 'b0b0'.repeat(8);
  const hex = (n) => n.toString(16).padStart(16, '0');
  const spans = [];
  const t0 = BigInt(now - 60_000) * 1_000_000n;
  // A tree of 10,000 spans: each span has up to 9 children, in 5 services.
  for (let i = 0; i < 10_000; i++) {
    const parent = i === 0 ? '' : hex(Math.floor((i - 1) / 9) + 1);
    const start = t0 + BigInt(i) * 1000n;
    spans.push({
      traceId: traceID,
      spanId: hex(i + 1),
      parentSpanId: parent,
      name: `op-${i % 37}`,
      kind: 2,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + BigInt(1_000_000 + ((i * 7919) % 50_000_000))),
      attributes: [{ key: 'i', value: { intValue: String(i) } }],
      status: i % 97 === 0 ? { code: 2 } : {},
      svc: `svc-${i % 5}`,
    });
  }
  const byService = new Map();
  for (const s of spans) {
    const svc = s.svc;
    delete s.svc;
    if (!byService.has(svc)) byService.set(svc, []);
    byService.get(svc).push(s);
  }
  await otlpTraces(v.otlpHTTP, {
    resourceSpans: [...byService].map(([svc, ss]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
      scopeSpans: [{ scope: { name: 'bench' }, spans: ss }],
    })),
  });
  const lStart = now - 600_000;
  const levels = ['info', 'info', 'info', 'warn', 'error', 'debug'];
  for (let b = 0; b < 10; b++) {
    await lokiPush(v.url, [
      {
        stream: { job: 'bench', service_name: 'bench' },
        values: Array.from({ length: 1000 }, (_, k) => {
          const n = b * 1000 + k;
          return [String(BigInt(lStart + n * 50) * 1_000_000n), `level=${levels[n % 6]} msg="bench line ${n}" user=u${n % 100} latency_ms=${n % 977}`];
        }),
      },
    ]);
  }
  // Wait until the stores answer with everything.
  for (const [what, f] of [
    ['trace', async () => (await (await fetch(`${v.url}/jaeger/api/traces/${traceID}`)).json()).data?.[0]?.spans?.length === 10_000],
    ['logs', async () => (await (await fetch(`${v.url}/loki/api/v1/query_range?query=${encodeURIComponent('{job="bench"}')}&limit=10000&start=${lStart}000000&end=${now}000000`)).json()).data?.result?.reduce((n, s) => n + s.values.length, 0) === 10_000],
  ]) {
    const end = Date.now() + 60_000;
    while (!(await f().catch(() => false))) {
      if (Date.now() > end) throw new Error(`${what} not stored in 60 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  // --- measures
  // WATERFALL=1 prints, for every navigation, when each request started
  // and ended, the page's marks and the long tasks (ms from navigation).
  const waterfall = !!process.env.WATERFALL;
  // TRACE=dir writes a Chromium performance trace of each navigation there
  // (open in chrome://tracing or DevTools' Performance panel).
  const traceDir = process.env.TRACE;
  let traceN = 0;
  // PROFILE=1 prints the main thread's self time by function (V8's
  // sampling profiler, navigation to the mark), the 25 largest.
  const profile = !!process.env.PROFILE;
  function printProfile(p) {
    const self = new Map();
    const byID = new Map(p.nodes.map((n) => [n.id, n]));
    const dt = new Map();
    p.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
    for (const [id, us] of dt) {
      const f = byID.get(id).callFrame;
      const k = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
      self.set(k, (self.get(k) ?? 0) + us);
    }
    const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
    for (const [k, us] of top) console.log(`  ${(us / 1000).toFixed(1).padStart(7)} ms  ${k}`);
  }
  async function printWaterfall(page, path) {
    const w = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0];
      const rows = [
        ['document', n.startTime, n.responseEnd],
        ['domInteractive', n.domInteractive, n.domInteractive],
        ['domContentLoaded', n.domContentLoadedEventStart, n.domContentLoadedEventEnd],
      ];
      for (const e of performance.getEntriesByType('resource')) rows.push([e.name.replace(location.origin, '').slice(0, 90) + (e.transferSize === 0 ? ' (cache)' : ''), e.startTime, e.responseEnd]);
      for (const e of performance.getEntriesByType('mark')) rows.push(['mark ' + e.name, e.startTime, e.startTime]);
      for (const e of performance.getEntriesByType('paint')) rows.push([e.name, e.startTime, e.startTime]);
      for (const [s, d] of window.__long ?? []) rows.push(['longtask', s, s + d]);
      return rows.sort((a, b) => a[1] - b[1]);
    });
    console.log(`--- ${path.slice(0, 60)}`);
    for (const [name, a, b] of w) console.log(`${a.toFixed(0).padStart(6)} ${b.toFixed(0).padStart(6)} ${(b - a).toFixed(0).padStart(5)}  ${name}`);
  }
  // timeTo: navigation start to the page's mark, and of that time the
  // API request's duration (resource timing of `api`, the longest).
  async function timeTo(path, mark, check, api) {
    const page = await ctx.newPage();
    if (waterfall) {
      await page.addInitScript(() => {
        window.__long = [];
        new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push([e.startTime, e.duration]))).observe({ type: 'longtask', buffered: true });
      });
    }
    const cdp = profile ? await ctx.newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    if (traceDir) await browser.startTracing(page, { categories: ['devtools.timeline', 'v8.execute', 'disabled-by-default-devtools.timeline', 'blink.user_timing'] });
    await page.goto(v.url + path);
    await page.waitForFunction((m) => performance.getEntriesByName(m).length > 0, mark, { timeout: 60_000 });
    if (traceDir) writeFileSync(`${traceDir}/${mark.replace(/\W/g, '_')}-${traceN++}.json`, await browser.stopTracing());
    if (waterfall) await printWaterfall(page, path);
    if (cdp) printProfile((await cdp.send('Profiler.stop')).profile);
    const { ms, apiMs } = await page.evaluate(
      ([m, a]) => ({
        ms: performance.getEntriesByName(m)[0].startTime,
        apiMs: Math.max(0, ...performance.getEntriesByType('resource').filter((e) => e.name.includes(a)).map((e) => e.duration)),
      }),
      [mark, api ?? '\u0000'],
    );
    if (check) await check(page);
    return { page, ms, apiMs };
  }
  async function scroll(page, selector) {
    return page.evaluate(async (sel) => {
      const el = document.querySelector(sel);
      const long = [];
      const po = new PerformanceObserver((l) => l.getEntries().forEach((e) => long.push(e.duration)));
      po.observe({ type: 'longtask', buffered: false });
      const frames = [];
      let last = performance.now();
      // 120 frames of 600 px each: scrolls through ~2,700 rows of 26 px.
      for (let i = 0; i < 120; i++) {
        el.scrollTop += 600;
        await new Promise((r) => requestAnimationFrame(r));
        const t = performance.now();
        frames.push(t - last);
        last = t;
      }
      await new Promise((r) => setTimeout(r, 100));
      po.disconnect();
      frames.sort((a, b) => a - b);
      return { long, maxLong: long.length ? Math.max(...long) : 0, p95Frame: frames[Math.floor(frames.length * 0.95)], scrolled: el.scrollTop };
    }, selector);
  }

  const record = (name, xs, target, extra = '') => {
    results.push({ name, xs, target, extra });
    console.log(`${name}: ${fmt(xs)} ms${extra ? ' ' + extra : ''}`);
  };

  for (const [name, path, n] of [
    ['graph 50 series x 1,000 points', `/query?g0.expr=bench_a&g0.step_input=1s&from=${aStart}&to=${aStart + 999_000}`, 50],
    ['graph 10 series x 10,000 points', `/query?g0.expr=bench_b&g0.step_input=250ms&from=${bStart}&to=${bStart + 2_499_750}`, 10],
  ]) {
    if (!want(name)) continue;
    const xs = [];
    const apis = [];
    const draws = [];
    let points = 0;
    for (let r = 0; r < runs; r++) {
      const { page, ms, apiMs } = await timeTo(
        path,
        'vigil:chart-drawn',
        async (p) => {
          const fig = p.locator(`figure.chart[data-series="${n}"]`);
          await fig.waitFor();
          points = Number(await fig.getAttribute('data-points'));
        },
        '/api/v1/query_range',
      );
      draws.push(await page.evaluate(() => performance.getEntriesByName('vigil:chart-drawn')[0].startTime - performance.getEntriesByName('vigil:chart-start')[0].startTime));
      xs.push(ms);
      apis.push(apiMs);
      await page.close();
    }
    record(`${name}: navigation to drawn`, xs, 500, `(${n} series, ${points} points each)`);
    record(`${name}: of which query_range`, apis, 500);
    record(`${name}: of which chart draw (uPlot to next frame)`, draws, 500);
  }

  for (const [name, path, mark, sel] of [
    ['trace of 10,000 spans', `/traces/${traceID}`, 'vigil:waterfall-drawn', '.waterfall'],
    ['10,000 log lines', `/logs?query=${encodeURIComponent('{job="bench"}')}&limit=10000&from=${lStart - 1000}&to=${now + 1000}`, 'vigil:logs-drawn', '.loglist'],
  ]) {
    if (!want(name)) continue;
    const xs = [];
    const apis = [];
    const longs = [];
    const frames = [];
    let count = '';
    for (let r = 0; r < runs; r++) {
      const { page, ms, apiMs } = await timeTo(path, mark, null, sel === '.waterfall' ? '/jaeger/api/traces/' : '/loki/api/v1/query_range');
      apis.push(apiMs);
      if (sel === '.waterfall') count = await page.getByTestId('span-count').innerText();
      else count = (await page.locator('.stats').first().innerText()).split('·')[0].trim();
      await page.waitForTimeout(300);
      const s = await scroll(page, sel);
      xs.push(ms);
      longs.push(s.maxLong);
      frames.push(s.p95Frame);
      await page.close();
    }
    record(`${name}: open to drawn`, xs, 500, `(${count})`);
    record(`${name}: of which the API request`, apis, 500);
    record(`${name}: longest task while scrolling`, longs, 50, `(p95 frame ${fmt(frames)} ms)`);
  }

  // First load: every script the home page fetches until the network is idle.
  for (const path of ['/', '/query']) {
    if (!want('first load')) continue;
    const page = await ctx.newPage();
    const scripts = [];
    page.on('response', async (r) => {
      if (r.request().resourceType() === 'script') scripts.push(r);
    });
    await page.goto(v.url + path, { waitUntil: 'networkidle' });
    let raw = 0;
    let gz = 0;
    const names = [];
    for (const r of scripts) {
      const b = await r.body();
      raw += b.length;
      gz += gzipSync(b, { level: 9 }).length;
      names.push(r.url().split('/').pop());
    }
    console.log(`first load of ${path}: ${scripts.length} scripts, ${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped (${names.join(', ')})`);
    results.push({ name: `first-load JS of ${path} (gzipped KiB)`, xs: [gz / 1024], target: 400 });
    await page.close();
  }
} finally {
  await browser.close();
  await v.stop();
}

console.log('\n| measure | median | range | target | runs |\n|---|---|---|---|---|');
for (const r of results) {
  const m = median(r.xs);
  console.log(`| ${r.name} ${r.extra ?? ''} | ${m.toFixed(r.xs.length > 1 ? 0 : 1)} | ${Math.min(...r.xs).toFixed(0)}-${Math.max(...r.xs).toFixed(0)} | < ${r.target} (${m < r.target ? 'met' : 'MISSED'}) | ${r.xs.length} |`);
}
