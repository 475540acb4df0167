// Wijkradar map app. Static ES modules, no build step; talks to /v1 of the same server.
// No CDN, no tracking. Modules: js/format.js (formatting, fetch), js/state.js (state and URL),
// js/layers.js (map layers and legend), js/panel.js (side panel, ranking), js/search.js
// (search, tooltip).

import { $, esc, json } from './js/format.js';
import { app, leesHash, schrijfHash, effectieveLaag, indicatorMeta, gekozenRegio, gekozenCodes, ontbrekendeLagen, beschikbareLaag, gezamenlijkeLaag, referentie, ALLE, alleGemeenten } from './js/state.js';
import { arcering, kleur, laadLaag, kaartEigenschappen, markeerSelectie, stijl, tekenGemeenteGrens, achtergrond, exportLinks, VOL } from './js/layers.js';
import { openPaneel, laadRangorde, toonVergelijking } from './js/panel.js';
import { zoekOpzetten, tooltipOpzetten } from './js/search.js';
import { ontwar } from './js/namen.js';

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

// The layer and ranking choices for the chosen gemeente: levels it lacks are shown as not
// loaded and cannot be chosen; a lacking level chosen (in a link, or before switching gemeente)
// gives way to the next coarser one the gemeente has, and a layer the map does not know (an
// old or edited link) to the default.
function pasLagenAan() {
  const { alle } = ontbrekendeLagen();
  for (const sel of [$('laag'), $('rangorde-niveau')]) {
    for (const o of sel.options) {
      o.dataset.naam ??= o.textContent;
      o.disabled = alle.includes(o.value);
      o.textContent = o.disabled ? `${o.dataset.naam} (niet geladen)` : o.dataset.naam;
    }
  }
  // The gemeenten themselves (a region's side by side, or one against the others loaded):
  // only where there are several to compare.
  $('laag').querySelector('option[value="gemeenten"]').hidden = (app.gemeenten?.length ?? 0) < 2;
  if (![...$('laag').options].some((o) => o.value === app.staat.laag && !o.hidden)) app.staat.laag = 'wijken';
  app.staat.laag = beschikbareLaag(app.staat.laag);
  $('laag').value = app.staat.laag;
  const r = $('rangorde-niveau');
  if (alle.includes(r.value)) r.value = [...r.options].find((o) => !o.disabled)?.value ?? r.value;
}

async function afmelden() {
  await fetch('/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': app.ik?.csrf ?? '' } });
  location.href = '/login';
}

