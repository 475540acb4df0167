// Formatting, escaping, fetching, and the fixed vocabularies of the map app.

export const KLASSE_KLEUREN = ['#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b'];
export const KLASSE_LABELS = ['veel minder druk', 'minder druk', 'iets minder druk', 'nét minder druk', 'gemiddeld', 'nét meer druk', 'iets meer druk', 'meer druk', 'veel meer druk'];
export const ROOD = ['#fee5d9', '#fcbba1', '#fc9272', '#fb6a4a', '#de2d26', '#8b0010'];
export const LAAG_TITELS = { 'h3-7': 'H3-cellen res. 7', 'h3-8': 'H3-cellen res. 8', 'h3-9': 'H3-cellen res. 9', 'h3-10': 'H3-cellen res. 10', pc4: 'Postcodegebieden (PC4)', pc6: 'Postcodes (PC6)', buurten: 'Buurten', wijken: 'Wijken', gemeenten: 'Gemeenten' };

export const $ = (id) => document.getElementById(id);
export const nl = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v)) ? '—' : Number(v).toLocaleString('nl-NL', { maximumFractionDigits: d, minimumFractionDigits: 0 });
// The band of small counts shown as one value (10–19 as 15), in words for a legend.
export const band = (d) => (d?.small_count_band ? ` (${d.small_count_band.from}–${d.small_count_band.to} als ${d.small_count_band.shown_as})` : '');
// A published count in words: the band's range where it is the band's value.
export const aantal = (c, d) => {
  const b = d?.small_count_band;
  return b && c === b.shown_as ? `${b.from}–${b.to}` : nl(c, 0);
};
export const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));

// Not signed in (or the session ended): to the login page, back here afterwards.
export function naarAanmelden() {
  location.href = `/login?next=${encodeURIComponent(location.pathname + location.hash)}`;
}

export async function json(url) {
  const r = await fetch(url, { credentials: 'same-origin' });
  if (r.status === 401) {
    naarAanmelden();
    throw new Error('niet aangemeld');
  }
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail; } catch (_) { /* not json */ }
    throw new Error(`${r.status}: ${detail}`);
  }
  return r.json();
}
