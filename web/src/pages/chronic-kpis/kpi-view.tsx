// What the KPI page shows of one report: the totals, the charts and the table whose rows drill down. Presentational
// only (the data comes as props), so it renders the same in the browser and in kpi-view.test.ts.
import { Button, Card, Col, Empty, Row, Table, Typography } from 'antd';
import type { TableProps } from 'antd';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkLineComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { useTranslation } from 'react-i18next';
import { StatisticRow } from '../../components/statistic-row.tsx';
import { chartPercent, childLevel, GP_GOAL_PER_10K, KEY_POPULATIONS, percent, type KpiFigures, type KpiReport, type KpiRow, type Rate } from './kpi-format.ts';

echarts.use([BarChart, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, CanvasRenderer]);

function Fraction({ n, d, rate, testId }: { n: number; d: number; rate: Rate; testId?: string }) {
  return (
    <span data-testid={testId}>
      {d > 0 ? `${n}/${d}` : '—'}
      {rate !== null && <Typography.Text type="secondary"> ({percent(rate)})</Typography.Text>}
    </span>
  );
}

export function KpiTotals({ total }: { total: KpiFigures }) {
  const { t } = useTranslation('chronic');
  const items = [
    { key: 'coverage', title: t('kpis.coverage'), value: percent(total.coverage) },
    { key: 'gpsPer10k', title: t('kpis.gpsPer10k'), value: total.gpsPer10k === null ? '—' : total.gpsPer10k.toFixed(2) },
    { key: 'htnStandardised', title: t('kpis.htnStandardisedRate'), value: percent(total.hypertension.standardisedRate) },
    { key: 'htnControl', title: t('kpis.htnControlRate'), value: percent(total.hypertension.controlRate) },
    { key: 'dmStandardised', title: t('kpis.dmStandardisedRate'), value: percent(total.diabetes.standardisedRate) },
    { key: 'dmControl', title: t('kpis.dmControlRate'), value: percent(total.diabetes.controlRate) },
    { key: 'timeliness', title: t('kpis.timeliness'), value: percent(total.timeliness) },
    { key: 'coupons', title: t('kpis.couponsUsed'), value: `${total.couponsUsed}/${total.couponsIssued}` },
  ];
  return <StatisticRow items={items} />;
}

function BarChartBox({ option, label, testId, height }: { option: object; label: string; testId: string; height: number }) {
  return (
    <div role="img" aria-label={label} data-testid={testId}>
      <ReactEChartsCore echarts={echarts} option={{ aria: { enabled: true, label: { description: label } }, ...option }} notMerge style={{ height }} />
    </div>
  );
}

