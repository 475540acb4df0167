// Wijkradar map app. Static; talks to /v1 of the same server. No CDN, no tracking.
'use strict';

const KLASSE_KLEUREN = ['#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b'];
const KLASSE_LABELS = ['veel minder druk', 'minder druk', 'iets minder druk', 'wat minder druk', 'gemiddeld', 'wat meer druk', 'iets meer druk', 'meer druk', 'veel meer druk'];
const ROOD = ['#fee5d9', '#fcbba1', '#fc9272', '#fb6a4a', '#cb181d'];
const LAAG_TITELS = { 'h3-7': 'H3-cellen res. 7', 'h3-8': 'H3-cellen res. 8', 'h3-9': 'H3-cellen res. 9', 'h3-10': 'H3-cellen res. 10', pc4: 'Postcodegebieden (PC4)', pc6: 'Postcodes (PC6)', buurten: 'Buurten', wijken: 'Wijken' };

const app = {
  map: null,
  klaar: false,
  config: null,
  indicatoren: [],
  themas: [],
  perioden: [],
  staat: { laag: 'wijken', indicator: 'index', periode: null, selectie: null },
  geladenLaag: null,
  data: null,
  afspelen: null,
};
window.wijkradar = app;

const $ = (id) => document.getElementById(id);
const nl = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v)) ? '—' : Number(v).toLocaleString('nl-NL', { maximumFractionDigits: d, minimumFractionDigits: 0 });
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));

async function json(url) {
  const r = await fetch(url);
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail; } catch (_) { /* not json */ }
    throw new Error(`${r.status}: ${detail}`);
  }
  return r.json();
}

function leesHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.get('laag')) app.staat.laag = h.get('laag');
  if (h.get('indicator')) app.staat.indicator = h.get('indicator');
  if (h.get('periode')) app.staat.periode = h.get('periode');
  if (h.get('selectie')) app.staat.selectie = h.get('selectie');
  const kaart = h.get('kaart');
  if (kaart) {
    const [z, lat, lon] = kaart.split('/').map(Number);
    if ([z, lat, lon].every(Number.isFinite)) return { zoom: z, center: [lon, lat] };
  }
  return null;
}

function schrijfHash() {
  if (!app.map) return;
  const c = app.map.getCenter();
  const h = new URLSearchParams();
  h.set('laag', app.staat.laag);
  h.set('indicator', app.staat.indicator);
  if (app.staat.periode) h.set('periode', app.staat.periode);
  if (app.staat.selectie) h.set('selectie', app.staat.selectie);
  h.set('kaart', `${app.map.getZoom().toFixed(2)}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`);
  history.replaceState(null, '', '#' + h.toString());
}

function effectieveLaag() {
  if (app.staat.laag !== 'auto') return app.staat.laag;
  const z = app.map.getZoom();
  if (z < 10.5) return 'h3-7';
  if (z < 12) return 'h3-8';
  if (z < 13.5) return 'h3-9';
  return 'h3-10';
}

function eigenschap() {
  return app.staat.indicator === 'index' ? 'index' : `${app.staat.indicator}_rate`;
}

function indicatorMeta(id) {
  return app.indicatoren.find((i) => i.id === id);
}

function arcering() {
  const n = 8;
  const data = new Uint8Array(n * n * 4);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    const i = (y * n + x) * 4;
    const lijn = (x + y) % n < 2;
    data[i] = lijn ? 150 : 255; data[i + 1] = lijn ? 150 : 255; data[i + 2] = lijn ? 150 : 255; data[i + 3] = 200;
  }
  return { width: n, height: n, data };
}

function kwantielen(waarden, k) {
  const s = [...waarden].sort((a, b) => a - b);
  const grenzen = [];
  for (let i = 1; i < k; i++) {
    const v = s[Math.min(s.length - 1, Math.floor((i * s.length) / k))];
    if (grenzen.length === 0 || v > grenzen[grenzen.length - 1]) grenzen.push(v);
  }
  return grenzen;
}

