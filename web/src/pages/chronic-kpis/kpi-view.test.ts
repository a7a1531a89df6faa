// The KPI page's rendering of one report (GET /chronic/kpis) and its pure helpers: the period an `at` names, where a
// row drills to, rates as percentages; the totals, the table with its drill-down links and total line, in Chinese
// and English. Rendered to HTML on the server side (no browser): the charts' canvases are drawn only in the browser.
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { createInstance } from 'i18next';
import { I18nextProvider, initReactI18next } from 'react-i18next';
import { describe, expect, test } from 'vitest';
import en from '../../i18n/en.ts';
import zhCN from '../../i18n/zh-CN.ts';
import { childLevel, kpiQuery, percent, periodAt, periodStart, type KpiFigures, type KpiReport, type KpiRow } from './kpi-format.ts';
import { KpiCharts, KpiTable, KpiTotals } from './kpi-view.tsx';

function figures(population: number, contracted: number, htn: [number, number, number], dm: [number, number, number]): KpiFigures {
  const rate = (n: number, d: number) => (d > 0 ? n / d : null);
  const cov = (p: number, c: number) => ({ population: p, contracted: c, coverage: rate(c, p) });
  const disease = ([managed, standardised, controlled]: [number, number, number]) => ({
    managed, standardised, standardisedRate: rate(standardised, managed), controlled, controlRate: rate(controlled, managed),
  });
  return {
    ...cov(population, contracted),
    keyPopulations: {
      elderly: cov(120, 96), hypertension: cov(htn[0], htn[0]), diabetes: cov(dm[0], dm[0]), pregnant: cov(3, 3),
      children: cov(40, 30), mental: cov(2, 2), disability: cov(10, 5), special: cov(0, 0),
    },
    gps: 3, gpsPer10k: (3 / population) * 10_000, hypertension: disease(htn), diabetes: disease(dm),
    followUpsDue: 40, followUpsOnTime: 34, timeliness: 0.85, couponsIssued: 120, couponsUsed: 90,
  };
}

const rows: KpiRow[] = [
  { id: 11, name: '东华门街道', level: 'street', ...figures(8000, 3200, [400, 300, 240], [150, 100, 60]) },
  { id: 12, name: '景山街道', level: 'street', ...figures(4000, 1000, [0, 0, 0], [0, 0, 0]) },
];
const report: KpiReport = {
  period: { kind: 'quarter', label: '2025-Q2', from: '2025-04-01', to: '2025-06-30' },
  computedAt: '2025-07-01T02:00:00.000Z',
  level: 'street',
  rows,
  total: figures(12000, 4200, [400, 300, 240], [150, 100, 60]),
};

function render(lang: 'zh-CN' | 'en', element: ReturnType<typeof createElement>): string {
  const i18n = createInstance();
  void i18n.use(initReactI18next).init({ resources: { 'zh-CN': zhCN, en }, lng: lang, ns: Object.keys(zhCN), defaultNS: 'common', interpolation: { escapeValue: false }, initAsync: false });
  return renderToString(createElement(I18nextProvider, { i18n }, element));
}

