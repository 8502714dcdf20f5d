// Drives Debian's Chromium through Vigil's sign-in page: sign in, see the
// home page, be refused a state change without the CSRF token and allowed
// one with it, find the session cookie hidden from scripts, sign out.
//   node login.mjs BASE_URL USER PASSWORD
import { chromium } from 'playwright-core';

const [base, user, password] = process.argv.slice(2);
const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/lib/chromium/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  await page.goto(base + '/login');
  // The fields are reachable by their labels (accessibility).
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (!(await page.getByRole('alert').textContent()).includes('Wrong user name or password')) fail('no error for a wrong password');

  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL(base + '/'), page.getByRole('button', { name: 'Sign in' }).click()]);
  // '/' is the web UI (its header links home as "Vigil home"), or, in a
  // binary built without the UI, a page whose heading is "Vigil".
  try {
    await page.locator('a[aria-label="Vigil home"], h1:has-text("Vigil")').first().waitFor({ timeout: 15000 });
  } catch {
    fail('home page not shown after sign-in');
  }

  const me = await page.evaluate(async () => (await fetch('/vigil/api/v1/me')).json());
  if (me.user !== user || me.role !== 'admin') fail('me: ' + JSON.stringify(me));

  const create = (withCsrf) => page.evaluate(async (withCsrf) => {
    const headers = { 'Content-Type': 'application/json' };
    if (withCsrf) {
      headers['X-CSRF-Token'] = document.cookie.split('; ').find((c) => c.startsWith('vigil_csrf=')).slice('vigil_csrf='.length);
    }
    const r = await fetch('/vigil/api/v1/tokens', { method: 'POST', headers, body: JSON.stringify({ name: 'browser', scopes: ['read'] }) });
    return [r.status, await r.text()];
  }, withCsrf);
  const [refused, body] = await create(false);
  if (refused !== 403 || !body.includes('X-CSRF-Token')) fail(`state change without CSRF token: ${refused} ${body}`);
  const [created] = await create(true);
  if (created !== 201) fail(`state change with the CSRF token: ${created}`);

  if ((await page.evaluate(() => document.cookie)).includes('vigil_session')) fail('the session cookie is readable by scripts');

  const before = (await page.request.get(base + '/vigil/api/v1/me')).status();
  if (before !== 200) fail(`signed in, /me from the browser context answered ${before}`);
  await page.goto(base + '/login');
  await page.getByRole('button', { name: 'Sign out' }).click();
  // Signed out: the page offers the sign-in form again.
  await page.getByLabel('Password').waitFor();
  // Asked with the browser context's cookies, outside the page: the UI,
  // signed out, navigates itself to /login, which would end a page script.
  const after = (await page.request.get(base + '/vigil/api/v1/me')).status();
  if (after !== 401) fail(`after sign-out /me answered ${after}`);
  console.log('OK');
} finally {
  await browser.close();
}
