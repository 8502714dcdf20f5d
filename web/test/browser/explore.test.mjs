// Browser tests of exploring: PromQL completion, the metric browser,
// stacked graphs and several queries, the time range picker and
// auto-refresh, the trace view (collapsing, mini-map, links to logs and
// metrics), the service graph, live tail's pause and rate, and home's
// empty state. Each asserts what is on screen, checks the console and
// axe-core, and saves a screenshot in web/test-results/explore-*.png.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { axe, eventually, getJSON, launch, lokiPush, otlpTraces, remoteWrite, shotPath, startVigil, watch } from '../harness.mjs';

let v, browser, ctx;
const metric = 'uix_demo_metric';
const traceID = 'c0ffee00'.repeat(4);
const sid = (n) => n.toString(16).padStart(16, '0');
// The seeded trace: frontend's GET /checkout renders, then calls payments
// on backend, which queries and commits.
const spans = [
  { id: 1, parent: 0, svc: 'frontend', op: 'GET /checkout', kind: 2, from: 0, to: 100 },
  { id: 2, parent: 1, svc: 'frontend', op: 'render', kind: 1, from: 5, to: 20 },
  { id: 3, parent: 1, svc: 'frontend', op: 'call payments', kind: 3, from: 25, to: 90 },
  { id: 4, parent: 3, svc: 'backend', op: 'POST /pay', kind: 2, from: 30, to: 85 },
  { id: 5, parent: 4, svc: 'backend', op: 'db query', kind: 3, from: 35, to: 60 },
  { id: 6, parent: 4, svc: 'backend', op: 'db commit', kind: 1, from: 62, to: 80 },
];
const logLine = `checkout paid for trace ${traceID.slice(0, 8)}`;

function otlpBody(tid, t0ms) {
  const by = new Map();
  for (const s of spans) {
    const ns = (ms) => String(BigInt(Math.round((t0ms + ms) * 1000)) * 1000n);
    if (!by.has(s.svc)) by.set(s.svc, []);
    by.get(s.svc).push({
      traceId: tid,
      spanId: sid(s.id),
      parentSpanId: s.parent ? sid(s.parent) : '',
      name: s.op,
      kind: s.kind,
      startTimeUnixNano: ns(s.from),
      endTimeUnixNano: ns(s.to),
      status: {},
    });
  }
  return {
    resourceSpans: [...by].map(([svc, ss]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
      scopeSpans: [{ scope: { name: 'uix' }, spans: ss }],
    })),
  };
}

before(async () => {
  v = await startVigil({
    extra: `traces:
  retention: {max_age: 3d, max_size: 1GiB}
  span_metrics:
    flush_interval: 1s
logs:
  retention: {max_size: 512MiB}
`,
  });
  const now = Date.now();
  // Three series over the last ten minutes, every 10 s, in phase: their
  // sum peaks near 39 while the largest alone stays under 24.
  await remoteWrite(
    v.url,
    ['a', 'b', 'c'].map((inst, i) => ({
      labels: { __name__: metric, job: 'uix', instance: inst },
      samples: Array.from({ length: 60 }, (_, k) => [now - (59 - k) * 10_000, i * 10 + Math.sin(k / 5) * 3]),
    })),
  );
  await otlpTraces(v.otlpHTTP, otlpBody(traceID, now - 30_000));
  // Two more of the same shape: the span metrics have calls to count.
  for (let i = 1; i <= 2; i++) await otlpTraces(v.otlpHTTP, otlpBody(`${'ab'.repeat(15)}0${i}`, now - 20_000 + i * 1000));
  await lokiPush(v.url, [
    { stream: { job: 'uix', service_name: 'frontend' }, values: [[String(BigInt(now - 29_000) * 1_000_000n), logLine, { trace_id: traceID }]] },
    { stream: { job: 'uix', service_name: 'frontend' }, values: [[String(BigInt(now - 28_000) * 1_000_000n), 'a line of another trace', { trace_id: 'f'.repeat(32) }]] },
  ]);
  await eventually('trace stored', 30_000, async () => (await getJSON(`${v.url}/jaeger/api/traces/${traceID}`)).data?.[0]?.spans?.length === spans.length);
  browser = await launch();
  // bypassCSP: axe-core is injected as an inline script, which the UI's CSP forbids.
  ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
});

after(async () => {
  await browser?.close();
  await v?.stop();
});

