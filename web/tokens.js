// Personal access tokens: make one (the secret is shown once), list and revoke them. Writes
// carry the session's CSRF token from /v1/me.
import { esc, json } from './js/format.js';

const $ = (id) => document.getElementById(id);
let ik;

function fout(tekst) {
  $('fout').textContent = tekst;
  $('fout').hidden = !tekst;
}

async function schrijf(methode, url, body) {
  const r = await fetch(url, {
    method: methode,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': ik.csrf },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok && r.status !== 204) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail; } catch (_) { /* not json */ }
    throw new Error(detail);
  }
  return r.status === 204 ? null : r.json();
}

async function lijst() {
  const { tokens } = await json('/v1/tokens');
  $('lijst').innerHTML = tokens.map((t) => {
    const verloopt = new Date(t.expires_at * 1000).toLocaleDateString('nl-NL');
    const status = t.revoked ? 'ingetrokken' : verloopt;
    const knop = t.revoked ? '' : `<button type="button" data-id="${esc(t.id)}">Intrekken</button>`;
    return `<tr><td>${esc(t.name)}</td><td><code>${esc(t.id)}</code></td><td>${esc(t.scope)}</td><td>${esc(t.gemeenten.join(', '))}</td><td>${esc(status)}</td><td>${knop}</td></tr>`;
  }).join('') || '<tr><td colspan="6">Nog geen tokens.</td></tr>';
}

async function start() {
  ik = await json('/v1/me');
  $('api-url').textContent = `${location.origin}/v1`;
  if (!ik.mag.export) $('scope').querySelector('option[value=export]').disabled = true;
  $('nieuw').addEventListener('submit', async (e) => {
    e.preventDefault();
    fout('');
    try {
      const t = await schrijf('POST', '/v1/tokens', { naam: $('naam').value, scope: $('scope').value, dagen: Number($('dagen').value) });
      $('geheim').hidden = false;
      $('geheim').innerHTML = `Uw token (alleen nu zichtbaar; bewaar het in QGIS):<br><code id="token-geheim">${esc(t.token)}</code>`;
      await lijst();
    } catch (err) { fout(err.message); }
  });
  $('lijst').addEventListener('click', async (e) => {
    const id = e.target?.dataset?.id;
    if (!id) return;
    try { await schrijf('DELETE', `/v1/tokens/${encodeURIComponent(id)}`); await lijst(); } catch (err) { fout(err.message); }
  });
  await lijst();
}

start().catch((e) => fout(e.message));
