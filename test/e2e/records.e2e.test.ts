// The shared health record in a real browser against the real server: a hospital sends an encounter and lab results
// over FHIR; the family doctor sees them on the resident's timeline with a mutual-recognition badge, charts the trend
// and reuses a result; a doctor without a care relationship is refused, breaks the glass with a reason and sees the
// record; the district administrator reviews that use and sees the duplicate test avoided.
// Uses Debian's Chromium; skipped where it is not installed (no browser is ever downloaded).
import type { Browser, Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { ensureWebBuilt, HAS_CHROMIUM, launchChromium } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const BREAK_GLASS_REASON = '急诊胸痛患者，需要查看既往检验结果和就诊记录';

const daysAgo = (d: number) => new Date(Date.now() - d * 86400_000).toISOString();

async function call(server: TestServer, cookie: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { cookie, 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as any;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function labResult(residentId: number, n: number, code: string, display: string, value: number, unit: string, at: string, range: [number, number]) {
  return {
    fullUrl: `urn:uuid:00000000-0000-4000-8000-0000000001${String(n).padStart(2, '0')}`,
    resource: {
      resourceType: 'Observation',
      status: 'final',
      identifier: [{ system: 'urn:e2e:hospital:obs', value: `obs-${n}` }],
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
      code: { coding: [{ system: 'http://loinc.org', code, display }] },
      subject: { reference: `Patient/${residentId}` },
      encounter: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000001' },
      effectiveDateTime: at,
      valueQuantity: { value, unit },
      referenceRange: [{ low: { value: range[0], unit }, high: { value: range[1], unit } }],
    },
    request: { method: 'POST', url: 'Observation' },
  };
}

/** A hospital outpatient visit two days ago with a blood count inside its 7-day recognition window, and older counts. */
async function hospitalVisit(server: TestServer, hospitalCookie: string, residentId: number) {
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000001',
        resource: {
          resourceType: 'Encounter',
          status: 'finished',
          identifier: [{ system: 'urn:e2e:hospital:enc', value: 'enc-1' }],
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
          serviceType: { text: '心内科' },
          subject: { reference: `Patient/${residentId}` },
          period: { start: daysAgo(2), end: daysAgo(2) },
        },
        request: { method: 'POST', url: 'Encounter' },
      },
      labResult(residentId, 1, '718-7', '血红蛋白', 98, 'g/L', daysAgo(2), [130, 175]),
      labResult(residentId, 2, '718-7', '血红蛋白', 121, 'g/L', daysAgo(60), [130, 175]),
      labResult(residentId, 3, '718-7', '血红蛋白', 142, 'g/L', daysAgo(200), [130, 175]),
    ],
  };
  return call(server, hospitalCookie, 'POST', '/fhir/R4', bundle);
}

