// With authentication on: the UI sends the browser to the login page,
// comes back signed in, shows the user, and its changes carry the CSRF
// token (a silence created in the form is accepted).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startVigil, watch } from '../harness.mjs';

let v, browser;
before(async () => {
  v = await startVigil({ extra: 'auth:\n  mode: local\n', env: { VIGIL_ADMIN_PASSWORD: 'ui-test-password-1' } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await v?.stop();
});

it('signs in, shows the user, and sends the CSRF token on changes', async () => {
  const page = await browser.newPage();
  const errors = watch(page);
  await page.goto(`${v.url}/alerting/silences/new?matcher=${encodeURIComponent('alertname="Nothing"')}`);
  await page.waitForURL(/\/login\?next=/);
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill('ui-test-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/alerting/silences/new?**');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.getByLabel('Created by').fill('admin');
  await page.getByLabel('Comment').fill('with a session');
  await page.getByRole('button', { name: 'Create silence' }).click();
  await page.waitForURL('**/alerting/silences');
  await page.getByRole('table', { name: 'Silences' }).getByText('with a session').waitFor();
  // The 401s before signing in are the UI finding out it must sign in.
  assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
  await page.close();
});
