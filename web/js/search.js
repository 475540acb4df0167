// Search by wijk, buurt or postcode, and the map's tooltip and click.

import { LAAG_TITELS, $, nl, esc, json } from './format.js';
import { app, eigenschap, indicatorMeta, gekozenCodes } from './state.js';
import { kiesGebied, openPaneel } from './panel.js';
import { UITLEG_ONDERDRUKT, ONZEKER, LAAG_VERTROUWEN, RICHTING, veranderkaart } from './layers.js';

let zoekTimer = null;
export function zoekOpzetten() {
  const invoer = $('zoek');
  const lijst = $('zoek-resultaten');
  invoer.addEventListener('input', () => {
    clearTimeout(zoekTimer);
    zoekTimer = setTimeout(async () => {
      const q = invoer.value.trim();
      if (q.length < 2) { lijst.hidden = true; return; }
      let d;
      try {
        d = await json(`/v1/search?q=${encodeURIComponent(q)}`);
      } catch (e) {
        lijst.innerHTML = `<li class="klein">Zoeken mislukt (${esc(e.message)}); probeer het opnieuw.</li>`;
        lijst.hidden = false;
        return;
      }
      lijst.innerHTML = d.results.map((r, i) => `<li data-i="${i}" role="option" aria-selected="false">${esc(r.naam || r.code)} <span class="klein">${esc(r.code)} · ${esc(LAAG_TITELS[r.level] || r.level)}</span></li>`).join('') || '<li class="klein">Geen wijk, buurt of postcode gevonden</li>';
      lijst.hidden = false;
      lijst.querySelectorAll('li[data-i]').forEach((li) => li.addEventListener('click', () => {
        const r = d.results[Number(li.dataset.i)];
        lijst.hidden = true;
        invoer.value = r.naam || r.code;
        // A result outside what the map shows: switch to its gemeente (a region that holds it stays).
        if (r.gemeente && !gekozenCodes().includes(r.gemeente) && app.gemeenten.some((g) => g.code === r.gemeente)) {
          app.staat.gemeente = r.gemeente;
          $('gemeente').value = r.gemeente;
          app.naGemeente();
        }
        kiesGebied(r.level, r.code, r.bbox);
      }));
    }, 200);
  });
  // Arrow keys move through the results, Enter picks, Esc closes.
  invoer.addEventListener('keydown', (e) => {
    const items = [...lijst.querySelectorAll('li[data-i]')];
    const nu = items.findIndex((li) => li.getAttribute('aria-selected') === 'true');
    const kies = (i) => {
      items.forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
      items[i]?.scrollIntoView({ block: 'nearest' });
    };
    if (e.key === 'ArrowDown' && items.length) { e.preventDefault(); kies(Math.min(items.length - 1, nu + 1)); }
    if (e.key === 'ArrowUp' && items.length) { e.preventDefault(); kies(Math.max(0, nu - 1)); }
    if (e.key === 'Enter') (items[nu] ?? items[0])?.click();
    if (e.key === 'Escape') lijst.hidden = true;
  });
}

export function tooltipOpzetten() {
  const tip = $('tooltip');
  app.map.on('mousemove', 'vlakken-alle', (e) => {
    const f = e.features[0];
    if (!f) return;
    const p = f.properties;
    const meta = indicatorMeta(app.staat.indicator);
    const v = p[eigenschap()];
    const leeg = (x) => x === null || x === undefined || x === 'null';
    let waarde = leeg(v) ? `onderdrukt: ${UITLEG_ONDERDRUKT()}`
      : app.staat.indicator === 'index' ? `index ${nl(v, 2)} (klasse ${p.index_class})${p.index_low_confidence === true ? `; ${LAAG_VERTROUWEN}` : ''}` : `${nl(v)} ${meta?.unit ?? ''}`;
    if (veranderkaart()) {
      waarde = leeg(p.verandering) ? `verandering onbekend: ${p.verandering_reden === 'onzeker' ? ONZEKER : 'onderdrukt in een van beide kwartalen'}`
        : `${nl(p.verandering_van, 2)} → ${nl(p.verandering_naar, 2)} (${p.verandering > 0 ? '+' : ''}${nl(p.verandering, 2)}): ${RICHTING[p.verandering_richting]?.label ?? ''}`;
    }
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
