// Browser tests of every page against a real, seeded bin/vigil: no console
// errors, the seeded data on screen, axe-core without serious or critical
// violations, and a screenshot per page in web/test-results/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { axe, eventually, getJSON, hookServer, launch, lokiPush, remoteWrite, run, shotPath, startVigil, telemetrygenPath, watch } from '../harness.mjs';

const rules = `groups:
  - name: ui
    rules:
      - alert: UITestAlert
        expr: vector(1)
        labels: {severity: page}
        annotations: {summary: always firing, for the UI tests}
      - record: ui:test_metric:sum
        expr: sum(ui_test_metric)
`;

let v, hook, browser, ctx;
const service = 'ui-test-svc';

before(async () => {
  hook = await hookServer();
  v = await startVigil({
    rules,
    hookURL: hook.url,
    extra: `traces:
  retention: {max_age: 3d, max_size: 1GiB}
  span_metrics:
    flush_interval: 1s
logs:
  retention: {max_size: 512MiB}
oncall:
  users:
    - {name: alice, contact_methods: [{type: webhook, url: ${JSON.stringify(hook.url)}}]}
    - {name: bob}
    - {name: carol}
  schedules:
    - name: primary
      time_zone: Europe/Berlin
      layers:
        - {name: weekly, start: "2026-01-05T09:00", shift: 1w, users: [alice, bob]}
        - {name: office, start: "2026-01-05T09:00", shift: 1d, users: [carol, bob], restrictions: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}]}
  escalation_policies:
    - name: ui-policy
      repeat: 2
      steps:
        - {targets: [{schedule: primary}], delay: 5m}
        - {targets: [{user: carol}], delay: 10m}
`,
  });
  const now = Date.now();
  // Three series of one metric over the last ten minutes, every 10 s.
  await remoteWrite(
    v.url,
    ['a', 'b', 'c'].map((inst, i) => ({
      labels: { __name__: 'ui_test_metric', job: 'ui', instance: inst },
      samples: Array.from({ length: 60 }, (_, k) => [now - (59 - k) * 10_000, i * 10 + Math.sin(k / 5) * 3]),
    })),
  );
  await lokiPush(v.url, [
    {
      stream: { job: 'ui-test', service_name: service, level: 'info' },
      values: Array.from({ length: 20 }, (_, k) => [String(BigInt(now - (20 - k) * 1000) * 1_000_000n), `level=info msg="seeded line ${k}" trace_id=0af7651916cd43dd8448eb211c80319c`]),
    },
    { stream: { job: 'ui-test', service_name: service, level: 'error' }, values: [[String(BigInt(now - 500) * 1_000_000n), 'level=error msg="seeded failure"']] },
  ]);
  await run(telemetrygenPath(), ['traces', '--otlp-endpoint', v.grpc, '--otlp-insecure', '--traces', '3', '--child-spans', '4', '--service', service]);
  await eventually('traces stored', 30_000, async () => (await getJSON(`${v.url}/jaeger/api/traces?service=${service}&limit=5`)).data?.length >= 3);
  browser = await launch();
  // bypassCSP: axe-core is injected as an inline script, which the UI's CSP forbids.
  ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
});

after(async () => {
  await browser?.close();
  await v?.stop();
  await hook?.close();
});

