'use strict';
(async () => {
  const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
  const pct = (w) => `${(w * 100).toLocaleString('nl-NL', { maximumFractionDigits: 1 })}%`;
  const [m, cat] = await Promise.all([fetch('/v1/index/method').then((r) => r.json()), fetch('/v1/indicators').then((r) => r.json())]);
  document.getElementById('k').textContent = cat.disclosure.k;
  document.getElementById('r').textContent = cat.disclosure.round_to;
  document.querySelectorAll('.k').forEach((e) => { e.textContent = cat.disclosure.k; });
  document.querySelectorAll('.kf').forEach((e) => { e.textContent = cat.disclosure.k_fine; });
  document.querySelectorAll('.r').forEach((e) => { e.textContent = cat.disclosure.round_to; });
  const band = cat.disclosure.small_count_band;
  for (const [cls, v] of [['.bv', band?.from], ['.bt', band?.to], ['.bs', band?.shown_as]]) {
    document.querySelectorAll(cls).forEach((e) => { e.textContent = v ?? '—'; });
  }
  document.querySelector('#themas tbody').innerHTML = m.themes.map((t) => `<tr><td>${esc(t.naam)}</td><td>${pct(t.weight)}</td></tr>`).join('');
  document.querySelector('#indicatoren tbody').innerHTML = cat.indicators.map((i) => `<tr><td>${esc(i.naam)}</td><td>${esc(i.partners)}</td><td>${esc(i.legal_basis)}</td><td>${i.enforcement ? '0 (handhaving)' : pct(i.index_weight)}</td></tr>`).join('');
})();
