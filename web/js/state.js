// The app's state and its URL (the hash holds the view).

export const app = {
  map: null,
  klaar: false,
  config: null,
  indicatoren: [],
  themas: [],
  perioden: [],
  staat: { gemeente: null, laag: 'wijken', indicator: 'index', periode: null, selectie: null, vanaf: null, ref: null },
  gemeenten: [],
  geladenLaag: null,
  data: null,
  afspelen: null,
};
window.wijkradar = app;

export function leesHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.get('gemeente')) app.staat.gemeente = h.get('gemeente');
  if (h.get('laag')) app.staat.laag = h.get('laag');
  if (h.get('indicator')) app.staat.indicator = h.get('indicator');
  if (h.get('periode')) app.staat.periode = h.get('periode');
  if (h.get('selectie')) app.staat.selectie = h.get('selectie');
  if (h.get('vanaf')) app.staat.vanaf = h.get('vanaf');
  app.staat.ref = ['alle', 'gemeente', 'regio'].includes(h.get('ref')) ? h.get('ref') : null;
  const kaart = h.get('kaart');
  if (kaart) {
    const [z, lat, lon] = kaart.split('/').map(Number);
    if ([z, lat, lon].every(Number.isFinite)) return { zoom: z, center: [lon, lat] };
  }
  return null;
}

export function schrijfHash() {
  if (!app.map) return;
  const c = app.map.getCenter();
  const h = new URLSearchParams();
  if (app.staat.gemeente) h.set('gemeente', app.staat.gemeente);
  h.set('laag', app.staat.laag);
  h.set('indicator', app.staat.indicator);
  if (app.staat.periode) h.set('periode', app.staat.periode);
  if (app.staat.selectie) h.set('selectie', app.staat.selectie);
  if (app.staat.vanaf) h.set('vanaf', app.staat.vanaf);
  if (app.staat.ref) h.set('ref', app.staat.ref);
  h.set('kaart', `${app.map.getZoom().toFixed(2)}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`);
  history.replaceState(null, '', '#' + h.toString());
}

// What the map shows: one gemeente, (value 'regio:ID') the loaded gemeenten of a RIEC region
// side by side, or (value 'alle') every gemeente the user may see: the whole country for a
// national analyst.
export const ALLE = 'alle';

export function alleGemeenten() {
  return app.staat.gemeente === ALLE;
}

export function gekozenRegio() {
  const v = app.staat.gemeente ?? '';
  return v.startsWith('regio:') ? (app.regios ?? []).find((r) => r.id === v.slice(6)) ?? null : null;
}

export function gekozenCodes() {
  const r = gekozenRegio();
  if (r) return r.gemeenten.map((g) => g.code);
  if (alleGemeenten()) return (app.gemeenten ?? []).map((g) => g.code);
  return app.staat.gemeente ? [app.staat.gemeente] : [];
}

// What the index is standardised against (the API's `reference`): the choice, else the region
// for a region (as its ranking) and all loaded gemeenten for one gemeente.
export function referentie() {
  return app.staat.ref ?? (gekozenRegio() ? 'regio' : 'alle');
}

// The reference in words, for the legend: "alle geladen gemeenten", "Venlo", "RIEC Limburg".
export function referentieNaam() {
  const ref = referentie();
  if (ref === 'alle') return 'alle geladen gemeenten';
  const codes = gekozenCodes();
  if (ref === 'gemeente') {
    return codes.length === 1 ? (app.gemeenten.find((g) => g.code === codes[0])?.naam ?? codes[0]) : 'de eigen gemeente van elk gebied';
  }
  const r = gekozenRegio() ?? (codes.length === 1 ? (app.regios ?? []).find((x) => x.gemeenten.some((g) => g.code === codes[0])) : null);
  return r ? r.naam : 'de eigen RIEC-regio';
}

// What is chosen, in words: a gemeente's name, a region's, or "alle gemeenten".
export function gekozenNaam() {
  if (alleGemeenten()) return `Alle ${app.gemeenten.length} gemeenten`;
  return gekozenRegio()?.naam ?? app.gemeenten.find((g) => g.code === app.staat.gemeente)?.naam ?? app.staat.gemeente;
}

// The API's gemeente parameter: one GM-code or several with commas (at most 400, more than
// the Netherlands has).
export function gemeenteParam() {
  return gekozenCodes().join(',');
}

export function effectieveLaag() {
  if (app.staat.laag !== 'auto') return app.staat.laag;
  const z = app.map.getZoom();
  if (z < 10.5) return 'h3-7';
  if (z < 12) return 'h3-8';
  if (z < 13.5) return 'h3-9';
  return 'h3-10';
}

export function eigenschap() {
  return app.staat.indicator === 'index' ? 'index' : `${app.staat.indicator}_rate`;
}

export function indicatorMeta(id) {
  return app.indicatoren.find((i) => i.id === id);
}

// The boundary levels (wijken, buurten) without areas for the chosen gemeente (or region),
// from /v1/gemeenten's `lacking`: `alle`, lacked by every chosen gemeente (those layers stay
// empty), and `deels`, per level the names of the chosen gemeenten that lack it while others
// have it, and how many gemeenten are chosen.
export function ontbrekendeLagen() {
  const codes = gekozenCodes();
  const gs = (app.gemeenten ?? []).filter((g) => codes.includes(g.code));
  // `lacking` holds only levels from the boundaries; levels where nothing was published (all
  // suppressed) are in `unpublished`, which the legend says in its own way.
  const lagen = ['wijken', 'buurten'].filter((l) => gs.some((g) => (g.lacking ?? []).includes(l)));
  const alle = lagen.filter((l) => gs.every((g) => (g.lacking ?? []).includes(l)));
  const deels = lagen
    .filter((l) => !alle.includes(l))
    .map((l) => [l, gs.filter((g) => (g.lacking ?? []).includes(l)).map((g) => g.naam || g.code)]);
  return { alle, deels, gekozen: gs.length };
}

// The next coarser level to show instead of one the chosen gemeenten lack.
const TERUGVAL = { buurten: 'wijken', wijken: 'pc4' };

// For several gemeenten chosen together, where some lack `laag` (wijken or buurten): the
// first coarser level every one of them has, so that none drops out of the map or the ranking
// (as the region's briefing compares postcode areas then); else `laag`.
export function gezamenlijkeLaag(laag) {
  const { alle, deels, gekozen } = ontbrekendeLagen();
  if (gekozen < 2) return laag;
  return grover(laag, (l) => alle.includes(l) || deels.some(([d]) => d === l));
}

// `laag`, or the first coarser level the chosen gemeenten have.
export function beschikbareLaag(laag) {
  const { alle } = ontbrekendeLagen();
  return grover(laag, (l) => alle.includes(l));
}

// `laag`, or the first coarser level for which `ontbreekt` does not hold.
function grover(laag, ontbreekt) {
  let l = laag;
  while (ontbreekt(l) && TERUGVAL[l]) l = TERUGVAL[l];
  return l;
}