/** The visible text with the markup and all white space taken out (the table splits a fraction over elements). */
const text = (html: string) => html.replace(/<[^>]+>/g, '').replace(/&#x27;/g, "'").replace(/\s+/g, '');

describe('KPI helpers', () => {
  test.each([
    ['month', 2025, 3, '2025-03'],
    ['quarter', 2025, 3, '2025-Q1'],
    ['quarter', 2025, 4, '2025-Q2'],
    ['quarter', 2025, 12, '2025-Q4'],
    ['year', 2025, 7, '2025'],
  ] as const)('a %s containing %i-%i is %s', (kind, year, month, at) => {
    expect(periodAt(kind, { year, month })).toBe(at);
  });
  test('periods back to their first month; nonsense is null', () => {
    expect(periodStart('2025-Q2')).toEqual({ year: 2025, month: 4 });
    expect(periodStart('2025-11')).toEqual({ year: 2025, month: 11 });
    expect(periodStart('2025')).toEqual({ year: 2025, month: 1 });
    expect(periodStart('2025-13')).toBeNull();
    expect(periodStart('2025-Q5')).toBeNull();
  });
  test('drill-down: district → street → community → grid, centre → team, and no further', () => {
    expect(['district', 'street', 'community', 'grid', 'centre', 'team'].map((l) => childLevel(l as KpiRow['level']))).toEqual(['street', 'community', 'grid', null, 'team', null]);
  });
  test('rates: one decimal, a dash where there is no base', () => {
    expect([percent(0.85), percent(1), percent(0), percent(null), percent(2 / 3)]).toEqual(['85.0%', '100.0%', '0.0%', '—', '66.7%']);
    expect(kpiQuery({ level: 'street', parent: 1, period: 'quarter', at: '2025-Q2' })).toEqual({ level: 'street', parent: 1, period: 'quarter', at: '2025-Q2' });
  });
});

describe('KPI rendering', () => {
  test('the totals: coverage, GPs per 10,000, both diseases’ rates, timeliness, coupons', () => {
    const html = text(render('zh-CN', createElement(KpiTotals, { total: report.total })));
    expect(html).toContain('签约覆盖率35.0%');
    expect(html).toContain('每万人全科医生数2.50');
    expect(html).toContain('高血压规范管理率75.0%');
    expect(html).toContain('高血压控制率60.0%');
    expect(html).toContain('糖尿病规范管理率66.7%');
    expect(html).toContain('糖尿病控制率40.0%');
    expect(html).toContain('随访及时率85.0%');
    expect(html).toContain('药品券使用90/120');
  });

  test('the table: a drill-down link per street, fractions with rates, a dash without a base, the total line', () => {
    const html = render('zh-CN', createElement(KpiTable, { report, onDrill: () => undefined }));
    expect(html.match(/data-testid="kpi-drill"/g)).toHaveLength(2);
    const plain = text(html);
    // the first column is named after the level; a row: population, contracted (coverage), GPs, per 10,000, then
    // hypertension and diabetes managed, standardised, controlled, then timeliness and coupons
    expect(plain.startsWith('街道常住人口签约人数')).toBe(true);
    expect(plain).toContain('东华门街道80003200/8000(40.0%)33.75400300/400(75.0%)240/400(60.0%)150100/150(66.7%)60/150(40.0%)34/40(85.0%)90/120');
    // nobody managed: no rate rather than 0%
    expect(plain).toContain('景山街道40001000/4000(25.0%)37.500——0——34/40(85.0%)90/120');
    expect(html).toContain('data-testid="kpi-total-row"');
    expect(plain).toContain('合计120004200/12000(35.0%)32.50400300/400(75.0%)');
  });

  test('grids and teams do not drill further', () => {
    const html = render('zh-CN', createElement(KpiTable, { report: { ...report, level: 'grid', rows: rows.map((r) => ({ ...r, level: 'grid' as const })) }, onDrill: () => undefined }));
    expect(html).not.toContain('kpi-drill');
    expect(text(html)).toContain('东华门街道');
  });

  test('an empty period says so', () => {
    const html = render('zh-CN', createElement(KpiTable, { report: { ...report, rows: [] }, onDrill: () => undefined }));
    expect(text(html)).toContain('该期间没有指标数据');
  });

  test('in English, with the charts’ containers labelled', () => {
    const table = text(render('en', createElement(KpiTable, { report, onDrill: () => undefined })));
    expect(table).toContain('Street');
    expect(table).toContain('Total');
    expect(table).toContain('Hypertension');
    const charts = render('en', createElement(KpiCharts, { report }));
    expect(charts).toContain('data-testid="kpi-rates-chart"');
    expect(charts).toContain('aria-label="Contract coverage of key populations"');
    expect(charts).toContain('aria-label="GPs per 10,000 residents"');
  });
});
