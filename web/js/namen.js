// Place names on the map without a glyph server (the map works offline): the names of the
// wijken (or, on the buurten layer, the buurten) as small HTML labels, shown from a zoom at
// which they fit and thinned where they would overlap. They take no pointer events, so the
// tooltip and a click still reach the areas underneath.
import { app, gemeenteParam } from './state.js';
import { json } from './format.js';

let labels = [];
const wijkenVan = new Map();

// A point for the label: the mean of the outer ring of the largest polygon.
function ankerpunt(f) {
  const g = f.geometry;
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  let ring = polys[0][0];
  for (const p of polys) if (p[0].length > ring.length) ring = p[0];
  const n = ring.length - 1 || 1;
  let lon = 0;
  let lat = 0;
  for (let i = 0; i < n; i += 1) { lon += ring[i][0]; lat += ring[i][1]; }
  return [lon / n, lat / n];
}

async function namenBron() {
  if (app.geladenLaag === 'wijken' || app.geladenLaag === 'buurten') return app.data?.features ?? [];
  const g = gemeenteParam();
  if (!wijkenVan.has(g)) {
    const data = await json(`/v1/collections/wijken/items?limit=10000&properties=code,naam&gemeente=${encodeURIComponent(g)}`);
    wijkenVan.set(g, data.features);
  }
  return wijkenVan.get(g);
}

export async function tekenNamen() {
  const feats = await namenBron();
  for (const l of labels) l.remove();
  labels = feats.filter((f) => f.properties.naam && f.geometry).map((f) => {
    const el = document.createElement('span');
    el.className = 'plaatsnaam';
    el.textContent = f.properties.naam;
    el.dataset.code = f.properties.code;
    return new maplibregl.Marker({ element: el }).setLngLat(ankerpunt(f)).addTo(app.map);
  });
  ontwar();
}

// Shows the labels that fit: from zoom 9.5 (wijken) or 12.5 (buurten), and never two over
// each other.
export function ontwar() {
  const min = app.geladenLaag === 'buurten' ? 12.5 : 9.5;
  const zoom = app.map.getZoom();
  const gezet = [];
  for (const l of labels) {
    const el = l.getElement();
    if (zoom < min) { el.style.visibility = 'hidden'; continue; }
    const p = app.map.project(l.getLngLat());
    const w = el.textContent.length * 7 + 6;
    const r = { x0: p.x - w / 2, x1: p.x + w / 2, y0: p.y - 9, y1: p.y + 9 };
    const botst = gezet.some((q) => r.x0 < q.x1 && r.x1 > q.x0 && r.y0 < q.y1 && r.y1 > q.y0);
    el.style.visibility = botst ? 'hidden' : 'visible';
    if (!botst) gezet.push(r);
  }
}
