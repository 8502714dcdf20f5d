// Browser tests of the pages that change things or show what Vigil did:
// silences expired with the button, a failed notification retried, an
// incident resolved, reassigned and noted, probes with their state,
// latency and uptime bars (and "Run now"), the public status page, rule
// errors and an alert's ledger timeline, escalation policies and incident
// filters; and, with authentication on, a viewer's action buttons
// disabled (and the API refusing the change) while an editor's work.
// Each checks what the page shows and what the API then reports, no
// console errors, axe-core without serious or critical violations, and
// saves a screenshot in web/test-results/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { axe, eventually, freePort, getJSON, hookServer, launch, startVigil, shotPath, watch } from '../harness.mjs';

// Generous: the machine is a loaded 2-core box.
const slow = 60_000;

/**
 * target is the test's own HTTP server: /ok answers 200 and /fail 503 for
 * the probes, and /flaky is a webhook receiver that answers 500 until
 * flaky.ok is set.
 */
async function targetServer() {
  const flaky = { ok: false, got: [], refused: 0 };
  const srv = http.createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => {
      const path = new URL(req.url, 'http://x').pathname;
      if (path === '/ok') return res.writeHead(200).end('ok');
      if (path === '/fail') return res.writeHead(503).end('down');
      if (path === '/flaky') {
        if (!flaky.ok) {
          flaky.refused++;
          return res.writeHead(500).end('not now');
        }
        flaky.got.push(b);
        return res.writeHead(200).end();
      }
      res.writeHead(404).end();
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${srv.address().port}`;
  return { base, flaky, close: () => new Promise((r) => srv.close(r)) };
}

const rules = `groups:
  - name: manage
    rules:
      - alert: ManageAlert
        expr: vector(1)
        labels: {severity: page}
        annotations: {summary: always firing}
      - alert: ManageFlaky
        expr: vector(1)
        annotations: {summary: routed to a receiver that fails until told}
      - record: manage:broken
        expr: label_replace(vector(1), "x", "$1", "y", "(")
`;

function config(tgt, hook) {
  return `alerting:
  delivery: {give_up_after: 3s, min_backoff: 1s, max_backoff: 1s}
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 200ms
    group_interval: 1s
    repeat_interval: 1h
    routes:
      - {receiver: flaky, matchers: ['alertname="ManageFlaky"']}
  receivers:
    - name: hook
      webhook_configs: [{url: ${JSON.stringify(hook.url)}}]
    - name: flaky
      webhook_configs: [{url: ${JSON.stringify(tgt.base + '/flaky')}}]
probes:
  interval: 1s
  targets:
    - {name: web-ok, target: ${JSON.stringify(tgt.base + '/ok')}, group: Web}
    - {name: web-down, target: ${JSON.stringify(tgt.base + '/fail')}, group: Web}
    # Scheduled once an hour: its runs are the ones "Run now" makes.
    - {name: hourly, target: ${JSON.stringify(tgt.base + '/ok?hourly')}, interval: 1h}
  status_page:
    title: Manage test status
    uptime_days: 3
    groups:
      - {name: Web, probes: [web-ok, web-down]}
oncall:
  users:
    - {name: alice}
    - {name: bob}
    - {name: carol}
  teams:
    - {name: payments, members: [alice]}
    - {name: search, members: [bob]}
  escalation_policies:
    - name: manage-policy
      repeat: 1
      steps:
        - {targets: [{user: alice}], delay: 5m}
        - {targets: [{user: bob}, {user: carol}], delay: 10m}
`;
}

let v, tgt, hook, browser, ctx;

before(async () => {
  tgt = await targetServer();
  hook = await hookServer();
  v = await startVigil({ rules, extra: config(tgt, hook) });
  browser = await launch();
  // bypassCSP: axe-core is injected as an inline script, which the UI's CSP forbids.
  ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
});

after(async () => {
  await browser?.close();
  await v?.stop();
  await hook?.close();
  await tgt?.close();
});

/**
 * visit opens path in c, runs `act` (which waits for what it asserts),
 * then checks console errors and axe-core and saves a screenshot.
 * `allow` filters out console errors the test caused on purpose.
 */
async function visit(c, base, name, path, act, { allow = () => false } = {}) {
  const page = await c.newPage();
  const errors = watch(page);
  await page.goto(base + path);
  try {
    await act(page);
    await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
    await page.screenshot({ path: shotPath(name), fullPage: true });
    assert.deepEqual(errors.filter((e) => !allow(e)), [], `${name}: console or page errors`);
    assert.deepEqual(await axe(page), [], `${name}: axe-core serious/critical violations`);
  } catch (e) {
    await page.screenshot({ path: shotPath(`${name}-failed`), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await page.close();
  }
}

async function send(method, url, body, headers = {}) {
  const r = await fetch(url, { method, headers: { 'Content-Type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null, text };
}

async function openIncident(base, body, headers) {
  const r = await send('POST', `${base}/vigil/api/v1/oncall/incidents`, body, headers);
  assert.equal(r.status, 201, r.text);
  return r.json.data.id;
}

async function createSilence(base, comment, headers) {
  const r = await send(
    'POST',
    `${base}/alertmanager/api/v2/silences`,
    {
      matchers: [{ name: 'alertname', value: 'ManageAlert', isRegex: false, isEqual: true }],
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      createdBy: 'manage-test',
      comment,
    },
    headers,
  );
  assert.equal(r.status, 200, r.text);
  return r.json.silenceID;
}

/** disabled waits until the button's disabled state is `want` (the session loads after the page). */
const disabled = (btn, want, what) => eventually(`${what} ${want ? 'disabled' : 'enabled'}`, slow, async () => (await btn.isDisabled()) === want);

describe('manage', () => {
  it('a silence is expired with its button; the API and the list then say expired', async () => {
    const comment = `expire me ${Date.now()}`;
    const id = await createSilence(v.url, comment);
    assert.equal((await getJSON(`${v.url}/alertmanager/api/v2/silence/${id}`)).status.state, 'active');
    await visit(ctx, v.url, 'silence-expired', '/alerting/silences', async (p) => {
      const row = p.getByRole('table', { name: 'Silences' }).locator(`tr[data-silence="${id}"]`);
      await row.getByText(comment).waitFor({ timeout: slow });
      await row.locator('.badge').filter({ hasText: 'active' }).waitFor();
      await row.getByRole('button', { name: 'Expire' }).click();
      await row.locator('.badge').filter({ hasText: 'expired' }).waitFor({ timeout: slow });
      await row.getByText(/^ended /).waitFor();
      assert.equal(await row.getByRole('button', { name: 'Expire' }).count(), 0, 'an expired silence has no Expire button');
    });
    const got = await getJSON(`${v.url}/alertmanager/api/v2/silence/${id}`);
    assert.equal(got.status.state, 'expired');
    assert.ok(Date.parse(got.endsAt) <= Date.now(), `ends ${got.endsAt}`);
  });

  it('a failed notification is sent again with Retry once its receiver works', async () => {
    // The flaky receiver answers 500: the outbox retries until give_up_after (3s), then marks it failed.
    const failed = await eventually('a failed notification to flaky', slow, async () =>
      (await getJSON(`${v.url}/vigil/api/v1/notifications?status=failed`)).data?.find((n) => n.receiver === 'flaky'),
    );
    assert.ok(failed.attempts >= 1 && tgt.flaky.refused >= 1, `attempts ${failed.attempts}, refused ${tgt.flaky.refused}`);
    assert.match(failed.lastError, /500/);
    await visit(ctx, v.url, 'outbox-retry', '/alerting/outbox?refresh=5s', async (p) => {
      const row = p.getByRole('table', { name: 'Notifications' }).locator('tbody tr').filter({ hasText: 'flaky' });
      await row.locator('.badge').filter({ hasText: 'failed' }).waitFor({ timeout: slow });
      await row.getByText(/500/).first().waitFor();
      tgt.flaky.ok = true;
      await row.getByRole('button', { name: 'Retry' }).click();
      await row.locator('.badge').filter({ hasText: 'delivered' }).waitFor({ timeout: slow });
      assert.equal(await row.getByRole('button', { name: 'Retry' }).count(), 0);
    });
    await eventually('the flaky receiver got it', slow, async () => tgt.flaky.got.some((b) => b.includes('ManageFlaky')));
    const now = (await getJSON(`${v.url}/vigil/api/v1/notifications`)).data.find((n) => n.id === failed.id);
    assert.equal(now.status, 'delivered');
    assert.ok(now.attempts > failed.attempts, `attempts ${failed.attempts} -> ${now.attempts}`);
    // The ledger tells the story: failed, retried by hand, delivered.
    const kinds = (await getJSON(`${v.url}/vigil/api/v1/alerts/${failed.alerts[0]}/history`)).data.map((e) => e.kind);
    for (const k of ['failed', 'retried', 'delivered']) assert.ok(kinds.includes(k), `ledger has ${k}: ${kinds}`);
  });

  it('an incident is reassigned, noted and resolved with its buttons; the API and the timeline show each', async () => {
    const id = await openIncident(v.url, { title: 'Manage test incident', assignee: 'alice', severity: 'critical' });
    const api = () => getJSON(`${v.url}/vigil/api/v1/oncall/incidents/${id}`).then((r) => r.data);
    const note = `looked at the disks ${Date.now()}`;
    await visit(ctx, v.url, 'incident-actions', `/incidents/${id}`, async (p) => {
      const timeline = p.getByRole('list', { name: 'Incident timeline' });
      await p.getByTestId('incident-state').filter({ hasText: 'triggered' }).waitFor({ timeout: slow });

      await p.getByLabel('Reassign to').fill('bob');
      await p.getByRole('button', { name: 'Reassign' }).click();
      await timeline.locator('li').filter({ hasText: 'reassigned to bob' }).waitFor({ timeout: slow });
      await p.locator('table.kv tr', { hasText: 'assignee' }).getByText('bob').waitFor();
      const a = await api();
      assert.equal(a.assignee, 'bob');
      assert.ok(a.timeline.some((e) => e.kind === 'reassigned' && e.user === 'bob'), JSON.stringify(a.timeline));

      await p.getByLabel('Note').fill(note);
      await p.getByRole('button', { name: 'Add note' }).click();
      await timeline.locator('li').filter({ hasText: note }).waitFor({ timeout: slow });
      assert.equal(await p.getByLabel('Note').inputValue(), '', 'the note field is cleared');
      assert.ok((await api()).timeline.some((e) => e.kind === 'note' && e.detail === note));

      await p.getByRole('button', { name: 'Resolve' }).click();
      await p.getByTestId('incident-state').filter({ hasText: 'resolved' }).waitFor({ timeout: slow });
      await timeline.locator('li').filter({ has: p.locator('strong', { hasText: /^resolved$/ }) }).waitFor();
      // A resolved incident offers neither Acknowledge nor Resolve.
      assert.equal(await p.getByRole('button', { name: /^(Acknowledge|Resolve)$/ }).count(), 0);
    });
    const r = await api();
    assert.equal(r.state, 'resolved');
    assert.ok(r.resolved_at, 'resolved_at set');
    assert.ok(r.timeline.some((e) => e.kind === 'resolved'));
  });

  it('the incident list narrows by state', async () => {
    const tag = `filter-${Date.now()}`;
    const ids = {};
    for (const s of ['triggered', 'acknowledged', 'resolved']) ids[s] = await openIncident(v.url, { title: `${tag} ${s}`, assignee: 'carol' });
    for (const s of ['acknowledged', 'resolved']) assert.equal((await send('POST', `${v.url}/vigil/api/v1/oncall/incidents/${ids[s]}/${s === 'acknowledged' ? 'acknowledge' : 'resolve'}`, {})).status, 200);
    const rowIDs = (p) => p.getByRole('table', { name: 'Incidents' }).locator('tbody tr td:first-child').allInnerTexts().then((xs) => xs.map(Number).sort((a, b) => a - b));
    const apiIDs = async (state) => (await getJSON(`${v.url}/vigil/api/v1/oncall/incidents?limit=200${state ? `&state=${state}` : ''}`)).data.map((i) => i.id).sort((a, b) => a - b);
    await visit(ctx, v.url, 'incidents-filtered', '/incidents', async (p) => {
      const table = p.getByRole('table', { name: 'Incidents' });
      for (const s of ['triggered', 'acknowledged', 'resolved']) await table.getByText(`${tag} ${s}`).waitFor({ timeout: slow });
      assert.deepEqual(await rowIDs(p), await apiIDs(''));
      for (const s of ['triggered', 'acknowledged', 'resolved']) {
        await p.getByLabel('State').selectOption(s);
        await p.waitForURL((u) => u.searchParams.get('state') === s);
        await table.getByText(`${tag} ${s}`).waitFor({ timeout: slow });
        const want = await apiIDs(s);
        await eventually(`only ${s} incidents listed`, slow, async () => JSON.stringify(await rowIDs(p)) === JSON.stringify(want));
        assert.ok(want.includes(ids[s]) && !Object.values(ids).some((i) => i !== ids[s] && want.includes(i)), `API ${s}: ${want}`);
        const badges = await table.locator('tbody tr td:nth-child(3) .badge').allInnerTexts();
        assert.ok(badges.length > 0 && badges.every((b) => b === s), `${s}: ${badges}`);
      }
      await p.getByLabel('State').selectOption('triggered');
      await p.waitForURL((u) => u.searchParams.get('state') === 'triggered');
    });
  });

  it('the incident list narrows by team, from the Team field and from the address', async () => {
    const tag = `team-${Date.now()}`;
    const ids = {};
    for (const team of ['payments', 'search']) ids[team] = await openIncident(v.url, { title: `${tag} ${team}`, assignee: 'alice', team });
    const rowIDs = (p) => p.getByRole('table', { name: 'Incidents' }).locator('tbody tr td:first-child').allInnerTexts().then((xs) => xs.map(Number).sort((a, b) => a - b));
    const apiIDs = async (team) => (await getJSON(`${v.url}/vigil/api/v1/oncall/incidents?limit=200&team=${team}`)).data.map((i) => i.id).sort((a, b) => a - b);
    await visit(ctx, v.url, 'incidents-team', '/incidents', async (p) => {
      const table = p.getByRole('table', { name: 'Incidents' });
      for (const team of ['payments', 'search']) await table.getByText(`${tag} ${team}`).waitFor({ timeout: slow });
      for (const team of ['payments', 'search']) {
        await p.getByLabel('Team').fill(team);
        await p.getByLabel('Team').press('Tab');
        await p.waitForURL((u) => u.searchParams.get('team') === team);
        const want = await apiIDs(team);
        assert.ok(want.includes(ids[team]) && !want.includes(ids[team === 'payments' ? 'search' : 'payments']), `API team=${team}: ${want}`);
        await eventually(`only team ${team} listed`, slow, async () => JSON.stringify(await rowIDs(p)) === JSON.stringify(want));
        const teams = await table.locator('tbody tr td:nth-child(4)').allInnerTexts();
        assert.ok(teams.length > 0 && teams.every((t) => t.split(' / ')[0] === team), `${team}: ${teams}`);
      }
    });
    // The address alone selects the team (a shared link).
    await visit(ctx, v.url, 'incidents-team-url', '/incidents?team=search', async (p) => {
      const table = p.getByRole('table', { name: 'Incidents' });
      await table.getByText(`${tag} search`).waitFor({ timeout: slow });
      assert.equal(await p.getByLabel('Team').inputValue(), 'search');
      assert.equal(await table.getByText(`${tag} payments`).count(), 0);
    });
  });

  it('escalation policies are shown read-only with their steps', async () => {
    const pol = (await getJSON(`${v.url}/vigil/api/v1/oncall/escalation_policies`)).data.find((x) => x.spec.name === 'manage-policy').spec;
    await visit(ctx, v.url, 'oncall-policies', '/oncall', async (p) => {
      const region = p.getByRole('region', { name: 'Escalation policy manage-policy' });
      const steps = region.locator('ol.steps > li');
      await steps.first().waitFor({ timeout: slow });
      assert.equal(await steps.count(), pol.steps.length);
      for (const [i, st] of pol.steps.entries()) {
        const text = await steps.nth(i).innerText();
        for (const t of st.targets) assert.ok(text.includes(`user ${t.user}`), `step ${i + 1}: ${text}`);
        assert.ok(text.includes(`then wait ${st.delay}`), `step ${i + 1}: ${text}`);
      }
      await region.getByText('repeats 1 time after the last step').waitFor();
      // Read-only: nothing to press or type in.
      assert.equal(await region.locator('button, input, select, textarea, a[href]').count(), 0);
    });
  });

  it('the rules tab shows a rule evaluation error and when each rule was last evaluated', async () => {
    const rule = await eventually('the broken rule evaluated', slow, async () => {
      const g = (await getJSON(`${v.url}/api/v1/rules`)).data.groups.find((x) => x.name === 'manage');
      const r = g?.rules.find((x) => x.name === 'manage:broken');
      return r?.lastError && g.rules.every((x) => x.lastEvaluation && !x.lastEvaluation.startsWith('0001')) ? r : null;
    });
    assert.equal(rule.health, 'err');
    await visit(ctx, v.url, 'rules-error', '/alerting/rules', async (p) => {
      const group = p.getByRole('region', { name: 'Rule group manage' });
      const row = group.locator('tbody tr').filter({ hasText: 'manage:broken' });
      await row.locator('.error').waitFor({ timeout: slow });
      assert.match(await row.locator('.error').innerText(), /invalid regular expression in label_replace/);
      assert.match(rule.lastError, /invalid regular expression in label_replace/);
      await row.locator('.badge').filter({ hasText: /^err$/ }).waitFor();
      // Every rule shows its last evaluation; the working ones are ok and show no error.
      const rows = group.locator('tbody tr');
      assert.equal(await rows.count(), 3);
      for (const r of await rows.all()) assert.match(await r.locator('td').nth(3).innerText(), /ago|now/);
      for (const name of ['ManageAlert', 'ManageFlaky']) {
        const ok = rows.filter({ hasText: name });
        await ok.locator('.badge').filter({ hasText: /^ok$/ }).first().waitFor();
        assert.equal(await ok.locator('.error').count(), 0);
      }
      assert.doesNotMatch(await group.locator('.panel-head').innerText(), /never/);
    });
  });

  it("an alert's history shows the ledger's entries: why it paged", async () => {
    const fp = await eventually('ManageAlert in Alertmanager', slow, async () => (await getJSON(`${v.url}/alertmanager/api/v2/alerts`)).find((a) => a.labels.alertname === 'ManageAlert')?.fingerprint);
    await eventually('delivered to the hook', slow, async () => hook.got.some((b) => b.includes('ManageAlert')));
    const events = await eventually('delivery in the ledger', slow, async () => {
      const d = (await getJSON(`${v.url}/vigil/api/v1/alerts/${fp}/history?limit=500`)).data;
      return d.some((e) => e.kind === 'delivered') ? d : null;
    });
    await visit(ctx, v.url, 'alert-history', `/alerting/history/${fp}`, async (p) => {
      const items = p.getByRole('list', { name: 'Alert timeline' }).locator('li');
      await items.first().waitFor({ timeout: slow });
      await eventually('every ledger entry listed', slow, async () => (await items.count()) >= events.length);
      // Each entry the API had is on the page, with its kind and detail.
      const texts = await items.allInnerTexts();
      for (const e of events) {
        const kind = e.kind.replace(/_/g, ' ');
        assert.ok(texts.some((t) => t.startsWith(kind) && (!e.detail || t.includes(e.detail))), `entry ${e.kind} "${e.detail}" on the page`);
      }
      await p.getByRole('heading', { name: `History of ${fp}` }).waitFor();
      await p.getByText('ManageAlert').first().waitFor();
      const delivered = items.filter({ has: p.locator('strong', { hasText: /^delivered$/ }) });
      await delivered.first().getByText(/hook webhook/).waitFor();
    });
  });

  it('uptime shows each probe with its state, latency and uptime bars; Run now runs it', async () => {
    const probes = () => getJSON(`${v.url}/vigil/api/v1/probes`).then((r) => Object.fromEntries(r.data.map((x) => [x.name, x])));
    // A few runs in, so that several periods of a 2-minute range hold some.
    await eventually('probe runs in the TSDB', slow, async () => {
      const r = (await getJSON(`${v.url}/api/v1/query?query=${encodeURIComponent('count_over_time(probe_success{instance!~".*hourly"}[1m])')}`)).data.result;
      return r.length === 2 && r.every((s) => Number(s.value[1]) >= 10);
    });
    const hourlyRuns = async () => {
      const r = (await getJSON(`${v.url}/api/v1/query?query=${encodeURIComponent('count_over_time(probe_success{instance=~".*hourly"}[1h])')}`)).data.result;
      return r.length ? Number(r[0].value[1]) : 0;
    };
    const before = await probes();
    const runsBefore = await hourlyRuns();
    assert.equal(before['web-ok'].last.success, true);
    assert.equal(before['web-down'].last.success, false);
    let clicked;
    const queries = [];
    await visit(ctx, v.url, 'uptime-probes', '/uptime?from=now-2m', async (p) => {
      // The page's uptime column asks the query API at its range's end: ask the same.
      p.on('request', (r) => {
        const q = new URLSearchParams(r.postData() ?? '');
        if (r.url().endsWith('/api/v1/query') && q.get('query')?.includes('probe_success')) queries.push(q);
      });
      await p.reload();
      const table = p.getByRole('table', { name: 'Probes' });
      const row = (n) => table.locator(`tr[data-probe="${n}"]`);
      const api = await probes();
      for (const n of ['web-ok', 'web-down']) {
        const state = api[n].last.success ? 'up' : 'down';
        await row(n).getByTestId('probe-state').getByText(state, { exact: true }).waitFor({ timeout: slow });
        assert.match(await row(n).getByTestId('probe-latency').innerText(), /^\d+(\.\d+)? ms$/);
        await eventually(`${n}: uptime shown`, slow, async () => /%$/.test(await row(n).getByTestId('probe-uptime').innerText()));
        const shown = Number((await row(n).getByTestId('probe-uptime').innerText()).replace('%', ''));
        const q = queries.at(-1);
        assert.ok(q, 'the page asked for the uptime');
        const sel = `probe_success{instance=${JSON.stringify(api[n].target)}}`;
        const want = (await getJSON(`${v.url}/api/v1/query?query=${encodeURIComponent(q.get('query').replace('probe_success', sel))}&time=${q.get('time')}`)).data.result;
        assert.equal(want.length, 1, `${n}: ${JSON.stringify(want)}`);
        assert.ok(Math.abs(shown - Number(want[0].value[1]) * 100) < 0.01, `${n}: page ${shown}%, API ${want[0].value[1]}`);
        if (n === 'web-down') assert.equal(shown, 0);
        else assert.ok(shown > 50, `web-ok mostly up: ${shown}%`);

        const bars = row(n).getByRole('img', { name: new RegExp(`^Uptime bars of ${n}: `) }).locator('span');
        assert.equal(await bars.count(), 30);
        // The bars are the TSDB's: each period's share of successful runs.
        const seen = await eventually(`${n}: periods with runs`, slow, async () => {
          const xs = await bars.evaluateAll((els) => els.map((e) => ({ end: e.dataset.end, uptime: e.dataset.uptime, cls: e.className })));
          return xs.filter((x) => x.uptime !== '').length >= 3 ? xs : null;
        });
        const cls = (u) => (u === '' ? 'none' : Number(u) >= 1 ? 'up' : Number(u) <= 0 ? 'down' : 'partial');
        assert.ok(seen.every((x) => x.cls === cls(x.uptime)), `${n}: ${JSON.stringify(seen)}`);
        if (n === 'web-down') assert.ok(seen.every((x) => x.uptime === '' || x.uptime === '0'), JSON.stringify(seen));
        else assert.equal(seen.at(-2).uptime, '1', `web-ok up lately: ${JSON.stringify(seen.slice(-3))}`);
        // Compare with the query API over the same periods (all but the newest two, still filling).
        const ends = seen.map((x) => Date.parse(x.end));
        const step = (ends[1] - ends[0]) / 1000;
        const r = (await getJSON(`${v.url}/api/v1/query_range?query=${encodeURIComponent(`avg_over_time(${sel}[${step}s])`)}&start=${ends[0] / 1000}&end=${ends.at(-3) / 1000}&step=${step}`)).data.result;
        const byEnd = new Map((r[0]?.values ?? []).map(([t, x]) => [Math.round(t * 1000), x]));
        for (const x of seen.slice(0, -2)) assert.equal(x.uptime, byEnd.get(Date.parse(x.end)) ?? '', `${n}: period ending ${x.end}`);
      }
      // The hourly probe has not run yet (or only as often as the TSDB says); Run now runs it.
      const h = row('hourly');
      await h.getByTestId('probe-state').waitFor();
      clicked = Date.now();
      await h.getByRole('button', { name: 'Run now' }).click();
      await h.getByTestId('probe-state').getByText('up', { exact: true }).waitFor({ timeout: slow });
      assert.match(await h.getByTestId('probe-latency').innerText(), /^\d+(\.\d+)? ms$/);
    });
    const afterRun = await probes();
    // The page's state and latency are the API's.
    assert.equal(afterRun.hourly.last.success, true);
    assert.ok(Date.parse(afterRun.hourly.last.start) >= clicked - 1000, `last run ${afterRun.hourly.last.start}, clicked ${new Date(clicked).toISOString()}`);
    await eventually('one more hourly run in the TSDB', slow, async () => (await hourlyRuns()) === runsBefore + 1);
  });

  it('the public status page shows the seeded probes', async () => {
    await visit(ctx, v.url, 'status-page', '/status', async (p) => {
      await p.locator('h1', { hasText: 'Manage test status' }).waitFor({ timeout: slow });
      const group = p.locator('section.group[data-group="Web"]');
      const shown = () =>
        group.locator('.probe').evaluateAll((els) =>
          els.map((e) => ({
            name: e.dataset.probe,
            state: e.dataset.state,
            pill: e.querySelector('.pill')?.textContent,
            days: [...e.querySelectorAll('.bar')].map((b) => ({ runs: Number(b.dataset.runs), uptime: b.dataset.uptime === '' ? null : Number(b.dataset.uptime) })),
          })),
        );
      // What the page shows is its JSON's (the two share a 30 s cache: ask until one fill serves both).
      const seen = await eventually('the page shows its JSON', slow, async () => {
        const sum = (await getJSON(`${v.url}/status/api/v1/summary`)).data;
        await p.reload();
        await group.waitFor();
        const got = await shown();
        const want = sum.groups
          .find((g) => g.name === 'Web')
          .probes.map((x) => ({ name: x.name, state: x.state, pill: x.state, days: x.days.map((d) => ({ runs: d.runs, uptime: d.uptime === null ? null : Number(d.uptime.toFixed(6)) })) }));
        return JSON.stringify(got) === JSON.stringify(want) ? got : null;
      });
      const by = Object.fromEntries(seen.map((x) => [x.name, x]));
      assert.deepEqual(Object.keys(by).sort(), ['web-down', 'web-ok'], 'only the probes of the page\'s groups');
      assert.equal(by['web-ok'].state, 'up');
      assert.equal(by['web-down'].state, 'down');
      for (const x of seen) {
        // One bar a day; today's holds the runs so far.
        assert.equal(x.days.length, 3);
        const today = x.days.at(-1);
        assert.ok(today.runs > 0, `${x.name}: runs today`);
        if (x.state === 'down') assert.equal(today.uptime, 0);
        else assert.ok(today.uptime > 0.5, `${x.name}: ${today.uptime}`);
      }
      assert.notEqual(await p.locator('#overall').getAttribute('data-state'), 'operational', 'one probe down: not all operational');
      assert.equal(await p.locator('.probe[data-probe="hourly"]').count(), 0);
      assert.equal(await p.locator('meta[http-equiv="refresh"]').count(), 0, 'no self-refresh unless asked');
    });
  });
});

describe('roles, with authentication on', () => {
  const adminPassword = 'manage-admin-password-1';
  const users = { vera: 'viewer', eddie: 'editor' };
  const password = (u) => `${u}-password-123`;
  let va, admin, silenceID, incidentID;

  /** login signs in through the API and returns the headers a change needs (session cookie, CSRF token). */
  async function login(base, username, pw) {
    const r = await fetch(`${base}/vigil/api/v1/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password: pw }) });
    assert.equal(r.status, 200, await r.clone().text());
    const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    return { Cookie: cookie, 'X-CSRF-Token': (await r.json()).csrf_token };
  }
  const adminGet = async (path) => {
    const r = await fetch(va.url + path, { headers: { Cookie: admin.Cookie } });
    assert.equal(r.status, 200, await r.clone().text());
    return r.json();
  };

  before(async () => {
    const dead = await freePort(); // nothing listens there: every delivery fails
    va = await startVigil({
      rules: 'groups:\n  - name: auth\n    rules:\n      - {alert: AuthAlert, expr: vector(1)}\n',
      env: { VIGIL_ADMIN_PASSWORD: adminPassword },
      extra: `auth:
  mode: local
alerting:
  delivery: {give_up_after: 2s, min_backoff: 1s, max_backoff: 1s}
  route: {receiver: dead, group_by: [alertname], group_wait: 200ms, group_interval: 1s, repeat_interval: 1h}
  receivers:
    - name: dead
      webhook_configs: [{url: "http://127.0.0.1:${dead}/hook"}]
probes:
  interval: 1s
  targets:
    - {name: auth-ok, target: ${JSON.stringify(tgt.base + '/ok?auth')}}
oncall:
  users: [{name: alice}, {name: bob}]
`,
    });
    admin = await login(va.url, 'admin', adminPassword);
    for (const [name, role] of Object.entries(users)) {
      const r = await send('POST', `${va.url}/vigil/api/v1/users`, { name, role, password: password(name) }, admin);
      assert.equal(r.status, 201, r.text);
    }
  });
  after(async () => {
    await va?.stop();
  });

  /** signIn: a browser context signed in as user through the login page. */
  async function signIn(user) {
    const c = await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
    const page = await c.newPage();
    await page.goto(`${va.url}/login?next=${encodeURIComponent('/alerting/silences')}`);
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Password').fill(password(user));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/alerting/silences');
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: slow });
    await page.close();
    return c;
  }
  const csrf = async (c) => (await c.cookies()).find((k) => k.name === 'vigil_csrf')?.value;

  /** pages visits the four pages with actions and hands each button to check. */
  async function pages(c, who, check) {
    // A field only a change uses: disabled, saying why, for a viewer; typed into otherwise (null: left as it is).
    const field = async (loc, text) => {
      if (users[who] !== 'viewer') return text === null ? undefined : loc.fill(text);
      assert.ok(await loc.isDisabled(), `${who}: ${await loc.getAttribute('title')}`);
      assert.match((await loc.getAttribute('title')) ?? '', /^your role may not /);
    };
    await visit(c, va.url, `roles-${who}-header`, '/alerting/silences', async (p) => {
      // The header: who is signed in, the role, and its scopes on hover.
      const me = p.locator('[title^="scopes:"]');
      await me.filter({ hasText: who }).waitFor({ timeout: slow });
      await me.locator('.badge', { hasText: users[who] }).waitFor();
      const scopes = (await me.getAttribute('title')).replace('scopes: ', '').split(', ');
      assert.equal(scopes.includes('write'), users[who] !== 'viewer', `${who}: ${scopes}`);
    });
    await visit(c, va.url, `roles-${who}-silences`, '/alerting/silences', async (p) => {
      const row = p.locator(`tr[data-silence="${silenceID}"]`);
      await row.waitFor({ timeout: slow });
      await check(row.getByRole('button', { name: 'Expire' }), 'Expire');
    });
    await visit(c, va.url, `roles-${who}-silence-form`, `/alerting/silences/new?matcher=${encodeURIComponent('alertname="AuthAlert"')}`, async (p) => {
      await field(p.getByLabel('Comment'), 'a comment');
      await field(p.getByLabel('Created by'), null);
      await check(p.getByRole('button', { name: 'Create silence' }), 'Create silence');
    });
    await visit(c, va.url, `roles-${who}-outbox`, '/alerting/outbox?status=failed', async (p) => {
      const row = p.getByRole('table', { name: 'Notifications' }).locator('tbody tr').filter({ hasText: 'dead' }).first();
      await row.waitFor({ timeout: slow });
      await check(row.getByRole('button', { name: 'Retry' }), 'Retry');
    });
    await visit(c, va.url, `roles-${who}-incident`, `/incidents/${incidentID}`, async (p) => {
      await p.getByTestId('incident-state').waitFor({ timeout: slow });
      await field(p.getByLabel('Reassign to'), 'bob');
      await field(p.getByLabel('Note'), 'a note');
      for (const name of ['Acknowledge', 'Resolve', 'Reassign', 'Add note']) await check(p.getByRole('button', { name, exact: true }), name);
    });
    await visit(c, va.url, `roles-${who}-uptime`, '/uptime', async (p) => {
      const row = p.locator('tr[data-probe="auth-ok"]');
      await row.getByTestId('probe-state').getByText('up').waitFor({ timeout: slow });
      await check(row.getByRole('button', { name: 'Run now' }), 'Run now');
    });
  }

  it('a viewer sees every action disabled, and the API refuses the change (403)', async () => {
    silenceID = await createSilence(va.url, 'viewer may not expire this', admin);
    incidentID = await openIncident(va.url, { title: 'Roles test incident', assignee: 'alice' }, admin);
    await eventually('a failed notification', slow, async () => (await adminGet('/vigil/api/v1/notifications?status=failed')).data?.length > 0);
    const c = await signIn('vera');
    try {
      await pages(c, 'vera', async (btn, what) => {
        await disabled(btn, true, what);
        assert.match((await btn.getAttribute('title')) ?? '', /^your role may not /, `${what}: says why it is disabled`);
      });
      // The API is the real gate: a viewer's session, with its CSRF token, gets 403 naming the scope.
      const h = { 'X-CSRF-Token': await csrf(c), Origin: va.url };
      const failed = (await adminGet('/vigil/api/v1/notifications?status=failed')).data[0];
      for (const [method, path] of [
        ['DELETE', `/alertmanager/api/v2/silence/${silenceID}`],
        ['POST', `/vigil/api/v1/oncall/incidents/${incidentID}/acknowledge`],
        ['POST', `/vigil/api/v1/notifications/${failed.id}/retry`],
        ['POST', '/vigil/api/v1/probes/auth-ok/run'],
      ]) {
        const r = await c.request.fetch(va.url + path, { method, headers: h, data: method === 'POST' ? {} : undefined });
        assert.equal(r.status(), 403, `${method} ${path}: ${await r.text()}`);
        assert.match(JSON.parse(await r.text()).error, /needs the "write" scope; the credential has only read/);
      }
    } finally {
      await c.close();
    }
    assert.equal((await adminGet(`/alertmanager/api/v2/silence/${silenceID}`)).status.state, 'active');
    assert.equal((await adminGet(`/vigil/api/v1/oncall/incidents/${incidentID}`)).data.state, 'triggered');
  });

  it("an editor's actions are enabled and work", async () => {
    const c = await signIn('eddie');
    try {
      await pages(c, 'eddie', (btn, what) => disabled(btn, false, what));
      await visit(c, va.url, 'roles-eddie-acts', `/alerting/silences`, async (p) => {
        const row = p.locator(`tr[data-silence="${silenceID}"]`);
        await row.getByRole('button', { name: 'Expire' }).click();
        await row.locator('.badge').filter({ hasText: 'expired' }).waitFor({ timeout: slow });
        await p.goto(`${va.url}/incidents/${incidentID}`);
        await p.getByRole('button', { name: 'Acknowledge' }).click();
        await p.getByTestId('incident-state').filter({ hasText: 'acknowledged' }).waitFor({ timeout: slow });
      });
    } finally {
      await c.close();
    }
    assert.equal((await adminGet(`/alertmanager/api/v2/silence/${silenceID}`)).status.state, 'expired');
    const inc = (await adminGet(`/vigil/api/v1/oncall/incidents/${incidentID}`)).data;
    assert.equal(inc.state, 'acknowledged');
    assert.equal(inc.acknowledged_by, 'eddie');
  });
});
