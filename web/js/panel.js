// The side panel (an area's figures, index, charts and projects) and the ranking.

import { LAAG_TITELS, $, nl, esc, json, band, aantal } from './format.js';
import { app, schrijfHash, gekozenRegio, referentie, alleGemeenten } from './state.js';
import { laadLaag, markeerSelectie } from './layers.js';

// What an area's index is compared with: every area of its level in all loaded gemeenten, in
// its own gemeente or in its RIEC region, as the detail names them (the API knows how many
// gemeenten are loaded, also those the user does not see).
function vergelekenMet(d) {
  const soort = (LAAG_TITELS[d.level] || d.level).toLowerCase();
  return `alle ${soort} in ${d.reference_naam}`;
}

export async function openPaneel(laag, code) {
  app.staat.selectie = `${laag}/${code}`;
  markeerSelectie();
  schrijfHash();
  const p = $('paneel');
  p.hidden = false;
  const inhoud = $('paneel-inhoud');
  inhoud.innerHTML = '<p class="klein">Laden…</p>';
  let d;
  try {
    d = await json(`/v1/areas/${laag}/${encodeURIComponent(code)}?datetime=${app.staat.periode}&reference=${referentie()}`);
  } catch (e) {
    inhoud.innerHTML = `<p>Kon het gebied niet laden: ${esc(e.message)}</p>`;
    return;
  }
  // The charts follow the map: the index when the index is chosen.
  const ind = encodeURIComponent(app.staat.indicator);
  const idx = d.index;
  const nav = [];
  if (d.parent) nav.push(`<a href="#" data-laag="${d.parent.level}" data-code="${esc(d.parent.code)}">↑ ${esc(d.parent.naam || d.parent.code)}</a>`);
  const kinderen = d.children.slice(0, 40).map((c) => `<a href="#" data-laag="${c.level}" data-code="${esc(c.code)}">${esc(c.naam || c.code)}</a>`).join(' ');
  const rijen = d.figures.map((f) => `<tr><td>${esc(f.naam)}</td><td class="r">${f.suppressed ? '<span class="klein">onderdrukt</span>' : nl(f.rate) + (f.count !== null ? ` <span class="klein">(${aantal(f.count, d.disclosure)})</span>` : '')}</td><td class="r">${nl(f.gemeente_rate)}</td></tr>`).join('');
  inhoud.innerHTML = `
    <h2 id="paneel-titel">${esc(d.naam || d.code)}</h2>
    <div class="klein"><span id="paneel-code">${esc(d.code)}</span> · ${esc(LAAG_TITELS[d.level] || d.level)} · ${esc(d.period)}</div>
    <div class="nav-links">${nav.join(' ')}</div>
    ${idx ? `<h3>Drukindex</h3><div class="index-blok" id="index-uitleg"><b>${nl(idx.index, 1)}</b> standaardafwijking${Math.abs(idx.index) === 1 ? '' : 'en'} ${idx.index >= 0 ? 'boven' : 'onder'} het gemiddelde van ${esc(vergelekenMet(d))} · klasse ${idx.class} van 9: <b>${esc(idx.class_label)}</b><br>
      <span class="klein">95%-interval ${nl(idx.low, 1)} tot ${nl(idx.high, 1)}. 0 = gemiddeld; +2 of meer = veel meer druk. Alleen vergelijkbaar met andere ${esc((LAAG_TITELS[d.level] || d.level).toLowerCase())}: elk niveau is tegen zijn eigen gebieden afgezet.</span>
      ${idx.low_confidence ? '<div class="laag-vertrouwen">Laag vertrouwen: te veel cijfers onderdrukt of onzeker; niet rangschikken.</div>' : ''}</div>
      <img id="bijdragen-grafiek" alt="Bijdragen per indicator aan de index" src="/v1/charts/contributions/${d.level}/${encodeURIComponent(d.code)}?f=svg&datetime=${d.period}&reference=${d.reference}">` : '<p class="klein">Geen index: te weinig gegevens.</p>'}
    <h3>Trend</h3>
    <img id="trend-grafiek" alt="Trend" src="/v1/charts/trend/${d.level}/${encodeURIComponent(d.code)}?indicator=${ind}&f=svg&reference=${d.reference}">
    <h3>Verdeling over de gemeente</h3>
    <img id="verdeling-grafiek" alt="Verdeling" src="/v1/charts/distribution/${d.level}/${encodeURIComponent(d.code)}?indicator=${ind}&f=svg&datetime=${d.period}&reference=${d.reference}">
    <h3>Cijfers tegen de gemeente <a class="klein" id="profiel-link" href="/profiel/${d.level}/${encodeURIComponent(d.code)}?datetime=${d.period}" target="_blank">volledig profiel (afdrukbaar)</a></h3>
    <table><thead><tr><th>Indicator</th><th>Gebied</th><th>Gemeente</th></tr></thead><tbody>${rijen}</tbody></table>
    ${kinderen ? `<h3>Onderliggende gebieden</h3><div class="nav-links">${kinderen}</div>` : ''}
    <div id="interventies"></div>
    <p class="klein">Aantallen afgerond op ${d.disclosure.round_to}${band(d.disclosure)}. Onderdrukt: minder dan ${d.disclosure.k} gevallen, of verborgen om een ander cijfer te beschermen.</p>`;
  inhoud.querySelectorAll('a[data-laag]').forEach((a) => a.addEventListener('click', (e) => { e.preventDefault(); kiesGebied(a.dataset.laag, a.dataset.code); }));
  toonInterventies(d.level, d.code).catch(() => {});
  return d;
}