function kleurExpressie() {
  const prop = eigenschap();
  if (app.staat.indicator === 'index') {
    const stappen = ['step', ['get', 'index_klasse'], KLASSE_KLEUREN[0]];
    for (let c = 2; c <= 9; c++) stappen.push(c, KLASSE_KLEUREN[c - 1]);
    return { expr: stappen, legenda: KLASSE_KLEUREN.map((k, i) => ({ kleur: k, label: `${i + 1} · ${KLASSE_LABELS[i]}` })) };
  }
  const meta = indicatorMeta(app.staat.indicator) || {};
  const waarden = (app.data?.features || []).map((f) => f.properties[prop]).filter((v) => v !== null && v !== undefined);
  const grenzen = kwantielen(waarden, 5);
  const kleuren = meta.polarity === 'lowerisworse' ? [...ROOD].reverse() : ROOD;
  if (grenzen.length === 0) return { expr: kleuren[2], legenda: [{ kleur: kleuren[2], label: waarden.length ? nl(waarden[0]) : 'geen waarden' }] };
  const expr = ['step', ['get', prop], kleuren[0]];
  grenzen.forEach((g, i) => expr.push(g, kleuren[Math.min(i + 1, 4)]));
  const legenda = [];
  const min = Math.min(...waarden), max = Math.max(...waarden);
  const randen = [min, ...grenzen, max];
  for (let i = 0; i < randen.length - 1; i++) legenda.push({ kleur: kleuren[Math.min(i, 4)], label: `${nl(randen[i])} – ${nl(randen[i + 1])}` });
  return { expr, legenda };
}

function tekenLegenda(legenda) {
  const meta = indicatorMeta(app.staat.indicator);
  const titel = app.staat.indicator === 'index' ? 'Drukindex (9 klassen)' : `${meta?.naam ?? ''} (${meta?.unit ?? ''})`;
  const rijen = legenda.map((r) => `<div class="rij"><span class="vak" style="background:${r.kleur}"></span>${esc(r.label)}</div>`).join('');
  $('legenda').innerHTML = `<h3>${esc(titel)}</h3><div class="klein">${esc(LAAG_TITELS[effectieveLaag()] || '')} · ${esc(app.staat.periode || '')}${app.staat.indicator === 'index' ? '' : ' · klassen: kwantielen'}</div>${rijen}
    <div class="rij"><span class="vak gearceerd"></span>onderdrukt of te weinig gegevens</div>
    <div class="klein">Aantallen &lt; ${app.disclosure?.k ?? 10} onderdrukt, afgerond op ${app.disclosure?.round_to ?? 5}. Grenzen: Kadaster / CBS, 2024.</div>`;
}

function kleur() {
  if (!app.map.getLayer('vlak')) return;
  const prop = eigenschap();
  const { expr, legenda } = kleurExpressie();
  app.map.setPaintProperty('vlak', 'fill-color', expr);
  app.map.setFilter('vlak', ['!=', ['get', prop], null]);
  app.map.setFilter('onderdrukt', ['==', ['get', prop], null]);
  tekenLegenda(legenda);
}

