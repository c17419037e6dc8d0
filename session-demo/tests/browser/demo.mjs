// The demo in a real browser: Playwright (`playwright-core`, which downloads no browser) drives
// Debian's Chromium through sign-in (a bcrypt seed hash upgraded to Argon2id), the counter, an
// API token (created, used on /api/me from outside the browser, revoked), sign-out, a replay of
// the signed-out cookie, and the GitHub and Vercel sign-ins through the stand-in provider. Run by `session-demo/tests/browser.rs` (through `cargo xtask test`):
//
//   SESSION_CHROMIUM=/usr/bin/chromium NODE_PATH=.tools/node/node_modules \
//     node session-demo/tests/browser/demo.mjs http://127.0.0.1:3000 target/browser-screenshots
//
// Each step prints `step NN name: ok — what was seen` and leaves `<dir>/NN-name.png` (or
// `NN-name-FAILED.png`, then the script exits 1). To add a step, call `step(name, fn)` below:
// `fn` gets `{ page, context }` (the current tab), returns what it saw (a short text), and
// throws on anything unexpected; `expectText`, `expectPath`, `expectLoginPage`, `poll` and
// `freshPage` are the building blocks.

import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// `import ... from 'playwright-core'` would resolve from this file's directory only: ES module
// resolution ignores NODE_PATH, which is where the test puts the npm packages. `require` honours
// it (playwright-core is a CommonJS package).
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const USAGE = 'usage: SESSION_CHROMIUM=<chromium> node demo.mjs <base url> <screenshot dir>';
const [baseUrl, shotDir] = process.argv.slice(2);
const executablePath = process.env.SESSION_CHROMIUM;
if (!baseUrl || !shotDir || !executablePath) {
  console.error(USAGE);
  process.exit(2);
}

/** How long a single wait (an element, a navigation, a poll) may take. */
const TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Helpers.

/** The browser, and the tab the current step works in (what its screenshot shows). */
const state = { browser: null, context: null, page: null };
let stepNumber = 0;

/** A URL on the demo: `url('/login')`. */
function url(path) {
  return new URL(path, baseUrl).toString();
}

/** Fails the step with `message` unless `condition` holds. */
function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

/** Opens a new browser context (no cookies) with one tab, and makes it the current one. */
async function freshPage() {
  const context = await state.browser.newContext({ viewport: { width: 1000, height: 800 } });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.setDefaultNavigationTimeout(TIMEOUT_MS);
  const page = await context.newPage();
  Object.assign(state, { context, page });
  return { context, page };
}