const kortVan = (o) => (o.outcome === 'index' ? 'Drukindex' : app.indicatoren.find((i) => i.id === o.outcome)?.kort ?? o.naam);

const OORDEEL_KLASSE = { verbeterd: 'beter', niet_aantoonbaar: 'gelijk', verslechterd: 'slechter' };

export async function toonInterventies(laag, code) {
  const lijst = (await json('/v1/interventions')).interventions.filter((i) => i.level === laag && i.codes.includes(code));
  if (!lijst.length) return;
  const blokken = [];
  const effecten = [];
  for (const iv of lijst) {
    const e = await json(`/v1/interventions/${iv.id}/effect`).catch(() => null);
    effecten.push(e);
    const regels = (e?.outcomes || []).map((o) => {
      return `<tr class="${o.target ? 'doel' : ''}"><td>${esc(kortVan(o))}${o.target ? ' <span class="klein">(doel)</span>' : ''}</td>
        <td class="r">${nl(o.treated_before, 1)} → ${nl(o.treated_after, 1)}</td><td class="r">${nl(o.control_before, 1)} → ${nl(o.control_after, 1)}</td>
        <td class="r"><b>${o.effect > 0 ? '+' : ''}${nl(o.effect, 2)}</b><br><span class="klein">${nl(o.low, 2)} … ${nl(o.high, 2)}</span><br><span class="oordeel ${OORDEEL_KLASSE[o.verdict]}">${esc(o.verdict_label)}</span></td></tr>`;
    }).join('');
    const kop = e?.verdict_label
      ? `<div class="oordeel-kop ${OORDEEL_KLASSE[e.verdict]}" id="project-oordeel">${esc(kortVan(e.outcomes.find((o) => o.target) ?? e.outcomes.find((o) => o.outcome === 'index') ?? { naam: e.verdict_outcome }))}: <b>${esc(e.verdict_label)}</b></div>`
      : '';
    const doelen = iv.targets?.length ? `Doel: ${iv.targets.map((t) => esc(app.indicatoren.find((i) => i.id === t)?.naam ?? t)).join(', ')}. ` : '';
    blokken.push(`<h3>Project: ${esc(iv.naam)}</h3>${kop}<div class="klein">${esc(iv.start_date)} t/m ${esc(iv.end_date)}. ${doelen}Vergeleken met ${e?.controls?.length ?? 0} vergelijkbare gebieden zonder project: de twee kwartalen voor de start tegen de kwartalen erna (verschil in verschillen, 95%-interval). Alleen een interval dat nul uitsluit telt als verandering.
      ${e?.control_codes?.length ? `<a href="#" class="toon-vergelijking" data-i="${effecten.length - 1}">Toon de vergelijkingsgebieden op de kaart</a>` : ''}</div>
      <table id="effect"><thead><tr><th>Uitkomst</th><th>Project: voor → na</th><th>Vergelijking</th><th>Effect</th></tr></thead><tbody>${regels || '<tr><td colspan="4">Nog geen meting voor en na de start.</td></tr>'}</tbody></table>`);
  }
  const doel = document.getElementById('interventies');
  if (!doel) return;
  doel.innerHTML = blokken.join('');
  doel.querySelectorAll('a.toon-vergelijking').forEach((a) => a.addEventListener('click', (ev) => {
    ev.preventDefault();
    const codes = effecten[Number(a.dataset.i)]?.control_codes ?? [];
    toonVergelijking(codes);
    a.textContent = codes.length ? `${codes.length} vergelijkingsgebieden gestippeld op de kaart` : a.textContent;
  }));
}

