// The map's layers: the style, colours and legend, loading a layer, the selection outline.

import { tekenNamen } from './namen.js';
import { KLASSE_KLEUREN, KLASSE_LABELS, ROOD, LAAG_TITELS, $, nl, esc, json } from './format.js';
import { app, schrijfHash, effectieveLaag, eigenschap, indicatorMeta } from './state.js';

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

export function kleurExpressie() {
  const prop = eigenschap();
  if (app.staat.indicator === 'index') {
    const stappen = ['step', ['get', 'index_class'], KLASSE_KLEUREN[0]];
    for (let c = 2; c <= 9; c++) stappen.push(c, KLASSE_KLEUREN[c - 1]);
    return { expr: stappen, legenda: KLASSE_KLEUREN.map((k, i) => ({ kleur: k, label: `${i + 1} · ${KLASSE_LABELS[i]}` })) };
  }
  const meta = indicatorMeta(app.staat.indicator) || {};
  const waarden = (app.data?.features || []).map((f) => f.properties[prop]).filter((v) => v !== null && v !== undefined);
  const grenzen = kwantielen(waarden, 5);
  const kleuren = meta.polarity === 'lower_is_worse' ? [...ROOD].reverse() : ROOD;
  if (grenzen.length === 0) return { expr: kleuren[2], legenda: [{ kleur: kleuren[2], label: waarden.length ? nl(waarden[0]) : 'geen waarden' }] };
  const expr = ['step', ['get', prop], kleuren[0]];
  grenzen.forEach((g, i) => expr.push(g, kleuren[Math.min(i + 1, 4)]));
  const legenda = [];
  const min = Math.min(...waarden), max = Math.max(...waarden);
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { expr: kleuren[2], legenda: [{ kleur: kleuren[2], label: 'geen getoonde waarden' }] };
  const randen = [min, ...grenzen, max];
  for (let i = 0; i < randen.length - 1; i++) legenda.push({ kleur: kleuren[Math.min(i, 4)], label: `${nl(randen[i])} – ${nl(randen[i + 1])}` });
  return { expr, legenda };
}

export function tekenLegenda(legenda) {
  const meta = indicatorMeta(app.staat.indicator);
  const titel = app.staat.indicator === 'index' ? 'Drukindex (9 klassen)' : `${meta?.naam ?? ''} (${meta?.unit ?? ''})`;
  const rijen = legenda.map((r) => `<div class="rij"><span class="vak" style="background:${r.kleur}"></span>${esc(r.label)}</div>`).join('');
  $('legenda').innerHTML = `<h3>${esc(titel)}</h3><div class="klein">${esc(LAAG_TITELS[effectieveLaag()] || '')} · ${esc(app.staat.periode || '')}${app.staat.indicator === 'index' ? '' : ' · klassen: kwantielen'}</div>${rijen}
    <div class="rij"><span class="vak gearceerd"></span>onderdrukt: ${esc(UITLEG_ONDERDRUKT())}</div>
    ${groverAdvies()}
    <div class="klein">Aantallen &lt; ${app.disclosure?.k ?? 10} onderdrukt, afgerond op ${app.disclosure?.round_to ?? 5}. Grenzen: Kadaster / CBS, 2024.</div>`;
  $('grover')?.addEventListener('click', (e) => {
    e.preventDefault();
    app.staat.laag = e.target.dataset.laag;
    $('laag').value = app.staat.laag;
    laadLaag();
  });
}

// The one explanation of a hatched area, everywhere.
export const UITLEG_ONDERDRUKT = () => `minder dan ${app.disclosure?.k ?? 10} gevallen, of verborgen om een ander cijfer te beschermen`;

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

export function kleur() {
  if (!app.map.getLayer('vlak')) return;
  const prop = eigenschap();
  const { expr, legenda } = kleurExpressie();
  app.map.setPaintProperty('vlak', 'fill-color', expr);
  app.map.setFilter('vlak', ['!=', ['get', prop], null]);
  app.map.setFilter('onderdrukt', ['==', ['get', prop], null]);
  tekenLegenda(legenda);
}

let laadTeller = 0;
export async function laadLaag() {
  const laag = effectieveLaag();
  const periode = app.staat.periode;
  const params = new URLSearchParams({ limit: '10000', datetime: periode, gemeente: app.staat.gemeente });
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
  tekenNamen().catch(() => { /* names are a help, not a must */ });
  app.map.once('idle', () => {
    if (mijn !== laadTeller) return;
    app.klaar = true;
    document.body.dataset.geladen = 'true';
  });
  schrijfHash();
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
