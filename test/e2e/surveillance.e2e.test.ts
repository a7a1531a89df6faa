// The CDC's surveillance console in a real browser against the real server: the seeded test district's feeds carry
// an injected norovirus cluster (src/synth/surveillance.ts). The daily runs of the last two weeks are replayed through
// the API, the epidemiologist runs yesterday's from the console's "run now", the gastrointestinal multi-source alert
// is in the inbox; she opens it, sees each contributing signal's chart, starts the review, opens an investigation
// (its record is a required note) and the API shows the alert investigating with that note. A change made meanwhile
// by someone else is refused with a clear message instead of being overwritten. Then once in English.
// Uses Debian's Chromium; skipped where it is not installed (no browser is ever downloaded).
import type { Browser, Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { apiAs, browserSession as session, ensureWebBuilt, HAS_CHROMIUM, launchChromium } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { daysAgo } from '../helpers/surveillance.ts';

type Json = Record<string, any>;
const INVESTIGATION = '已派流调组赴园区社区核查：幼儿园及周边餐馆，采集呕吐物及环境样本送检诺如病毒核酸。';

test.skipIf(!HAS_CHROMIUM)('console: from a multi-source alert of the seeded outbreak to an opened investigation', { timeout: 300_000 }, async () => {
  ensureWebBuilt();
  const server = await startTestServer();
  const browser = await launchChromium();
  try {
    const cdc = await server.login('cdc1');
    // the daily runs of the two weeks up to the day before yesterday, as the scheduler would have made them
    for (let n = 14; n >= 2; n--) expect(await apiAs(server, cdc, 'POST', '/surveillance/runs', { asOf: daysAgo(n) })).toMatchObject({ status: 'succeeded' });

    // ── yesterday's run from the console ──
    const epi = await session(browser, server, 'cdc1');
    const { page } = epi;
    await page.getByRole('menuitem', { name: '疾控监测预警', exact: true }).click();
    await page.getByRole('menuitem', { name: '检测运行', exact: true }).click();
    await page.waitForURL('**/surveillance/runs');
    await page.locator('[data-testid="run-table"] tbody tr.ant-table-row').nth(12).waitFor();
    const asOf = page.locator('[data-testid="run-as-of"] input, input[data-testid="run-as-of"]').first();
    await asOf.click();
    await asOf.fill(daysAgo(1));
    await page.keyboard.press('Enter');
    await page.getByTestId('run-now').click();
    const newest = page.locator('[data-testid="run-table"] tbody tr.ant-table-row').first();
    await expect.poll(() => newest.innerText(), { timeout: 60_000, interval: 500 }).toContain(daysAgo(1));
    expect(await newest.getByTestId('run-status').getAttribute('data-status')).toBe('succeeded');
    const runs = await apiAs(server, cdc, 'GET', '/surveillance/runs?pageSize=1');
    expect(runs.items[0]).toMatchObject({ asOf: daysAgo(1), kind: 'on_demand', status: 'succeeded' });

    // ── the outbreak's alert: gastrointestinal, at least two independent sources ──
    const inbox = await apiAs(server, cdc, 'GET', '/surveillance/alerts?syndrome=gastrointestinal&pageSize=200');
    const outbreak = (inbox.items as Json[]).find((a) => a.rule.kind === 'multi_source' && a.sources.length >= 2);
    expect(outbreak, JSON.stringify(inbox.items.map((a: Json) => [a.syndrome, a.sources]))).toBeDefined();
    expect(outbreak!.state).toBe('new');

    await page.getByRole('menuitem', { name: '预警收件箱', exact: true }).click();
    await page.waitForURL('**/surveillance/alerts');
    const row = page.locator('[data-testid="alert-table"] tbody tr.ant-table-row').filter({ has: page.locator(`[data-alert-id="${outbreak!.id}"]`) });
    await row.waitFor();
    expect(await row.innerText()).toContain('胃肠道症候群');
    expect(await row.getByTestId('alert-risk').getAttribute('data-risk')).toBe(outbreak!.riskLevel);
    expect(await row.getByTestId('alert-state').innerText()).toBe('新预警');
    await row.getByTestId('alert-open').click();
    await page.waitForURL(`**/surveillance/alerts/${outbreak!.id}`);

    // ── the detail: every contributing signal charted, the sources and communities named ──
    const detail = await apiAs(server, cdc, 'GET', `/surveillance/alerts/${outbreak!.id}`);
    expect(detail.signals.length).toBeGreaterThanOrEqual(2);
    // one chart per series: the daily runs signal a series on several days, each day an alarm point on its chart
    const series = new Set(detail.signals.map((s: Json) => [s.source.code, s.category.code, s.algorithm, s.series.frequency, [...s.communityIds].sort().join('.')].join('|')));
    const charts = page.getByTestId('signal-chart');
    await expect.poll(() => charts.count(), { timeout: 20_000 }).toBe(series.size);
    await page.locator('[data-testid="signal-chart"] canvas').nth(series.size - 1).waitFor();
    expect(await page.getByTestId('alert-signals').locator('.ant-card-head').innerText()).toContain(`（${detail.signals.length}）`);
    // an EARS signal on a daily series draws the threshold of every day, recomputed and checked against its own
    if (detail.signals.some((s: Json) => s.algorithm.startsWith('ears') && s.series.frequency === 'daily')) {
      await page.locator('[data-testid="signal-chart"][data-threshold-line="computed"]').first().waitFor();
    }
    const catalogue = await apiAs(server, cdc, 'GET', '/surveillance/sources');
    const sources = await page.getByTestId('alert-sources').innerText();
    for (const code of outbreak!.sources.filter((c: string) => c !== 'case_report')) expect(sources).toContain(catalogue.sources.find((s: Json) => s.code === code).name);
    expect((await page.getByTestId('alert-communities').innerText()).length).toBeGreaterThan(0);

    // ── review, then the investigation, whose record is required ──
    await page.getByTestId('alert-action-review').click();
    await page.getByTestId('alert-action-confirm').click();
    await page.locator('[data-testid="alert-state"][data-state="under_review"]').first().waitFor();
    await page.getByTestId('alert-action-investigate').click();
    await page.getByTestId('alert-action-confirm').click();
    await page.getByText('请填写流调记录：调查人员、地点和初步发现').waitFor();
    await page.getByTestId('alert-note-input').fill(INVESTIGATION);
    await page.getByTestId('alert-action-confirm').click();
    await page.locator('[data-testid="alert-state"][data-state="investigating"]').first().waitFor();
    await page.locator('[data-testid="alert-event"][data-action="investigate"]').filter({ hasText: INVESTIGATION }).waitFor();

    const opened = await apiAs(server, cdc, 'GET', `/surveillance/alerts/${outbreak!.id}`);
    expect(opened).toMatchObject({ state: 'investigating', assignee: { name: '疾控流调员1' } });
    expect(opened.reviewedAt).not.toBeNull();
    expect(opened.investigatingAt).not.toBeNull();
    expect(opened.events.filter((e: Json) => e.fromState !== e.toState).map((e: Json) => [e.action, e.toState])).toEqual(
      expect.arrayContaining([['review', 'under_review'], ['investigate', 'investigating']]),
    );
    expect(opened.events.find((e: Json) => e.action === 'investigate')).toMatchObject({ note: INVESTIGATION, user: { name: '疾控流调员1' } });

    // ── someone else assigns it meanwhile: closing from the page as it was is refused, and the page says why ──
    const investigator = (await apiAs(server, cdc, 'GET', '/surveillance/assignees')).items.find((u: Json) => u.roles.includes('investigator'));
    await apiAs(server, await server.login('admin'), 'POST', `/surveillance/alerts/${outbreak!.id}/assign`, { version: opened.version, assigneeId: investigator.id });
    await page.getByTestId('alert-action-close').click();
    await page.locator('.ant-modal').getByText('真实事件', { exact: true }).click();
    await page.getByTestId('alert-note-input').fill('实验室确认诺如病毒 GII 型聚集性疫情');
    await page.getByTestId('alert-action-confirm').click();
    await page.getByTestId('alert-stale').waitFor();
    expect(await page.getByTestId('alert-stale').innerText()).toContain('该预警已被他人更新');
    expect((await apiAs(server, cdc, 'GET', `/surveillance/alerts/${outbreak!.id}`)).state).toBe('investigating');
    await page.keyboard.press('Escape');
    // the page now shows the alert as it is: assigned to the investigator
    await page.locator('[data-testid="alert-event"][data-action="assign"]').waitFor();
    expect(epi.errors).toEqual([]);
    await epi.close();

    // ── the investigator, in English: the same alert, read-only but for notes ──
    const inv = await session(browser, server, 'investigator1', 'en');
    await inv.page.goto(`${server.baseUrl}/surveillance/alerts`);
    await inv.page.getByRole('heading', { name: 'Alert inbox' }).waitFor();
    const enRow = inv.page.locator('[data-testid="alert-table"] tbody tr.ant-table-row').filter({ has: inv.page.locator(`[data-alert-id="${outbreak!.id}"]`) });
    expect(await enRow.getByTestId('alert-state').innerText()).toBe('Investigating');
    expect(await enRow.innerText()).toContain('Gastrointestinal');
    await enRow.getByTestId('alert-open').click();
    await inv.page.waitForURL(`**/surveillance/alerts/${outbreak!.id}`);
    await inv.page.locator('[data-testid="alert-event"][data-action="investigate"]').filter({ hasText: 'Investigation opened' }).waitFor();
    // investigators read and add notes; the workflow is the CDC's
    await inv.page.getByTestId('alert-action-note').waitFor();
    for (const action of ['review', 'investigate', 'close', 'assign']) expect(await inv.page.getByTestId(`alert-action-${action}`).count()).toBe(0);
    await inv.page.getByTestId('alert-action-note').click();
    await inv.page.getByTestId('alert-note-input').fill('Kindergarten visited; 3 of 5 stool samples positive for norovirus GII.');
    await inv.page.getByTestId('alert-action-confirm').click();
    await inv.page.locator('[data-testid="alert-event"][data-action="note"]').filter({ hasText: 'norovirus GII' }).waitFor();
    const noted = await apiAs(server, cdc, 'GET', `/surveillance/alerts/${outbreak!.id}`);
    expect(noted.state).toBe('investigating');
    expect(noted.events.at(-1)).toMatchObject({ action: 'note', user: { name: '流调队员1' }, note: expect.stringContaining('norovirus GII') });
    expect(inv.errors).toEqual([]);
    await inv.close();
  } finally {
    await browser.close();
    await server.close();
  }
});
