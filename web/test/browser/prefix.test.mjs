// Behind a reverse proxy at /obs/ (web.external_url with a path), the
// shell's assets, the API calls and the links all carry the prefix.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, freePort, getJSON, launch, startVigil, watch } from '../harness.mjs';

let v, browser;
before(async () => {
  const port = await freePort();
  v = await startVigil({ port, extra: `web:\n  external_url: http://127.0.0.1:${port}/obs\n` });
  await eventually('self-scrape', 30_000, async () => (await getJSON(`${v.url}/obs/api/v1/query?query=up`)).data.result.length > 0);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await v?.stop();
});

it('the UI works under the external URL path', async () => {
  const page = await browser.newPage();
  const errors = watch(page);
  await page.goto(`${v.url}/obs/query?g0.expr=up`);
  await page.locator('figure.chart canvas').first().waitFor();
  await page.getByRole('link', { name: 'Traces' }).click();
  await page.waitForURL('**/obs/traces');
  await page.locator('h1', { hasText: 'Traces' }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});
