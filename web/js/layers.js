// The map's layers: the style, colours and legend, loading a layer, the selection outline.

import { tekenNamen } from './namen.js';
import { KLASSE_KLEUREN, KLASSE_LABELS, ROOD, LAAG_TITELS, $, nl, esc, json, band } from './format.js';
import { app, schrijfHash, effectieveLaag, eigenschap, indicatorMeta, gemeenteParam, gekozenNaam, alleGemeenten, ontbrekendeLagen, referentie, referentieNaam } from './state.js';

export function arcering() {
  const n = 8;
  const data = new Uint8Array(n * n * 4);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    const i = (y * n + x) * 4;
    const lijn = (x + y) % n < 2;
    data[i] = lijn ? 150 : 255; data[i + 1] = lijn ? 150 : 255; data[i + 2] = lijn ? 150 : 255; data[i + 3] = 200;
  }
  return { width: n, height: n, data };
}

export function kwantielen(waarden, k) {
  const s = [...waarden].sort((a, b) => a - b);
  const grenzen = [];
  for (let i = 1; i < k; i++) {
    const v = s[Math.min(s.length - 1, Math.floor((i * s.length) / k))];
    if (grenzen.length === 0 || v > grenzen[grenzen.length - 1]) grenzen.push(v);
  }
  return grenzen;
}

// The change map's three meanings: only changes outside the uncertainty are coloured.
export const RICHTING = {
  meer_druk: { kleur: '#c0392b', label: 'duidelijk meer druk' },
  geen_verandering: { kleur: '#e4e4e4', label: 'geen duidelijke verandering' },
  minder_druk: { kleur: '#2b7bb9', label: 'duidelijk minder druk' },
};

export function kleurExpressie() {
  const prop = eigenschap();
  if (veranderkaart()) {
    const expr = ['match', ['get', 'verandering_richting']];
    for (const [k, v] of Object.entries(RICHTING)) expr.push(k, v.kleur);
    expr.push('#e4e4e4');
    const telling = app.wijziging?.summary ?? {};
    return { expr, legenda: Object.entries(RICHTING).map(([k, v]) => ({ kleur: v.kleur, label: `${v.label} (${telling[k] ?? 0})` })) };
  }
  if (app.staat.indicator === 'index') {
    const stappen = ['step', ['get', 'index_class'], KLASSE_KLEUREN[0]];
    for (let c = 2; c <= 9; c++) stappen.push(c, KLASSE_KLEUREN[c - 1]);
    return { expr: stappen, legenda: KLASSE_KLEUREN.map((k, i) => ({ kleur: k, label: `${i + 1} · ${KLASSE_LABELS[i]}` })) };
  }
  const meta = indicatorMeta(app.staat.indicator) || {};
  const waarden = (app.data?.features || []).map((f) => f.properties[prop]).filter((v) => v !== null && v !== undefined);
  // Classes fixed over every quarter (from the server), so that playing the quarters shows
  // change; the quarter's own quintiles only when those are not available.
  const vast = app.grenzen?.indicators?.find((b) => b.indicator === app.staat.indicator);
  const grenzen = vast && vast.n > 0 ? vast.breaks : kwantielen(waarden, 5);
  app.vasteKlassen = !!(vast && vast.n > 0);
  const kleuren = meta.polarity === 'lower_is_worse' ? [...ROOD].reverse() : ROOD;
  if (grenzen.length === 0) return { expr: kleuren[2], legenda: [{ kleur: kleuren[2], label: waarden.length ? nl(waarden[0]) : 'geen waarden' }] };
  const expr = ['step', ['get', prop], kleuren[0]];
  grenzen.forEach((g, i) => expr.push(g, kleuren[Math.min(i + 1, kleuren.length - 1)]));
  const legenda = [];
  const min = app.vasteKlassen ? vast.min : Math.min(...waarden);
  const max = app.vasteKlassen ? vast.max : Math.max(...waarden);
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { expr: kleuren[2], legenda: [{ kleur: kleuren[2], label: 'geen getoonde waarden' }] };
  const randen = [min, ...grenzen, max];
  for (let i = 0; i < randen.length - 1; i++) legenda.push({ kleur: kleuren[Math.min(i, kleuren.length - 1)], label: `${nl(randen[i])} – ${nl(randen[i + 1])}` });
  return { expr, legenda };
}

