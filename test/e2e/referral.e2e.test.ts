// Two-way referral in a real browser against the real server: the family doctor refers a resident from their record
// and books a reserved slot in the same step (the slot they first picked is taken meanwhile: the form says so and
// shows the slots as they are now); the hospital's referral desk is told by the bell, finds the case in its inbox,
// accepts it, records the arrival and completes it with a result summary; the doctor sees the loop closed with the
// summary, and the district administrator sees the closed loop in the month's KPIs.
// Uses Debian's Chromium; skipped where it is not installed (no browser is ever downloaded).
import type { Browser, Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { apiAs, browserSession as session, ensureWebBuilt, HAS_CHROMIUM, launchChromium } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const DEPARTMENT = '神经内科';
const REASON = '反复头晕伴左侧肢体麻木，请神经内科评估';
const SUMMARY = '头颅 MRI 未见新发梗死，诊断短暂性脑缺血发作，予阿司匹林 100mg qd，社区监测血压，1 月后复诊。';

type Json = Record<string, any>;

/** The date `days` from today in Beijing, as the slot-pool API takes it. */
const beijingDate = (days: number) => new Date(Date.now() + 8 * 3600_000 + days * 86_400_000).toISOString().slice(0, 10);

async function takeAction(page: Page, action: string, fill?: { summary?: string }) {
  await page.getByTestId(`action-${action}`).click();
  if (fill?.summary) await page.getByTestId('action-summary').fill(fill.summary);
  await page.getByTestId('action-confirm').click();
  // the dialog closes once the server has answered; the next action must not reach for this one's buttons
  await page.getByTestId('action-confirm').waitFor({ state: 'hidden' });
}

test.skipIf(!HAS_CHROMIUM)('console: upward referral from the family doctor to the hospital and back, with KPIs', { timeout: 240_000 }, async () => {
  ensureWebBuilt();
  const server = await startTestServer();
  const browser = await launchChromium();
  try {
    const [doctorCookie, deskCookie] = await Promise.all([server.login('doctor1'), server.login('referral1')]);
    const hospitalName = (await apiAs(server, deskCookie, 'GET', '/auth/me')).user.institutionName as string;
    const [resident, other] = (await apiAs(server, doctorCookie, 'GET', '/residents?pageSize=2')).items as Array<{ id: number; name: string }>;
    // the desk publishes a neurology session with half its places reserved for primary care
    const pool = await apiAs(server, deskCookie, 'POST', '/slot-pools', {
      department: DEPARTMENT, date: beijingDate(10), startTime: '08:00', endTime: '10:00', capacity: 4, reservedShare: 0.5,
    });
    const reserved = (pool.slots as Json[]).filter((s) => s.reservedFor === 'primary_care' && s.status === 'free').map((s) => s.id as number);
    expect(reserved.length).toBeGreaterThanOrEqual(2);

    // ── the family doctor refers the resident from their record ──
    const fd = await session(browser, server, 'doctor1');
    await fd.page.goto(`${server.baseUrl}/residents/${resident!.id}`);
    await fd.page.getByTestId('resident-refer').click();
    await fd.page.waitForURL((url) => url.pathname === '/referrals/new' && url.searchParams.get('residentId') === String(resident!.id));
    expect(await fd.page.getByTestId('referral-resident-card').innerText()).toContain(resident!.name);
    await fd.page.getByTestId('referral-target').click();
    await fd.page.locator(`.ant-select-item-option[title="${hospitalName}"]`).first().click();
    await fd.page.locator('[data-testid="referral-department"] input, input[data-testid="referral-department"]').first().fill(DEPARTMENT);
    await fd.page.keyboard.press('Escape');
    await fd.page.getByTestId('referral-reason').fill(REASON);
    await fd.page.getByTestId('referral-diagnosis-code').locator('input').or(fd.page.locator('input[data-testid="referral-diagnosis-code"]')).first().fill('G45.9');
    await fd.page.getByTestId('referral-diagnosis-display').fill('短暂性脑缺血发作');
    await fd.page.getByTestId('referral-summary').fill('近 2 周发作 3 次，每次持续约 10 分钟，血压 150/90 mmHg。');
    await fd.page.getByTestId('booking-now').click();
    await fd.page.getByTestId(`slot-${reserved[0]}`).click();

    // meanwhile the same place goes to another resident's referral: the form says so and offers the slots left
    await apiAs(server, doctorCookie, 'POST', '/referrals', { direction: 'up', residentId: other!.id, targetInstitutionId: pool.institutionId, targetDepartment: DEPARTMENT, reason: '头痛待查', slotId: reserved[0] });
    await fd.page.getByTestId('referral-submit').click();
    await expect.poll(() => fd.page.getByTestId('referral-error').innerText()).toContain('该号源已被预约');
    await fd.page.getByTestId(`slot-${reserved[0]}`).waitFor({ state: 'detached' });
    await fd.page.getByTestId(`slot-${reserved[1]}`).click();
    await fd.page.getByTestId('referral-submit').click();
    await fd.page.waitForURL(/\/referrals\/\d+$/);
    const referralId = Number(new URL(fd.page.url()).pathname.split('/').pop());
    await fd.page.locator('[data-testid="referral-state"][data-state="requested"]').waitFor();
    expect(await fd.page.getByTestId('referral-appointment').innerText()).toContain(DEPARTMENT);
    expect(fd.errors).toEqual([]);

    // ── the referral desk: the bell, the inbox, then accept, arrival and completion with the result summary ──
    const desk = await session(browser, server, 'referral1');
    const bell = desk.page.getByTestId('notification-bell');
    await expect.poll(async () => Number(await bell.getAttribute('data-unread'))).toBeGreaterThanOrEqual(1);
    await desk.page.getByRole('menuitem', { name: '双向转诊', exact: true }).click();
    await desk.page.waitForURL('**/referrals');
    const row = desk.page.locator('[data-testid="referral-table"] tbody tr.ant-table-row').filter({ hasText: resident!.name });
    await row.first().waitFor();
    expect(await row.first().innerText()).toContain('待接收');
    const unreadBefore = Number(await bell.getAttribute('data-unread'));
    await bell.click();
    await desk.page.getByTestId('notification-item').filter({ hasText: resident!.name }).first().click();
    await desk.page.waitForURL(`**/referrals/${referralId}`);
    await expect.poll(async () => Number(await bell.getAttribute('data-unread'))).toBe(unreadBefore - 1);

    await takeAction(desk.page, 'accept');
    // the case came with a booked slot, so accepting it schedules it
    await desk.page.locator('[data-testid="referral-state"][data-state="scheduled"]').waitFor();
    await takeAction(desk.page, 'arrive');
    await desk.page.locator('[data-testid="referral-state"][data-state="arrived"]').waitFor();
    await takeAction(desk.page, 'complete', { summary: SUMMARY });
    await desk.page.locator('[data-testid="referral-state"][data-state="closed"]').waitFor();
    expect(await desk.page.getByTestId('action-complete').count()).toBe(0);
    expect(desk.errors).toEqual([]);
    await desk.close();

    // ── the doctor sees the loop closed, with the hospital's summary and the whole path ──
    await fd.page.reload();
    await fd.page.locator('[data-testid="referral-state"][data-state="closed"]').waitFor();
    expect(await fd.page.getByTestId('referral-state').innerText()).toBe('已闭环');
    expect(await fd.page.getByTestId('result-summary').innerText()).toContain(SUMMARY);
    expect(await fd.page.getByTestId('referral-event').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))).toEqual([
      'create', 'accept', 'arrive', 'complete', 'complete',
    ]);
    expect(fd.errors).toEqual([]);
    await fd.close();

    // ── the district administrator: the month's KPIs show the hospital's closed loop ──
    const admin = await session(browser, server, 'admin');
    await admin.page.getByRole('menuitem', { name: '转诊指标', exact: true }).click();
    await admin.page.waitForURL('**/referral-kpis');
    const month = beijingDate(0).slice(0, 7);
    const kpiRow = admin.page.locator('[data-testid="kpi-table"] tbody tr.ant-table-row').filter({ hasText: month }).filter({ hasText: hospitalName });
    await kpiRow.first().waitFor();
    expect(await kpiRow.first().getByTestId('kpi-loop').innerText()).toMatch(/^1\/1 \(100\.0%\)$/);
    await admin.page.locator('[data-testid="kpi-cases-chart"] canvas').waitFor();
    await admin.page.locator('[data-testid="kpi-rates-chart"] canvas').waitFor();
    const exportHref = await admin.page.getByTestId('kpi-export').getAttribute('href');
    expect(exportHref).toMatch(/^\/api\/v1\/referral-kpis\.xlsx\?from=\d{4}-\d{2}&to=\d{4}-\d{2}&groupBy=institution$/);
    const xlsx = await admin.page.request.get(`${server.baseUrl}${exportHref}`);
    expect(xlsx.status()).toBe(200);
    expect(xlsx.headers()['content-type']).toContain('spreadsheetml');
    expect(admin.errors).toEqual([]);
    await admin.close();
  } finally {
    await browser.close();
    await server.close();
  }
});