let laadTeller = 0;
async function laadLaag() {
  const laag = effectieveLaag();
  const periode = app.staat.periode;
  const params = new URLSearchParams({ limit: '10000', datetime: periode, gemeente: app.config.gemeente });
  if (laag === 'h3-10' || laag === 'pc6') {
    const b = app.map.getBounds();
    params.set('bbox', [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(','));
  }
  const mijn = ++laadTeller;
  app.klaar = false;
  document.body.dataset.geladen = 'false';
  const data = await json(`/v1/collections/${laag}/items?${params}`);
  if (mijn !== laadTeller) return;
  app.data = data;
  app.geladenLaag = laag;
  app.map.getSource('gebieden').setData(data);
  kleur();
  markeerSelectie();
  app.map.once('idle', () => {
    if (mijn !== laadTeller) return;
    app.klaar = true;
    document.body.dataset.geladen = 'true';
  });
  schrijfHash();
}

function markeerSelectie() {
  const code = app.staat.selectie?.split('/')[1] ?? '';
  if (app.map.getLayer('selectie')) app.map.setFilter('selectie', ['==', ['get', 'code'], code]);
}

function vulIndicatoren() {
  const sel = $('indicator');
  sel.innerHTML = '<option value="index">Drukindex (samengesteld)</option>';
  for (const t of app.themas) {
    const g = document.createElement('optgroup');
    g.label = t.naam;
    for (const i of app.indicatoren.filter((x) => x.theme === t.id)) {
      const o = document.createElement('option');
      o.value = i.id;
      o.textContent = i.naam;
      g.appendChild(o);
    }
    sel.appendChild(g);
  }
  sel.value = app.staat.indicator;
  const thema = $('rangorde-thema');
  for (const t of app.themas) thema.insertAdjacentHTML('beforeend', `<option value="${esc(t.id)}">${esc(t.naam)}</option>`);
}

function zetPeriode(i) {
  const p = app.perioden[i];
  if (!p) return;
  app.staat.periode = p;
  $('periode').value = String(i);
  $('periode-label').textContent = p;
}

async function openPaneel(laag, code) {
  app.staat.selectie = `${laag}/${code}`;
  markeerSelectie();
  schrijfHash();
  const p = $('paneel');
  p.hidden = false;
  const inhoud = $('paneel-inhoud');
  inhoud.innerHTML = '<p class="klein">Laden…</p>';
  let d;
  try {
    d = await json(`/v1/areas/${laag}/${encodeURIComponent(code)}?datetime=${app.staat.periode}`);
  } catch (e) {
    inhoud.innerHTML = `<p>Kon het gebied niet laden: ${esc(e.message)}</p>`;
    return;
  }
  const ind = app.staat.indicator === 'index' ? (app.indicatoren[0]?.id) : app.staat.indicator;
  const idx = d.index;
  const nav = [];
  if (d.parent) nav.push(`<a data-laag="${d.parent.level}" data-code="${esc(d.parent.code)}">↑ ${esc(d.parent.naam || d.parent.code)}</a>`);
  const kinderen = d.children.slice(0, 40).map((c) => `<a data-laag="${c.level}" data-code="${esc(c.code)}">${esc(c.naam || c.code)}</a>`).join(' ');
  const rijen = d.figures.map((f) => `<tr><td>${esc(f.naam)}</td><td class="r">${f.suppressed ? '<span class="klein">onderdrukt</span>' : nl(f.rate) + (f.count !== null ? ` <span class="klein">(${nl(f.count, 0)})</span>` : '')}</td><td class="r">${nl(f.gemeente_rate)}</td></tr>`).join('');
  inhoud.innerHTML = `
    <h2 id="paneel-titel">${esc(d.naam || d.code)}</h2>
    <div class="klein"><span id="paneel-code">${esc(d.code)}</span> · ${esc(LAAG_TITELS[d.level] || d.level)} · ${esc(d.period)}</div>
    <div class="nav-links">${nav.join(' ')}</div>
    ${idx ? `<h3>Drukindex</h3><div class="index-blok"><b>${nl(idx.index, 2)}</b> · klasse ${idx.class} van 9 (${esc(idx.class_label)})<br>
      <span class="klein">95%-interval ${nl(idx.low, 2)} tot ${nl(idx.high, 2)}</span>
      ${idx.low_confidence ? '<div class="laag-vertrouwen">Laag vertrouwen: te veel cijfers onderdrukt of onzeker; niet rangschikken.</div>' : ''}</div>
      <img id="bijdragen-grafiek" alt="Bijdragen per indicator aan de index" src="/v1/charts/contributions/${d.level}/${encodeURIComponent(d.code)}?f=svg&datetime=${d.period}">` : '<p class="klein">Geen index: te weinig gegevens.</p>'}
    <h3>Trend</h3>
    <img id="trend-grafiek" alt="Trend" src="/v1/charts/trend/${d.level}/${encodeURIComponent(d.code)}?indicator=${ind}&f=svg">
    <h3>Verdeling over de gemeente</h3>
    <img id="verdeling-grafiek" alt="Verdeling" src="/v1/charts/distribution/${d.level}/${encodeURIComponent(d.code)}?indicator=${ind}&f=svg&datetime=${d.period}">
    <h3>Cijfers tegen de gemeente</h3>
    <table><thead><tr><th>Indicator</th><th>Gebied</th><th>Gemeente</th></tr></thead><tbody>${rijen}</tbody></table>
    ${kinderen ? `<h3>Onderliggende gebieden</h3><div class="nav-links">${kinderen}</div>` : ''}
    <div id="interventies"></div>
    <p class="klein">Aantallen afgerond op ${d.disclosure.round_to}; aantallen uit minder dan ${d.disclosure.k} eenheden zijn onderdrukt.</p>`;
  inhoud.querySelectorAll('a[data-laag]').forEach((a) => a.addEventListener('click', () => kiesGebied(a.dataset.laag, a.dataset.code)));
  toonInterventies(d.level, d.code).catch(() => {});
}

async function toonInterventies(laag, code) {
  const lijst = (await json('/v1/interventions')).interventions.filter((i) => i.level === laag && i.codes.includes(code));
  if (!lijst.length) return;
  const blokken = [];
  for (const iv of lijst) {
    const e = await json(`/v1/interventions/${iv.id}/effect`).catch(() => null);
    const regels = (e?.outcomes || []).map((o) => {
      const wat = o.outcome === 'index' ? 'Drukindex' : 'Veiligheidsbeleving (cijfer)';
      const zeker = o.low > 0 || o.high < 0;
      return `<tr><td>${wat}</td><td class="r">${nl(o.treated_before, 2)} → ${nl(o.treated_after, 2)}</td><td class="r">${nl(o.control_before, 2)} → ${nl(o.control_after, 2)}</td>
        <td class="r"><b>${o.effect > 0 ? '+' : ''}${nl(o.effect, 2)}</b><br><span class="klein">${nl(o.low, 2)} … ${nl(o.high, 2)}${zeker ? '' : ' (niet zeker)'}</span></td></tr>`;
    }).join('');
    blokken.push(`<h3>Interventie: ${esc(iv.naam)}</h3><div class="klein">${esc(iv.start_date)} t/m ${esc(iv.end_date)}; vergeleken met ${e?.controls?.length ?? 0} vergelijkbare gebieden zonder project (verschil in verschillen, 95%-interval).</div>
      <table id="effect"><thead><tr><th>Uitkomst</th><th>Project: voor → na</th><th>Vergelijking</th><th>Effect</th></tr></thead><tbody>${regels || '<tr><td colspan="4">Nog geen meting voor en na de start.</td></tr>'}</tbody></table>`);
  }
  const doel = document.getElementById('interventies');
  if (doel) doel.innerHTML = blokken.join('');
}

async function kiesGebied(laag, code, bbox) {
  if (['wijken', 'buurten', 'pc4', 'pc6', 'h3-7', 'h3-8', 'h3-9', 'h3-10', 'gemeenten'].includes(laag) && laag !== 'gemeenten') {
    app.staat.laag = laag;
    if (![...$('laag').options].some((o) => o.value === laag)) $('laag').insertAdjacentHTML('beforeend', `<option value="${laag}">${LAAG_TITELS[laag]}</option>`);
    $('laag').value = laag;
  }
  if (bbox) app.map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 60, maxZoom: 15, duration: 0 });
  await laadLaag();
  await openPaneel(laag, code);
}