async function start() {
  // Who is signed in (401 sends to the login page); the map shows only their gemeenten.
  app.ik = await json('/v1/me');
  $('gebruiker').textContent = `${app.ik.gebruiker} (${app.ik.rollen.join(', ')})`;
  $('afmelden').addEventListener('click', afmelden);
  if (!app.ik.mag.briefing) $('briefing-link').hidden = true;
  if (!app.ik.mag.tokens) $('tokens-link').hidden = true;
  if (!app.ik.mag.export) $('export').hidden = true;
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
  $('vanaf').insertAdjacentHTML('beforeend', app.perioden.map((p) => `<option value="${esc(p)}">${esc(p)}</option>`).join(''));
  if (!app.perioden.includes(app.staat.vanaf)) app.staat.vanaf = null;
  $('vanaf').value = app.staat.vanaf ?? '';
  zetPeriode(app.perioden.indexOf(app.staat.periode));
  // The gemeenten come from the dataset: the one in the link, else the first.
  app.gemeenten = (await json('/v1/gemeenten')).gemeenten;
  // The RIEC regions with their loaded gemeenten the user may see: a region shows them together.
  app.regios = (await json('/v1/regions').catch(() => ({ regions: [] }))).regions;
  const regioKeuzes = app.gemeenten.length < 2 ? [] : app.regios;
  const geldig = (v) => app.gemeenten.some((g) => g.code === v) || regioKeuzes.some((r) => `regio:${r.id}` === v)
    || (v === ALLE && app.gemeenten.length > 1);
  if (!geldig(app.staat.gemeente)) {
    // A shared view without a gemeente: the one under its centre. Opened without a view,
    // whoever sees many gemeenten (a RIEC region, the whole country) starts with all of them
    // side by side on the Gemeenten layer; others with the dataset's first gemeente.
    const [lon, lat] = hashKaart?.center ?? [NaN, NaN];
    const onder = app.gemeenten.find((g) => lon >= g.bbox[0] && lon <= g.bbox[2] && lat >= g.bbox[1] && lat <= g.bbox[3]);
    app.staat.gemeente = onder?.code ?? (app.gemeenten.length > 12 ? ALLE : app.gemeenten[0]?.code ?? null);
    if (app.staat.gemeente === ALLE && !new URLSearchParams(location.hash.slice(1)).has('laag')) app.staat.laag = 'gemeenten';
  }
  const kies = $('gemeente');
  // By name, as people look for them (the API lists them by code: 342 in a national dataset).
  const opNaam = [...app.gemeenten].sort((a, b) => (a.naam || a.code).localeCompare(b.naam || b.code, 'nl'));
  const gemeenteKeuzes = opNaam.map((g) => `<option value="${esc(g.code)}">${esc(g.naam || g.code)}</option>`).join('');
  const regioGroep = regioKeuzes.length ? `<optgroup label="RIEC-regio's (gemeenten samen)">${regioKeuzes.map((r) => `<option value="regio:${esc(r.id)}">${esc(r.naam)} (${r.gemeenten.length} ${r.gemeenten.length === 1 ? 'gemeente' : 'gemeenten'})</option>`).join('')}</optgroup>` : '';
  // All of them at once: the gemeenten side by side, or every postcode area or H3 cell of the
  // country for a national analyst.
  const alleKeuze = app.gemeenten.length > 1 ? `<option value="${ALLE}">Alle gemeenten (${app.gemeenten.length})</option>` : '';
  // Many gemeenten (a RIEC analyst's region, the whole country): the regions first, not after
  // hundreds of gemeenten.
  kies.innerHTML = app.gemeenten.length > 12
    ? `${alleKeuze}${regioGroep}<optgroup label="Gemeenten">${gemeenteKeuzes}</optgroup>`
    : alleKeuze + gemeenteKeuzes + regioGroep;
  kies.value = app.staat.gemeente;
  $('gemeente-blok').style.display = app.gemeenten.length < 2 ? 'none' : '';
  // With several gemeenten the index can be set against all, each area's own gemeente or its
  // RIEC region; with one they are the same.
  $('referentie-blok').style.display = app.gemeenten.length < 2 ? 'none' : '';
  $('referentie').value = referentie();
  pasLagenAan();
  // The ranking of several gemeenten compares areas all of them have (the link names no
  // ranking level): postcode areas when some lack wijken, as the API's default.
  $('rangorde-niveau').value = gezamenlijkeLaag($('rangorde-niveau').value);
  // The chosen gemeente, or the region's gemeenten together: their extent.
  const gekozen = () => {
    const codes = gekozenCodes();
    const gs = app.gemeenten.filter((g) => codes.includes(g.code));
    if (!gs.length) return null;
    const bbox = [0, 1, 2, 3].map((i) => (i < 2 ? Math.min : Math.max)(...gs.map((g) => g.bbox[i])));
    return { bbox, lon: (bbox[0] + bbox[2]) / 2, lat: (bbox[1] + bbox[3]) / 2 };
  };
  // The briefing of the chosen gemeente (or region), and that of the gemeente's RIEC region,
  // which sets the region's gemeenten side by side.
  const zetLinks = () => {
    const gekozenR = gekozenRegio();
    // A gemeente's briefing sets the index against what the map does (all loaded gemeenten
    // unless chosen otherwise); a region's against the region.
    const ref = referentie();
    // A briefing is for one gemeente or one region.
    $('briefing-link').hidden = !app.ik.mag.briefing || alleGemeenten();
    $('briefing-link').href = gekozenR ? `/briefing/region/${gekozenR.id}` : `/briefing/${app.staat.gemeente}${ref === 'alle' ? '' : `?reference=${ref}`}`;
    const r = gekozenR || alleGemeenten() || !app.ik.mag.briefing ? null : app.regios.find((x) => x.gemeenten.some((g) => g.code === app.staat.gemeente));
    $('regio-link').hidden = !r;
    if (r) {
      $('regio-link').href = `/briefing/region/${r.id}`;
      $('regio-link').textContent = `Briefing ${r.naam}`;
    }
  };
  zetLinks();
  const eerste = gekozen();
  app.map = new maplibregl.Map({
    container: 'kaart',
    style: stijl(),
    center: hashKaart?.center ?? (eerste ? [eerste.lon, eerste.lat] : [5.3, 52.1]),
    zoom: hashKaart?.zoom ?? 7,
    attributionControl: { compact: false, customAttribution: 'Grenzen: Kadaster / CBS, 2024 · PC4: © CBS, © ESRI Nederland' },
    locale: {
      'NavigationControl.ZoomIn': 'Inzoomen',
      'NavigationControl.ZoomOut': 'Uitzoomen',
      'NavigationControl.ResetBearing': 'Noorden boven',
      'AttributionControl.ToggleAttribution': 'Bronvermelding tonen of verbergen',
      'AttributionControl.MapFeedback': 'Kaartfout melden',
      'FullscreenControl.Enter': 'Volledig scherm',
      'FullscreenControl.Exit': 'Volledig scherm verlaten',
      'GeolocateControl.FindMyLocation': 'Mijn locatie',
      'ScrollZoomBlocker.CtrlMessage': 'Gebruik Ctrl + scrollen om te zoomen',
      'TouchPanBlocker.Message': 'Gebruik twee vingers om de kaart te verplaatsen',
    },
  });
  app.map.addControl(new maplibregl.NavigationControl(), 'top-left');
  // On a phone the header's controls and the legend start folded.
  const smal = window.matchMedia('(max-width: 600px)').matches;
  if (smal) { $('balk').classList.add('dicht'); $('legenda').classList.add('ingeklapt'); }
  $('menu-knop').addEventListener('click', () => {
    const dicht = $('balk').classList.toggle('dicht');
    $('menu-knop').setAttribute('aria-expanded', String(!dicht));
  });
  $('legenda').addEventListener('click', (e) => { if (e.target.closest('h3')) $('legenda').classList.toggle('ingeklapt'); });
  // Esc closes the panel and the ranking.
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    if ($('export').open) { $('export').open = false; return; }
    if (!$('paneel').hidden) $('paneel-sluit').click();
    else if (!$('rangorde').hidden) $('rangorde-sluit').click();
  });
  await new Promise((r) => app.map.on('load', r));
  if (!hashKaart && eerste) app.map.fitBounds([[eerste.bbox[0], eerste.bbox[1]], [eerste.bbox[2], eerste.bbox[3]]], { padding: 20, duration: 0 });
  // Another gemeente (or region) chosen, in the picker or by a search result: what depends on
  // it follows (layers it lacks give way, links, its border, the ranking); the caller loads.
  app.naGemeente = () => {
    $('referentie').value = referentie();
    // Chosen now (not opened from a link, which keeps what it says): a region whose gemeenten
    // do not all have wijken is shown and ranked by postcode areas, which all have.
    if (app.staat.laag !== 'auto') app.staat.laag = gezamenlijkeLaag(app.staat.laag);
    $('rangorde-niveau').value = gezamenlijkeLaag($('rangorde-niveau').value);
    pasLagenAan();
    zetLinks();
    tekenGemeenteGrens();
    if (!$('rangorde').hidden) laadRangorde();
  };
  kies.addEventListener('change', () => {
    app.staat.gemeente = kies.value;
    app.naGemeente();
    const g = gekozen();
    if (g) app.map.fitBounds([[g.bbox[0], g.bbox[1]], [g.bbox[2], g.bbox[3]]], { padding: 20, duration: 0 });
    laadLaag();
  });
  app.map.addImage('arcering', arcering());
  app.map.addSource('gebieden', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'code', tolerance: 1, buffer: 32 });
  app.map.addLayer({ id: 'vlakken-alle', type: 'fill', source: 'gebieden', paint: { 'fill-color': '#000', 'fill-opacity': 0 } });
  app.map.addLayer({ id: 'onderdrukt', type: 'fill', source: 'gebieden', paint: { 'fill-pattern': 'arcering', 'fill-opacity': 0.8 } });
  app.map.addLayer({ id: 'vlak', type: 'fill', source: 'gebieden', paint: { 'fill-color': '#ccc', 'fill-opacity': VOL } });
  // Outlines fade out towards the whole country, where thousands of small areas would
  // otherwise draw as grey.
  app.map.addLayer({ id: 'rand', type: 'line', source: 'gebieden', paint: { 'line-color': '#444', 'line-width': 0.5, 'line-opacity': ['interpolate', ['linear'], ['zoom'], 7, 0.1, 10, 0.6] } });
  app.map.addSource('gemeente-grens', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  app.map.addLayer({ id: 'gemeente-grens', type: 'line', source: 'gemeente-grens', paint: { 'line-color': '#222', 'line-width': ['interpolate', ['linear'], ['zoom'], 7, 0.7, 10, 2.2], 'line-opacity': 0.85 } });
  app.map.addLayer({ id: 'vergelijking', type: 'line', source: 'gebieden', filter: ['in', ['get', 'code'], ['literal', []]], paint: { 'line-color': '#1f4e9c', 'line-width': 2.5, 'line-dasharray': [2, 1.5] } });
  app.map.addLayer({ id: 'selectie', type: 'line', source: 'gebieden', filter: ['==', ['get', 'code'], ''], paint: { 'line-color': '#111', 'line-width': 3 } });
  tooltipOpzetten();
  zoekOpzetten();

  $('laag').addEventListener('change', (e) => { app.staat.laag = e.target.value; laadLaag(); });
  $('vanaf').addEventListener('change', (e) => { app.staat.vanaf = e.target.value || null; laadLaag(); });
  $('referentie').addEventListener('change', (e) => {
    app.staat.ref = e.target.value;
    zetLinks();
    laadLaag();
    if (!$('rangorde').hidden) laadRangorde();
    if (app.staat.selectie) openPaneel(...app.staat.selectie.split('/'));
  });
  $('indicator').addEventListener('change', (e) => {
    app.staat.indicator = e.target.value;
    // The map loads only the shown indicator's figures: another one is loaded, the index
    // (always loaded) only recoloured.
    const geladen = app.geladenEigenschappen ?? [];
    if (app.staat.vanaf || !kaartEigenschappen().every((p) => geladen.includes(p))) laadLaag(); else kleur();
    schrijfHash();
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
  $('achtergrond').addEventListener('change', (e) => achtergrond(e.target.checked));
  // The export menu offers what the map shows, filled when opened.
  $('export').addEventListener('toggle', () => { if ($('export').open) exportLinks(); });
  // A download chosen, or a click elsewhere, closes it.
  $('export-menu').addEventListener('click', (e) => { if (e.target.closest('a')) setTimeout(() => { $('export').open = false; }, 0); });
  document.addEventListener('click', (e) => { if (!e.target.closest('#export')) $('export').open = false; });
  $('achtergrond').checked = !!app.config.basemap.enabled;
  if (app.config.basemap.enabled) achtergrond(true);
  $('paneel-sluit').addEventListener('click', () => { $('paneel').hidden = true; app.staat.selectie = null; markeerSelectie(); toonVergelijking([]); schrijfHash(); });
  $('rangorde-knop').addEventListener('click', () => { $('rangorde').hidden = !$('rangorde').hidden; if (!$('rangorde').hidden) laadRangorde(); });
  $('rangorde-sluit').addEventListener('click', () => { $('rangorde').hidden = true; });
  $('rangorde-niveau').addEventListener('change', laadRangorde);
  $('rangorde-thema').addEventListener('change', laadRangorde);
  let vorigeLaag = effectieveLaag();
  app.map.on('moveend', () => {
    ontwar();
    schrijfHash();
    const l = effectieveLaag();
    if (l !== vorigeLaag || l === 'h3-10' || l === 'pc6') { vorigeLaag = l; laadLaag(); }
  });
  // A link pasted into this tab changes only the hash: the view it names is opened as on a
  // fresh load (the app's own updates use replaceState, which fires no hashchange).
  window.addEventListener('hashchange', () => location.reload());
  tekenGemeenteGrens();
  await laadLaag();
  if (app.staat.selectie) openPaneel(...app.staat.selectie.split('/'));
}

start().catch((e) => {
  document.body.dataset.fout = e.message;
  $('legenda').innerHTML = `<b>Wijkradar kon niet starten</b><br>${esc(e.message)}`;
});