async function login(browser: Browser, server: TestServer, username: string): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${server.baseUrl}/login`);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(username === 'admin' ? server.adminPassword : server.demoPassword);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((url) => url.pathname === '/');
  return { page, errors, close: () => context.close() };
}

test.skipIf(!HAS_CHROMIUM)('console: cross-institution record, trends, recognition and break-glass', { timeout: 240_000 }, async () => {
  ensureWebBuilt();
  const server = await startTestServer();
  const browser = await launchChromium();
  try {
    const [doctor1, doctor2, hospital] = await Promise.all([server.login('doctor1'), server.login('doctor2'), server.login('hospital.admin')]);
    const resident = (await call(server, doctor1, 'GET', '/api/v1/residents?pageSize=1')).items[0] as { id: number; name: string };
    const hospitalName = (await call(server, hospital, 'GET', '/api/v1/auth/me')).user.institutionName as string;
    await hospitalVisit(server, hospital, resident.id);
    // the premise of the break-glass half: doctor2 has no care relationship with this resident
    await expect(call(server, doctor2, 'GET', `/api/v1/residents/${resident.id}`)).rejects.toThrow(/403.*OUT_OF_SCOPE/);

    // ── the family doctor: timeline with the hospital's visit and a recognition badge ──
    const fd = await login(browser, server, 'doctor1');
    await fd.page.goto(`${server.baseUrl}/residents/${resident.id}`);
    await fd.page.getByRole('heading', { name: new RegExp(resident.name) }).waitFor();
    await fd.page.getByTestId('tab-record').click();
    await fd.page.waitForURL((url) => url.searchParams.get('tab') === 'record');
    const entries = fd.page.getByTestId('timeline-entry');
    const encounter = entries.filter({ hasText: '心内科' }).first();
    await encounter.waitFor();
    expect(await encounter.getAttribute('data-type')).toBe('encounter');
    expect(await encounter.getByTestId('timeline-institution-name').innerText()).toBe(hospitalName);
    const recent = entries.filter({ has: fd.page.getByTestId('recognition-badge') });
    expect(await recent.count()).toBe(1);
    expect(await recent.getByTestId('result-value').innerText()).toMatch(/^98 g\/L ↓$/);
    expect(await recent.getByTestId('result-value').getAttribute('data-abnormal')).toBe('true');
    expect(await recent.getByTestId('recognition-badge').innerText()).toMatch(/^互认有效至 \d{4}-\d{2}-\d{2}$/);
    expect(await recent.innerText()).toContain('130–175 g/L');
    // the two older counts are outside the 7-day window: no badge
    expect(await entries.filter({ hasText: '血红蛋白' }).count()).toBe(3);

    // filter by type: only diagnoses — none yet, so the empty state shows
    await fd.page.getByTestId('timeline-types').click();
    await fd.page.locator('.ant-select-item-option[title="诊断"]').click();
    await fd.page.keyboard.press('Escape');
    await fd.page.getByTestId('timeline-search').click();
    await fd.page.getByTestId('timeline-empty').waitFor();

    // trends: the haemoglobin series is charted on a canvas
    await fd.page.getByTestId('tab-trends').click();
    await fd.page.getByTestId('trend-series').waitFor();
    expect(await fd.page.getByTestId('trend-series').innerText()).toContain('血红蛋白');
    await fd.page.locator('[data-testid="trend-chart"] canvas').waitFor();

    // before ordering: the recent count can be reused instead of repeating the test
    await fd.page.getByTestId('tab-recognition').click();
    const reusable = fd.page.locator('[data-testid="reusable-results"] tbody tr.ant-table-row');
    await reusable.first().waitFor();
    expect(await reusable.count()).toBe(1);
    expect(await reusable.first().innerText()).toContain(hospitalName);
    await reusable.first().getByTestId('reuse-result').click();
    await fd.page.getByTestId('reuse-done').waitFor();
    expect(await fd.page.getByTestId('reuse-done').innerText()).toContain(hospitalName);
    expect(fd.errors).toEqual([]);
    await fd.close();

    // ── a doctor without a care relationship: refused, then emergency access with a reason ──
    const other = await login(browser, server, 'doctor2');
    await other.page.goto(`${server.baseUrl}/residents/${resident.id}?tab=record`);
    await other.page.getByTestId('out-of-scope').waitFor();
    expect(await other.page.getByTestId('out-of-scope').innerText()).toContain('没有签约、转诊或住院等诊疗关系');
    await other.page.getByTestId('break-glass-open').click();
    await other.page.getByText('区卫健委管理员将逐条审查每一次使用').waitFor();
    await other.page.getByTestId('break-glass-reason').fill('急诊');
    await other.page.getByTestId('break-glass-confirm').click();
    await other.page.getByText('调阅事由至少 10 个字').waitFor();
    await other.page.getByTestId('break-glass-reason').fill(BREAK_GLASS_REASON);
    await other.page.getByTestId('break-glass-confirm').click();
    // the record loads in place, on the tab the link asked for
    await other.page.getByRole('heading', { name: new RegExp(resident.name) }).waitFor();
    await other.page.getByTestId('timeline-entry').filter({ hasText: '心内科' }).first().waitFor();
    expect(await other.page.getByTestId('out-of-scope').count()).toBe(0);
    // and the page keeps saying that this is emergency access under review
    expect(await other.page.getByTestId('break-glass-active').innerText()).toMatch(/紧急调阅.*有效至 \d{4}-\d{2}-\d{2} \d{2}:\d{2}.*审查/);
    expect(other.errors).toEqual([]);
    await other.close();

    // ── the district administrator reviews the emergency access and sees the avoided duplicate test ──
    const admin = await login(browser, server, 'admin');
    await admin.page.getByRole('menuitem', { name: '紧急调阅审查', exact: true }).click();
    await admin.page.waitForURL('**/break-glass');
    const pending = admin.page.locator('[data-testid="break-glass-table"] tbody tr.ant-table-row').filter({ hasText: BREAK_GLASS_REASON });
    await pending.waitFor();
    expect(await pending.innerText()).toContain('doctor2');
    await pending.getByTestId('break-glass-review').click();
    await admin.page.getByTestId('break-glass-decision').getByText('合理', { exact: true }).click();
    await admin.page.getByTestId('break-glass-review-submit').click();
    await pending.waitFor({ state: 'detached' });
    await admin.page.getByTestId('break-glass-status').getByText('合理', { exact: true }).click();
    await admin.page.locator('[data-testid="break-glass-table"] tbody tr.ant-table-row').filter({ hasText: BREAK_GLASS_REASON }).waitFor();

    await admin.page.getByRole('menuitem', { name: '结果互认', exact: true }).click();
    await admin.page.waitForURL('**/recognition');
    await admin.page.locator('[data-testid="recognition-rules"] tbody tr.ant-table-row').filter({ hasText: '718-7' }).waitFor();
    await expect.poll(() => admin.page.getByTestId('recognition-stats-total').innerText()).toBe('1');
    await admin.page.locator('[data-testid="recognition-chart"] canvas').waitFor();
    expect(admin.errors).toEqual([]);
    await admin.close();
  } finally {
    await browser.close();
    await server.close();
  }
});