async function laadRangorde() {
  const niveau = $('rangorde-niveau').value;
  const thema = $('rangorde-thema').value;
  const q = new URLSearchParams({ level: niveau, datetime: app.staat.periode });
  if (thema) q.set('theme', thema);
  const d = await json(`/v1/ranking/${app.config.gemeente}?${q}`);
  const namen = Object.fromEntries(app.indicatoren.map((i) => [i.id, i.naam]));
  $('rangorde').querySelector('tbody').innerHTML = d.ranking.map((r) => `<tr data-code="${esc(r.code)}" data-laag="${r.level}">
    <td>${r.rank ?? '—'}</td><td>${esc(r.naam)}${r.low_confidence ? ' <span class="laag-vertrouwen" title="laag vertrouwen">?</span>' : ''}</td>
    <td class="r">${nl(r.index, 2)}<br><span class="klein">${nl(r.low, 1)}…${nl(r.high, 1)}</span></td>
    <td class="r">${r.change_previous === null ? '—' : (r.change_previous > 0 ? '+' : '') + nl(r.change_previous, 2)}</td>
    <td class="klein">${r.drivers.map((x) => esc(namen[x.indicator] || x.indicator)).join('; ')}</td></tr>`).join('');
  $('rangorde').querySelectorAll('tbody tr').forEach((tr) => tr.addEventListener('click', () => kiesGebied(tr.dataset.laag, tr.dataset.code)));
}

