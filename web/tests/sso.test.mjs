// Single sign-on in Debian's headless Chromium against a real OpenID Connect provider: the
// PyPI oidc-provider-mock, started here on its own port (scripts/test.sh installs it and sets
// WIJKRADAR_OIDC_MOCK). Wijkradar is the client; the browser only carries the provider's code.
// Also: the server itself over HTTPS (rustls) with a certificate made by openssl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const port = 20000 + Math.floor(Math.random() * 2000);
const idpPort = port + 2500;
const base = `http://127.0.0.1:${port}`;
const idp = `http://127.0.0.1:${idpPort}`;
const dir = mkdtempSync(join(tmpdir(), 'wijkradar-sso-'));
const db = join(dir, 'wijkradar.duckdb');
const children = [];
let browser;

async function waitFor(url, ms, opts = {}) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try { const r = await fetch(url, opts); if (r.status < 500) return; } catch (_) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no answer from ${url}`);
}

function start(cmd, args, env = {}) {
  const c = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
  children.push(c);
  return c;
}

const users = [
  { sub: 'idp-anna', preferred_username: 'anna.sso', roles: ['adviseur:GM0983', 'Outlook.Gebruiker'] },
  // Takes the name of a local demo account: must get an account of its own.
  { sub: 'idp-indringer', preferred_username: 'beheerder', roles: ['adviseur:GM0392'] },
  { sub: 'idp-zonder-rol', preferred_username: 'zonder.rol' },
];

before(async () => {
  assert.ok(process.env.WIJKRADAR_BIN && process.env.WIJKRADAR_DB, 'set WIJKRADAR_BIN and WIJKRADAR_DB (scripts/test.sh does)');
  assert.ok(process.env.WIJKRADAR_OIDC_MOCK, 'set WIJKRADAR_OIDC_MOCK to the oidc-provider-mock program (scripts/test.sh does)');
  // A copy of the demo, so that the accounts made here stay here.
  // (the dataset, its accounts, the audit key and checkpoints).
  const from = dirname(process.env.WIJKRADAR_DB);
  for (const f of readdirSync(from).filter((f) => f.startsWith('wijkradar.') && !f.endsWith('.lock'))) copyFileSync(join(from, f), join(dir, f));
  start(process.env.WIJKRADAR_OIDC_MOCK, ['--port', String(idpPort), '--require-nonce', 'true',
    ...users.flatMap((u) => ['--user-claims', JSON.stringify(u)])]);
  await waitFor(`${idp}/.well-known/openid-configuration`, 30000);
  start(process.env.WIJKRADAR_BIN, ['serve', '--db', db, '--addr', `127.0.0.1:${port}`, '--web', join(here, '..')], {
    WIJKRADAR_OIDC_ISSUER: idp,
    WIJKRADAR_OIDC_CLIENT_ID: 'wijkradar-test',
    WIJKRADAR_OIDC_CLIENT_SECRET: 'geheim-van-de-test',
    WIJKRADAR_OIDC_LABEL: 'Test-IdP',
  });
  await waitFor(`${base}/v1`, 30000);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill();
});

// Signs in through the provider as `sub`; returns the page where the sign-in ended.
async function viaSso(sub) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login?next=/%23gemeente%3DGM0983`);
  await page.click('text=Aanmelden met Test-IdP');
  await page.waitForURL(new RegExp(`^${idp}/oauth2/authorize`), { timeout: 15000 });
  const authorize = new URL(page.url());
  // PKCE (S256), state and nonce go out with every request.
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(authorize.searchParams.get('code_challenge')?.length >= 43);
  assert.ok(authorize.searchParams.get('nonce') && authorize.searchParams.get('state'));
  assert.equal(authorize.searchParams.get('redirect_uri'), `${base}/login/sso/callback`);
  await page.click(`button[value="${sub}"]`);
  // Back at Wijkradar: past the callback (signed in), or on it with a refusal.
  const end = Date.now() + 15000;
  for (;;) {
    const u = new URL(page.url());
    if (u.origin === base && !u.pathname.startsWith('/login/sso')) break;
    if (u.origin === base && (await page.$('.fout').catch(() => null))) break;
    assert.ok(Date.now() < end, `stuck at ${page.url()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { page, context };
}

const me = (page) => page.evaluate(async () => { const r = await fetch('/v1/me'); return { status: r.status, body: r.status === 200 ? await r.json() : null }; });

test('the login page offers single sign-on; a provider user with a role signs in and sees only their gemeente', async () => {
  const { page, context } = await viaSso('idp-anna');
  assert.equal(new URL(page.url()).pathname, '/');
  const m = await me(page);
  assert.equal(m.status, 200);
  assert.equal(m.body.gebruiker, 'anna.sso');
  assert.deepEqual(m.body.rollen, ['adviseur']);
  assert.deepEqual(Object.keys(m.body.gemeenten), ['GM0983']);
  // The browser holds no token of the provider: only the session cookie, HttpOnly.
  const cookies = await context.cookies(base);
  assert.deepEqual(cookies.map((c) => c.name), ['wijkradar']);
  assert.ok(cookies[0].httpOnly && cookies[0].sameSite === 'Strict');
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.doesNotMatch(storage, /eyJ/, 'a JWT in web storage');
  // Tenancy as for a local account.
  const venlo = await page.evaluate(async () => (await fetch('/v1/areas/wijken/WK098325')).status);
  assert.equal(venlo, 200);
  const haarlem = await page.evaluate(async () => (await fetch('/briefing/GM0392')).status);
  assert.equal(haarlem, 404);
  await context.close();
});

test('a provider user named like a local account gets an account of its own, not the local one', async () => {
  const { page, context } = await viaSso('idp-indringer');
  const m = await me(page);
  assert.equal(m.status, 200);
  assert.equal(m.body.gebruiker, 'beheerder-2');
  assert.deepEqual(m.body.rollen, ['adviseur']);
  assert.equal(m.body.mag.beheer, false);
  await context.close();
});

test('a provider user without a Wijkradar role gets no session and a clear answer', async () => {
  const { page, context } = await viaSso('idp-zonder-rol');
  assert.match(await page.textContent('.fout'), /geen rol in Wijkradar/);
  assert.equal((await me(page)).status, 401);
  await context.close();
});

test('a code brought back to another browser is refused (login CSRF), and so is a replayed one', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  // The provider's answer (code and state), as the browser carried it back.
  let callback;
  page.on('request', (r) => { if (r.url().startsWith(`${base}/login/sso/callback`)) callback = r.url(); });
  await page.goto(`${base}/login`);
  await page.click('text=Aanmelden met Test-IdP');
  await page.waitForURL(new RegExp(`^${idp}/oauth2/authorize`));
  await page.click('button[value="idp-anna"]');
  await page.waitForURL((u) => u.origin === base && !u.pathname.startsWith('/login/sso'), { timeout: 15000 });
  assert.ok(callback, 'the provider sent the browser back');
  assert.equal((await me(page)).status, 200);
  // Another browser that opens the same answer (an attacker's code pushed on a victim) is
  // refused: the state is not the one this browser started with.
  const other = await browser.newContext();
  const p2 = await other.newPage();
  await p2.goto(callback);
  assert.match(await p2.textContent('.fout'), /niet in deze browser begonnen/);
  assert.equal((await me(p2)).status, 401);
  await other.close();
  // With the state's cookie as the first browser had it, a used answer is refused too.
  const again = await browser.newContext();
  await again.addCookies([{ name: 'wijkradar-sso', value: new URL(callback).searchParams.get('state'), domain: '127.0.0.1', path: '/login/sso' }]);
  const p3 = await again.newPage();
  await p3.goto(callback);
  assert.match(await p3.textContent('.fout'), /verlopen/);
  assert.equal((await me(p3)).status, 401);
  await again.close();
  await context.close();
});

test('disabling a provider user here ends their session and refuses their next sign-in', async () => {
  const { page, context } = await viaSso('idp-anna');
  assert.equal((await me(page)).status, 200);
  execFileSync(process.env.WIJKRADAR_BIN, ['user', 'disable', 'anna.sso', '--db', db]);
  await page.waitForFunction(async () => (await fetch('/v1/me')).status === 401, null, { timeout: 10000, polling: 300 });
  await context.close();
  const again = await viaSso('idp-anna');
  assert.match(await again.page.textContent('.fout'), /uitgeschakeld/);
  await again.context.close();
  execFileSync(process.env.WIJKRADAR_BIN, ['user', 'enable', 'anna.sso', '--db', db]);
  const log = execFileSync(process.env.WIJKRADAR_BIN, ['audit', 'verify', '--db', db]).toString();
  assert.match(log, /Auditlog in orde/);
  // The audit log has the sign-ins through the provider and the refusal (written within a
  // second or so by the server's log writer).
  let shown = '';
  for (let i = 0; i < 40 && !/login-mislukt.*gebruiker uitgeschakeld/.test(shown); i++) {
    await new Promise((x) => setTimeout(x, 250));
    shown = execFileSync(process.env.WIJKRADAR_BIN, ['audit', 'show', '--db', db, '--limit', '200']).toString();
  }
  assert.match(shown, /anna\.sso\s+login\s+\/login\/sso\s+ok single sign-on/);
  assert.match(shown, /anna\.sso\s+login-mislukt\s+\/login\/sso\s+gebruiker uitgeschakeld/);
});

test('the server speaks HTTPS itself with a certificate (rustls), with HSTS and __Host- cookies', async () => {
  const tls = mkdtempSync(join(tmpdir(), 'wijkradar-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem')], { stdio: 'ignore' });
  const tport = port + 1;
  const s = start(process.env.WIJKRADAR_BIN, ['serve', '--db', db, '--addr', `127.0.0.1:${tport}`, '--web', join(here, '..')], {
    WIJKRADAR_TLS_CERT: join(tls, 'cert.pem'), WIJKRADAR_TLS_KEY: join(tls, 'key.pem'),
  });
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const end = Date.now() + 30000;
  let r;
  while (!r && Date.now() < end) {
    r = await page.goto(`https://127.0.0.1:${tport}/login`).catch(() => null);
    if (!r) await new Promise((x) => setTimeout(x, 300));
  }
  assert.ok(r, 'no HTTPS answer');
  assert.equal(r.status(), 200);
  assert.match(r.headers()['strict-transport-security'] || '', /max-age=/);
  await page.fill('#gebruiker', 'adviseur-venlo');
  await page.fill('#wachtwoord', 'demo-adviseur-venlo');
  await Promise.all([page.waitForURL(`https://127.0.0.1:${tport}/`), page.click('button[type=submit]')]);
  const cookies = await context.cookies();
  assert.deepEqual(cookies.map((c) => c.name), ['__Host-wijkradar']);
  assert.ok(cookies[0].secure);
  // Plain HTTP on that port gets no page.
  const plain = await fetch(`http://127.0.0.1:${tport}/login`).then((x) => x.status).catch(() => 'refused');
  assert.notEqual(plain, 200);
  await context.close();
  s.kill();
});