/** visit opens a page, waits for `ready`, checks errors and axe, saves a screenshot. */
async function visit(name, path, ready, { theme } = {}) {
  const c = theme ? await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true, colorScheme: theme }) : ctx;
  const page = await c.newPage();
  const errors = watch(page);
  // Air-gapped: every request the page makes goes to Vigil itself.
  const foreign = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== v.url) foreign.push(r.url());
  });
  await page.goto(v.url + path);
  try {
    await ready(page);
    // Let in-flight requests settle before judging the console.
    await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
    await page.screenshot({ path: shotPath(name), fullPage: true });
    assert.deepEqual(errors, [], `${name}: console or page errors`);
    assert.deepEqual(foreign, [], `${name}: requests to other origins`);
    const bad = await axe(page);
    assert.deepEqual(bad, [], `${name}: axe-core serious/critical violations`);
  } catch (e) {
    await page.screenshot({ path: shotPath(`${name}-failed`), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await page.close();
    if (c !== ctx) await c.close();
  }
}

describe('pages', () => {
  it('home shows the flow and the traced service', async () => {
    await visit('home', '/', async (p) => {
      await p.getByRole('table', { name: 'Services' }).getByText(service).waitFor();
      await p.getByText('samples / s').waitFor();
      // Storage against its limits: the traces and logs stores' caps come
      // from their retention settings (vigil_telemetrydb_retention_limit_*).
      const storage = p.getByRole('group', { name: 'Storage' });
      const traces = storage.locator('[data-store="traces (DuckDB)"]');
      await traces.getByText(/of 1 GiB/).waitFor();
      await traces.getByText('kept 3d').waitFor();
      const meter = traces.getByRole('meter', { name: 'traces (DuckDB) size against its limit' });
      const [used, pct] = await Promise.all([traces.locator('.v').innerText(), meter.getAttribute('aria-valuenow')]);
      assert.match(used, /\d (B|KiB|MiB)$/);
      assert.ok(Number(pct) >= 0 && Number(pct) < 100, `meter ${pct}`);
      await storage.locator('[data-store="logs (DuckDB)"]').getByText(/of 512 MiB/).waitFor();
      await storage.locator('[data-store="logs (DuckDB)"]').getByRole('meter').waitFor();
      await storage.locator('[data-store="metrics (TSDB)"]').getByText(/no size limit/).waitFor();
      await storage.locator('[data-store="metrics (TSDB)"]').getByText('kept 15d').waitFor();
    });
  });

  it('home in the dark theme', async () => {
    await visit('home-dark', '/', async (p) => {
      await p.getByRole('table', { name: 'Services' }).getByText(service).waitFor();
      assert.equal(await p.evaluate(() => document.documentElement.dataset.theme), 'dark');
    }, { theme: 'dark' });
  });

  it('keyboard shortcuts: help, theme, time range picker', async () => {
    const page = await ctx.newPage();
    const errors = watch(page);
    await page.goto(v.url + '/query?from=now-1h');
    await page.locator('h1').filter({ hasText: 'Metrics' }).waitFor();
    await page.keyboard.press('?');
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
    await page.keyboard.press('Escape');
    await eventually('help closed', 5000, async () => (await page.getByRole('dialog').count()) === 0);
    const theme = await page.evaluate(() => document.documentElement.dataset.theme);
    await page.keyboard.press('d');
    await eventually('theme toggled', 5000, async () => (await page.evaluate(() => document.documentElement.dataset.theme)) !== theme);
    // "-" zooms out: the URL's range becomes absolute and twice as wide.
    await page.keyboard.press('-');
    await eventually('range in the URL', 5000, async () => {
      const u = new URL(page.url());
      const from = Number(u.searchParams.get('from'));
      const to = Number(u.searchParams.get('to'));
      return from > 0 && Math.abs(to - from - 2 * 3_600_000) < 60_000;
    });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('metrics draws one line per series and lists them in the table', async () => {
    await visit('metrics', '/query?g0.expr=ui_test_metric&from=now-15m', async (p) => {
      await p.locator('figure.chart[data-series="3"] canvas').first().waitFor();
      await p.getByTestId('stats').getByText('3 series').waitFor();
    });
    await visit('metrics-table', '/query?g0.expr=ui_test_metric&g0.tab=table', async (p) => {
      const rows = p.getByRole('table', { name: 'Query result' }).locator('tbody tr');
      await eventually('3 rows', 10_000, async () => (await rows.count()) === 3);
    });
  });

  it('an exemplar of the span metrics opens its trace', async () => {
    const q = 'traces_span_metrics_duration_seconds_bucket';
    await eventually('exemplars', 30_000, async () => {
      const r = await getJSON(`${v.url}/api/v1/query_exemplars?query=${q}&start=${Date.now() / 1000 - 3600}&end=${Date.now() / 1000 + 60}`);
      return r.data.some((s) => s.exemplars.length > 0);
    });
    await visit('exemplar-to-trace', `/query?g0.expr=${q}&g0.exemplars=1&from=now-15m`, async (p) => {
      await p.locator('figure.chart canvas').first().waitFor();
      const ex = p.getByTestId('exemplars');
      await ex.locator('summary').click();
      await ex.getByRole('link').first().click();
      await p.waitForURL(/\/traces\/[0-9a-f]{32}/);
      await p.locator('[data-span]').first().waitFor();
    });
  });

  it('the query editors keep up with typing at full speed', async () => {
    // The editor once put back an older text when keys came faster than
    // frames, and the two texts then alternated for ever (the tab hung).
    const within = (ms, what, pr) => Promise.race([pr, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: not within ${ms} ms (the tab hangs)`)), ms))]);
    for (const [path, label, text] of [
      ['/query', 'PromQL expression 1', 'sum by (instance) (rate(ui_test_metric[5m]))'],
      ['/logs', 'LogQL query', '{job="ui-test"} |= "seeded" | logfmt'],
    ]) {
      const page = await ctx.newPage();
      const errors = watch(page);
      await page.goto(v.url + path);
      const ed = page.locator(`.cm-content[aria-label="${label}"]`);
      await ed.click();
      await page.keyboard.press('Control+a');
      await page.keyboard.press('Backspace');
      await within(15_000, `typing in ${path}`, page.keyboard.type(text));
      await page.keyboard.press('Escape');
      // closeBrackets adds the closing brackets and quotes as they open;
      // typing them over them steps over, so the text comes out as typed.
      await eventually(`${path} editor holds the typed text`, 5000, async () => (await within(5000, 'read', ed.innerText())) === text);
      assert.deepEqual(errors, []);
      await page.close();
    }
  });

  it('a page opened by its address asks for its data once, before its code has loaded', async () => {
    // boot.ts sends the first request early; the page must take that
    // answer, not ask again (a second request would mean the two differ).
    const found = (await getJSON(`${v.url}/jaeger/api/traces?service=${service}&limit=1`)).data[0];
    for (const [path, api, ready] of [
      ['/query?g0.expr=ui_test_metric&from=now-15m', '/api/v1/query_range', (p) => p.locator('figure.chart[data-series="3"] canvas').first().waitFor()],
      [`/traces/${found.traceID}`, `/jaeger/api/traces/${found.traceID}`, (p) => p.locator('[data-span]').first().waitFor()],
      [`/logs?query=${encodeURIComponent('{job="ui-test"}')}&from=now-15m`, '/loki/api/v1/query_range?query=%7B', (p) => p.getByText('seeded failure').waitFor()],
    ]) {
      const page = await ctx.newPage();
      const errors = watch(page);
      const seen = [];
      page.on('request', (r) => {
        const u = new URL(r.url());
        if ((u.pathname + u.search).startsWith(api)) seen.push(r.resourceType());
      });
      await page.goto(v.url + path);
      await ready(page);
      await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
      assert.equal(seen.length, 1, `${path}: ${api} asked ${seen.length} times`);
      // The page's code had not run yet when it went out: its chunk comes after it.
      const order = await page.evaluate((a) => {
        const rs = performance.getEntriesByType('resource');
        const req = rs.find((e) => e.name.includes(a));
        const page = rs.find((e) => /\/assets\/(MetricsPage|TracePage|LogsPage)-/.test(e.name));
        return { req: req?.startTime, page: page?.startTime };
      }, api);
      assert.ok(order.req !== undefined && order.page !== undefined && order.req <= order.page, `${path}: request at ${order.req} ms, page chunk at ${order.page} ms`);
      assert.deepEqual(errors, []);
      await page.close();
    }
  });

  it('metrics shows the server error of a bad query under it', async () => {
    const page = await ctx.newPage();
    await page.goto(v.url + '/query?g0.expr=' + encodeURIComponent('sum(rate(x[5m])'));
    await page.locator('.query-panel .error').first().waitFor();
    assert.match(await page.locator('.query-panel .error').first().innerText(), /parse error|unclosed|expected/i);
    await page.close();
  });

  it("logs marks the server's parse error at its position in the query", async () => {
    const page = await ctx.newPage();
    const q = '{job="ui-test"} | json | bad(';
    await page.goto(v.url + '/logs?query=' + encodeURIComponent(q));
    await page.getByRole('alert').filter({ hasText: 'parse error at line 1, col 29' }).waitFor();
    // Once: the volume query's error (the same, at a shifted column) is left out.
    assert.equal(await page.getByRole('alert').count(), 1);
    const mark = page.locator('.cm-lintRange-error');
    await mark.waitFor();
    // The mark is on the "(" the server names (column 29).
    assert.equal(await mark.innerText(), '(');
    await page.screenshot({ path: shotPath('logs-parse-error') });
    await page.close();
  });

  it('traces search lists the seeded traces', async () => {
    await visit('traces', `/traces?service=${service}`, async (p) => {
      const rows = p.getByRole('table', { name: 'Traces found' }).locator('tbody tr');
      await eventually('3 traces', 15_000, async () => (await rows.count()) >= 3);
      // The scatter plot's y axis fits the durations: the longest trace
      // (telemetrygen's are well under 1 ms) is drawn in the upper part
      // of the plot, and the axis top is a little above it.
      const plot = p.getByRole('group', { name: 'Duration scatter plot' });
      const got = await plot.evaluate((svg) => {
        const top = Number(svg.getAttribute('data-ytop'));
        const dots = [...svg.querySelectorAll('circle')].map((c) => ({ y: Number(c.getAttribute('data-y')), cy: Number(c.getAttribute('cy')) }));
        const ticks = [...svg.querySelectorAll('.tick line')].map((l) => Number(l.getAttribute('y1')));
        return { top, dots, base: Math.max(...ticks), ceil: Math.min(...ticks) };
      });
      const longest = got.dots.reduce((a, b) => (b.y > a.y ? b : a));
      assert.ok(got.top >= longest.y && got.top < longest.y * 2.5, `axis top ${got.top} ms for the longest trace ${longest.y} ms`);
      const height = (got.base - longest.cy) / (got.base - got.ceil);
      assert.ok(height > 0.4 && height <= 1, `longest trace drawn at ${height.toFixed(2)} of the plot's height`);
    });
  });

  it('traces search names tags that are not key=value', async () => {
    const page = await ctx.newPage();
    await page.goto(v.url + `/traces?service=${service}&tags=${encodeURIComponent('error=true bogus')}`);
    await page.getByRole('alert').filter({ hasText: '"bogus" is not key=value' }).waitFor();
    await page.close();
  });

  it('a trace shows every span in the waterfall, with the critical path', async () => {
    const found = (await getJSON(`${v.url}/jaeger/api/traces?service=${service}&limit=1`)).data[0];
    const id = found.traceID;
    const want = (await getJSON(`${v.url}/jaeger/api/traces/${id}`)).data[0].spans.map((s) => s.spanID).sort();
    await visit('trace', `/traces/${id}`, async (p) => {
      await p.locator('[data-span]').first().waitFor();
      const got = (await p.locator('[data-span]').evaluateAll((els) => els.map((e) => e.getAttribute('data-span')))).sort();
      assert.deepEqual(got, want);
      assert.ok((await p.locator('.wf-cp').count()) > 0, 'critical path drawn');
      await p.locator(`[data-span="${want[0]}"] .op`).click();
      await p.getByRole('complementary', { name: 'Span detail' }).getByText(want[0]).waitFor();
    });
  });

  it('the service graph loads', async () => {
    await visit('service-graph', '/traces?tab=dependencies', async (p) => {
      await p.locator('.svc-graph, .empty').first().waitFor();
    });
  });

  it('logs shows the pushed lines and their volume', async () => {
    await visit('logs', `/logs?query=${encodeURIComponent('{job="ui-test"}')}&from=now-15m`, async (p) => {
      await p.getByText('seeded failure').waitFor();
      await p.locator('figure.chart[aria-label="Log volume by level"] canvas').first().waitFor();
      await p.getByText('seeded failure').click();
      await p.getByText('Show context').waitFor();
      // Context: the lines around one in its stream (the result's labels
      // carry detected_level, which is not a stream label).
      await p.getByRole('button', { name: /seeded line 10"/ }).click();
      const detail = p.getByLabel('Log line detail');
      await detail.getByRole('button', { name: 'Show context' }).click();
      await detail.getByText('seeded line 9"').waitFor();
      await detail.getByText('seeded line 11"').waitFor();
      assert.match(await detail.locator('h3 code').innerText(), /^\{job="ui-test", level="info", service_name="ui-test-svc"\}$/);
    });
  });

  it("a trace's logs: by metadata, else the lines that contain its ID", async () => {
    // The seeded lines carry the trace ID only in their text.
    const textID = '0af7651916cd43dd8448eb211c80319c';
    await visit('logs-trace-text', `/logs?trace=${textID}&from=now-15m`, async (p) => {
      await p.getByTestId('trace-text-search').waitFor();
      await eventually('20 lines', 10_000, async () => (await p.locator('.log-row').count()) === 20);
    });
    // A record with the ID as structured metadata is found by it alone.
    const metaID = 'aaaabbbbccccddddeeeeffff00001111';
    await lokiPush(v.url, [{ stream: { job: 'ui-meta' }, values: [[String(BigInt(Date.now()) * 1_000_000n), 'line with metadata', { trace_id: metaID }]] }]);
    await visit('logs-trace-meta', `/logs?trace=${metaID}&from=now-15m`, async (p) => {
      await p.getByText('line with metadata').waitFor();
      assert.equal(await p.getByTestId('trace-text-search').count(), 0);
    });
  });

  it('live tail shows a pushed line within 2 s', async () => {
    const page = await ctx.newPage();
    const errors = watch(page);
    await page.goto(v.url + `/logs?query=${encodeURIComponent('{job="ui-tail"}')}&live=1`);
    await page.getByRole('status').filter({ hasText: 'live' }).first().waitFor();
    const text = `tail line ${Math.random().toString(36).slice(2)}`;
    const t0 = Date.now();
    await lokiPush(v.url, [{ stream: { job: 'ui-tail' }, values: [[String(BigInt(Date.now()) * 1_000_000n), text]] }]);
    await page.getByText(text).waitFor({ timeout: 2000 });
    const ms = Date.now() - t0;
    console.log(`# live tail: pushed line shown after ${ms} ms`);
    await page.screenshot({ path: shotPath('logs-live'), fullPage: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(await axe(page), []);
    await page.close();
  });

  it('alerting lists the firing alert, rules and notifications', async () => {
    await eventually('alert in Alertmanager', 30_000, async () => (await getJSON(`${v.url}/alertmanager/api/v2/alerts`)).some((a) => a.labels.alertname === 'UITestAlert'));
    await visit('alerts', '/alerting/alerts', async (p) => {
      await p.getByRole('table', { name: 'Firing alerts' }).getByText('UITestAlert').waitFor();
    });
    await visit('rules', '/alerting/rules', async (p) => {
      await p.getByText('ui:test_metric:sum').waitFor();
    });
    await eventually('webhook delivered', 30_000, async () => hook.got.length > 0);
    await visit('outbox', '/alerting/outbox', async (p) => {
      await p.getByRole('table', { name: 'Notifications' }).getByText('delivered').first().waitFor();
    });
    const fp = (await getJSON(`${v.url}/alertmanager/api/v2/alerts`)).find((a) => a.labels.alertname === 'UITestAlert').fingerprint;
    await visit('history', `/alerting/history/${fp}`, async (p) => {
      await p.getByRole('list', { name: 'Alert timeline' }).locator('li').first().waitFor();
    });
  });

  it('a silence created in the form is listed by amtool', async () => {
    const comment = `ui test ${Date.now()}`;
    await visit('silence-new', `/alerting/silences/new?matcher=${encodeURIComponent('alertname="UITestAlert"')}`, async (p) => {
      await p.getByTestId('silence-preview').getByText('UITestAlert').waitFor();
    });
    const page = await ctx.newPage();
    const errors = watch(page);
    await page.goto(v.url + `/alerting/silences/new?matcher=${encodeURIComponent('alertname="UITestAlert"')}`);
    await page.getByLabel('Created by').fill('ui-test');
    await page.getByLabel('Comment').fill(comment);
    await page.getByRole('button', { name: 'Create silence' }).click();
    await page.waitForURL('**/alerting/silences');
    await page.getByRole('table', { name: 'Silences' }).getByText(comment).waitFor();
    await page.screenshot({ path: shotPath('silences'), fullPage: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(await axe(page), []);
    await page.close();
    const out = await run('amtool', ['silence', 'query', '--alertmanager.url', `${v.url}/alertmanager`, '-o', 'json']);
    const listed = JSON.parse(out);
    assert.ok(listed.some((s) => s.comment === comment && s.matchers.some((m) => m.name === 'alertname' && m.value === 'UITestAlert')), `amtool lists the silence: ${out}`);
  });

  it('an incident is acknowledged with the button, and the API reports it', async () => {
    const r = await fetch(`${v.url}/vigil/api/v1/oncall/incidents`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'UI test incident', assignee: 'alice', severity: 'critical' }),
    });
    assert.equal(r.status, 201, await r.clone().text());
    const id = (await r.json()).data.id;
    await visit('incidents', '/incidents', async (p) => {
      await p.getByRole('table', { name: 'Incidents' }).getByText('UI test incident').waitFor();
    });
    await visit('incident', `/incidents/${id}`, async (p) => {
      await p.getByRole('button', { name: 'Acknowledge' }).click();
      await p.getByTestId('incident-state').filter({ hasText: 'acknowledged' }).waitFor();
    });
    const got = (await getJSON(`${v.url}/vigil/api/v1/oncall/incidents/${id}`)).data;
    assert.equal(got.state, 'acknowledged');
  });

  it('on-call shows who is on call and each schedule as a calendar with layers, overrides and final shifts', async () => {
    const api = `${v.url}/vigil/api/v1/oncall`;
    // An override two hours from now, for carol (in no layer's rotation now).
    const ovStart = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 3_600_000);
    const ovEnd = new Date(ovStart.getTime() + 2 * 3_600_000);
    const r = await fetch(`${api}/schedules/primary/overrides`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'carol', start: ovStart.toISOString(), end: ovEnd.toISOString() }),
    });
    assert.equal(r.status, 201, await r.clone().text());
    const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    const bars = (p, track) =>
      p
        .getByRole('region', { name: 'Schedule primary' })
        .getByRole('list', { name: track })
        .locator('li')
        .evaluateAll((els) => els.map((e) => ({ user: e.dataset.user, start: e.dataset.start, end: e.dataset.end, layer: Number(e.dataset.layer) })));
    const norm = (xs) => xs.map((x) => ({ ...x, start: new Date(x.start).toISOString(), end: new Date(x.end).toISOString() }));
    await visit('oncall', `/oncall?start=${day(ovStart)}`, async (p) => {
      // Who is on call now is the API's answer.
      const now = (await getJSON(`${api}/now`)).data.find((n) => n.schedule === 'primary');
      await p.getByRole('table', { name: 'On call now' }).getByTestId('oncall-user').filter({ hasText: now.user }).waitFor();
      const cal = p.getByRole('region', { name: 'Schedule primary' });
      await cal.getByRole('list', { name: 'Final' }).locator('li').first().waitFor();
      // The final row is the API's final shifts for the period shown,
      // each layer row that layer's own shifts.
      const [start, end] = [await cal.getAttribute('data-start'), await cal.getAttribute('data-end')];
      assert.equal(new Date(end) - new Date(start) >= 6 * 86_400_000, true, `a week: ${start} to ${end}`);
      const q = `start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`;
      const final = (await getJSON(`${api}/schedules/primary/shifts?${q}`)).data;
      assert.deepEqual(norm(await bars(p, 'Final')), norm(final));
      assert.deepEqual(norm(await bars(p, 'Layer 1: weekly')), norm((await getJSON(`${api}/schedules/primary/shifts?${q}&layer=0`)).data));
      assert.deepEqual(norm(await bars(p, 'Layer 2: office')), norm((await getJSON(`${api}/schedules/primary/shifts?${q}&layer=1`)).data));
      // The override is drawn in its row and marked in the final row.
      const ov = { user: 'carol', start: ovStart.toISOString(), end: ovEnd.toISOString(), layer: -1 };
      assert.deepEqual(norm(await bars(p, 'Overrides')), [ov]);
      assert.ok(norm(await bars(p, 'Final')).some((b) => JSON.stringify(b) === JSON.stringify(ov)), 'override in the final row');
      assert.equal(await cal.getByRole('list', { name: 'Final' }).locator('li.override').count(), 1);
      // Escalation policies with their steps.
      const pol = p.getByRole('region', { name: 'Escalation policy ui-policy' });
      await pol.getByText('schedule primary').waitFor();
      await pol.getByText('user carol').waitFor();
      assert.equal(await pol.locator('ol.steps > li').count(), 2);
    });
    // The period moves with Next and Previous, and the month view has a
    // column per day; the URL holds both.
    await visit('oncall-month', `/oncall?start=${day(ovStart)}`, async (p) => {
      const label = p.getByTestId('cal-period');
      await p.getByRole('region', { name: 'Schedule primary' }).getByRole('list', { name: 'Final' }).locator('li').first().waitFor();
      const before = await label.innerText();
      await p.getByRole('button', { name: 'Next week' }).click();
      await p.waitForURL((u) => u.searchParams.get('start') !== day(ovStart));
      assert.notEqual(await label.innerText(), before);
      await p.getByRole('button', { name: 'Previous week' }).click();
      await eventually('back to the first week', 5000, async () => (await label.innerText()) === before);
      await p.getByLabel('View').selectOption('month');
      await p.waitForURL(/view=month/);
      const cal = p.getByRole('region', { name: 'Schedule primary' });
      await eventually('a month', 5000, async () => new Date(await cal.getAttribute('data-end')) - new Date(await cal.getAttribute('data-start')) > 27 * 86_400_000);
      const [start, end] = [await cal.getAttribute('data-start'), await cal.getAttribute('data-end')];
      const first = new Date(start);
      assert.equal(first.getDate(), 1, `the month starts on the 1st: ${start}`);
      const days = new Date(first.getFullYear(), first.getMonth() + 1, 0).getDate();
      await eventually(`${days} day columns`, 5000, async () => (await cal.locator('.cal-day').count()) === days);
      const final = (await getJSON(`${api}/schedules/primary/shifts?start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`)).data;
      await eventually('month shifts drawn', 5000, async () => (await bars(p, 'Final')).length === final.length);
    });
  });

  it('uptime loads without errors', async () => {
    await visit('uptime', '/uptime', async (p) => p.locator('h1').first().waitFor());
  });
});