let zoekTimer = null;
function zoekOpzetten() {
  const invoer = $('zoek');
  const lijst = $('zoek-resultaten');
  invoer.addEventListener('input', () => {
    clearTimeout(zoekTimer);
    zoekTimer = setTimeout(async () => {
      const q = invoer.value.trim();
      if (q.length < 2) { lijst.hidden = true; return; }
      const d = await json(`/v1/search?q=${encodeURIComponent(q)}`).catch(() => ({ results: [] }));
      lijst.innerHTML = d.results.map((r, i) => `<li data-i="${i}">${esc(r.naam || r.code)} <span class="klein">${esc(r.code)} · ${esc(LAAG_TITELS[r.level] || r.level)}</span></li>`).join('') || '<li class="klein">Geen resultaten</li>';
      lijst.hidden = false;
      lijst.querySelectorAll('li[data-i]').forEach((li) => li.addEventListener('click', () => {
        const r = d.results[Number(li.dataset.i)];
        lijst.hidden = true;
        invoer.value = r.naam || r.code;
        kiesGebied(r.level, r.code, r.bbox);
      }));
    }, 200);
  });
  invoer.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') lijst.querySelector('li[data-i]')?.click();
    if (e.key === 'Escape') lijst.hidden = true;
  });
}

function tooltipOpzetten() {
  const tip = $('tooltip');
  app.map.on('mousemove', 'vlakken-alle', (e) => {
    const f = e.features[0];
    if (!f) return;
    const p = f.properties;
    const meta = indicatorMeta(app.staat.indicator);
    const v = p[eigenschap()];
    const waarde = (v === null || v === undefined || v === 'null') ? 'onderdrukt of te weinig gegevens'
      : app.staat.indicator === 'index' ? `index ${nl(v, 2)} (klasse ${p.index_klasse})` : `${nl(v)} ${meta?.unit ?? ''}`;
    tip.innerHTML = `<b>${esc(p.naam && p.naam !== 'null' ? p.naam : p.code)}</b><br>${esc(waarde)}`;
    tip.style.left = `${e.originalEvent.clientX + 12}px`;
    tip.style.top = `${e.originalEvent.clientY + 12}px`;
    tip.hidden = false;
    app.map.getCanvas().style.cursor = 'pointer';
  });
  app.map.on('mouseleave', 'vlakken-alle', () => { tip.hidden = true; app.map.getCanvas().style.cursor = ''; });
  app.map.on('click', 'vlakken-alle', (e) => {
    const f = e.features[0];
    if (f) openPaneel(app.geladenLaag, f.properties.code);
  });
}

function stijl() {
  const s = { version: 8, sources: {}, layers: [{ id: 'achtergrond', type: 'background', paint: { 'background-color': '#eef1f4' } }] };
  const b = app.config.basemap;
  s.sources.brt = { type: 'raster', tiles: [b.tiles], tileSize: 256, attribution: b.attribution };
  s.layers.push({ id: 'brt', type: 'raster', source: 'brt', layout: { visibility: 'none' }, paint: { 'raster-opacity': 0.8 } });
  return s;
}