/**
 * visit opens a page (in its own context when options are given), runs
 * `steps` on it, then checks the console and axe-core and saves a
 * screenshot. `base` is the Vigil to visit (default: the seeded one).
 */
async function visit(name, path, steps, { base = v, context } = {}) {
  const c = context ? await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true, ...context }) : ctx;
  const page = await c.newPage();
  const errors = watch(page);
  const foreign = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== base.url && u.origin !== base.url.replace('http:', 'ws:')) foreign.push(r.url());
  });
  await page.goto(base.url + path);
  try {
    await steps(page);
    await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
    await page.screenshot({ path: shotPath(`explore-${name}`), fullPage: true });
    assert.deepEqual(errors, [], `${name}: console or page errors`);
    assert.deepEqual(foreign, [], `${name}: requests to other origins`);
    assert.deepEqual(await axe(page), [], `${name}: axe-core serious/critical violations`);
  } catch (e) {
    await page.screenshot({ path: shotPath(`explore-${name}-failed`), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await page.close();
    if (c !== ctx) await c.close();
  }
}

const editor = (p, n = 1) => p.locator(`.cm-content[aria-label="PromQL expression ${n}"]`);
const docOf = (p, n = 1) => editor(p, n).evaluate((el) => el.cmView?.view?.state.doc.toString() ?? el.innerText);
const panel = (p, n) => p.getByRole('region', { name: `Query ${n}` });
const chart = (p, n) => panel(p, n).locator('figure.chart');
/** option: the completion list's entry whose label is exactly `label`. */
const option = (p, label) =>
  p.locator('.cm-tooltip-autocomplete li[role="option"]').filter({ has: p.locator('.cm-completionLabel', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) });

/** rangeRequests records the metrics page's query_range requests (form body parsed). */
function rangeRequests(p) {
  const seen = [];
  p.on('request', (r) => {
    if (new URL(r.url()).pathname !== '/api/v1/query_range') return;
    const f = new URLSearchParams(r.postData() ?? '');
    seen.push({ query: f.get('query'), start: Number(f.get('start')), end: Number(f.get('end')), at: Date.now() });
  });
  return seen;
}

describe('explore', () => {
  it('PromQL completion: metric names, functions, label names and values, each accepted into the query', async () => {
    await visit('completion', '/query?from=now-15m', async (p) => {
      const ed = editor(p);
      await ed.waitFor();
      await ed.click();
      // A metric name from its prefix.
      await p.keyboard.type('uix_de');
      await option(p, metric).waitFor({ timeout: 15_000 });
      await p.screenshot({ path: shotPath('explore-completion-metric') });
      await option(p, metric).click();
      await eventually('metric accepted', 5000, async () => (await docOf(p)) === metric);
      // A label name inside {} (closeBrackets adds the "}").
      await p.keyboard.type('{inst');
      await option(p, 'instance').waitFor({ timeout: 15_000 });
      await option(p, 'instance').click();
      await eventually('label accepted', 5000, async () => (await docOf(p)) === `${metric}{instance}`);
      // Its values, once the quote opens.
      await p.keyboard.type('="');
      for (const val of ['a', 'b', 'c']) await option(p, val).waitFor({ timeout: 15_000 });
      await p.screenshot({ path: shotPath('explore-completion-value') });
      await option(p, 'b').click();
      await eventually('value accepted', 5000, async () => (await docOf(p)) === `${metric}{instance="b"}`);
      // The completed query runs: one series.
      await p.keyboard.press('Escape');
      await panel(p, 1).getByRole('button', { name: 'Execute' }).click();
      await chart(p, 1).and(p.locator('[data-series="1"]')).waitFor();
      assert.equal(new URL(p.url()).searchParams.get('g0.expr'), `${metric}{instance="b"}`);
      // A function from its prefix.
      await ed.click();
      await p.keyboard.press('Control+a');
      await p.keyboard.press('Backspace');
      await p.keyboard.type('histogram_qu');
      await option(p, 'histogram_quantile').waitFor({ timeout: 15_000 });
      await option(p, 'histogram_quantile').click();
      await eventually('function accepted', 5000, async () => (await docOf(p)).startsWith('histogram_quantile'));
      await p.keyboard.press('Escape');
    });
  });

  it('the metric browser lists the metric, its labels and values, and puts the choice in the query', async () => {
    await visit('browser', '/query?from=now-15m', async (p) => {
      const asked = [];
      p.on('request', (r) => asked.push(new URL(r.url()).pathname));
      await panel(p, 1).getByRole('button', { name: 'Browse' }).click();
      const dlg = p.getByRole('dialog', { name: 'Metrics' });
      await dlg.getByLabel(/^Filter/).fill('uix');
      const names = dlg.getByRole('listbox', { name: 'Metric names' }).getByRole('option');
      await eventually('only the seeded metric', 10_000, async () => (await names.allInnerTexts()).join() === metric);
      await names.first().click();
      const labels = dlg.getByRole('table', { name: 'Labels' });
      const row = (k) => labels.locator('tbody tr').filter({ has: p.locator('td.mono', { hasText: new RegExp(`^${k}$`) }) });
      await eventually('labels and values', 10_000, async () => {
        const got = await labels.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.cells[0].innerText, [...tr.cells[1].querySelectorAll('button')].map((b) => b.innerText)]));
        return JSON.stringify(got) === JSON.stringify([['instance', ['a', 'b', 'c']], ['job', ['uix']]]);
      });
      await p.screenshot({ path: shotPath('explore-browser-open') });
      await row('instance').getByRole('button', { name: 'c', exact: true }).click();
      await dlg.waitFor({ state: 'detached' });
      await eventually('selector in the URL', 5000, async () => new URL(p.url()).searchParams.get('g0.expr') === `${metric}{instance="c"}`);
      await eventually('selector in the editor', 10_000, async () => (await docOf(p)) === `${metric}{instance="c"}`);
      await chart(p, 1).and(p.locator('[data-series="1"]')).waitFor();
      // "Use in query" puts the bare name in.
      await panel(p, 1).getByRole('button', { name: 'Browse' }).click();
      await dlg.getByLabel(/^Filter/).fill(metric);
      await dlg.getByRole('option', { name: metric }).click();
      await dlg.getByRole('button', { name: 'Use in query' }).click();
      await chart(p, 1).and(p.locator('[data-series="3"]')).waitFor();
      assert.equal(new URL(p.url()).searchParams.get('g0.expr'), metric);
      // A scraped counter shows its type and help, which the scrape (in
      // the OpenMetrics format) recorded under the family's name, without _total.
      const counter = 'prometheus_tsdb_head_samples_appended_total';
      const fam = await eventually('the counter scraped', 30_000, async () => {
        const [md, names] = await Promise.all([getJSON(`${v.url}/api/v1/metadata?metric=prometheus_tsdb_head_samples_appended`), getJSON(`${v.url}/api/v1/label/__name__/values`)]);
        return names.data.includes(counter) && md.data.prometheus_tsdb_head_samples_appended?.[0];
      });
      await panel(p, 1).getByRole('button', { name: 'Browse' }).click();
      await dlg.getByLabel(/^Filter/).fill(counter);
      await dlg.getByRole('option', { name: counter, exact: true }).click();
      await dlg.locator('.badge').filter({ hasText: fam.type }).waitFor();
      await dlg.getByText(fam.help).waitFor();
      await dlg.getByRole('table', { name: 'Labels' }).locator('td.mono', { hasText: /^type$/ }).waitFor();
      await p.screenshot({ path: shotPath('explore-browser-metadata') });
      // Fed by the label and metadata endpoints.
      for (const path of ['/api/v1/label/__name__/values', '/api/v1/labels', '/api/v1/label/instance/values', '/api/v1/label/type/values', '/api/v1/metadata']) {
        assert.ok(asked.includes(path), `${path} asked: ${[...new Set(asked)].join(' ')}`);
      }
      await dlg.getByRole('button', { name: 'Close' }).click();
    });
  });

  it('stacked graph: the areas add up, the legend and hover show each series; two queries draw their own series', async () => {
    // The sum over time of the three series, from the API: stacked, the
    // y axis reaches it; as lines it stays near the largest series.
    const end = Date.now() / 1000;
    const r = await getJSON(`${v.url}/api/v1/query_range?query=sum(${metric})&start=${end - 900}&end=${end}&step=15`);
    const maxSum = Math.max(...r.data.result[0].values.map(([, x]) => Number(x)));
    assert.ok(maxSum > 30, `sum peaks at ${maxSum}`);
    await visit('stacked', `/query?g0.expr=${metric}&from=now-15m`, async (p) => {
      const fig = chart(p, 1);
      await fig.and(p.locator('[data-series="3"][data-ymax]')).waitFor();
      const linesTop = Number(await fig.getAttribute('data-ymax'));
      assert.ok(linesTop < maxSum, `lines: y axis top ${linesTop} under the sum's peak ${maxSum}`);
      await panel(p, 1).getByLabel('Stacked').check();
      await p.waitForURL(/g0\.stacked=1/);
      await eventually('stacked drawn', 10_000, async () => (await fig.getAttribute('data-stacked')) === '1' && Number(await fig.getAttribute('data-ymax')) >= maxSum);
      // The legend names the three series.
      const legend = fig.locator('.u-legend tr.u-series');
      const names = await legend.locator('.u-label').allInnerTexts();
      assert.deepEqual(names.slice(1).sort(), ['a', 'b', 'c'].map((i) => `${metric}{instance="${i}", job="uix"}`));
      // Hovering shows each series' own value (not the running sum).
      const box = await fig.locator('.u-over').boundingBox();
      await p.mouse.move(box.x + box.width * 0.8, box.y + box.height / 2);
      await eventually('hover values', 5000, async () => {
        const vals = await legend.evaluateAll((trs) => trs.slice(1).map((tr) => [tr.querySelector('.u-label').innerText, tr.querySelector('.u-value').innerText]));
        return vals.every(([label, val]) => {
          const i = ['a', 'b', 'c'].indexOf(/instance="(\w)"/.exec(label)[1]);
          const x = Number(val);
          return Number.isFinite(x) && Math.abs(x - i * 10) <= 3.01;
        });
      });
      await p.screenshot({ path: shotPath('explore-stacked-hover') });
      // A second query, typed in its own panel: its own graph, one series.
      await p.getByRole('button', { name: 'Add query' }).click();
      const ed2 = editor(p, 2);
      await ed2.waitFor();
      await ed2.click();
      await p.keyboard.type(`${metric}{instance="a"}`);
      await p.keyboard.press('Escape');
      await panel(p, 2).getByRole('button', { name: 'Execute' }).click();
      await chart(p, 2).and(p.locator('[data-series="1"]')).waitFor();
      await panel(p, 2).getByTestId('stats').getByText('1 series').waitFor();
      assert.equal(await chart(p, 1).getAttribute('data-series'), '3');
      await panel(p, 1).getByTestId('stats').getByText('3 series').waitFor();
      const u = new URL(p.url());
      assert.equal(u.searchParams.get('g1.expr'), `${metric}{instance="a"}`);
      assert.equal(u.searchParams.get('g0.stacked'), '1');
    });
  });

  it('an absolute time range goes to the URL and the query; auto-refresh asks again without a click', async () => {
    // Local times in Berlin, typed as the picker's hint shows them.
    const tz = 'Europe/Berlin';
    const local = (ms) => new Intl.DateTimeFormat('sv-SE', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(ms));
    const from = Math.floor(Date.now() / 1000) * 1000 - 20 * 60_000;
    const to = from + 18 * 60_000;
    await visit(
      'time-range',
      `/query?g0.expr=${metric}`,
      async (p) => {
        const seen = rangeRequests(p);
        await chart(p, 1).and(p.locator('[data-series="3"]')).waitFor();
        await p.getByRole('button', { name: 'Last 1 hour' }).click();
        const dlg = p.getByRole('dialog', { name: 'Time range' });
        await dlg.getByLabel('From').fill(local(from));
        await dlg.getByLabel('To').fill(local(to));
        await dlg.getByRole('button', { name: 'Apply' }).click();
        await eventually('the query asks for the typed range', 10_000, async () => seen.some((s) => s.start === from / 1000 && s.end === to / 1000));
        const u = new URL(p.url());
        assert.equal(u.searchParams.get('from'), local(from).replace(' ', 'T'));
        assert.equal(u.searchParams.get('to'), local(to).replace(' ', 'T'));
        await p.getByRole('button', { name: `${local(from)} to ${local(to)}` }).waitFor();
        await chart(p, 1).and(p.locator('[data-series="3"]')).waitFor();
        // Relative again, then every 5 s: new requests, a later `now` each, with no click.
        await p.getByRole('button', { name: `${local(from)} to ${local(to)}` }).click();
        await dlg.getByRole('button', { name: 'Last 15 minutes' }).click();
        await p.waitForURL((x) => x.searchParams.get('from') === 'now-15m');
        await eventually('relative range asked', 10_000, async () => seen.length > 0 && Math.abs(seen.at(-1).end - seen.at(-1).start - 900) < 1);
        await p.getByLabel('Auto-refresh').selectOption('5s');
        await p.waitForURL(/refresh=5s/);
        const n = seen.length;
        const last = seen[n - 1];
        await eventually('a refresh without user action', 30_000, async () => seen.length >= n + 2);
        const [a, b] = seen.slice(n, n + 2);
        assert.ok(a.end > last.end && b.end > a.end, `each refresh asks up to a later now: ${last.end}, ${a.end}, ${b.end}`);
        assert.ok(b.at - a.at >= 4000, `refreshes ${b.at - a.at} ms apart`);
        assert.ok(a.query === metric && b.query === metric);
      },
      { context: { timezoneId: tz } },
    );
  });

  it('a shared address with an auto-refresh the picker does not list shows that interval', async () => {
    await visit('refresh-unlisted', `/query?g0.expr=${metric}&from=now-15m&refresh=2m`, async (p) => {
      const pick = p.getByLabel('Auto-refresh');
      await chart(p, 1).waitFor();
      assert.equal(await pick.inputValue(), '2m');
      assert.equal(await pick.locator('option:checked').innerText(), 'Every 2m');
    });
  });

  it('the waterfall collapses and expands a subtree; the mini-map is drawn and dragging it zooms the waterfall', async () => {
    const row = (p, id) => p.locator(`[data-span="${sid(id)}"]`);
    const shown = (p) => p.locator('[data-span]').evaluateAll((els) => els.map((e) => e.getAttribute('data-span')));
    const lefts = (p) => p.locator('[data-span] .wf-bar').evaluateAll((els) => els.map((e) => parseFloat(e.style.left)));
    await visit('trace-collapse', `/traces/${traceID}`, async (p) => {
      await eventually('every span', 10_000, async () => (await shown(p)).length === spans.length);
      assert.deepEqual(await shown(p), [1, 2, 3, 4, 5, 6].map(sid));
      // Collapse "call payments": its descendants (POST /pay and what it does) go.
      await p.getByRole('button', { name: 'Collapse call payments' }).click();
      await eventually('subtree hidden', 5000, async () => JSON.stringify(await shown(p)) === JSON.stringify([1, 2, 3].map(sid)));
      await row(p, 3).getByText('+3').waitFor();
      await p.getByText('3 of 6 rows shown').waitFor();
      await p.screenshot({ path: shotPath('explore-trace-collapsed') });
      await p.getByRole('button', { name: 'Expand call payments' }).click();
      await eventually('subtree back', 5000, async () => JSON.stringify(await shown(p)) === JSON.stringify([1, 2, 3, 4, 5, 6].map(sid)));
      // The mini-map has something drawn on it.
      const map = p.getByRole('img', { name: 'Trace mini-map' });
      const painted = await map.evaluate((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
      });
      assert.ok(painted > 100, `mini-map: ${painted} pixels drawn`);
      // Dragging over its right half shows that half of the trace across the waterfall.
      const before = await lefts(p);
      const box = await map.boundingBox();
      await p.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
      await p.mouse.down();
      await p.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2, { steps: 5 });
      await p.mouse.move(box.x + box.width * 0.999, box.y + box.height / 2, { steps: 5 });
      await p.mouse.up();
      // The window drawn on the map is the part of the trace the waterfall now spans.
      const win = p.locator('.minimap .win');
      await win.waitFor();
      const [a, w] = await win.evaluate((e) => [parseFloat(e.style.left) / 100, parseFloat(e.style.width) / 100]);
      assert.ok(Math.abs(a - 0.5) < 0.02 && Math.abs(a + w - 1) < 0.02, `window ${a} to ${a + w}`);
      await eventually('waterfall zoomed', 5000, async () => {
        const after = await lefts(p);
        return after.every((l, i) => Math.abs(l - ((before[i] / 100 - a) / w) * 100) < 0.5);
      });
      // The root, which starts at 0, now starts left of the visible area,
      // and its bar stays out of the names' column.
      assert.ok((await lefts(p))[0] < -90);
      for (const id of [1, 3]) {
        const hit = await row(p, id).locator('.op').evaluate((op) => {
          const r = op.getBoundingClientRect();
          return op.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
        });
        assert.ok(hit, `span ${id}'s name is covered by a bar`);
      }
      await p.screenshot({ path: shotPath('explore-trace-zoomed') });
      // Double-click resets.
      await map.dblclick();
      await eventually('waterfall reset', 5000, async () => (await lefts(p)).every((l, i) => Math.abs(l - before[i]) < 0.01));
      assert.equal(await p.locator('.minimap .win').count(), 0);
    });
  });

  it("from a trace, one click to its logs and one to its service's RED metrics", async () => {
    await visit('trace-to-logs', `/traces/${traceID}?from=now-15m`, async (p) => {
      await p.locator('[data-span]').first().waitFor();
      await p.getByRole('link', { name: 'Logs of this trace' }).click();
      await p.waitForURL((u) => u.pathname === '/logs' && u.searchParams.get('trace') === traceID);
      await p.getByText(logLine).waitFor();
      // Only that trace's line.
      await eventually('one line', 5000, async () => (await p.locator('.log-row').count()) === 1);
    });
    await visit('trace-to-metrics', `/traces/${traceID}?from=now-15m`, async (p) => {
      await p.locator('[data-span]').first().waitFor();
      await p.getByRole('link', { name: 'RED metrics of frontend' }).click();
      await p.waitForURL((u) => u.pathname === '/query');
      const u = new URL(p.url());
      const exprs = [0, 1, 2].map((i) => u.searchParams.get(`g${i}.expr`));
      assert.ok(exprs.every((e) => e && e.includes('service_name="frontend"')), `queries: ${exprs.join(' | ')}`);
      assert.equal(u.searchParams.get('from'), 'now-15m');
      // The request rate of frontend is drawn (one series, from the span metrics).
      await eventually('rate drawn', 30_000, async () => {
        if ((await chart(p, 1).count()) === 1 && (await chart(p, 1).getAttribute('data-series')) === '1') return true;
        // The span metrics may not have been written when it asked: ask again.
        if (await panel(p, 1).getByText('The query returned no series').count()) await p.getByRole('button', { name: 'Refresh now' }).click();
        return false;
      });
      await eventually('editors show the queries', 10_000, async () => (await docOf(p, 1)) === exprs[0]);
    });
  });

  it('the service graph draws both services and the call between them', async () => {
    await eventually('dependency stored', 30_000, async () =>
      (await getJSON(`${v.url}/jaeger/api/dependencies?endTs=${Date.now() + 60_000}&lookback=3600000`)).data.some((d) => d.parent === 'frontend' && d.child === 'backend'),
    );
    await visit('service-graph', '/traces?tab=dependencies&from=now-15m', async (p) => {
      const g = p.getByRole('group', { name: 'Service graph' });
      await g.locator('[data-node="frontend"]').waitFor();
      await g.locator('[data-node="backend"]').waitFor();
      assert.equal(await g.locator('[data-node="frontend"] text').textContent(), 'frontend');
      assert.equal(await g.locator('[data-node="backend"] text').textContent(), 'backend');
      // The edge runs from frontend's box to backend's, labelled with the calls (3 traces).
      const edge = g.locator('[data-edge="frontend>backend"]');
      const geo = await p.evaluate(() => {
        const box = (n) => document.querySelector(`[data-node="${n}"] rect`);
        const l = document.querySelector('[data-edge="frontend>backend"] line');
        const num = (e, a) => Number(e.getAttribute(a));
        const f = box('frontend');
        const b = box('backend');
        return {
          x1: num(l, 'x1'), y1: num(l, 'y1'), x2: num(l, 'x2'), y2: num(l, 'y2'),
          fRight: num(f, 'x') + num(f, 'width'), fY: num(f, 'y') + num(f, 'height') / 2,
          bLeft: num(b, 'x'), bY: num(b, 'y') + num(b, 'height') / 2,
        };
      });
      assert.ok(Math.abs(geo.x1 - geo.fRight) < 3 && Math.abs(geo.y1 - geo.fY) < 3, `edge starts at frontend: ${JSON.stringify(geo)}`);
      assert.ok(Math.abs(geo.x2 - geo.bLeft) < 5 && Math.abs(geo.y2 - geo.bY) < 3, `edge ends at backend: ${JSON.stringify(geo)}`);
      assert.equal(await edge.locator('text').textContent(), '3');
      const calls = p.getByRole('table', { name: 'Calls between services' }).locator('tbody tr').filter({ hasText: 'backend' }).filter({ hasText: 'frontend' });
      assert.equal(await calls.locator('td.num').innerText(), '3');
    });
  });

  it('live tail: pause holds new lines back, resume shows them; the rate counts lines per second', async () => {
    const job = 'uix-tail';
    const push = (text) => lokiPush(v.url, [{ stream: { job }, values: [[String(BigInt(Date.now()) * 1_000_000n), text]] }]);
    const tag = Math.random().toString(36).slice(2);
    await visit('live-tail', `/logs?query=${encodeURIComponent(`{job="${job}"}`)}&live=1`, async (p) => {
      const bar = p.getByRole('status').filter({ hasText: 'lines/s' });
      await bar.getByText('live', { exact: true }).waitFor();
      assert.equal(await p.getByTestId('tail-rate').innerText(), '0 lines/s');
      for (let i = 0; i < 5; i++) await push(`before pause ${tag} ${i}`);
      await p.getByText(`before pause ${tag} 4`).waitFor();
      // Five lines in the last 10 s: 0.5 lines/s (it was 0 before them).
      await eventually('rate of the five lines', 10_000, async () => (await p.getByTestId('tail-rate').innerText()) === '0.5 lines/s');
      await p.screenshot({ path: shotPath('explore-live-tail-rate') });
      await bar.getByRole('button', { name: 'Pause' }).click();
      await bar.getByText('paused', { exact: true }).waitFor();
      await push(`while paused ${tag}`);
      // The line came (the bar counts it) but is not shown.
      await bar.getByText('1 new while paused').waitFor();
      assert.equal(await p.getByText(`while paused ${tag}`).count(), 0);
      await p.screenshot({ path: shotPath('explore-live-tail-paused') });
      await bar.getByRole('button', { name: 'Resume' }).click();
      await p.getByText(`while paused ${tag}`).waitFor();
      await bar.getByText('live', { exact: true }).waitFor();
    });
  });

  it('home on a Vigil whose scrape configuration leaves Vigil out says so, rather than waiting or showing zeros', async () => {
    const fresh = await startVigil({ selfScrape: false, extra: 'scrape_configs: []\n' });
    try {
      await visit(
        'home-unscraped',
        '/',
        async (p) => {
          const note = p.getByTestId('self-scrape-missing');
          await note.waitFor({ timeout: 30_000 });
          await note.locator('code').filter({ hasText: new RegExp(`^${new URL(fresh.url).host.replace(/[.]/g, '\\.')}/metrics$`) }).waitFor();
          // Unknown, not loading and not zero: every card says so.
          const storage = p.getByRole('group', { name: 'Storage' });
          for (const s of ['metrics (TSDB)', 'traces (DuckDB)', 'logs (DuckDB)']) await storage.locator(`[data-store="${s}"] .v`).filter({ hasText: /^–$/ }).waitFor();
          for (const k of ['samples / s', 'spans / s', 'log lines / s', 'active series']) {
            const card = p.locator('.card').filter({ has: p.locator('.k', { hasText: new RegExp(`^${k.replace('/', '\\/')}$`) }) });
            assert.equal(await card.locator('.v').innerText(), '–', k);
          }
          // Nothing known to be flowing is not the same as nothing flowing.
          assert.equal(await p.locator('.empty').filter({ hasText: 'Nothing is flowing in yet' }).count(), 0);
        },
        { base: fresh },
      );
    } finally {
      await fresh.stop();
    }
  });

  it('home on a Vigil nothing was sent to says how to send data, with its real addresses', async () => {
    const fresh = await startVigil({ selfScrape: false });
    try {
      await visit(
        'home-empty',
        '/',
        async (p) => {
          const empty = p.locator('.empty').filter({ hasText: 'Nothing is flowing in yet' });
          // The built-in self-scrape runs every 15 s: until its first scrape the page says the figures are unknown, then that nothing flows.
          await empty.waitFor({ timeout: 60_000 });
          const host = new URL(fresh.url).host;
          const otlpHTTP = new URL(fresh.otlpHTTP).host;
          for (const want of [`http://${host}/api/v1/write`, `http://${host}/loki/api/v1/push`, fresh.grpc, `http://${otlpHTTP}/v1/traces`, `http://${otlpHTTP}/v1/metrics`, `http://${otlpHTTP}/v1/logs`]) {
            await empty.locator('code').filter({ hasText: new RegExp(`^${want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }).first().waitFor({ timeout: 10_000 });
          }
        },
        { base: fresh },
      );
    } finally {
      await fresh.stop();
    }
  });
});
