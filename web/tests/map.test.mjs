// End-to-end test of the map in Debian's headless Chromium, driven by playwright-core.
// Needs WIJKRADAR_BIN (the release binary) and WIJKRADAR_DB (an ingested demo database);
// scripts/test.sh sets both. Screenshots and the briefing PDF go to test-output/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.env.WIJKRADAR_TEST_OUTPUT || join(here, '..', '..', 'test-output');
mkdirSync(out, { recursive: true });
const port = 18000 + Math.floor(Math.random() * 2000);
const base = `http://127.0.0.1:${port}`;
let server;
let browser;

async function waitFor(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try { const r = await fetch(url); if (r.ok) return; } catch (_) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server did not answer ${url}`);
}

before(async () => {
  assert.ok(process.env.WIJKRADAR_BIN && process.env.WIJKRADAR_DB, 'set WIJKRADAR_BIN and WIJKRADAR_DB (scripts/test.sh does)');
  server = spawn(process.env.WIJKRADAR_BIN, ['serve', '--db', process.env.WIJKRADAR_DB, '--addr', `127.0.0.1:${port}`, '--web', join(here, '..')], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitFor(`${base}/v1`, 30000);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

// A browser context signed in through the login page, as a user would.
async function aangemeld(gebruiker, opties = {}) {
  const context = await browser.newContext(opties);
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#gebruiker', gebruiker);
  await page.fill('#wachtwoord', `demo-${gebruiker}`);
  await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);
  // Each test then opens its own view from scratch (a hash-only goto would not reload).
  await page.goto('about:blank');
  page.on('close', () => { context.close().catch(() => {}); });
  return page;
}

// The dataset's description (`/v1/gemeenten`, `/v1/regions`) changed on its way to the page,
// for what the demo does not hold (many gemeenten, a region of mixed levels); the areas
// themselves still come from the server.
async function beschrijving(page, pad, wijzig) {
  await page.route(`**${pad}`, async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    wijzig(body);
    await route.fulfill({ response: res, json: body });
  });
}

// The tooltip of a drawn area whose property `naam` is `waarde` (the mouse over its middle),
// or null when no such area is drawn where the mouse can point at it.
async function tooltipVan(page, naam, waarde) {
  const pt = await page.evaluate(([naam, waarde]) => {
    const m = window.wijkradar.map;
    const r = document.getElementById('kaart').getBoundingClientRect();
    for (const f of window.wijkradar.data.features.filter((x) => (x.properties[naam] ?? null) === waarde)) {
      const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
      const lon = ring.reduce((a, c) => a + c[0], 0) / ring.length;
      const lat = ring.reduce((a, c) => a + c[1], 0) / ring.length;
      const p = m.project([lon, lat]);
      const under = m.queryRenderedFeatures([p.x, p.y], { layers: ['vlakken-alle'] });
      if (under[0]?.properties.code === f.properties.code && p.x > 0 && p.y > 0 && p.x < r.width && p.y < r.height) {
        return { x: r.left + p.x, y: r.top + p.y };
      }
    }
    return null;
  }, [naam, waarde]);
  if (!pt) return null;
  await page.mouse.move(pt.x, pt.y);
  await page.waitForSelector('#tooltip:not([hidden])', { timeout: 10000 });
  return page.textContent('#tooltip');
}

after(async () => {
  await browser?.close();
  server?.kill();
});

test('the map draws Venlo, a click opens the side panel with code and chart', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const drawn = await page.evaluate(() => window.wijkradar.map.queryRenderedFeatures({ layers: ['vlak', 'onderdrukt'] }).length);
  assert.ok(drawn >= 15, `only ${drawn} wijken rendered`);
  // Place names: Klingerberg's label is on the map, visible, and without overlap with others.
  const view = await page.evaluate(() => ({ center: window.wijkradar.map.getCenter().toArray(), zoom: window.wijkradar.map.getZoom() }));
  await page.evaluate(() => window.wijkradar.map.jumpTo({ zoom: 12 }));
  await page.waitForFunction(() => [...document.querySelectorAll('.plaatsnaam')].some((e) => e.textContent === 'Klingerberg' && e.style.visibility === 'visible'), null, { timeout: 10000 });
  const overlap = await page.evaluate(() => {
    const r = [...document.querySelectorAll('.plaatsnaam')].filter((e) => e.style.visibility === 'visible').map((e) => e.getBoundingClientRect());
    return r.some((a, i) => r.some((b, j) => i < j && a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top));
  });
  assert.equal(overlap, false, 'two place names over each other');
  await page.evaluate(() => window.wijkradar.map.jumpTo({ zoom: 9 }));
  await page.waitForFunction(() => [...document.querySelectorAll('.plaatsnaam')].every((e) => e.style.visibility === 'hidden'), null, { timeout: 10000 });
  await page.evaluate((v) => window.wijkradar.map.jumpTo(v), view);
  const legend = await page.textContent('#legenda');
  assert.match(legend, /Drukindex/);
  assert.match(legend, /onderdrukt/);
  // Click the centre of Klingerberg on the map.
  const pt = await page.evaluate(() => {
    const f = window.wijkradar.data.features.find((x) => x.properties.code === 'WK098325');
    const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    const lon = ring.reduce((a, c) => a + c[0], 0) / ring.length;
    const lat = ring.reduce((a, c) => a + c[1], 0) / ring.length;
    const p = window.wijkradar.map.project([lon, lat]);
    const r = document.getElementById('kaart').getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  });
  await page.mouse.move(pt.x, pt.y);
  await page.waitForSelector('#tooltip:not([hidden])', { timeout: 10000 });
  assert.match(await page.textContent('#tooltip'), /Klingerberg/);
  await page.mouse.click(pt.x, pt.y);
  await page.waitForSelector('#paneel-code', { timeout: 15000 });
  assert.equal(await page.textContent('#paneel-code'), 'WK098325');
  await page.waitForFunction(() => { const i = document.getElementById('trend-grafiek'); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 15000 });
  // With the index chosen, the charts show the index, not some indicator.
  assert.match(await page.getAttribute('#trend-grafiek', 'src'), /indicator=index/);
  assert.match(await page.getAttribute('#verdeling-grafiek', 'src'), /indicator=index/);
  await page.waitForFunction(() => { const i = document.getElementById('bijdragen-grafiek'); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 15000 });
  assert.match(page.url(), /selectie=wijken%2FWK098325|selectie=wijken\/WK098325/);
  // The LSI project in Klingerberg shows its before/after effect in the panel.
  await page.waitForSelector('#effect tbody tr', { timeout: 15000 });
  assert.match(await page.textContent('#interventies'), /LSI-project Klingerberg/);
  assert.match(await page.textContent('#effect'), /Veiligheidsbeleving/);
  await page.screenshot({ path: join(out, 'map.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('H3 cells, search, period slider and the URL reproduce a view', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1024, height: 768 } });
  await page.goto(`${base}/#laag=h3-9&indicator=overlast&periode=2024-Q3&kaart=12.5/51.375/6.13`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const n = await page.evaluate(() => window.wijkradar.map.queryRenderedFeatures({ layers: ['vlak', 'onderdrukt'] }).length);
  assert.ok(n > 50, `only ${n} H3 cells rendered`);
  assert.equal(await page.textContent('#periode-label'), '2024-Q3');
  await page.fill('#zoek', 'Klingerberg-Noord');
  await page.waitForSelector('#zoek-resultaten li[data-i]', { timeout: 10000 });
  await page.click('#zoek-resultaten li[data-i]');
  await page.waitForFunction(() => document.getElementById('paneel-code')?.textContent === 'BU09832502', null, { timeout: 15000 });
  await page.screenshot({ path: join(out, 'search.png') });
  await page.close();
});