// The comparison areas of a project, dashed on the map (cleared when the panel closes).
export function toonVergelijking(codes) {
  app.vergelijking = codes;
  if (app.map.getLayer('vergelijking')) app.map.setFilter('vergelijking', ['in', ['get', 'code'], ['literal', codes]]);
}

export async function kiesGebied(laag, code, bbox) {
  if (['wijken', 'buurten', 'pc4', 'pc6', 'h3-7', 'h3-8', 'h3-9', 'h3-10', 'gemeenten'].includes(laag) && laag !== 'gemeenten') {
    app.staat.laag = laag;
    if (![...$('laag').options].some((o) => o.value === laag)) $('laag').insertAdjacentHTML('beforeend', `<option value="${laag}">${LAAG_TITELS[laag]}</option>`);
    $('laag').value = laag;
  }
  if (bbox) app.map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 60, maxZoom: 15, duration: 0 });
  await laadLaag();
  const d = await openPaneel(laag, code);
  // From the ranking or a panel link: zoom to the area.
  if (!bbox && d?.bbox) app.map.fitBounds([[d.bbox[0], d.bbox[1]], [d.bbox[2], d.bbox[3]]], { padding: 60, maxZoom: 15, duration: 0 });
}

export async function laadRangorde() {
  const niveau = $('rangorde-niveau').value;
  const thema = $('rangorde-thema').value;
  const q = new URLSearchParams({ level: niveau, datetime: app.staat.periode, reference: referentie() });
  if (thema) q.set('theme', thema);
  // A region: its gemeenten's wijken or buurten in one ranking, standardised against the region.
  const regio = gekozenRegio();
  // All gemeenten (the whole country for a national analyst): one ranking over them all, its
  // top hundred.
  const d = await json(alleGemeenten() ? `/v1/ranking?${q}` : regio ? `/v1/regions/${encodeURIComponent(regio.id)}/ranking?${q}` : `/v1/ranking/${app.staat.gemeente}?${q}`);
  const deel = d.numberMatched > d.numberReturned ? ` De ${nl(d.numberReturned)} met de hoogste druk van ${nl(d.numberMatched)} ${{ wijken: 'wijken', buurten: 'buurten', pc4: 'postcodegebieden' }[d.level] ?? d.level}.` : '';
  $('rangorde-periode').textContent = `Kwartaal ${d.period}.${deel}`;
  const namen = Object.fromEntries(app.indicatoren.map((i) => [i.id, i.kort ?? i.naam]));
  $('rangorde').querySelector('tbody').innerHTML = d.ranking.map((r) => `<tr tabindex="0" data-code="${esc(r.code)}" data-laag="${r.level}">
    <td title="${r.tied ? 'gedeelde plaats: de onzekerheidsmarges overlappen' : ''}">${r.rank ?? '—'}${r.tied ? '=' : ''}</td><td>${esc(r.naam)}${r.low_confidence ? ' <span class="laag-vertrouwen" title="laag vertrouwen">?</span>' : ''}</td>
    <td class="r">${nl(r.index, 2)}<br><span class="klein">${nl(r.low, 1)}…${nl(r.high, 1)}</span></td>
    <td class="r">${r.change_previous === null ? '—' : (r.change_previous > 0 ? '+' : '') + nl(r.change_previous, 2)}</td>
    <td class="klein">${r.drivers.map((x) => esc(namen[x.indicator] || x.indicator)).join('; ')}</td></tr>`).join('')
    || '<tr><td colspan="5" class="klein" id="rangorde-leeg">Geen gebied met genoeg gegevens voor een rangorde in dit kwartaal.</td></tr>';
  $('rangorde').querySelectorAll('tbody tr[data-code]').forEach((tr) => {
    tr.addEventListener('click', () => kiesGebied(tr.dataset.laag, tr.dataset.code));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); kiesGebied(tr.dataset.laag, tr.dataset.code); } });
  });
}
