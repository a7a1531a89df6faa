// Browser tests drive Debian's Chromium with playwright-core against the real server serving web/dist. No browser
// is ever downloaded: where /usr/bin/chromium is missing the tests are skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { TestServer } from './server.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);

const WEB_CONFIG = fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url));
const WEB_SRC = fileURLToPath(new URL('../../web/src', import.meta.url));
const VITE_BIN = fileURLToPath(new URL('../../node_modules/vite/bin/vite.js', import.meta.url));
const WEB_INDEX = fileURLToPath(new URL('../../web/dist/index.html', import.meta.url));
// browser test files run in parallel workers: one builds, the others wait for it (mkdir is atomic)
const BUILD_LOCK = join(tmpdir(), 'caregrid-web-build.lock');

function newestSource(dir: string): number {
  return Math.max(...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newestSource(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
}

function webBuilt(): boolean {
  return existsSync(WEB_INDEX) && statSync(WEB_INDEX).mtimeMs >= newestSource(WEB_SRC);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The server serves web/dist: (re)build it when missing or older than the console's sources, in a child process
 *  (vitest's NODE_ENV=test would give a development bundle). */
export function ensureWebBuilt(): void {
  if (webBuilt()) return;
  for (let waited = 0; ; waited += 250) {
    try {
      mkdirSync(BUILD_LOCK);
      break;
    } catch {
      // another worker is building; a lock older than two minutes is left over from a killed run
      if (waited > 120_000) rmSync(BUILD_LOCK, { recursive: true, force: true });
      sleep(250);
    }
  }
  try {
    if (webBuilt()) return;
    execFileSync(process.execPath, [VITE_BIN, 'build', '--config', WEB_CONFIG, '--logLevel', 'warn'], {
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: 'inherit',
    });
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

type Json = Record<string, any>;

/** An API call as a logged-in user (through app.inject), failing the test on any status of 300 or more. */
export async function apiAs(server: TestServer, cookie: string, method: 'GET' | 'POST', url: string, payload?: Json): Promise<Json> {
  const res = await server.app.inject({ method, url: `/api/v1${url}`, headers: { cookie }, payload });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** A browser session of one user, in Beijing time like the district's staff, in the console's language (Chinese by
 *  default). The login form has its own test (console.e2e): here the session cookie the server gave is handed to the
 *  browser. Page errors are collected for the test to assert there were none. */
export async function browserSession(browser: Browser, server: TestServer, username: string, lang: 'zh-CN' | 'en' = 'zh-CN'): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const cookie = await server.login(username);
  const name = cookie.slice(0, cookie.indexOf('=')), value = cookie.slice(cookie.indexOf('=') + 1);
  const context = await browser.newContext({ locale: lang, timezoneId: 'Asia/Shanghai', viewport: { width: 1440, height: 900 } });
  await context.addCookies([{ name, value, url: server.baseUrl }]);
  if (lang === 'en') await context.addInitScript(() => window.localStorage.setItem('caregrid.lang', 'en'));
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.baseUrl);
  await page.getByTestId('user-menu').waitFor();
  return { page, errors, close: () => context.close() };
}

/** Lists refetch after each filter or change: under load that takes longer than expect.poll's default second. */
export const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 30_000 });

/**
 * Opens a menu entry under a submenu. The submenu of the current page is open already, and clicking its title then
 * would fold it: the title is clicked only when the entry is not shown.
 */
export async function openMenu(page: Page, submenu: string, item: string): Promise<void> {
  const entry = page.getByRole('menuitem', { name: item, exact: true });
  // A click during the submenu's opening animation can be lost on a loaded machine: the entry is clicked until the
  // menu marks it selected (the console selects the entry of the page it navigated to).
  for (let attempt = 1; ; attempt++) {
    if (!(await entry.isVisible())) await page.getByRole('menuitem', { name: submenu, exact: true }).click();
    await entry.click();
    try {
      await expect.poll(async () => (await entry.getAttribute('class')) ?? '', { timeout: 5_000 }).toMatch(/ant-menu-item-selected/);
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}
