// The chronic-disease KPI page (慢病指标) in a real browser as the district administrator: the district's row with its
// figures (the API's, for a team with a contracted and followed-up patient), drilled down to the streets, and the
// Excel export of the view on screen, which is a real workbook with the same rows.
// Uses Debian's Chromium; skipped where it is not installed (no browser is ever downloaded).
import { expect, test } from 'vitest';
import { apiAs, browserSession, ensureWebBuilt, HAS_CHROMIUM, launchChromium, poll } from '../helpers/browser.ts';
import { chronicHelper } from '../helpers/chronic.ts';
import { startTestServer } from '../helpers/server.ts';
import { districtDate } from '../../src/platform/local-date.ts';

test.skipIf(!HAS_CHROMIUM)('console: chronic KPIs drilled from the district to its streets, exported to Excel', { timeout: 240_000 }, async () => {
  ensureWebBuilt();
  const server = await startTestServer();
  const browser = await launchChromium();
  try {
    // something to count: two contracted hypertension patients of one team, one controlled, one not
    const doctor = await server.login('doctor1');
    const h = await chronicHelper(server, doctor);
    await h.managed({ followUp: 'controlled' });
    await h.managed({ followUp: 'uncontrolled' });
    const admin = await server.login('admin');
    const month = districtDate().slice(0, 7); // the page opens on this month in Beijing
    const district = await apiAs(server, admin, 'GET', `/chronic/kpis?level=district&period=month&at=${month}`);
    expect(district.rows).toHaveLength(1);
    expect(district.total.contracted).toBeGreaterThanOrEqual(2);
    const streets = await apiAs(server, admin, 'GET', `/chronic/kpis?level=street&parent=${district.rows[0].id}&period=month&at=${month}`);
    expect(streets.rows.length).toBeGreaterThan(0);

    const s = await browserSession(browser, server, 'admin');
    const { page } = s;
    page.setDefaultTimeout(30_000);
    await page.getByRole('menuitem', { name: '慢病指标', exact: true }).click();
    await page.waitForURL('**/chronic-kpis');
    await page.getByText('全区指标').waitFor();
    const rows = page.locator('[data-testid="kpi-table"] tbody tr.ant-table-row');
    await poll(() => rows.count()).toBe(1);
    expect(await rows.first().getByTestId('kpi-drill').innerText()).toBe(district.rows[0].name);
    expect(await page.locator('[data-testid="kpi-total-coverage"] .ant-statistic-content').innerText()).toMatch(/%$/);

    // district → street
    await rows.first().getByTestId('kpi-drill').click();
    await page.getByText('各街道指标').waitFor();
    await poll(() => rows.count()).toBe(streets.rows.length);
    expect(await rows.getByTestId('kpi-drill').allInnerTexts()).toEqual(streets.rows.map((r: { name: string }) => r.name));
    expect(await page.getByTestId('kpi-trail').innerText()).toContain(district.rows[0].name);

    // the export is the view on screen, as a workbook
    const href = (await page.getByTestId('kpi-export').getAttribute('href'))!;
    expect(href).toContain('level=street');
    expect(href).toContain(`parent=${district.rows[0].id}`);
    const res = await server.app.inject({ url: href, headers: { cookie: admin } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(res.rawPayload.subarray(0, 2).toString()).toBe('PK');
    // and the browser's own request of the link (its session cookie) gets the same
    const viaBrowser = await page.request.get(`${server.baseUrl}${href}`);
    expect(viaBrowser.status()).toBe(200);
    expect((await viaBrowser.body()).subarray(0, 2).toString()).toBe('PK');
    expect(s.errors).toEqual([]);
    await s.close();
  } finally {
    await browser.close();
    await server.close();
  }
});