/** Rates per row (coverage, standardised management and control of both diseases), and GPs per 10,000 against the goal. */
export function KpiCharts({ report }: { report: KpiReport }) {
  const { t } = useTranslation('chronic');
  const rows = report.rows;
  const names = rows.map((r) => r.name);
  const rates = [
    { name: t('kpis.coverage'), color: '#1677ff', value: (r: KpiRow) => r.coverage },
    { name: t('kpis.htnStandardisedRate'), color: '#cf1322', value: (r: KpiRow) => r.hypertension.standardisedRate },
    { name: t('kpis.htnControlRate'), color: '#ff7875', value: (r: KpiRow) => r.hypertension.controlRate },
    { name: t('kpis.dmStandardisedRate'), color: '#d46b08', value: (r: KpiRow) => r.diabetes.standardisedRate },
    { name: t('kpis.dmControlRate'), color: '#ffc069', value: (r: KpiRow) => r.diabetes.controlRate },
  ];
  const height = Math.max(260, rows.length * 26 + 80);
  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} xl={14}>
        <Card title={t('kpis.ratesChart')} size="small">
          <BarChartBox
            testId="kpi-rates-chart"
            label={t('kpis.ratesChart')}
            height={height}
            option={{
              tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: number | null) => (v === null || v === undefined ? '—' : `${v}%`) },
              legend: { top: 0, type: 'scroll' },
              grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
              xAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
              yAxis: { type: 'category', data: names, inverse: true, axisLabel: { width: 140, overflow: 'truncate' } },
              series: rates.map((s) => ({ name: s.name, type: 'bar', barMaxWidth: 10, itemStyle: { color: s.color }, data: rows.map((r) => chartPercent(s.value(r))) })),
            }}
          />
        </Card>
      </Col>
      <Col xs={24} xl={10}>
        <Card title={t('kpis.keyPopulationChart')} size="small">
          <BarChartBox
            testId="kpi-key-population-chart"
            label={t('kpis.keyPopulationChart')}
            height={Math.max(260, height / 2)}
            option={{
              tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: number | null) => (v === null || v === undefined ? '—' : `${v}%`) },
              grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
              xAxis: { type: 'category', data: KEY_POPULATIONS.map((k) => t(`kpis.populations.${k}`)), axisLabel: { interval: 0, rotate: 30 } },
              yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
              series: [{ name: t('kpis.coverage'), type: 'bar', barMaxWidth: 24, itemStyle: { color: '#1677ff' }, data: KEY_POPULATIONS.map((k) => chartPercent(report.total.keyPopulations[k]?.coverage)) }],
            }}
          />
        </Card>
        <Card title={t('kpis.gpChart')} size="small" style={{ marginTop: 16 }}>
          <BarChartBox
            testId="kpi-gp-chart"
            label={t('kpis.gpChart')}
            height={Math.max(220, height / 2)}
            option={{
              tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
              grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
              xAxis: { type: 'value', min: 0 },
              yAxis: { type: 'category', data: names, inverse: true, axisLabel: { width: 140, overflow: 'truncate' } },
              series: [
                {
                  name: t('kpis.gpsPer10k'),
                  type: 'bar',
                  barMaxWidth: 14,
                  data: rows.map((r) => ({ value: r.gpsPer10k, itemStyle: { color: r.gpsPer10k !== null && r.gpsPer10k >= GP_GOAL_PER_10K ? '#52c41a' : '#faad14' } })),
                  markLine: { silent: true, symbol: 'none', data: [{ xAxis: GP_GOAL_PER_10K, label: { formatter: t('kpis.gpGoal', { goal: GP_GOAL_PER_10K }) }, lineStyle: { color: '#f5222d', type: 'dashed' } }] },
                },
              ],
            }}
          />
        </Card>
      </Col>
    </Row>
  );
}