test('keyboard only: search with arrow keys, the panel, Esc, the ranking', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  // Map controls speak Dutch.
  assert.ok(await page.$('button[title="Inzoomen"]'), 'zoom button in Dutch');
  await page.focus('#zoek');
  await page.keyboard.type('Klingerberg');
  await page.waitForSelector('#zoek-resultaten li[data-i]', { timeout: 10000 });
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const chosen = await page.$eval('#zoek-resultaten li[aria-selected="true"]', (li) => li.dataset.i);
  assert.equal(chosen, '1');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#paneel:not([hidden]) #paneel-code', { timeout: 15000 });
  // Panel links are reachable with Tab.
  const links = await page.$$eval('#paneel-inhoud a[data-laag]', (as) => as.map((a) => a.tabIndex));
  assert.ok(links.length > 0 && links.every((t) => t >= 0), `links ${links}`);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#paneel', { state: 'hidden', timeout: 5000 });
  // The ranking: rows take focus, Enter opens the area.
  await page.click('#rangorde-knop');
  await page.waitForSelector('#rangorde tbody tr[tabindex="0"]', { timeout: 15000 });
  await page.focus('#rangorde tbody tr');
  const code = await page.$eval('#rangorde tbody tr', (tr) => tr.dataset.code);
  await page.keyboard.press('Enter');
  await page.waitForFunction((c) => document.getElementById('paneel-code')?.textContent === c, code, { timeout: 15000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('suppression explains itself: tooltip, legend, and a coarser level offered', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#gemeente=GM0983&laag=buurten&indicator=handhaving_huisvesting`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const legend = await page.textContent('#legenda');
  assert.match(legend, /ander cijfer te beschermen/);
  assert.doesNotMatch(legend, /∞|Infinity|NaN/);
  assert.match(legend, /onderdrukt/);
  // Hidden in most buurten: the legend offers the wijken, and the link switches.
  await page.waitForSelector('#grover', { timeout: 5000 });
  await page.click('#grover');
  await page.waitForFunction(() => document.getElementById('laag').value === 'wijken', null, { timeout: 10000 });
  // Hovering a hatched area says why it is hatched.
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const tip = await tooltipVan(page, 'handhaving_huisvesting_rate', null);
  if (tip !== null) assert.match(tip, /onderdrukt: minder dan \d+ gevallen, of verborgen om een ander cijfer te beschermen/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the gemeente picker lists gemeenten by name, whatever order the API gives them in; with many, the regions come first and the map opens on all of them', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  // The API lists gemeenten by code; here in the reverse order, so that code order and name
  // order differ (Venlo, Haarlem), as they do for most of a national dataset's 342.
  await beschrijving(page, '/v1/gemeenten', (body) => body.gemeenten.reverse());
  await page.goto(`${base}/#laag=wijken&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const namen = await page.$$eval('#gemeente > option', (os) => os.map((o) => o.textContent));
  assert.deepEqual(namen, ['Alle gemeenten (2)', 'Haarlem', 'Venlo']);
  // The start view is still the dataset's first gemeente.
  assert.equal(await page.inputValue('#gemeente'), 'GM0983');
  await page.close();
  // With many gemeenten (a national analyst's 342) the regions come first, the gemeenten in a
  // group of their own after them. Here twenty more named in the dataset's description.
  const veel = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  await beschrijving(veel, '/v1/gemeenten', (body) => {
    const venlo = body.gemeenten.find((g) => g.code === 'GM0983');
    for (let i = 1; i <= 20; i++) body.gemeenten.push({ ...venlo, code: `GM9${String(i).padStart(3, '0')}`, naam: `Testgemeente ${String(i).padStart(2, '0')}` });
  });
  await veel.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index`);
  await veel.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const groepen = await veel.$$eval('#gemeente > optgroup', (gs) => gs.map((g) => [g.label, g.querySelectorAll('option').length]));
  assert.equal(groepen.length, 2, JSON.stringify(groepen));
  assert.match(groepen[0][0], /RIEC-regio/);
  assert.deepEqual(groepen[1], ['Gemeenten', 22]);
  const eerste = await veel.$$eval('#gemeente > optgroup:last-child option', (os) => os.slice(0, 3).map((o) => o.textContent));
  assert.deepEqual(eerste, ['Haarlem', 'Testgemeente 01', 'Testgemeente 02']);
  assert.equal(await veel.inputValue('#gemeente'), 'GM0983');
  // Opened without a view, all of them side by side on the Gemeenten layer (the twenty added
  // ones have no areas of their own: Haarlem and Venlo are drawn).
  await veel.goto('about:blank');
  const klassen = [];
  veel.on('response', (r) => { if (r.url().includes('/v1/classes/')) klassen.push([r.url(), r.status()]); });
  await veel.goto(`${base}/`);
  await veel.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.equal(await veel.inputValue('#gemeente'), 'alle');
  // The fixed classes of all of them are asked without naming each (the API then takes every
  // gemeente the user may see); naming the twenty made-up codes had got a 404.
  assert.deepEqual(klassen.map(([u, s]) => [new URL(u).search, s]), [['', 200]]);
  assert.equal(await veel.inputValue('#laag'), 'gemeenten');
  assert.deepEqual(await veel.evaluate(() => window.wijkradar.data.features.map((f) => f.properties.code).sort()), ['GM0392', 'GM0983']);
  await veel.close();
});

test('the gemeenten layer sets the chosen gemeenten side by side; a user of one gemeente is not offered it', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Nothing the browser itself reports as an error either.
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`); });
  await page.goto(`${base}/#gemeente=GM0983&laag=gemeenten&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.equal(await page.inputValue('#laag'), 'gemeenten');
  assert.equal(await page.$eval('#laag option[value="gemeenten"]', (o) => o.hidden), false);
  const props = await page.evaluate(() => window.wijkradar.data.features.map((f) => f.properties));
  assert.deepEqual(props.map((p) => [p.level, p.code]), [['gemeenten', 'GM0983']]);
  assert.equal(typeof props[0].index, 'number', 'the index of the gemeente against all loaded gemeenten');
  assert.match(await page.textContent('#legenda'), /Gemeenten · \d{4}-Q\d · vergeleken met alle geladen gemeenten/);
  // The API's figure is what is drawn.
  const api = await page.evaluate(async () => (await (await fetch('/v1/collections/gemeenten/items?gemeente=GM0983&reference=alle')).json()).features[0].properties.index);
  assert.equal(props[0].index, api);
  assert.deepEqual(errors, []);
  await page.close();
  // Venlo's adviser sees one gemeente: nothing to set side by side, and a link that asks for
  // it opens the default layer.
  const adviseur = await aangemeld('adviseur-venlo', { viewport: { width: 1280, height: 800 } });
  await adviseur.goto(`${base}/#gemeente=GM0983&laag=gemeenten&indicator=index`);
  await adviseur.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.equal(await adviseur.$eval('#laag option[value="gemeenten"]', (o) => o.hidden), true);
  assert.equal(await adviseur.inputValue('#laag'), 'wijken');
  assert.match(adviseur.url(), /laag=wijken/);
  await adviseur.close();
});

test('the gemeente picker follows the dataset: Haarlem and Venlo', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  await page.goto(`${base}/#gemeente=GM0392&laag=wijken&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const options = await page.$$eval('#gemeente option', (os) => os.map((o) => o.value));
  assert.ok(options.includes('GM0392') && options.includes('GM0983'), `${options}`);
  const codes = await page.evaluate(() => window.wijkradar.data.features.map((f) => f.properties.gemeente));
  assert.ok(codes.length >= 15 && codes.every((c) => c === 'GM0392'), `${codes.length} features`);
  assert.match(await page.getAttribute('#briefing-link', 'href'), /GM0392/);
  // The region briefing of the chosen gemeente's RIEC region.
  assert.equal(await page.getAttribute('#regio-link', 'href'), '/briefing/region/noord-holland');
  assert.equal(await page.textContent('#regio-link'), 'Briefing RIEC Noord-Holland');
  await page.selectOption('#gemeente', 'GM0983');
  await page.waitForFunction(() => window.wijkradar.data.features.every((f) => f.properties.gemeente === 'GM0983'), null, { timeout: 30000 });
  assert.match(page.url(), /gemeente=GM0983/);
  assert.equal(await page.getAttribute('#regio-link', 'href'), '/briefing/region/limburg');
  const regio = await page.context().newPage();
  await regio.goto(`${base}/briefing/region/limburg`);
  assert.match(await regio.textContent('h1'), /RIEC Limburg/);
  assert.ok(await regio.isVisible('#top'), 'the region ranking table');
  await regio.close();
  await page.screenshot({ path: join(out, 'gemeenten.png') });
  // A RIEC region in the picker: its loaded gemeenten together, on the map, in the ranking
  // (the region's own, standardised against it) and in the briefing link.
  const regios = await page.$$eval('#gemeente optgroup option', (os) => os.map((o) => o.value));
  assert.ok(regios.includes('regio:limburg') && regios.includes('regio:noord-holland'), `${regios}`);
  await page.selectOption('#gemeente', 'regio:noord-holland');
  await page.waitForFunction(() => window.wijkradar.data.features.length > 0 && window.wijkradar.data.features.every((f) => f.properties.gemeente === 'GM0392'), null, { timeout: 30000 });
  assert.match(page.url(), /gemeente=regio%3Anoord-holland/);
  assert.equal(await page.getAttribute('#briefing-link', 'href'), '/briefing/region/noord-holland');
  assert.ok(await page.isHidden('#regio-link'));
  await page.click('#rangorde-knop');
  await page.waitForSelector('#rangorde tbody tr[tabindex="0"]', { timeout: 15000 });
  const gerangschikt = await page.$$eval('#rangorde tbody tr', (rs) => rs.map((r) => r.dataset.code));
  assert.ok(gerangschikt.length >= 10 && gerangschikt.every((c) => c.startsWith('WK0392')), `${gerangschikt}`);
  await page.click('#rangorde-sluit');
  // The view is shared by its link: the region comes back.
  const gedeeld = await page.context().newPage();
  await gedeeld.goto(page.url());
  await gedeeld.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.equal(await gedeeld.$eval('#gemeente', (e) => e.value), 'regio:noord-holland');
  await gedeeld.close();
  await page.close();
});

test('a gemeente without buurten says so: the layer gives way to wijken, the choice is marked, the ranking too; an unknown layer in a link gives way to the default', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  // Haarlem's shipped boundaries have wijken but no buurten.
  await page.goto(`${base}/#gemeente=GM0392&laag=buurten&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.equal(await page.$eval('#laag', (e) => e.value), 'wijken');
  assert.match(page.url(), /laag=wijken/);
  const uit = await page.$$eval('#laag option', (os) => os.filter((o) => o.disabled).map((o) => `${o.value}: ${o.textContent}`));
  assert.deepEqual(uit, ['buurten: Buurten (niet geladen)']);
  const drawn = await page.evaluate(() => window.wijkradar.map.queryRenderedFeatures({ layers: ['vlak', 'onderdrukt'] }).length);
  assert.ok(drawn >= 15, `only ${drawn} wijken drawn`);
  assert.match(await page.textContent('#ontbreekt'), /Haarlem heeft in de geladen grenzen geen buurten: die laag blijft leeg; de andere niveaus werken wel\. Een beheerder laadt ze met wijkradar boundaries import/);
  assert.deepEqual(await page.$$eval('#rangorde-niveau option', (os) => os.filter((o) => o.disabled).map((o) => o.value)), ['buurten']);
  // The ranking also takes postcode areas (what a gemeente without wijken ranks).
  await page.click('#rangorde-knop');
  await page.selectOption('#rangorde-niveau', 'pc4');
  await page.waitForSelector('#rangorde tbody tr[data-laag="pc4"]', { timeout: 15000 });
  const pc4 = await page.$$eval('#rangorde tbody tr[data-code]', (rs) => rs.map((r) => r.dataset.code));
  // Haarlem's (20xx, and a PC4 over its border that the stated rule gives to Haarlem).
  assert.ok(pc4.length >= 5 && pc4.every((c) => /^2\d\d\d$/.test(c)) && pc4.filter((c) => c.startsWith('20')).length >= pc4.length - 2, `${pc4}`);
  await page.selectOption('#rangorde-niveau', 'wijken');
  await page.click('#rangorde-sluit');
  // Venlo has buurten: they can be chosen again, and nothing is said to be missing.
  await page.selectOption('#gemeente', 'GM0983');
  await page.waitForFunction(() => window.wijkradar.data.features.every((f) => f.properties.gemeente === 'GM0983'), null, { timeout: 30000 });
  assert.deepEqual(await page.$$eval('#laag option', (os) => os.filter((o) => o.disabled).length), 0);
  assert.equal(await page.$('#ontbreekt'), null);
  await page.selectOption('#laag', 'buurten');
  await page.waitForFunction(() => window.wijkradar.geladenLaag === 'buurten' && document.body.dataset.geladen === 'true', null, { timeout: 30000 });
  // Back to Haarlem with buurten chosen: the map shows Haarlem's wijken instead.
  await page.selectOption('#gemeente', 'GM0392');
  await page.waitForFunction(() => window.wijkradar.geladenLaag === 'wijken' && window.wijkradar.data.features.every((f) => f.properties.gemeente === 'GM0392'), null, { timeout: 30000 });
  assert.equal(await page.$eval('#laag', (e) => e.value), 'wijken');
  // A link with a layer the map does not know (edited, or from an old version).
  await page.goto('about:blank');
  await page.goto(`${base}/#gemeente=GM0983&laag=h3&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.equal(await page.$eval('#laag', (e) => e.value), 'wijken');
  // A link pasted into the same tab (only the hash changes) opens the view it names.
  await page.evaluate(() => { location.hash = 'gemeente=GM0392&laag=buurten&indicator=index'; });
  await page.waitForFunction(() => window.wijkradar?.klaar && window.wijkradar.staat.gemeente === 'GM0392' && window.wijkradar.data?.features.every((f) => f.properties.gemeente === 'GM0392'), null, { timeout: 60000 });
  assert.equal(await page.$eval('#gemeente', (e) => e.value), 'GM0392');
  assert.equal(await page.$eval('#laag', (e) => e.value), 'wijken');
  await page.close();
});

test('on a phone (390×844) the header and legend fold, the panel shows the project effect whole', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index&selectie=wijken/WK098325`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const header = await page.$eval('#balk', (b) => b.getBoundingClientRect().height);
  assert.ok(header < 844 * 0.2, `header ${header}px high`);
  const legend = await page.$eval('#legenda', (l) => l.getBoundingClientRect().height);
  assert.ok(legend < 60, `legend ${legend}px high when folded`);
  await page.screenshot({ path: join(out, 'phone-folded.png') });
  await page.click('#menu-knop');
  assert.ok(await page.isVisible('#laag'), 'the layer choice shows after Meer');
  // Every control of the opened header fits the screen's width (none cut off at the edge).
  // (Against the phone's width: a mobile browser widens innerWidth to fit what overflows.)
  const cut = await page.$$eval('#balk button, #balk a, #balk label, #balk select, #balk input', (es, w) => es
    .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
    .filter((e) => e.getBoundingClientRect().right > w + 1)
    .map((e) => e.textContent.trim() || e.id), page.viewportSize().width);
  assert.deepEqual(cut, [], 'header controls cut off at the right edge');
  await page.waitForSelector('#effect tbody tr', { timeout: 20000 });
  const overflow = await page.$eval('#effect', (t) => t.scrollWidth - t.parentElement.clientWidth);
  assert.ok(overflow <= 1, `effect table runs ${overflow}px off the panel`);
  await page.screenshot({ path: join(out, 'phone.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('change over time: classes stay fixed while the quarters play; the change map shows Klingerberg\'s overlast rising', async () => {
  const page = await aangemeld('adviseur-venlo', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=overlast&periode=2024-Q1`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const klasse = () => page.evaluate(() => {
    const f = window.wijkradar.data.features.find((x) => x.properties.code === 'WK098325');
    const b = window.wijkradar.grenzen.indicators.find((x) => x.indicator === 'overlast').breaks;
    return b.filter((x) => f.properties.overlast_rate >= x).length;
  });
  const rijen = async () => (await page.$$eval('#legenda .rij', (rs) => rs.map((r) => r.textContent))).join('|');
  assert.match(await page.textContent('#legenda'), /vast over alle kwartalen/);
  const [k1, r1] = [await klasse(), await rijen()];
  await page.$eval('#periode', (e) => { e.value = '3'; e.dispatchEvent(new Event('input')); });
  await page.waitForFunction(() => document.body.dataset.geladen === 'true' && window.wijkradar.staat.periode === '2024-Q4', null, { timeout: 30000 });
  const [k2, r2] = [await klasse(), await rijen()];
  assert.equal(r2, r1, 'the class breaks moved with the quarter');
  assert.ok(k2 > k1, `Klingerberg stayed in class ${k1} while overlast rose`);
  // The change map since 2024-Q1: Klingerberg clearly more pressure, drawn in colour.
  await page.selectOption('#vanaf', '2024-Q1');
  await page.waitForFunction(() => document.body.dataset.geladen === 'true' && window.wijkradar.wijziging?.from === '2024-Q1', null, { timeout: 30000 });
  const kb = await page.evaluate(() => window.wijkradar.data.features.find((x) => x.properties.code === 'WK098325').properties);
  assert.equal(kb.verandering_richting, 'meer_druk', JSON.stringify(kb));
  assert.ok(kb.verandering > 5, `change ${kb.verandering}`);
  const drawn = await page.evaluate(() => window.wijkradar.map.queryRenderedFeatures({ layers: ['vlak'] }).some((f) => f.properties.code === 'WK098325'));
  assert.ok(drawn, 'Klingerberg not coloured on the change map');
  const legend = await page.textContent('#legenda');
  assert.match(legend, /Verandering: .*overlast/i);
  assert.match(legend, /duidelijk meer druk \(\d+\)/);
  assert.match(legend, /2024-Q1 → 2024-Q4/);
  assert.match(page.url(), /vanaf=2024-Q1/);
  // Most wijken did not change beyond their uncertainty: not coloured as if they did.
  const summary = await page.evaluate(() => window.wijkradar.wijziging.summary);
  assert.ok(summary.geen_verandering > summary.meer_druk, JSON.stringify(summary));
  await page.evaluate(() => window.wijkradar.map.jumpTo({ zoom: 12, center: [6.175, 51.372] }));
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 30000 });
  await page.screenshot({ path: join(out, 'verandering.png') });
  // The index of Venlo's buurten: most unknown changes are of an index too uncertain to
  // compare, not of a suppressed one, and the legend and the tooltip say which.
  await page.selectOption('#laag', 'buurten');
  await page.selectOption('#indicator', 'index');
  await page.waitForFunction(() => document.body.dataset.geladen === 'true' && window.wijkradar.wijziging?.indicator === 'index' && window.wijkradar.geladenLaag === 'buurten', null, { timeout: 30000 });
  const s = await page.evaluate(() => window.wijkradar.wijziging.summary);
  assert.ok(s.onbekend_onzeker > 0 && s.onbekend_onderdrukt > 0, JSON.stringify(s));
  const hatched = (await page.$$eval('#legenda .rij', (rs) => rs.map((r) => r.textContent))).find((t) => t.startsWith('onbekend'));
  assert.equal(hatched, `onbekend (${s.onbekend}):`);
  assert.deepEqual(await page.$$eval('#legenda ul.waarom li', (ls) => ls.map((l) => l.textContent)), [
    `onderdrukt in een van beide kwartalen: minder dan 10 gevallen, of verborgen om een ander cijfer te beschermen (${s.onbekend_onderdrukt})`,
    `de index te onzeker om te vergelijken (te veel van zijn indicatoren onderdrukt) (${s.onbekend_onzeker})`,
  ]);
  await page.evaluate(() => window.wijkradar.map.jumpTo({ zoom: 11, center: [6.17, 51.37] }));
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 30000 });
  const onzeker = await tooltipVan(page, 'verandering_reden', 'onzeker');
  assert.ok(onzeker, 'no uncertain buurt to point at');
  assert.match(onzeker, /verandering onbekend: de index te onzeker om te vergelijken/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('an index of low confidence is drawn faint, counted in the legend and named in the tooltip', async () => {
  const page = await aangemeld('adviseur-venlo', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#gemeente=GM0983&laag=buurten&indicator=index&kaart=11/51.37/6.17`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const { laag, api } = await page.evaluate(async () => {
    const codes = (fs) => fs.filter((f) => f.properties.index_low_confidence === true).map((f) => f.properties.code).sort();
    const fc = await (await fetch(`/v1/collections/buurten/items?gemeente=GM0983&limit=1000&datetime=${window.wijkradar.staat.periode}`)).json();
    return { laag: codes(window.wijkradar.data.features), api: codes(fc.features) };
  });
  assert.ok(laag.length > 0, 'no buurt of low confidence in the demo');
  assert.deepEqual(laag, api, 'the map knows which indexes are of low confidence');
  assert.match(await page.textContent('#laag-vertrouwen'), new RegExp(`lichter: laag vertrouwen: .*\\(${laag.length}\\)`));
  const opacity = await page.evaluate(() => window.wijkradar.map.getPaintProperty('vlak', 'fill-opacity'));
  assert.deepEqual(opacity, ['case', ['==', ['get', 'index_low_confidence'], true], 0.3, 0.78]);
  const tip = await tooltipVan(page, 'index_low_confidence', true);
  assert.ok(tip, 'no faint buurt to point at');
  assert.match(tip, /index -?\d+,\d+ \(klasse \d\); laag vertrouwen/);
  // Another indicator: every area at full strength, no such row.
  await page.selectOption('#indicator', 'overlast');
  await page.waitForFunction(() => document.body.dataset.geladen === 'true' && window.wijkradar.staat.indicator === 'overlast', null, { timeout: 30000 });
  assert.equal(await page.evaluate(() => window.wijkradar.map.getPaintProperty('vlak', 'fill-opacity')), 0.78);
  assert.equal(await page.$('#laag-vertrouwen'), null);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the index is set against all gemeenten, the own gemeente or the region, as chosen, and the link keeps the choice', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.ok(await page.isVisible('#referentie'), 'two gemeenten loaded: the choice is offered');
  assert.equal(await page.$eval('#referentie', (e) => e.value), 'alle');
  assert.match(await page.textContent('#legenda'), /vergeleken met alle geladen gemeenten/);
  const index = () => page.evaluate(() => window.wijkradar.data.features.find((f) => f.properties.code === 'WK098325').properties.index);
  const tegenAlle = await index();
  await page.selectOption('#referentie', 'gemeente');
  await page.waitForFunction((v) => document.body.dataset.geladen === 'true'
    && window.wijkradar.data.features.find((f) => f.properties.code === 'WK098325').properties.index !== v, tegenAlle, { timeout: 30000 });
  // Klingerberg's colour now comes from its index against Venlo's wijken: the API's own figure.
  const tegenVenlo = await index();
  const gerangschikt = await page.evaluate(async () => (await (await fetch('/v1/ranking/GM0983?reference=gemeente')).json()).ranking.find((x) => x.code === 'WK098325').index);
  assert.ok(Math.abs(tegenVenlo - gerangschikt) < 6e-4, `${tegenVenlo} against ${gerangschikt}`);
  assert.match(await page.textContent('#legenda'), /vergeleken met Venlo/);
  assert.match(page.url(), /ref=gemeente/);
  // The wethouder's briefing from here compares the same way.
  assert.equal(await page.getAttribute('#briefing-link', 'href'), '/briefing/GM0983?reference=gemeente');
  // The ranking follows the choice.
  await page.click('#rangorde-knop');
  await page.waitForSelector('#rangorde tbody tr[data-code]', { timeout: 20000 });
  // A shared link opens the same comparison, and the panel says what the index is set against.
  const gedeeld = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  await gedeeld.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index&ref=gemeente&selectie=wijken/WK098325`);
  await gedeeld.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.equal(await gedeeld.$eval('#referentie', (e) => e.value), 'gemeente');
  await gedeeld.waitForSelector('#index-uitleg', { timeout: 20000 });
  assert.match(await gedeeld.textContent('#index-uitleg'), /gemiddelde van alle wijken in Venlo/);
  for (const grafiek of ['#bijdragen-grafiek', '#trend-grafiek', '#verdeling-grafiek']) {
    assert.match(await gedeeld.getAttribute(grafiek, 'src'), /reference=gemeente/, grafiek);
  }
  await gedeeld.close();
  // A region is set against the region unless chosen otherwise, as its ranking.
  await page.goto('about:blank');
  await page.goto(`${base}/#gemeente=regio%3Alimburg&laag=wijken&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.equal(await page.$eval('#referentie', (e) => e.value), 'regio');
  assert.match(await page.textContent('#legenda'), /vergeleken met RIEC Limburg/);
  assert.deepEqual(errors, []);
  await page.close();
  // One gemeente in view: nothing to choose.
  const venlo = await aangemeld('adviseur-venlo', { viewport: { width: 1280, height: 800 } });
  await venlo.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index`);
  await venlo.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.ok(await venlo.isHidden('#referentie-blok'));
  await venlo.close();
});

test('the project monitor: target indicator, a plain verdict with its interval, comparison wijken on the map', async () => {
  const page = await aangemeld('adviseur-venlo', { viewport: { width: 1280, height: 800 } });
  await page.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index&selectie=wijken/WK098325`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  await page.waitForSelector('#project-oordeel', { timeout: 20000 });
  // The index says what it is and what it is compared with: every loaded gemeente's wijken,
  // also those of a gemeente this adviser does not see.
  const uitleg = await page.textContent('#index-uitleg');
  assert.match(uitleg, /standaardafwijkingen boven het gemiddelde van alle wijken in alle 2 geladen gemeenten/);
  assert.match(uitleg, /klasse 9 van 9: veel meer druk/);
  assert.match(await page.getAttribute('#profiel-link', 'href'), /^\/profiel\/wijken\/WK098325/);
  const kop = await page.textContent('#project-oordeel');
  assert.match(kop, /overlast/i);
  assert.match(kop, /aantoonbaar verbeterd|niet aantoonbaar veranderd|aantoonbaar verslechterd/);
  const doel = await page.textContent('#effect tr.doel');
  assert.match(doel, /overlast/i);
  assert.match(doel, /…/, 'the interval is shown');
  await page.click('a.toon-vergelijking');
  const filter = await page.evaluate(() => window.wijkradar.map.getFilter('vergelijking'));
  const codes = filter[2][1];
  assert.ok(codes.length >= 3 && !codes.includes('WK098325'), JSON.stringify(filter));
  await page.waitForFunction(() => window.wijkradar.map.queryRenderedFeatures({ layers: ['vergelijking'] }).length > 0, null, { timeout: 10000 });
  await page.screenshot({ path: join(out, 'project.png') });
  await page.click('#paneel-sluit');
  assert.deepEqual(await page.evaluate(() => window.wijkradar.map.getFilter('vergelijking')[2][1]), []);
  await page.close();
});

test('loading and failures: a failed layer says so, keeps the drawn layer and retries; an unreachable background map says so; the gemeente outline is drawn', async () => {
  const page = await aangemeld('adviseur-venlo', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/v1/collections/buurten/items*', (r) => r.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Overbelast', status: 503, detail: 'tijdelijk niet beschikbaar' }) }));
  await page.route('https://service.pdok.nl/**', (r) => r.abort());
  await page.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.ok(await page.evaluate(() => window.wijkradar.map.queryRenderedFeatures({ layers: ['gemeente-grens'] }).length > 0), 'no gemeente outline');
  assert.equal(await page.isVisible('#status'), false);
  await page.selectOption('#laag', 'buurten');
  await page.waitForFunction(() => document.body.dataset.geladen === 'fout', null, { timeout: 30000 });
  assert.match(await page.textContent('#status'), /Buurten kon niet geladen worden \(503: tijdelijk niet beschikbaar\)\. De kaart toont nog Wijken/);
  assert.equal(await page.inputValue('#laag'), 'wijken');
  assert.match(await page.textContent('#legenda'), /Wijken/);
  assert.ok(await page.evaluate(() => window.wijkradar.data.features.every((f) => f.properties.code.startsWith('WK'))));
  assert.doesNotMatch(page.url(), /laag=buurten/);
  // The service is back: one click draws the layer that was asked for.
  await page.unroute('**/v1/collections/buurten/items*');
  await page.click('#opnieuw');
  await page.waitForFunction(() => document.body.dataset.geladen === 'true' && window.wijkradar.geladenLaag === 'buurten', null, { timeout: 30000 });
  assert.equal(await page.inputValue('#laag'), 'buurten');
  assert.match(await page.textContent('#legenda'), /Buurten/);
  assert.equal(await page.isVisible('#status'), false);
  // The background map cannot be reached here: it says so and stays off.
  // A click, not check(): the box may already be unticked again by the time check() looks.
  await page.click('#achtergrond');
  await page.waitForFunction(() => /niet bereikbaar/.test(document.getElementById('status').textContent), null, { timeout: 15000 });
  assert.equal(await page.isChecked('#achtergrond'), false);
  assert.equal(await page.evaluate(() => window.wijkradar.map.getLayoutProperty('brt', 'visibility')), 'none');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the briefing: one A4 plus a detail page; the top wijk, what changed and the project verdict in the first half', async () => {
  const page = await aangemeld('wethouder-venlo', { viewport: { width: 794, height: 1123 } });
  await page.goto(`${base}/briefing/GM0983`);
  await page.emulateMedia({ media: 'print' });
  const text = await page.textContent('body');
  assert.match(text, /Wijken met de meeste druk/);
  assert.match(await page.textContent('#kort-top'), /Klingerberg/);
  assert.match(await page.textContent('#kort-veranderd'), /Sinds 2025-Q3/);
  assert.match(await page.textContent('#kort-project'), /LSI-project Klingerberg.*(aantoonbaar verbeterd|niet aantoonbaar veranderd|aantoonbaar verslechterd)/s);
  // A4 at 96 dpi is 1123 px high; the three lines end in its first half.
  const bottom = await page.$eval('#kort', (e) => e.getBoundingClientRect().bottom);
  assert.ok(bottom < 1123 / 2, `the summary ends at ${bottom}px`);
  // Ties are shown as ties: no rank is claimed that the intervals do not support.
  const ranks = await page.$$eval('.twee table tr td:first-child', (tds) => tds.map((t) => t.textContent.trim()));
  assert.ok(ranks.length >= 1 && ranks[0] === '1', JSON.stringify(ranks));
  // The map names Klingerberg, readable at print size.
  assert.match(await page.$eval('svg', (s) => s.textContent), /Klingerberg/);
  const pdf = await page.pdf({ format: 'A4', printBackground: true });
  writeFileSync(join(out, 'briefing.pdf'), pdf);
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.equal(pages, 2, `${pages} pages`);
  await page.screenshot({ path: join(out, 'briefing.png'), fullPage: false });
  await page.close();
});

test('without signing in the map sends to the login page; a wrong password is refused', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/#gemeente=GM0983&laag=wijken`);
  await page.waitForURL(/\/login\?next=/, { timeout: 30000 });
  await page.fill('#gebruiker', 'adviseur-venlo');
  await page.fill('#wachtwoord', 'niet-het-wachtwoord');
  await page.click('button[type=submit]');
  assert.match(await page.textContent('.fout'), /verkeerd wachtwoord/);
  const cookies = await context.cookies();
  assert.equal(cookies.length, 0, 'no session after a failed login');
  await context.close();
});

test('a search result in another gemeente switches to it as the picker does: a layer it lacks gives way, its border is drawn', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#gemeente=GM0983&laag=buurten&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  // Haarlem, the gemeente itself, from Venlo's buurten (Haarlem has no buurten loaded).
  await page.fill('#zoek', 'Haarlem');
  await page.waitForSelector('#zoek-resultaten li[data-i]');
  const eerste = await page.textContent('#zoek-resultaten li[data-i="0"]');
  assert.match(eerste, /GM0392 · Gemeenten/);
  // Haarlem's border is fetched and drawn (the layer itself is wijken).
  const grens = page.waitForResponse((r) => r.url().includes('/v1/collections/gemeenten/items?') && new URL(r.url()).searchParams.get('gemeente') === 'GM0392' && r.status() === 200, { timeout: 30000 });
  await page.click('#zoek-resultaten li[data-i="0"]');
  await grens;
  await page.waitForFunction(() => document.body.dataset.geladen === 'true' && window.wijkradar.geladenLaag === 'wijken'
    && window.wijkradar.data.features.length > 0 && window.wijkradar.data.features.every((f) => f.properties.gemeente === 'GM0392'), null, { timeout: 30000 });
  assert.equal(await page.inputValue('#gemeente'), 'GM0392');
  assert.equal(await page.inputValue('#laag'), 'wijken');
  assert.match(await page.textContent('#laag option[value="buurten"]'), /niet geladen/);
  assert.equal(await page.getAttribute('#briefing-link', 'href'), '/briefing/GM0392');
  assert.match(page.url(), /gemeente=GM0392&laag=wijken/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a region chosen whose gemeenten do not all have wijken is shown and ranked by postcode areas; a link keeps its layer', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // A region of two gemeenten of which one has no wijken: in the demo every region holds one
  // gemeente, so the dataset's description is changed on the way (Haarlem without wijken,
  // Limburg holding Haarlem too); the areas themselves come from the server unchanged.
  await beschrijving(page, '/v1/gemeenten', (body) => {
    for (const g of body.gemeenten) if (g.code === 'GM0392') g.lacking = ['wijken', 'buurten'];
  });
  await beschrijving(page, '/v1/regions', (body) => {
    for (const r of body.regions) if (r.id === 'limburg') r.gemeenten.push({ code: 'GM0392', naam: 'Haarlem' });
  });
  await page.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  await page.click('#rangorde-knop');
  await page.waitForSelector('#rangorde tbody tr[tabindex="0"]', { timeout: 15000 });
  assert.equal(await page.inputValue('#rangorde-niveau'), 'wijken');
  await page.selectOption('#gemeente', 'regio:limburg');
  await page.waitForFunction(() => document.body.dataset.geladen === 'true' && window.wijkradar.geladenLaag === 'pc4', null, { timeout: 30000 });
  assert.equal(await page.inputValue('#laag'), 'pc4');
  assert.equal(await page.inputValue('#rangorde-niveau'), 'pc4');
  const gemeenten = await page.evaluate(() => [...new Set(window.wijkradar.data.features.map((f) => f.properties.gemeente))].sort());
  assert.deepEqual(gemeenten, ['GM0392', 'GM0983']);
  await page.waitForFunction(() => [...document.querySelectorAll('#rangorde tbody tr[data-laag]')].every((r) => r.dataset.laag === 'pc4'), null, { timeout: 15000 });
  // Wijken stay a choice (Venlo has them); a link that asks for them keeps them.
  assert.equal(await page.$eval('#laag option[value="wijken"]', (o) => o.disabled), false);
  await page.goto('about:blank');
  await page.goto(`${base}/#gemeente=regio%3Alimburg&laag=wijken&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.equal(await page.inputValue('#laag'), 'wijken');
  // The ranking, which a link does not name, compares what all of them have.
  assert.equal(await page.inputValue('#rangorde-niveau'), 'pc4');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a layer larger than a page is loaded page by page, with only the properties the map draws; too many areas ask to zoom in', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Pages of 7 areas instead of 10,000, so that Venlo's wijken take several, as a national
  // H3 res-9 layer (46,634 cells) takes five. Only the map's layer requests are changed.
  const gevraagd = [];
  await page.route('**/v1/collections/*/items?*', async (route) => {
    const u = new URL(route.request().url());
    if ((u.searchParams.get('properties') ?? '').includes('index_class')) {
      gevraagd.push(u.pathname + u.search);
      if (u.searchParams.get('limit') === '10000') {
        u.searchParams.set('limit', '7');
        return route.continue({ url: u.toString() });
      }
    }
    return route.continue();
  });
  await page.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const alle = await page.evaluate(async () => (await (await fetch('/v1/collections/wijken/items?gemeente=GM0983&limit=10000')).json()));
  assert.ok(alle.numberMatched > 14, `${alle.numberMatched} wijken`);
  const getekend = await page.evaluate(() => window.wijkradar.data.features.map((f) => f.properties));
  const wijken = gevraagd.filter((u) => u.includes('/wijken/'));
  assert.equal(wijken.length, Math.ceil(alle.numberMatched / 7), wijken.join('\n'));
  assert.ok(wijken.slice(1).every((u) => /offset=\d+/.test(u)), 'the next links are followed');
  assert.deepEqual(getekend.map((p) => p.code).sort(), alle.features.map((f) => f.properties.code).sort(), 'every wijk, once');
  // Only what the map draws, names and shows in its tooltip.
  for (const p of getekend) assert.deepEqual(Object.keys(p).sort(), ['code', 'gemeente', 'index', 'index_class', 'index_low_confidence', 'level', 'naam']);
  const kb = alle.features.find((f) => f.properties.code === 'WK098325').properties;
  assert.equal(getekend.find((p) => p.code === 'WK098325').index, kb.index);
  // Another indicator loads its own figure, and is drawn.
  await page.selectOption('#indicator', 'overlast');
  await page.waitForFunction(() => document.body.dataset.geladen === 'true'
    && window.wijkradar.data.features.every((f) => 'overlast_rate' in f.properties), null, { timeout: 30000 });
  assert.equal(await page.evaluate(() => window.wijkradar.data.features.find((f) => f.properties.code === 'WK098325').properties.overlast_rate), kb.overlast_rate);
  assert.ok(await page.evaluate(() => window.wijkradar.map.queryRenderedFeatures({ layers: ['vlak'] }).length > 0));
  // More areas than the map loads at once (H3 res 10 over the whole country at a low zoom):
  // it says so, asks to zoom in and keeps the choice. The count is raised on the way.
  await page.route('**/v1/collections/h3-9/items?*', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    body.numberMatched = 150000;
    await route.fulfill({ response: res, json: body });
  });
  await page.selectOption('#laag', 'h3-9');
  await page.waitForFunction(() => document.body.dataset.geladen === 'te-veel', null, { timeout: 30000 });
  assert.match(await page.textContent('#status'), /150\.000 gebieden in beeld.*Zoom in/);
  assert.equal(await page.inputValue('#laag'), 'h3-9');
  assert.equal(await page.evaluate(() => window.wijkradar.data.features.length), 0);
  await page.waitForTimeout(400);
  assert.match(await page.textContent('#status'), /Zoom in/, 'the loading message does not overwrite it');
  assert.deepEqual(errors, []);
  await page.close();
});

test('all gemeenten at once: the whole dataset on one map and in one ranking, no briefing link, a link keeps the choice', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#gemeente=GM0983&laag=gemeenten&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  await page.selectOption('#gemeente', 'alle');
  // Loaded, with areas of both gemeenten.
  const beide = (codes) => document.body.dataset.geladen === 'true'
    && [...new Set(window.wijkradar.data.features.map((f) => f.properties.gemeente))].sort().join(',') === codes;
  await page.waitForFunction(beide, 'GM0392,GM0983', { timeout: 30000 });
  assert.equal(await page.inputValue('#laag'), 'gemeenten');
  assert.match(page.url(), /gemeente=alle/);
  // A briefing is for a gemeente or a region.
  assert.equal(await page.isVisible('#briefing-link'), false);
  assert.equal(await page.isVisible('#regio-link'), false);
  // One ranking over all of them, as the API gives it.
  await page.click('#rangorde-knop');
  await page.waitForSelector('#rangorde tbody tr[data-code]', { timeout: 15000 });
  const rangorde = await page.$$eval('#rangorde tbody tr[data-code]', (rs) => rs.map((r) => r.dataset.code));
  const api = await page.evaluate(async () => (await (await fetch(`/v1/ranking?level=${document.getElementById('rangorde-niveau').value}`)).json()).ranking.map((r) => r.code));
  assert.deepEqual(rangorde, api);
  assert.ok(rangorde.includes('WK098325') && rangorde.some((c) => c.startsWith('WK0392')), `${rangorde}`);
  // Wijken of both (Haarlem and Venlo have them), from a link.
  await page.goto('about:blank');
  await page.goto(`${base}/#gemeente=alle&laag=wijken&indicator=index`);
  await page.waitForFunction(beide, 'GM0392,GM0983', { timeout: 60000 });
  assert.equal(await page.inputValue('#gemeente'), 'alle');
  assert.equal(await page.inputValue('#laag'), 'wijken');
  assert.match(await page.textContent('#legenda'), /vergeleken met alle geladen gemeenten/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('an analyst exports what the map shows as a GeoPackage in RD New that GDAL reads; an adviser is not offered exports', async () => {
  const page = await aangemeld('riec-analist', { viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index&periode=2024-Q3`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  await page.click('#export summary');
  // Filled when the menu opens (its toggle event comes after the click).
  await page.waitForSelector('#export-menu a');
  const links = await page.$$eval('#export-menu a', (as) => as.map((a) => new URL(a.href)));
  assert.deepEqual(links.map((u) => u.searchParams.get('format')), ['gpkg', 'csv', 'geojson']);
  for (const u of links) {
    assert.equal(u.pathname, '/v1/exports');
    assert.deepEqual([u.searchParams.get('collection'), u.searchParams.get('gemeente'), u.searchParams.get('datetime')], ['wijken', 'GM0983', '2024-Q3']);
  }
  assert.match(await page.textContent('#export-menu p'), /Wijken · Venlo · 2024-Q3/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-menu a[href*="format=gpkg"]')]);
  const file = join(out, 'export-wijken-venlo.gpkg');
  await download.saveAs(file);
  // The menu closes once a download is chosen.
  await page.waitForFunction(() => !document.getElementById('export').open, null, { timeout: 5000 });
  // Read by GDAL, as QGIS would: every wijk on the map, in RD New.
  const info = spawnSync('ogrinfo', ['-so', '-al', file], { encoding: 'utf8' });
  assert.equal(info.status, 0, info.stderr);
  const wijken = await page.evaluate(() => window.wijkradar.data.features.length);
  assert.match(info.stdout, new RegExp(`Feature Count: ${wijken}\\b`), info.stdout.slice(0, 800));
  assert.match(info.stdout, /Amersfoort \/ RD New|EPSG","28992/, info.stdout.slice(0, 1500));
  assert.deepEqual(errors, []);
  await page.close();
  const adviseur = await aangemeld('adviseur-venlo', { viewport: { width: 1280, height: 800 } });
  await adviseur.goto(`${base}/#gemeente=GM0983&laag=wijken&indicator=index`);
  await adviseur.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.equal(await adviseur.isVisible('#export'), false);
  await adviseur.close();
});

test('a Venlo adviser sees Venlo only: no Haarlem in the picker, the map, the search or the briefing', async () => {
  const page = await aangemeld('adviseur-venlo', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#gemeente=GM0392&laag=wijken&indicator=index`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  const options = await page.$$eval('#gemeente option', (os) => os.map((o) => o.value));
  assert.deepEqual(options, ['GM0983']);
  const codes = await page.evaluate(() => window.wijkradar.data.features.map((f) => f.properties.gemeente));
  assert.ok(codes.length >= 15 && codes.every((c) => c === 'GM0983'), `${codes.length} features, ${[...new Set(codes)]}`);
  assert.match(await page.textContent('#gebruiker'), /adviseur-venlo/);
  await page.fill('#zoek', 'Haarlem');
  await page.waitForTimeout(800);
  const hits = await page.$$eval('#zoek-resultaten li', (ls) => ls.map((l) => l.textContent));
  assert.ok(hits.every((h) => !/Haarlem/.test(h)), `${hits}`);
  const r = await page.goto(`${base}/briefing/GM0392`);
  assert.equal(r.status(), 404);
  const own = await page.goto(`${base}/briefing/GM0983`);
  assert.equal(own.status(), 200);
  // Signing out ends the session on the server.
  await page.goto(`${base}/#gemeente=GM0983`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  await Promise.all([page.waitForURL(/\/login/), page.click('#afmelden')]);
  const after = await page.evaluate(async () => (await fetch('/v1/periods')).status);
  assert.equal(after, 401);
  assert.deepEqual(errors, []);
  await page.close();
});

test('an analyst makes a token for QGIS on the tokens page, sees it once, and revokes it', async () => {
  const page = await aangemeld('riec-analist', { viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/tokens.html`);
  await page.fill('#naam', 'QGIS browser-test');
  await page.selectOption('#scope', 'export');
  await page.click('#nieuw button[type=submit]');
  await page.waitForSelector('#token-geheim', { timeout: 10000 });
  const secret = await page.textContent('#token-geheim');
  assert.match(secret, /^wr_[A-Za-z0-9_-]{43}$/);
  // The token reads the OGC API outside the browser (as GDAL would, with Basic).
  const basic = Buffer.from(`riec-analist:${secret}`).toString('base64');
  const r = await fetch(`${base}/v1/collections/wijken/items?limit=1`, { headers: { Authorization: `Basic ${basic}` } });
  assert.equal(r.status, 200);
  const ingetrokken = () => page.evaluate(() => (document.getElementById('lijst').textContent.match(/ingetrokken/g) || []).length);
  const voor = await ingetrokken();
  await page.locator('#lijst tr', { hasText: 'QGIS browser-test' }).locator('button').click();
  await page.waitForFunction((n) => (document.getElementById('lijst').textContent.match(/ingetrokken/g) || []).length > n, voor, { timeout: 10000 });
  const after = await fetch(`${base}/v1/collections/wijken/items?limit=1`, { headers: { Authorization: `Basic ${basic}` } });
  assert.equal(after.status, 401);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a small count reads as its band (10–19) in the panel, and the legend names the band', async () => {
  const page = await aangemeld('beheerder', { viewport: { width: 1280, height: 800 } });
  await page.goto(`${base}/#gemeente=GM0983&laag=buurten&indicator=index&periode=2024-Q3`);
  await page.waitForFunction(() => document.body.dataset.geladen === 'true', null, { timeout: 60000 });
  assert.match(await page.textContent('#legenda'), /10–19 als 15/);
  // A buurt with a published count in the band, found as a user of the API would.
  const gevonden = await page.evaluate(async () => {
    const get = async (u) => (await fetch(u, { credentials: 'same-origin' })).json();
    const band = (await get('/v1/indicators')).disclosure.small_count_band;
    const fc = await get('/v1/collections/buurten/items?limit=1000&datetime=2024-Q3');
    const f = fc.features.find((x) => Object.entries(x.properties).some(([k, v]) => k.endsWith('_count') && v === band.shown_as));
    return f && { code: f.properties.code, band };
  });
  assert.ok(gevonden, 'no buurt with a count in the band');
  // A new hash alone does not reload the app: open the selection from scratch.
  await page.goto('about:blank');
  await page.goto(`${base}/#gemeente=GM0983&laag=buurten&indicator=index&periode=2024-Q3&selectie=buurten/${gevonden.code}`);
  await page.waitForFunction((c) => document.getElementById('paneel-code')?.textContent === c, gevonden.code, { timeout: 15000 });
  const tekst = await page.textContent('#paneel-inhoud');
  assert.ok(tekst.includes(`(${gevonden.band.from}–${gevonden.band.to})`), `no band in the panel of ${gevonden.code}`);
  assert.ok(!/\(15\)/.test(tekst), 'a band count shown as a plain 15');
  await page.close();
});