// The legend's rows for the hatched areas of the change map, with how many of each: a figure
// suppressed in one of the two quarters, or (for the index) an index too uncertain to compare.
function onbekendRijen(telling = {}) {
  const onderdrukt = `onderdrukt in een van beide kwartalen: ${UITLEG_ONDERDRUKT()}`;
  if (!telling.onbekend_onzeker) return `<div class="rij"><span class="vak gearceerd"></span>${esc(onderdrukt)}</div>`;
  return `<div class="rij"><span class="vak gearceerd"></span>onbekend (${nl(telling.onbekend ?? 0)}):</div>
      <ul class="waarom"><li>${esc(onderdrukt)} (${nl(telling.onbekend_onderdrukt ?? 0)})</li><li>${esc(ONZEKER)} (${nl(telling.onbekend_onzeker)})</li></ul>`;
}

export function tekenLegenda(legenda) {
  const meta = indicatorMeta(app.staat.indicator);
  const naam = app.staat.indicator === 'index' ? 'Drukindex' : (meta?.naam ?? '');
  const rijen = legenda.map((r) => `<div class="rij"><span class="vak" style="background:${r.kleur}"></span>${esc(r.label)}</div>`).join('');
  if (veranderkaart()) {
    $('legenda').innerHTML = `<h3>Verandering: ${esc(naam)}</h3><div class="klein">${esc(LAAG_TITELS[effectieveLaag()] || '')} · ${esc(app.wijziging.from)} → ${esc(app.wijziging.to)}</div>${rijen}
      ${onbekendRijen(app.wijziging.summary)}
      <div class="klein">Gekleurd alleen als het 95%-interval van de verandering nul uitsluit.</div>`;
    return;
  }
  const titel = app.staat.indicator === 'index' ? 'Drukindex (9 klassen)' : `${meta?.naam ?? ''} (${meta?.unit ?? ''})`;
  const klassen = app.staat.indicator === 'index' ? ` · vergeleken met ${referentieNaam()}` : app.vasteKlassen ? ' · klassen vast over alle kwartalen' : ' · klassen: kwintielen van dit kwartaal';
  $('legenda').innerHTML = `<h3>${esc(titel)}</h3><div class="klein">${esc(LAAG_TITELS[effectieveLaag()] || '')} · ${esc(app.staat.periode || '')}${klassen}</div>${rijen}
    ${vertrouwenRij()}
    <div class="rij"><span class="vak gearceerd"></span>onderdrukt: ${esc(UITLEG_ONDERDRUKT())}</div>
    ${groverAdvies()}
    ${ontbrekendAdvies()}
    <div class="klein">Aantallen &lt; ${app.disclosure?.k ?? 10} onderdrukt, afgerond op ${app.disclosure?.round_to ?? 5}${band(app.disclosure)}. Grenzen: Kadaster / CBS, 2024.</div>`;
  $('grover')?.addEventListener('click', (e) => {
    e.preventDefault();
    app.staat.laag = e.target.dataset.laag;
    $('laag').value = app.staat.laag;
    laadLaag();
  });
}

// The one explanation of a hatched area, everywhere.
export const UITLEG_ONDERDRUKT = () => `minder dan ${app.disclosure?.k ?? 10} gevallen, of verborgen om een ander cijfer te beschermen`;

// Why the change of an index is not known although both quarters have one.
export const ONZEKER = 'de index te onzeker om te vergelijken (te veel van zijn indicatoren onderdrukt)';

