// Loads Vigil's status page in Debian's Chromium and prints, as JSON, what
// a visitor sees: the overall state, each group with its probes, their
// states and uptime bars, and whether each badge URL renders as SVG.
//
//   node status.mjs http://127.0.0.1:9797 screenshot.png badge-url...
import { chromium } from 'playwright-core';

const [base, shot, ...badges] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(base + '/status', { waitUntil: 'load' });
  const seen = await page.evaluate(() => ({
    title: document.querySelector('h1')?.textContent,
    overall: document.querySelector('#overall')?.dataset.state,
    headline: document.querySelector('#overall')?.textContent,
    incidents: document.querySelector('#incidents')?.textContent.trim(),
    groups: [...document.querySelectorAll('section.group')].map((g) => ({
      name: g.dataset.group,
      state: g.dataset.state,
      visible: g.getBoundingClientRect().height > 0,
      probes: [...g.querySelectorAll('.probe')].map((p) => ({
        name: p.dataset.probe,
        state: p.dataset.state,
        uptime: p.dataset.uptime,
        text: p.querySelector('.meta')?.textContent,
        sparkline: !!p.querySelector('svg.spark polyline'),
        bars: [...p.querySelectorAll('.bar')].map((b) => ({
          day: b.dataset.day,
          uptime: b.dataset.uptime,
          runs: Number(b.dataset.runs),
          color: getComputedStyle(b).backgroundColor,
          title: b.title,
        })),
      })),
    })),
  }));
  await page.screenshot({ path: shot, fullPage: true });
  seen.requests = requests;
  seen.consoleErrors = errors;
  seen.badges = [];
  for (const u of badges) {
    const resp = await page.goto(base + u);
    const root = await page.evaluate(() => ({
      tag: document.documentElement.tagName,
      ns: document.documentElement.namespaceURI,
      parseError: !!document.querySelector('parsererror'),
      label: document.documentElement.getAttribute('aria-label'),
      width: document.documentElement.getBoundingClientRect().width,
    }));
    seen.badges.push({ url: u, status: resp.status(), type: resp.headers()['content-type'], ...root });
  }
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