/** Saves a full-page screenshot of `page` as `<dir>/<name>.png`. */
async function shot(page, name) {
  const path = join(shotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The page's visible text, shortened, for error messages. */
async function pageText(page) {
  const text = await page
    .locator('body')
    .innerText({ timeout: 1_000 })
    .catch(() => '(no body)');
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 400 ? `${flat.slice(0, 400)}…` : flat;
}

/** Waits (up to TIMEOUT_MS) until `text` is visible on `page`. */
async function expectText(page, text) {
  try {
    await page.getByText(text).first().waitFor({ state: 'visible', timeout: TIMEOUT_MS });
  } catch {
    throw new Error(`expected to see "${text}" on ${page.url()}, the page shows: ${await pageText(page)}`);
  }
}

/** Checks that `page` is at `path` (the URL's path, after any redirects). */
async function expectPath(page, path) {
  const actual = new URL(page.url()).pathname;
  check(actual === path, `expected to be on ${path}, but the browser is on ${page.url()}: ${await pageText(page)}`);
}

/** Checks that `page` is the sign-in page: /login, its heading and form. */
async function expectLoginPage(page) {
  await expectPath(page, '/login');
  await expectText(page, 'Sign in');
  const fields = await page.locator('form[action="/login"] input[name="username"]').count();
  check(fields === 1, `the sign-in page on ${page.url()} has no username field`);
}

/** Polls `read()` until `accept(value)` holds; returns the value or throws naming `what`. */
async function poll(what, read, accept) {
  const deadline = Date.now() + TIMEOUT_MS;
  let value;
  for (;;) {
    value = await read();
    if (accept(value)) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: still ${JSON.stringify(value)} after ${TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The redirects a navigation went through: `GET / → /login`. */
function redirectChain(response) {
  const hops = [];
  for (let request = response.request(); request; request = request.redirectedFrom()) {
    hops.unshift(request);
  }
  return hops
    .map((request, i) => {
      const path = new URL(request.url()).pathname;
      return i === 0 ? `${request.method()} ${path}` : path;
    })
    .join(' → ');
}

/** The demo's session cookie in `context`, or a failure. */
async function sessionCookie(context) {
  const cookies = await context.cookies(baseUrl);
  const cookie = cookies.find((c) => c.name === 'session');
  check(cookie, `no "session" cookie; the browser has: ${cookies.map((c) => c.name).join(', ') || 'none'}`);
  return cookie;
}

/** The counter's value on the dashboard. */
async function counterValue(page) {
  return (await page.locator('p', { hasText: 'Counter:' }).locator('strong').innerText()).trim();
}

/** The text of the dashboard's provider-table cell `id`. */
async function cell(page, id) {
  return (await page.locator(`#${id}`).innerText()).trim();
}

/** Runs one step: `fn({ page, context })` returns what it saw; a screenshot follows. */
async function step(name, fn) {
  stepNumber += 1;
  const label = `${String(stepNumber).padStart(2, '0')}-${name}`;
  let seen;
  try {
    seen = await fn({ page: state.page, context: state.context });
  } catch (error) {
    if (state.page) {
      await shot(state.page, `${label}-FAILED`).catch(() => {});
    }
    throw new Error(`step ${label.replace('-', ' ')}: FAILED — ${error.message}`);
  }
  await shot(state.page, label);
  console.log(`step ${label.replace('-', ' ')}: ok — ${seen}`);
}

// ---------------------------------------------------------------------------------------------
// The steps.

async function main() {
  mkdirSync(shotDir, { recursive: true });
  state.browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
  await freshPage();
  let oldCookie;

  await step('open-root', async ({ page }) => {
    const response = await page.goto(url('/'));
    await expectLoginPage(page);
    const chain = redirectChain(response);
    check(chain.startsWith('GET / → '), `expected / to redirect to /login, the navigation was: ${chain}`);
    return `${chain}, the sign-in form`;
  });

  await step('fill-login-form', async ({ page }) => {
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wonderland');
    const username = await page.getByLabel('Username').inputValue();
    check(username === 'alice', `the username field holds "${username}"`);
    return 'username alice and a password typed into the form';
  });

  await step('signed-in', async ({ page, context }) => {
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expectText(page, 'Signed in as alice');
    await expectPath(page, '/');
    const status = page.locator('table').first();
    const headings = (await status.locator('th').allInnerTexts()).map((t) => t.trim());
    for (const row of ['created', 'last seen (last write)', 'expires', 'next refresh']) {
      check(headings.includes(row), `the session status table has no "${row}" row (rows: ${headings.join(', ')})`);
    }
    const expires = (await status.locator('tr', { hasText: 'expires' }).locator('td').innerText()).trim();
    check(/ UTC \(in .+\)$/.test(expires), `the expiry reads "${expires}"`);
    await expectText(page, 'Your active sessions (1)');
    await expectText(page, 'this session');
    const count = await counterValue(page);
    check(count === '0', `a new session's counter shows ${count}`);
    await sessionCookie(context);
    return `"Signed in as alice", status table (${headings.join(', ')}), expires ${expires}, counter 0, 1 active session`;
  });

  await step('password-upgraded', async ({ page }) => {
    const scheme = await cell(page, 'password-hash');
    check(scheme.startsWith('argon2id'), `alice's password hash after the first sign-in: ${scheme}`);
    const note = await cell(page, 'password-note');
    check(note === 'upgraded from bcrypt (cost 10) to Argon2id at this sign-in', `the upgrade note reads "${note}"`);
    return `the seed's bcryptjs hash was replaced at sign-in: "${scheme}", "${note}"`;
  });

  await step('count-plus-one', async ({ page }) => {
    await page.getByRole('button', { name: /^\+1/ }).click();
    const count = await poll('the counter after +1', () => counterValue(page), (v) => v === '1');
    await expectPath(page, '/');
    return `counter ${count} after pressing "+1 (writes the session)"`;
  });

  // API tokens: made on their page, used from outside the browser, revoked.
  let apiToken;
  await step('create-api-token', async ({ page }) => {
    await page.getByRole('link', { name: 'API tokens' }).click();
    await expectPath(page, '/tokens');
    await page.getByLabel('Name').fill('browser test');
    await page.getByLabel('Scopes (space-separated)').fill('read deploy');
    await page.getByRole('button', { name: 'Create token' }).click();
    await expectText(page, 'Copy it now');
    apiToken = await cell(page, 'token-secret');
    check(/^sat_[A-Za-z0-9_-]{43}$/.test(apiToken), `the new token looks like "${apiToken.slice(0, 8)}…" (${apiToken.length} characters)`);
    const curl = await cell(page, 'token-curl');
    check(curl.includes(`Authorization: Bearer ${apiToken}`) && curl.endsWith('/api/me'), 'the curl line does not use the token on /api/me');
    const state = (await page.locator('tr[data-token="browser test"] .token-state').innerText()).trim();
    check(state === 'active', `the token's row says ${state}`);
    return `token "browser test" shown once (${apiToken.slice(0, 10)}…, ${apiToken.length} characters) with its curl line; listed as active`;
  });

  await step('api-me-with-the-token', async ({ page }) => {
    // Outside the browser: no cookie, only the header, like the curl line.
    const response = await fetch(url('/api/me'), { headers: { Authorization: `Bearer ${apiToken}` } });
    check(response.status === 200, `GET /api/me with the token: ${response.status}`);
    const me = await response.json();
    check(me.user === 'alice' && me.via === 'bearer' && me.token === 'browser test', `/api/me answered ${JSON.stringify(me)}`);
    check(JSON.stringify(me.scopes) === '["read","deploy"]', `scopes ${JSON.stringify(me.scopes)}`);
    check(!response.headers.has('set-cookie'), 'a bearer request got a Set-Cookie');
    await page.goto(url('/api/me'));
    const bySession = JSON.parse(await page.locator('body').innerText());
    check(bySession.via === 'session' && bySession.user === 'alice', `the browser's /api/me: ${JSON.stringify(bySession)}`);
    await page.goto(url('/tokens'));
    return `curl-like GET /api/me with the token: 200 ${JSON.stringify(me)}, no Set-Cookie; the browser's own /api/me: via session`;
  });

  await step('revoke-api-token', async ({ page }) => {
    await page.locator('button.revoke[data-token="browser test"]').click();
    await expectPath(page, '/tokens');
    const state = (await page.locator('tr[data-token="browser test"] .token-state').innerText()).trim();
    check(state === 'revoked', `after Revoke the row says ${state}`);
    const response = await fetch(url('/api/me'), { headers: { Authorization: `Bearer ${apiToken}` } });
    const challenge = response.headers.get('www-authenticate');
    check(response.status === 401, `GET /api/me with the revoked token: ${response.status}`);
    check(challenge === 'Bearer error="invalid_token"', `WWW-Authenticate: ${challenge}`);
    await page.goto(url('/'));
    return `listed as revoked; GET /api/me with it: 401, WWW-Authenticate: ${challenge}`;
  });

  await step('remember-cookie', async ({ context }) => {
    oldCookie = await sessionCookie(context);
    check(oldCookie.httpOnly, 'the session cookie is not HttpOnly');
    const flags = [
      oldCookie.httpOnly && 'HttpOnly',
      oldCookie.secure && 'Secure',
      `SameSite=${oldCookie.sameSite}`,
      `Path=${oldCookie.path}`,
    ].filter(Boolean);
    return `cookie "${oldCookie.name}" (${oldCookie.value.length} characters; ${flags.join(', ')})`;
  });

  // The control for the last step: the copied cookie does sign a new browser in while the
  // session lives, so a refusal after sign-out is the server's doing, not the copy's.
  const signedInContext = state.context;
  await step('cookie-works-elsewhere', async () => {
    const { context, page } = await freshPage();
    await context.addCookies([oldCookie]);
    await page.goto(url('/'));
    await expectText(page, 'Signed in as alice');
    const count = await counterValue(page);
    check(count === '1', `the copied session's counter shows ${count}`);
    return 'a new browser context with only the copied cookie: "Signed in as alice", counter 1';
  });
  await state.context.close();
  Object.assign(state, { context: signedInContext, page: signedInContext.pages()[0] });

  await step('sign-out', async ({ page }) => {
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await expectLoginPage(page);
    return 'after "Log out" (POST /auth/sign-out): the sign-in page at /login';
  });

  await step('old-cookie-refused', async () => {
    const { context, page } = await freshPage();
    await context.addCookies([oldCookie]);
    const response = await page.goto(url('/'));
    await expectLoginPage(page);
    const chain = redirectChain(response);
    check(chain.startsWith('GET / → '), `expected / to redirect to /login, the navigation was: ${chain}`);
    return `a new browser context with the signed-out cookie: ${chain}, the sign-in form`;
  });

  // Sign-in through the stand-in provider (GitHub and Vercel played on loopback).
  await step('github-sign-in', async () => {
    const { page } = await freshPage();
    await page.goto(url('/login'));
    await page.getByRole('button', { name: 'Sign in with GitHub' }).click();
    await expectText(page, 'Signed in as github:583231');
    await expectPath(page, '/');
    const seen = [await cell(page, 'provider-name'), await cell(page, 'provider-username'), await cell(page, 'provider-email')];
    check(seen.join() === 'github,octocat,octo@example.com', `the provider table shows ${seen.join(', ')}`);
    const token = await cell(page, 'token-status');
    check(token.startsWith('yes:'), `fresh access token: ${token}`);
    const expires = await cell(page, 'token-expires');
    check(expires.startsWith('never'), `a GitHub OAuth-app token should not expire: ${expires}`);
    return `"Signed in as github:583231", provider ${seen.join(' / ')}, token expires "${expires}", fresh token "${token}"`;
  });

  await step('github-sign-out', async ({ page }) => {
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await expectLoginPage(page);
    return 'after "Log out" (POST /auth/sign-out, the GitHub token revoked): the sign-in page';
  });

  let vercelCookie;
  await step('vercel-sign-in', async ({ context }) => {
    const { page } = await freshPage();
    await page.goto(url('/login'));
    const start = page.waitForRequest((r) => r.url().includes('/vercel/oauth/authorize'));
    await page.getByRole('button', { name: 'Sign in with Vercel' }).click();
    const authorize = new URL((await start).url());
    check(authorize.searchParams.get('code_challenge_method') === 'S256', `authorize URL without PKCE: ${authorize}`);
    await expectText(page, 'Signed in as vercel:vc_user_3f9a');
    const seen = [await cell(page, 'provider-name'), await cell(page, 'provider-username'), await cell(page, 'provider-email')];
    check(seen.join() === 'vercel,vercel-dev,dev@vercel.example', `the provider table shows ${seen.join(', ')}`);
    const refreshes = await cell(page, 'token-refreshes');
    check(refreshes === '0', `refreshed ${refreshes} times right after sign-in`);
    const expires = await cell(page, 'token-expires');
    check(/\(in (59m|1h 0m)/.test(expires), `a new Vercel token should last an hour: ${expires}`);
    vercelCookie = await sessionCookie(state.context);
    return `PKCE S256 on the authorize URL; "Signed in as vercel:vc_user_3f9a", provider ${seen.join(' / ')}, token expires ${expires}, refreshed 0 times`;
  });

  await step('token-expires-and-refreshes', async ({ page }) => {
    const obtained = await cell(page, 'token-obtained');
    await page.getByRole('button', { name: /Let the access token expire/ }).click();
    await expectPath(page, '/');
    const refreshes = await poll('times refreshed', () => cell(page, 'token-refreshes'), (v) => v === '1');
    const token = await cell(page, 'token-status');
    check(token.startsWith('yes:'), `after the refresh: ${token}`);
    const after = await cell(page, 'token-obtained');
    check(after !== obtained, `the token was not renewed: obtained ${after}`);
    return `stand-in clock +1 h: the vault refreshed (times refreshed ${refreshes}, obtained ${obtained} → ${after}), fresh token "${token}"`;
  });

  await step('vercel-sign-out', async ({ page }) => {
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await expectLoginPage(page);
    return 'after "Log out" (POST /auth/sign-out): the sign-in page';
  });

  await step('vercel-old-cookie-refused', async () => {
    const { context, page } = await freshPage();
    await context.addCookies([vercelCookie]);
    const response = await page.goto(url('/'));
    await expectLoginPage(page);
    return `the Vercel session's old cookie in a new browser context: ${redirectChain(response)}, the sign-in form`;
  });
}

try {
  await main();
  console.log(`all ${stepNumber} steps passed; screenshots in ${shotDir}`);
} catch (error) {
  console.error(error.message ?? error);
  process.exitCode = 1;
} finally {
  await state.browser?.close();
}