// "a", "a en b", "a, b en c".
const opsomming = (xs) => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} en ${xs[xs.length - 1]}`);

// Which levels the chosen gemeente (or some gemeenten of a region) lacks, said plainly: those
// layers stay empty, every other level works.
export function ontbrekendAdvies() {
  const { alle, deels, gekozen } = ontbrekendeLagen();
  if (!alle.length && !deels.length) return '';
  const titel = (l) => (LAAG_TITELS[l] || l).toLowerCase();
  const naam = gekozenNaam();
  const regels = [];
  if (alle.length) regels.push(`${esc(naam)} ${alleGemeenten() ? 'hebben' : 'heeft'} in de geladen grenzen geen ${esc(opsomming(alle.map(titel)))}: die ${alle.length === 1 ? 'laag blijft' : 'lagen blijven'} leeg; de andere niveaus werken wel.`);
  // A region with many such gemeenten: counted, with the first two named.
  const wie = (namen) => (namen.length <= 3 ? opsomming(namen) : `${namen.length} van de ${gekozen} gemeenten (${namen.slice(0, 2).join(', ')} …)`);
  // Levels lacked by the same gemeenten in one sentence ("geen wijken en buurten voor …").
  const perGroep = new Map();
  for (const [l, namen] of deels) {
    const sleutel = namen.join('|');
    const groep = perGroep.get(sleutel) ?? { lagen: [], namen };
    groep.lagen.push(l);
    perGroep.set(sleutel, groep);
  }
  for (const { lagen, namen } of perGroep.values()) regels.push(`Geen ${esc(opsomming(lagen.map(titel)))} in de geladen grenzen voor ${esc(wie(namen))}.`);
  return `<div id="ontbreekt" class="klein">${regels.join(' ')} Een beheerder laadt ze met <code>wijkradar boundaries import</code>.</div>`;
}

const GROVER = { 'h3-10': 'h3-9', 'h3-9': 'h3-8', 'h3-8': 'h3-7', pc6: 'pc4', buurten: 'wijken' };

// When an indicator is hidden in most areas of this level: say so and offer the coarser one.
function groverAdvies() {
  if (app.staat.indicator === 'index') return '';
  const feats = app.data?.features || [];
  const prop = eigenschap();
  const leeg = feats.filter((f) => f.properties[prop] === null || f.properties[prop] === undefined).length;
  const laag = effectieveLaag();
  if (!feats.length || leeg / feats.length < 0.8 || !GROVER[laag]) return '';
  const naam = indicatorMeta(app.staat.indicator)?.naam ?? app.staat.indicator;
  return `<div id="grover-advies" class="klein">${esc(naam)} is op dit niveau in ${leeg} van ${feats.length} gebieden onderdrukt. <a href="#" id="grover" data-laag="${GROVER[laag]}">Toon ${esc(LAAG_TITELS[GROVER[laag]] || GROVER[laag])}</a></div>`;
}

// The fill's opacity, and that of an index of low confidence.
export const VOL = 0.78;
const DOORZICHTIG = 0.3;
export const LAAG_VERTROUWEN = 'laag vertrouwen: te veel cijfers onderdrukt of onzeker; niet gerangschikt';

// The map shows the index (its state, not its change).
const indexKaart = () => app.staat.indicator === 'index' && !veranderkaart();

// The legend's row for faint areas, with how many are drawn so; empty when none is.
function vertrouwenRij() {
  if (!indexKaart()) return '';
  const n = (app.data?.features ?? []).filter((f) => f.properties.index_low_confidence === true).length;
  if (!n) return '';
  return `<div class="rij" id="laag-vertrouwen"><span class="vak" style="background:${KLASSE_KLEUREN[6]};opacity:${DOORZICHTIG}"></span>lichter: ${esc(LAAG_VERTROUWEN)} (${nl(n)})</div>`;
}

// The map shows change since a start quarter (and the change figures are loaded).
export function veranderkaart() {
  return !!(app.staat.vanaf && app.wijziging && app.wijziging.indicator === app.staat.indicator);
}

export function kleur() {
  if (!app.map.getLayer('vlak')) return;
  const prop = veranderkaart() ? 'verandering' : eigenschap();
  const { expr, legenda } = kleurExpressie();
  app.map.setPaintProperty('vlak', 'fill-color', expr);
  // An index of low confidence is drawn faint: its class is told, but not to be relied on.
  app.map.setPaintProperty('vlak', 'fill-opacity', indexKaart()
    ? ['case', ['==', ['get', 'index_low_confidence'], true], DOORZICHTIG, VOL] : VOL);
  app.map.setFilter('vlak', ['!=', ['get', prop], null]);
  app.map.setFilter('onderdrukt', ['==', ['get', prop], null]);
  tekenLegenda(legenda);
}

// The properties the map draws, names and shows in its tooltip (the panel fetches the rest):
// a national layer is then an eighth of its size (H3 res 9: 18 MB instead of 129 MB).
export function kaartEigenschappen() {
  const p = ['code', 'naam', 'level', 'gemeente', 'index', 'index_class'];
  if (app.staat.indicator === 'index') p.push('index_low_confidence');
  else p.push(`${app.staat.indicator}_rate`);
  return p;
}

// At most this many areas in one layer. Beyond it (H3 res 10 or PC6 over the whole country at
// a low zoom) the map asks to zoom in rather than load them all; every layer of a gemeente or
// region, and the whole country down to H3 res 9, stays well under it.
export const MAX_GEBIEDEN = 100000;

class TeVeel extends Error {
  constructor(aantal) {
    super(`${nl(aantal)} gebieden in beeld, meer dan de kaart in één keer toont (${nl(MAX_GEBIEDEN)})`);
    this.aantal = aantal;
  }
}

// Every page of an items request, following the API's next links (10,000 areas a page);
// `stap(geladen, totaal)` after each page but the last; stops when `actueel()` turns false.
export async function allePaginas(url, stap, actueel) {
  const data = await json(url);
  if (data.numberMatched > MAX_GEBIEDEN) throw new TeVeel(data.numberMatched);
  const features = data.features;
  let volgende = data.links?.find((l) => l.rel === 'next');
  while (volgende && actueel()) {
    stap(features.length, data.numberMatched);
    const u = new URL(volgende.href, location.href);
    const pagina = await json(u.pathname + u.search);
    for (const f of pagina.features) features.push(f);
    volgende = pagina.links?.find((l) => l.rel === 'next');
  }
  data.numberReturned = features.length;
  return data;
}

// The chosen gemeenten as the `gemeente` parameter; for all gemeenten none, which the API
// reads as every gemeente the user may see (rather than 342 codes in every URL).
function zetGemeente(params) {
  if (!alleGemeenten()) params.set('gemeente', gemeenteParam());
  return params;
}

const gekozen = (waarden = {}) => zetGemeente(new URLSearchParams(waarden));

// Which areas of `laag` the map shows, as query parameters (a layer's items, an export): those
// of the chosen gemeenten (`zetGemeente`) and, for H3 res 10 and PC6, only those in view.
function inBeeld(params, laag) {
  zetGemeente(params);
  if (laag === 'h3-10' || laag === 'pc6') {
    const b = app.map.getBounds();
    params.set('bbox', [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(','));
  }
}

let laadTeller = 0;
export async function laadLaag() {
  const laag = effectieveLaag();
  const periode = app.staat.periode;
  const eigenschappen = kaartEigenschappen();
  const params = new URLSearchParams({ limit: '10000', datetime: periode, reference: referentie(), properties: eigenschappen.join(',') });
  inBeeld(params, laag);
  const mijn = ++laadTeller;
  app.klaar = false;
  document.body.dataset.geladen = 'false';
  // Change since a start quarter before the shown one (else the map shows the state).
  const wijzigingUrl = app.staat.vanaf && app.staat.vanaf < periode
    ? `/v1/changes/${laag}?${gekozen({ indicator: app.staat.indicator, from: app.staat.vanaf, datetime: periode, reference: referentie() })}`
    : null;
  const vorige = app.geladenLaag;
  // Progress only when it takes a moment (no flicker while panning).
  setTimeout(() => { if (mijn === laadTeller && !app.klaar) toonStatus(`${LAAG_TITELS[laag] || laag} laden…`); }, 250);
  let data, grenzen, wijziging;
  try {
    [data, grenzen, wijziging] = await Promise.all([
      allePaginas(`/v1/collections/${laag}/items?${params}`,
        (n, totaal) => { if (mijn === laadTeller) toonStatus(`${LAAG_TITELS[laag] || laag} laden… ${nl(n)} van ${nl(totaal)} gebieden`); },
        () => mijn === laadTeller),
      vasteGrenzen(laag),
      wijzigingUrl ? json(wijzigingUrl) : null,
    ]);
  } catch (e) {
    if (mijn !== laadTeller) return;
    if (e instanceof TeVeel) {
      // The layer stays chosen, empty, until a closer view has few enough areas (H3 res 10 and
      // PC6 load what is in view as the map moves).
      app.data = { type: 'FeatureCollection', features: [] };
      app.geladenLaag = laag;
      app.geladenEigenschappen = eigenschappen;
      app.map.getSource('gebieden').setData(app.data);
      app.klaar = true;
      document.body.dataset.geladen = 'te-veel';
      toonStatus(`${LAAG_TITELS[laag] || laag}: ${e.message}. Zoom in, of kies een grover niveau.`);
      schrijfHash();
      return;
    }
    // The old layer stays drawn, and the choice goes back to it: what the header, legend and
    // URL say is what the map shows. The failed choice can be tried again.
    const poging = app.staat.laag;
    if (vorige && app.staat.laag !== 'auto') {
      app.staat.laag = vorige;
      $('laag').value = vorige;
    }
    document.body.dataset.geladen = 'fout';
    toonStatus(`${LAAG_TITELS[laag] || laag} kon niet geladen worden (${e.message}). De kaart toont nog ${LAAG_TITELS[vorige] || 'niets'}.`, () => {
      app.staat.laag = poging;
      if ([...$('laag').options].some((o) => o.value === poging)) $('laag').value = poging;
      laadLaag();
    });
    return;
  }
  if (mijn !== laadTeller) return;
  app.grenzen = grenzen;
  app.wijziging = wijziging;
  if (wijziging) {
    const per = new Map(wijziging.changes.map((c) => [c.code, c]));
    for (const f of data.features) {
      const c = per.get(f.properties.code);
      f.properties.verandering = c?.change ?? null;
      f.properties.verandering_van = c?.from ?? null;
      f.properties.verandering_naar = c?.to ?? null;
      f.properties.verandering_richting = c?.direction ?? 'onbekend';
      f.properties.verandering_reden = c?.reason ?? (c ? null : 'onderdrukt');
    }
  }
  app.data = data;
  app.geladenLaag = laag;
  app.geladenEigenschappen = eigenschappen;
  app.map.getSource('gebieden').setData(data);
  kleur();
  markeerSelectie();
  tekenNamen().catch(() => { /* names are a help, not a must */ });
  app.map.once('idle', () => {
    if (mijn !== laadTeller) return;
    toonStatus(null);
    app.klaar = true;
    document.body.dataset.geladen = 'true';
  });
  schrijfHash();
}

// The status line over the map: a message, or a failure with a button to try again; null hides it.
export function toonStatus(tekst, opnieuw) {
  const el = $('status');
  if (!el) return;
  if (!tekst) { el.hidden = true; el.classList.remove('fout'); return; }
  el.hidden = false;
  el.classList.toggle('fout', !!opnieuw);
  el.textContent = tekst;
  if (opnieuw) {
    const knop = document.createElement('button');
    knop.type = 'button';
    knop.id = 'opnieuw';
    knop.textContent = 'Opnieuw proberen';
    knop.addEventListener('click', opnieuw);
    el.appendChild(knop);
    knop.focus();
  }
}

// The exports of what the map shows (layer, gemeente or region, quarter; for H3 res 10 and PC6
// what is in view): a GeoPackage in RD New for QGIS, CSV for Excel, GeoJSON. The browser
// downloads them with the session; the server records each in the audit log.
export function exportLinks() {
  const laag = effectieveLaag();
  const q = new URLSearchParams({ collection: laag, datetime: app.staat.periode });
  inBeeld(q, laag);
  const formaten = [['gpkg', 'GeoPackage (RD New, voor QGIS)'], ['csv', 'CSV (Excel)'], ['geojson', 'GeoJSON (WGS84)']];
  $('export-menu').innerHTML = formaten.map(([f, naam]) => `<a href="/v1/exports?${q}&format=${f}" download>${esc(naam)}</a>`).join('')
    + `<p>${esc(LAAG_TITELS[laag] || laag)} · ${esc(gekozenNaam())} · ${esc(app.staat.periode)}, alle indicatoren, met de onthullingscontrole van de kaart. Elke export komt in het auditlog.</p>`;
}

// The outline of the chosen gemeente (or of a region's gemeenten), over every layer.
export async function tekenGemeenteGrens() {
  const data = await json(`/v1/collections/gemeenten/items?${gekozen({ limit: '400', properties: 'code' })}`).catch(() => null);
  if (data && app.map.getSource('gemeente-grens')) app.map.getSource('gemeente-grens').setData(data);
}

// The PDOK background map: on request, and only if it answers; otherwise say so.
export async function achtergrond(aan) {
  app.map.setLayoutProperty('brt', 'visibility', aan ? 'visible' : 'none');
  if (!aan) return;
  const c = app.map.getCenter();
  const z = 10;
  const x = Math.floor(((c.lng + 180) / 360) * 2 ** z);
  const r = (c.lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z);
  const url = app.config.basemap.tiles.replace('{z}', z).replace('{x}', x).replace('{y}', y);
  const stop = new AbortController();
  const klok = setTimeout(() => stop.abort(), 5000);
  let ok = false;
  try { ok = (await fetch(url, { signal: stop.signal, mode: 'cors' })).ok; } catch (_) { ok = false; }
  clearTimeout(klok);
  if (!ok) {
    app.map.setLayoutProperty('brt', 'visibility', 'none');
    $('achtergrond').checked = false;
    toonStatus('De achtergrondkaart van PDOK is niet bereikbaar (geen internet of PDOK buiten gebruik); de kaart werkt zonder.', () => { toonStatus(null); $('achtergrond').checked = true; achtergrond(true); });
  }
}

// Class breaks fixed over every quarter, per level and gemeente (fetched once).
function vasteGrenzen(laag) {
  app.klassenCache ??= {};
  const sleutel = `${laag}/${gemeenteParam()}`;
  app.klassenCache[sleutel] ??= json(`/v1/classes/${laag}?${gekozen()}`).catch(() => null);
  return app.klassenCache[sleutel];
}

export function markeerSelectie() {
  const code = app.staat.selectie?.split('/')[1] ?? '';
  if (app.map.getLayer('selectie')) app.map.setFilter('selectie', ['==', ['get', 'code'], code]);
}

export function stijl() {
  const s = { version: 8, sources: {}, layers: [{ id: 'achtergrond', type: 'background', paint: { 'background-color': '#eef1f4' } }] };
  const b = app.config.basemap;
  s.sources.brt = { type: 'raster', tiles: [b.tiles], tileSize: 256, attribution: b.attribution };
  s.layers.push({ id: 'brt', type: 'raster', source: 'brt', layout: { visibility: 'none' }, paint: { 'raster-opacity': 0.8 } });
  return s;
}
