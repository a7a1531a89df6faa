// The web console in a real browser against the real server: log in, find a resident, open the record, switch language.
// Uses Debian's Chromium; skipped where it is not installed (no browser is ever downloaded).
import { expect, test } from 'vitest';
import { ensureWebBuilt, HAS_CHROMIUM, launchChromium } from '../helpers/browser.ts';
import { startTestServer } from '../helpers/server.ts';

const MASKED_ID = /\d{4}\*+\d{3}[\dX]/;

test.skipIf(!HAS_CHROMIUM)('console: login, resident search and record, language switch', { timeout: 180_000 }, async () => {
  ensureWebBuilt();
  const server = await startTestServer();
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    // Not logged in: the console sends us to the login page.
    await page.goto(server.baseUrl);
    await page.waitForURL('**/login');
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill('wrong-password');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('login-error').textContent()).toBeTruthy();

    await page.getByTestId('login-password').fill(server.adminPassword);
    await page.getByTestId('login-submit').click();
    await page.waitForURL((url) => url.pathname === '/');

    // Chinese by default.
    const residentsMenu = page.getByRole('menuitem', { name: '居民', exact: true });
    await residentsMenu.waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');

    await residentsMenu.click();
    await page.waitForURL('**/residents');
    const rows = page.locator('[data-testid="resident-table"] tbody tr.ant-table-row');
    await rows.first().waitFor();
    expect(await rows.count()).toBeGreaterThan(0);

    // Search by the first character of a listed name; the search lands in the URL and still finds that person.
    const firstName = (await rows.first().locator('td').first().innerText()).trim();
    await page.getByTestId('resident-search-q').fill(firstName.slice(0, 1));
    await page.getByTestId('resident-search-submit').click();
    await page.waitForURL((url) => url.searchParams.get('q') === firstName.slice(0, 1));
    await rows.filter({ hasText: firstName }).first().waitFor();

    // Identity numbers are masked in the list.
    const maskedIds = await page.locator('[data-testid="resident-table"] [data-testid="masked-id"]').allInnerTexts();
    const masked = maskedIds.find((text) => MASKED_ID.test(text));
    expect(masked, `masked identity numbers in ${JSON.stringify(maskedIds)}`).toBeDefined();
    expect(masked).not.toMatch(/^\d{17}[\dX]$/);

    // Open that resident's record.
    const row = rows.filter({ has: page.locator('[data-testid="masked-id"]', { hasText: masked! }) }).first();
    await row.locator('td').first().getByRole('link').click();
    await page.waitForURL(/\/residents\/\d+$/);
    await page.getByRole('heading', { name: /居民档案/ }).waitFor();
    expect(await page.getByTestId('masked-id').innerText()).toBe(masked);
    await page.getByTestId('care-chain').waitFor();

    // Switch to English: labels change and the choice survives a reload.
    await page.getByTestId('lang-switch').getByText('English').click();
    await page.getByRole('heading', { name: /Resident record/ }).waitFor();
    await page.getByRole('menuitem', { name: 'Residents', exact: true }).waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.reload();
    await page.getByRole('heading', { name: /Resident record/ }).waitFor();

    expect(pageErrors).toEqual([]);
    await context.close();
  } finally {
    await browser.close();
    await server.close();
  }
});