/** One row a unit, the report's total as the last line; a row of a level with children opens them. */
export function KpiTable({ report, onDrill, loading = false }: { report: KpiReport; onDrill: (row: KpiRow) => void; loading?: boolean }) {
  const { t } = useTranslation('chronic');
  const drillable = childLevel(report.level) !== null;
  const columns: TableProps<KpiRow>['columns'] = [
    {
      title: t(`kpis.levels.${report.level}`),
      key: 'name',
      width: 180,
      fixed: 'left',
      render: (_, r) =>
        drillable ? (
          <Button type="link" size="small" style={{ padding: 0 }} onClick={() => onDrill(r)} data-testid="kpi-drill">
            {r.name}
          </Button>
        ) : (
          r.name
        ),
    },
    { title: t('kpis.population'), dataIndex: 'population', align: 'right' },
    { title: t('kpis.contracted'), key: 'coverage', align: 'right', render: (_, r) => <Fraction n={r.contracted} d={r.population} rate={r.coverage} testId="kpi-coverage" /> },
    { title: t('kpis.gps'), dataIndex: 'gps', align: 'right' },
    { title: t('kpis.gpsPer10k'), key: 'gpsPer10k', align: 'right', render: (_, r) => (r.gpsPer10k === null ? '—' : r.gpsPer10k.toFixed(2)) },
    {
      title: t('kpis.hypertension'),
      children: [
        { title: t('kpis.managed'), key: 'htnManaged', align: 'right', render: (_, r) => r.hypertension.managed },
        { title: t('kpis.standardised'), key: 'htnStd', align: 'right', render: (_, r) => <Fraction n={r.hypertension.standardised} d={r.hypertension.managed} rate={r.hypertension.standardisedRate} /> },
        { title: t('kpis.controlled'), key: 'htnCtl', align: 'right', render: (_, r) => <Fraction n={r.hypertension.controlled} d={r.hypertension.managed} rate={r.hypertension.controlRate} testId="kpi-htn-control" /> },
      ],
    },
    {
      title: t('kpis.diabetes'),
      children: [
        { title: t('kpis.managed'), key: 'dmManaged', align: 'right', render: (_, r) => r.diabetes.managed },
        { title: t('kpis.standardised'), key: 'dmStd', align: 'right', render: (_, r) => <Fraction n={r.diabetes.standardised} d={r.diabetes.managed} rate={r.diabetes.standardisedRate} /> },
        { title: t('kpis.controlled'), key: 'dmCtl', align: 'right', render: (_, r) => <Fraction n={r.diabetes.controlled} d={r.diabetes.managed} rate={r.diabetes.controlRate} /> },
      ],
    },
    { title: t('kpis.timeliness'), key: 'timeliness', align: 'right', render: (_, r) => <Fraction n={r.followUpsOnTime} d={r.followUpsDue} rate={r.timeliness} /> },
    { title: t('kpis.coupons'), key: 'coupons', align: 'right', render: (_, r) => `${r.couponsUsed}/${r.couponsIssued}` },
  ];
  const total = report.total;
  return (
    <Table<KpiRow>
      rowKey="id"
      size="small"
      bordered
      loading={loading}
      dataSource={report.rows}
      columns={columns}
      scroll={{ x: 1400 }}
      pagination={{ pageSize: 50, hideOnSinglePage: true }}
      locale={{ emptyText: <Empty description={t('kpis.empty')} data-testid="kpi-empty" /> }}
      expandable={{ expandedRowRender: (r) => <KeyPopulations figures={r} />, rowExpandable: () => true }}
      data-testid="kpi-table"
      summary={() =>
        report.rows.length > 1 ? (
          <Table.Summary fixed>
            <Table.Summary.Row data-testid="kpi-total-row">
              <Table.Summary.Cell index={0} />
              <Table.Summary.Cell index={1}>
                <Typography.Text strong>{t('kpis.total')}</Typography.Text>
              </Table.Summary.Cell>
              <Table.Summary.Cell index={2} align="right">{total.population}</Table.Summary.Cell>
              <Table.Summary.Cell index={3} align="right"><Fraction n={total.contracted} d={total.population} rate={total.coverage} /></Table.Summary.Cell>
              <Table.Summary.Cell index={4} align="right">{total.gps}</Table.Summary.Cell>
              <Table.Summary.Cell index={5} align="right">{total.gpsPer10k === null ? '—' : total.gpsPer10k.toFixed(2)}</Table.Summary.Cell>
              <Table.Summary.Cell index={6} align="right">{total.hypertension.managed}</Table.Summary.Cell>
              <Table.Summary.Cell index={7} align="right"><Fraction n={total.hypertension.standardised} d={total.hypertension.managed} rate={total.hypertension.standardisedRate} /></Table.Summary.Cell>
              <Table.Summary.Cell index={8} align="right"><Fraction n={total.hypertension.controlled} d={total.hypertension.managed} rate={total.hypertension.controlRate} /></Table.Summary.Cell>
              <Table.Summary.Cell index={9} align="right">{total.diabetes.managed}</Table.Summary.Cell>
              <Table.Summary.Cell index={10} align="right"><Fraction n={total.diabetes.standardised} d={total.diabetes.managed} rate={total.diabetes.standardisedRate} /></Table.Summary.Cell>
              <Table.Summary.Cell index={11} align="right"><Fraction n={total.diabetes.controlled} d={total.diabetes.managed} rate={total.diabetes.controlRate} /></Table.Summary.Cell>
              <Table.Summary.Cell index={12} align="right"><Fraction n={total.followUpsOnTime} d={total.followUpsDue} rate={total.timeliness} /></Table.Summary.Cell>
              <Table.Summary.Cell index={13} align="right">{`${total.couponsUsed}/${total.couponsIssued}`}</Table.Summary.Cell>
            </Table.Summary.Row>
          </Table.Summary>
        ) : null
      }
    />
  );
}

/** Contract coverage of each key population of a unit. */
function KeyPopulations({ figures }: { figures: KpiFigures }) {
  const { t } = useTranslation('chronic');
  return (
    <Table
      size="small"
      rowKey="key"
      pagination={false}
      data-testid="kpi-key-populations"
      dataSource={KEY_POPULATIONS.map((key) => ({ key, ...(figures.keyPopulations[key] ?? { population: 0, contracted: 0, coverage: null }) }))}
      columns={[
        { title: t('kpis.keyPopulation'), key: 'name', render: (_, r) => t(`kpis.populations.${r.key}`) },
        { title: t('kpis.population'), dataIndex: 'population', align: 'right' },
        { title: t('kpis.contracted'), dataIndex: 'contracted', align: 'right' },
        { title: t('kpis.coverage'), key: 'coverage', align: 'right', render: (_, r) => percent(r.coverage) },
      ]}
    />
  );
}
