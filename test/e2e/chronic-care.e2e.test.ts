// The family doctor's chronic care beyond the follow-up, in a real browser against the real server: the elderly
// annual health check opened from the worklist (components from the rules, findings shown after saving); a long
// prescription for a controlled patient (the eligibility check naming the rule a 13-week prescription breaks, then
// issued for 12 weeks), a medication coupon redeemed against it (balance and ledger), home delivery requested,
// dispatched and delivered; and a follow-up recorded within a health-post session (健康驿站). Then once in English.
// Uses Debian's Chromium; skipped where it is not installed (no browser is ever downloaded).
import { expect, test } from 'vitest';
import { apiAs, browserSession, ensureWebBuilt, HAS_CHROMIUM, launchChromium, poll, openMenu } from '../helpers/browser.ts';
import { chronicHelper } from '../helpers/chronic.ts';
import { startTestServer } from '../helpers/server.ts';

test.skipIf(!HAS_CHROMIUM)('console: elderly health check, long prescription, coupons, home delivery and a health-post session', { timeout: 300_000 }, async () => {
  ensureWebBuilt();
  const server = await startTestServer();
  const browser = await launchChromium();
  try {
    const doctor = await server.login('doctor1');
    const h = await chronicHelper(server, doctor);
    const me = (await apiAs(server, doctor, 'GET', '/auth/me')).user;
    const team = await apiAs(server, doctor, 'GET', `/teams/${me.teamId}`);
    // an elderly resident of the team's grids, contracted, not yet checked this year
    const elderly = (await apiAs(server, doctor, 'GET', `/residents?gridId=${team.gridIds[0]}&tag=elderly&pageSize=50`)).items as Array<{ id: number; name: string; age: number; gridId: number }>;
    const old = elderly.find((r) => r.age >= 65 && elderly.filter((x) => x.name === r.name).length === 1)!;
    expect(old).toBeTruthy();
    // a controlled hypertension patient of the team (contracted, enrolled, followed up today)
    const { residentId: stable } = await h.managed();
    const stableName = (await apiAs(server, doctor, 'GET', `/residents/${stable}`)).name as string;

    const fd = await browserSession(browser, server, 'doctor1');
    const { page } = fd;
    page.setDefaultTimeout(30_000); // the machine is shared: a loaded minute must not fail a step
    const fillNumber = (id: string, value: string) => page.locator(`input[data-testid="${id}"], [data-testid="${id}"] input`).first().fill(value);
    const choose = async (id: string, label: string) => {
      await page.getByTestId(id).click();
      await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: label }).first().click();
    };

    // ── the worklist's elderly health check opens the form; the findings show after saving ──
    await page.goto(`${server.baseUrl}/worklist?kind=elderly_check&gridId=${old.gridId}&pageSize=100`);
    const checkRow = page.locator('[data-testid="worklist-table"] tbody tr.ant-table-row').filter({ hasText: old.name });
    await checkRow.getByTestId('worklist-elderly-check').click();
    await page.waitForURL(`**/worklist/residents/${old.id}/elderly-check`);
    await page.getByTestId('elderly-form').waitFor();
    // the components are the rules' (national standard: 14), each with its own fields
    expect(await page.locator('[data-testid^="component-"]').count()).toBe(14);
    await fillNumber('check-sbp', '150');
    await fillNumber('check-dbp', '92');
    await fillNumber('check-heightCm', '165');
    await fillNumber('check-weightKg', '60');
    await fillNumber('check-fastingGlucose', '5.4');
    await choose('check-ecg', '正常');
    await page.getByTestId('elderly-submit').click();
    await page.getByTestId('elderly-result').waitFor();
    const findings = page.getByTestId('elderly-finding');
    await poll(() => findings.count()).toBeGreaterThan(0);
    expect(await findings.first().getAttribute('data-code')).toBe('bp_raised');
    expect(await page.getByTestId('elderly-findings').innerText()).toContain('血压');
    expect(await page.getByText('已为签约团队生成体检随访任务').count()).toBe(1);
    const saved = (await apiAs(server, doctor, 'GET', `/elderly-checks?residentId=${old.id}`)).items;
    expect(saved).toHaveLength(1);
    expect(saved[0].results).toMatchObject({ physical: { sbp: 150, dbp: 92, heightCm: 165, weightKg: 60 }, fastingGlucose: 5.4, ecg: 'normal' });
    // the check is in the resident's history, and off the worklist's elderly checks
    await page.getByTestId('elderly-to-programme').click();
    await page.waitForURL(`**/worklist/residents/${old.id}`);
    await page.getByTestId('programme-elderly-check').click();
    await poll(() => page.locator('[data-testid="elderly-history"] tbody tr.ant-table-row').count()).toBe(1);

    // ── a long prescription: 13 weeks breaks max_weeks, 12 weeks is issued ──
    await page.goto(`${server.baseUrl}/worklist/residents/${stable}`);
    await page.getByTestId('rx-new').click();
    await page.getByTestId('rx-form').waitFor();
    await fillNumber('rx-weeks', '13');
    await page.getByTestId('rx-drug').fill('苯磺酸氨氯地平片');
    await page.getByTestId('rx-dosage').fill('5mg 每日一次');
    await page.getByTestId('rx-check').click();
    const eligibility = page.getByTestId('rx-eligibility');
    await eligibility.waitFor();
    expect(await eligibility.getAttribute('data-eligible')).toBe('false');
    expect(await eligibility.innerText()).toContain('不符合开具条件：处方周数');
    expect(await page.locator('[data-testid="rx-rule"][data-rule="max_weeks"]').getAttribute('data-ok')).toBe('false');
    expect(await page.locator('[data-testid="rx-rule"][data-rule="controlled_last_visit"]').getAttribute('data-ok')).toBe('true');
    // issuing anyway is refused, and the broken rule stays in view
    await page.getByTestId('rx-issue').click();
    await poll(() => page.locator('[data-testid="rx-rule"][data-rule="max_weeks"]').getAttribute('data-ok')).toBe('false');
    await fillNumber('rx-weeks', '12');
    await page.getByTestId('rx-check').click();
    await poll(() => eligibility.getAttribute('data-eligible')).toBe('true');
    await page.getByTestId('rx-issue').click();
    await page.getByTestId('rx-form').waitFor({ state: 'detached' });
    const rxRow = page.locator('[data-testid="rx-table"] tbody tr.ant-table-row');
    await poll(() => rxRow.count()).toBe(1);
    expect(await rxRow.getByTestId('rx-status').getAttribute('data-status')).toBe('active');
    expect(await rxRow.innerText()).toContain('长处方');
    expect(await rxRow.innerText()).toContain('苯磺酸氨氯地平片 5mg 每日一次');
    const [rx] = (await apiAs(server, doctor, 'GET', `/chronic/prescriptions?residentId=${stable}`)).items;
    expect(rx).toMatchObject({ kind: 'long', weeks: 12, status: 'active', programme: 'hypertension' });

    // ── medication coupons: two redeemed against the prescription (this year's issued first) ──
    await page.getByTestId('coupon-redeem').click();
    await page.getByTestId('coupon-prescription').waitFor();
    await fillNumber('coupon-count', '2');
    await page.getByTestId('coupon-redeem-confirm').click();
    await poll(() => page.locator('[data-testid="coupon-balance-left"] .ant-statistic-content-value').innerText()).toBe('10');
    expect(await page.locator('[data-testid="coupon-issued"] .ant-statistic-content-value').innerText()).toBe('12');
    const ledger = page.locator('[data-testid="coupon-ledger"] tbody tr.ant-table-row');
    await poll(() => ledger.count()).toBe(2);
    expect(await ledger.first().getByTestId('coupon-kind').getAttribute('data-kind')).toBe('redeem');
    expect(await ledger.first().innerText()).toContain('20');
    const balance = await apiAs(server, doctor, 'GET', `/chronic/coupons/balance?residentId=${stable}`);
    expect(balance).toMatchObject({ issued: 12, redeemed: 2, balance: 10 });

    // ── home delivery: requested, dispatched with the courier, delivered ──
    await rxRow.getByTestId('rx-deliver').click();
    const delivery = page.locator('[data-testid="delivery-table"] tbody tr.ant-table-row');
    await poll(() => delivery.count()).toBe(1);
    expect(await delivery.getByTestId('delivery-status').getAttribute('data-status')).toBe('requested');
    await delivery.getByTestId('delivery-dispatched').click();
    await page.getByTestId('delivery-move-courier').fill('李师傅');
    await page.getByTestId('delivery-move-confirm').click();
    await poll(() => delivery.getByTestId('delivery-status').getAttribute('data-status')).toBe('dispatched');
    expect(await delivery.innerText()).toContain('李师傅');
    await delivery.getByTestId('delivery-delivered').click();
    await poll(() => delivery.getByTestId('delivery-status').getAttribute('data-status')).toBe('delivered');
    expect(await delivery.getByTestId('delivery-delivered').count()).toBe(0);
    const [d] = (await apiAs(server, doctor, 'GET', `/chronic/deliveries?residentId=${stable}`)).items;
    expect(d).toMatchObject({ status: 'delivered', prescriptionId: rx.id, courier: '李师傅' });

    // ── a health-post session: created, and a follow-up recorded within it ──
    await openMenu(page, '家庭医生', '健康驿站');
    await page.waitForURL('**/health-posts');
    await page.getByTestId('post-new').click();
    await page.getByTestId('post-name').fill('东四健康驿站');
    await fillNumber('post-attendees', '18');
    await page.getByTestId('post-topic').fill('高血压自我管理');
    await page.getByTestId('post-confirm').click();
    await page.waitForURL(/\/health-posts\/\d+$/);
    const sessionId = Number(page.url().split('/').pop());
    await page.getByTestId('post-resident').click();
    await page.keyboard.type(stableName);
    await page.locator('.ant-select-item-option').filter({ hasText: stableName }).first().click();
    await page.getByTestId('post-follow-up').click();
    await page.waitForURL(`**/worklist/residents/${stable}/follow-up?sessionId=${sessionId}`);
    await page.getByTestId('followup-form').waitFor();
    await fillNumber('followup-sbp', '128');
    await fillNumber('followup-dbp', '80');
    await page.getByTestId('followup-submit').click();
    await page.getByTestId('followup-result').waitFor();
    const last = (await apiAs(server, doctor, 'GET', `/chronic/residents/${stable}`)).lastFollowUp;
    expect(last).toMatchObject({ mode: 'health_post', sbp: 128, dbp: 80, classification: 'controlled' });
    await page.goto(`${server.baseUrl}/health-posts/${sessionId}`);
    const visits = page.locator('[data-testid="post-visits"] tbody tr.ant-table-row');
    await poll(() => visits.count()).toBe(1);
    expect(await visits.first().getByTestId('visit-kind').getAttribute('data-kind')).toBe('follow_up');
    expect(await visits.first().innerText()).toContain(stableName);

    // ── in English ──
    await page.getByTestId('lang-switch').getByText('English').click();
    await page.getByRole('heading', { name: /^Health-post session: 东四健康驿站/ }).waitFor();
    await page.goto(`${server.baseUrl}/worklist/residents/${stable}`);
    await poll(() => page.locator('[data-testid="rx-table"] tbody tr.ant-table-row').first().innerText()).toContain('Long prescription');
    expect(await page.locator('[data-testid="delivery-table"] [data-testid="delivery-status"]').innerText()).toBe('Delivered');
    expect(fd.errors).toEqual([]);
    await fd.close();
  } finally {
    await browser.close();
    await server.close();
  }
});
