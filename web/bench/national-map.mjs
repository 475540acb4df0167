// Times the map in Debian's headless Chromium on a served dataset, with "Alle gemeenten"
// chosen (or WIJKRADAR_KEUZE: a GM-code or regio:ID): per layer, from opening the view until the map is drawn and idle (BENCHMARKS.md,
// "The map at national scale"). Not a test; run it by hand against a server:
//   WIJKRADAR_URL=http://127.0.0.1:8080 WIJKRADAR_USER=landelijk WIJKRADAR_PASSWORD=… \
//     node web/bench/national-map.mjs [gemeenten:index,pc4:index,h3-9:overlast,…]
import { chromium } from 'playwright-core';

const base = process.env.WIJKRADAR_URL ?? 'http://127.0.0.1:8080';
const keuze = encodeURIComponent(process.env.WIJKRADAR_KEUZE ?? 'alle');
const lagen = (process.argv[2] ?? 'gemeenten:index,pc4:index,h3-7:index,h3-8:index,h3-9:index,h3-9:overlast,h3-10:index')
  .split(',').map((x) => x.split(':'));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
const fouten = [];
page.on('pageerror', (e) => fouten.push(String(e)));
page.on('response', (r) => { if (r.status() >= 400) fouten.push(`${r.status()} ${r.url().slice(0, 120)}`); });
await page.goto(`${base}/login`);
await page.fill('#gebruiker', process.env.WIJKRADAR_USER ?? 'landelijk');
await page.fill('#wachtwoord', process.env.WIJKRADAR_PASSWORD ?? '');
await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);
for (const [laag, indicator] of lagen) {
  await page.goto('about:blank');
  const t0 = Date.now();
  await page.goto(`${base}/#gemeente=${keuze}&laag=${laag}&indicator=${indicator}&kaart=7/52.2/5.3`);
  await page.waitForFunction(() => ['true', 'te-veel'].includes(document.body.dataset.geladen), null, { timeout: 300000 });
  const ms = Date.now() - t0;
  const r = await page.evaluate((l) => {
    const items = performance.getEntriesByType('resource').filter((e) => e.name.includes(`/collections/${l}/items?`));
    return {
      gebieden: window.wijkradar.data.features.length,
      paginas: items.length,
      mb: Math.round(items.reduce((s, e) => s + e.decodedBodySize, 0) / 1e5) / 10,
      opgehaald_ms: Math.round(Math.max(0, ...items.map((e) => e.responseEnd))),
    };
  }, laag);
  console.log(`${laag} ${indicator}: ${ms} ms tot getekend; ${r.gebieden} gebieden in ${r.paginas} pagina's, ${r.mb} MB, opgehaald na ${r.opgehaald_ms} ms`);
}
if (fouten.length) console.log('fouten:', fouten);
await browser.close();