async function start() {
  app.config = await json('/config.json');
  const hashKaart = leesHash();
  const [cat, per] = await Promise.all([json('/v1/indicators'), json('/v1/periods')]);
  app.indicatoren = cat.indicators;
  app.themas = cat.themes;
  app.disclosure = cat.disclosure;
  app.perioden = per.periods;
  if (!app.perioden.includes(app.staat.periode)) app.staat.periode = per.latest;
  if (app.staat.indicator !== 'index' && !indicatorMeta(app.staat.indicator)) app.staat.indicator = 'index';
  vulIndicatoren();
  $('laag').value = app.staat.laag;
  $('periode').max = String(app.perioden.length - 1);
  zetPeriode(app.perioden.indexOf(app.staat.periode));
  $('briefing-link').href = `/briefing/${app.config.gemeente}`;
  app.map = new maplibregl.Map({
    container: 'kaart',
    style: stijl(),
    center: hashKaart?.center ?? app.config.center,
    zoom: hashKaart?.zoom ?? app.config.zoom,
    attributionControl: { compact: false, customAttribution: 'Grenzen: Kadaster / CBS, 2024 · PC4: © CBS, © ESRI Nederland' },
  });
  app.map.addControl(new maplibregl.NavigationControl(), 'top-left');
  await new Promise((r) => app.map.on('load', r));
  app.map.addImage('arcering', arcering());
  app.map.addSource('gebieden', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'code' });
  app.map.addLayer({ id: 'vlakken-alle', type: 'fill', source: 'gebieden', paint: { 'fill-color': '#000', 'fill-opacity': 0 } });
  app.map.addLayer({ id: 'onderdrukt', type: 'fill', source: 'gebieden', paint: { 'fill-pattern': 'arcering', 'fill-opacity': 0.8 } });
  app.map.addLayer({ id: 'vlak', type: 'fill', source: 'gebieden', paint: { 'fill-color': '#ccc', 'fill-opacity': 0.78 } });
  app.map.addLayer({ id: 'rand', type: 'line', source: 'gebieden', paint: { 'line-color': '#444', 'line-width': 0.5, 'line-opacity': 0.6 } });
  app.map.addLayer({ id: 'selectie', type: 'line', source: 'gebieden', filter: ['==', ['get', 'code'], ''], paint: { 'line-color': '#111', 'line-width': 3 } });
  tooltipOpzetten();
  zoekOpzetten();

  $('laag').addEventListener('change', (e) => { app.staat.laag = e.target.value; laadLaag(); });
  $('indicator').addEventListener('change', (e) => {
    app.staat.indicator = e.target.value; kleur(); schrijfHash();
    if (app.staat.selectie) openPaneel(...app.staat.selectie.split('/'));
  });
  $('periode').addEventListener('input', (e) => { zetPeriode(Number(e.target.value)); laadLaag(); });
  $('afspelen').addEventListener('click', () => {
    if (app.afspelen) { clearInterval(app.afspelen); app.afspelen = null; $('afspelen').textContent = '▶'; return; }
    $('afspelen').textContent = '❚❚';
    app.afspelen = setInterval(() => {
      const i = (app.perioden.indexOf(app.staat.periode) + 1) % app.perioden.length;
      zetPeriode(i);
      laadLaag();
    }, 1500);
  });
  $('achtergrond').addEventListener('change', (e) => app.map.setLayoutProperty('brt', 'visibility', e.target.checked ? 'visible' : 'none'));
  $('achtergrond').checked = !!app.config.basemap.enabled;
  if (app.config.basemap.enabled) app.map.setLayoutProperty('brt', 'visibility', 'visible');
  $('paneel-sluit').addEventListener('click', () => { $('paneel').hidden = true; app.staat.selectie = null; markeerSelectie(); schrijfHash(); });
  $('rangorde-knop').addEventListener('click', () => { $('rangorde').hidden = !$('rangorde').hidden; if (!$('rangorde').hidden) laadRangorde(); });
  $('rangorde-sluit').addEventListener('click', () => { $('rangorde').hidden = true; });
  $('rangorde-niveau').addEventListener('change', laadRangorde);
  $('rangorde-thema').addEventListener('change', laadRangorde);
  let vorigeLaag = effectieveLaag();
  app.map.on('moveend', () => {
    schrijfHash();
    const l = effectieveLaag();
    if (l !== vorigeLaag || l === 'h3-10' || l === 'pc6') { vorigeLaag = l; laadLaag(); }
  });
  await laadLaag();
  if (app.staat.selectie) openPaneel(...app.staat.selectie.split('/'));
}

start().catch((e) => {
  document.body.dataset.fout = e.message;
  $('legenda').innerHTML = `<b>Wijkradar kon niet starten</b><br>${esc(e.message)}`;
});
