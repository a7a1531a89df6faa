// Two-way referral KPIs (双向转诊指标) per month and institution or consortium: cases up and down, how fast the
// hospitals answer, how the reserved slots are used, no-shows, the loop closure rate and downward follow-up in time.
// The district administrator sees every unit; an institution's administrator and referral desk see their own.
import { useState } from 'react';
import { Button, Card, Col, DatePicker, Empty, Form, Row, Segmented, Select, Table, Typography } from 'antd';
import type { GetProps, TableProps } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api, buildQuery } from '../../api.ts';
import { useUser } from '../../auth.ts';
import { HorizontalBarChart } from '../../components/bar-chart.tsx';
import { Page } from '../../components/page.tsx';
import { StatisticRow, type StatisticItem } from '../../components/statistic-row.tsx';
import { QueryError } from '../../components/query-state.tsx';
import type { Consortium, Id, Items } from '../../types.ts';
import { InstitutionSelect } from '../residents/InstitutionSelect.tsx';
import type { ReferralKpiRow } from '../referrals/referral-types.ts';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

type GroupBy = 'institution' | 'consortium';
type MonthRange = GetProps<typeof DatePicker.RangePicker>['value'];

interface KpiFilters {
  from: string;
  to: string;
  groupBy: GroupBy;
  institutionId?: Id;
  consortiumId?: Id;
}

/** A rate of the API (0..1, null when its base is 0) as a percentage. */
function percent(rate: number | null): string {
  return rate === null ? '—' : `${(rate * 100).toFixed(1)}%`;
}

/** A rate of summed counts, null when nothing was counted. */
function ratio(numerator: number, denominator: number): number | null {
  return denominator > 0 ? numerator / denominator : null;
}

const sum = (rows: ReferralKpiRow[], key: keyof ReferralKpiRow) => rows.reduce((total, r) => total + (r[key] as number), 0);

/** Rates over a set of rows: summed numerators over summed bases (averaging the rows' rates would weigh a unit with
 *  one case like one with a hundred). */
function rates(rows: ReferralKpiRow[]) {
  return {
    loopClosure: ratio(sum(rows, 'closedUp'), sum(rows, 'completedUp')),
    reservedUsed: ratio(sum(rows, 'reservedUsed'), sum(rows, 'reservedSlots')),
    noShow: ratio(sum(rows, 'noShows'), sum(rows, 'scheduled')),
    downInTime: ratio(sum(rows, 'downInTime'), sum(rows, 'downDue')),
  };
}

export default function ReferralKpiShow() {
  const { t } = useTranslation('referralKpis');
  const user = useUser();
  const districtWide = user.roles.includes('district_admin') && user.institutionId === null;
  const [form] = Form.useForm<{ range?: MonthRange; groupBy: GroupBy; institutionId?: Id; consortiumId?: Id }>();
  const groupByValue = Form.useWatch('groupBy', form) ?? 'institution';
  // the last six months by default
  const [filters, setFilters] = useState<KpiFilters>(() => ({ from: dayjs().subtract(5, 'month').format('YYYY-MM'), to: dayjs().format('YYYY-MM'), groupBy: 'institution' }));
  const kpis = useQuery({
    queryKey: ['referral-kpis', filters],
    queryFn: () => api<ReferralKpiRow[]>('/referral-kpis', { query: { ...filters } }),
    placeholderData: keepPreviousData,
  });
  const consortia = useQuery({
    queryKey: ['consortia'],
    queryFn: () => api<Items<Consortium>>('/consortia'),
    enabled: districtWide,
    staleTime: 10 * 60_000,
  });
  const rows = kpis.data ?? [];

  return (
    <Page
      title={t('title')}
      extra={
        <Button icon={<DownloadOutlined />} href={`/api/v1/referral-kpis.xlsx${buildQuery({ ...filters })}`} data-testid="kpi-export">
          {t('export')}
        </Button>
      }
    >
      <Card>
        <Form
          form={form}
          layout="inline"
          style={{ rowGap: 12 }}
          initialValues={{ range: [dayjs(filters.from), dayjs(filters.to)], groupBy: filters.groupBy }}
          onFinish={({ range, groupBy, institutionId, consortiumId }) => {
            const [start, end] = range ?? [];
            setFilters({
              from: (start ?? dayjs()).format('YYYY-MM'),
              to: (end ?? dayjs()).format('YYYY-MM'),
              groupBy,
              institutionId: groupBy === 'institution' ? institutionId : undefined,
              consortiumId: groupBy === 'consortium' ? consortiumId : undefined,
            });
          }}
        >
          <Form.Item name="range" label={t('monthRange')}>
            <DatePicker.RangePicker picker="month" allowClear={false} placeholder={[t('recognition:startMonth'), t('recognition:endMonth')]} />
          </Form.Item>
          {districtWide && (
            <>
              <Form.Item name="groupBy" label={t('groupBy')}>
                <Segmented<GroupBy>
                  options={[
                    { value: 'institution', label: t('groupByInstitution') },
                    { value: 'consortium', label: t('groupByConsortium') },
                  ]}
                />
              </Form.Item>
              {groupByValue === 'institution' ? (
                <Form.Item name="institutionId" label={t('institution')}>
                  <InstitutionSelect />
                </Form.Item>
              ) : (
                <Form.Item name="consortiumId" label={t('consortium')}>
                  <Select
                    allowClear
                    placeholder={t('allConsortia')}
                    style={{ width: 240 }}
                    options={consortia.data?.items.map((c) => ({ value: c.id, label: c.name }))}
                  />
                </Form.Item>
              )}
            </>
          )}
          <Button type="primary" htmlType="submit" data-testid="kpi-search">
            {t('common:search')}
          </Button>
        </Form>
      </Card>
      {kpis.error ? (
        <QueryError error={kpis.error} onRetry={() => void kpis.refetch()} />
      ) : !kpis.isPending && rows.length === 0 ? (
        <Card>
          <Empty description={t('empty')} data-testid="kpi-empty" />
        </Card>
      ) : (
        <>
          <Totals rows={rows} />
          <Row gutter={[16, 16]}>
            <Col xs={24} xl={12}>
              <Card title={t('casesChart')}>
                <CasesChart rows={rows} />
              </Card>
            </Col>
            <Col xs={24} xl={12}>
              <Card title={t('ratesChart')}>
                <RatesChart rows={rows} from={filters.from} to={filters.to} />
              </Card>
            </Col>
          </Row>
          <Card title={t('table')}>
            <KpiTable rows={rows} loading={kpis.isFetching} />
          </Card>
        </>
      )}
    </Page>
  );
}

function Totals({ rows }: { rows: ReferralKpiRow[] }) {
  const { t } = useTranslation('referralKpis');
  const r = rates(rows);
  const items: StatisticItem[] = [
    { key: 'upSent', title: t('upSent'), value: sum(rows, 'upSent') },
    { key: 'upReceived', title: t('upReceived'), value: sum(rows, 'upReceived') },
    { key: 'downSent', title: t('downSent'), value: sum(rows, 'downSent') },
    { key: 'downReceived', title: t('downReceived'), value: sum(rows, 'downReceived') },
    { key: 'loopClosure', title: t('loopClosureRate'), value: percent(r.loopClosure) },
    { key: 'reservedUsed', title: t('reservedUsedRate'), value: percent(r.reservedUsed) },
    { key: 'noShow', title: t('noShowRate'), value: percent(r.noShow) },
    { key: 'downInTime', title: t('downInTimeRate'), value: percent(r.downInTime) },
  ];
  return <StatisticRow items={items} />;
}

/** Cases per unit over the whole range, up and down, sent and received. */
function CasesChart({ rows }: { rows: ReferralKpiRow[] }) {
  const { t } = useTranslation('referralKpis');
  const units = [...new Map(rows.map((r) => [r.unitId, r.unitName])).entries()];
  const total = (unitId: Id, key: keyof ReferralKpiRow) => sum(rows.filter((r) => r.unitId === unitId), key);
  const active = units.filter(([id]) => total(id, 'upSent') + total(id, 'upReceived') + total(id, 'downSent') + total(id, 'downReceived') > 0);
  if (active.length === 0) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('noCases')} />;
  const series = [
    { key: 'upSent', color: '#1677ff' },
    { key: 'upReceived', color: '#69b1ff' },
    { key: 'downSent', color: '#722ed1' },
    { key: 'downReceived', color: '#b37feb' },
  ] as const;
  return (
    <div data-testid="kpi-cases-chart">
      <HorizontalBarChart
        categories={active.map(([, name]) => name)}
        series={series.map((s) => ({ name: t(s.key), color: s.color, values: active.map(([id]) => total(id, s.key) || null) }))}
        ariaLabel={t('casesChartLabel')}
      />
    </div>
  );
}

/** Every month of the range, so a quiet month shows as a gap rather than disappearing. */
function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  for (let m = dayjs(`${from}-01`); !m.isAfter(dayjs(`${to}-01`)) && months.length < 120; m = m.add(1, 'month')) months.push(m.format('YYYY-MM'));
  return months;
}

/** Each month's rates over all units shown: loop closure, reserved slots used, follow-up in time, no-shows. */
function RatesChart({ rows, from, to }: { rows: ReferralKpiRow[]; from: string; to: string }) {
  const { t } = useTranslation('referralKpis');
  const months = monthsBetween(from, to);
  const byMonth = months.map((m) => rates(rows.filter((r) => r.month === m)));
  const lines = [
    { key: 'loopClosure', name: t('loopClosureRate'), color: '#52c41a' },
    { key: 'reservedUsed', name: t('reservedUsedRate'), color: '#1677ff' },
    { key: 'downInTime', name: t('downInTimeRate'), color: '#722ed1' },
    { key: 'noShow', name: t('noShowRate'), color: '#fa541c' },
  ] as const;
  const label = t('ratesChartLabel');
  const option = {
    aria: { enabled: true, label: { description: label } },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: number | null) => (v === null || v === undefined ? '—' : `${v}%`) },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: months },
    yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
    // bars rather than lines: a month without a base has no rate, and most ranges have few months with cases
    series: lines.map((l) => ({
      name: l.name,
      type: 'bar',
      barMaxWidth: 16,
      itemStyle: { color: l.color },
      data: byMonth.map((m) => (m[l.key] === null ? null : Math.round(m[l.key]! * 1000) / 10)),
    })),
  };
  return (
    <div role="img" aria-label={label} data-testid="kpi-rates-chart">
      <ReactEChartsCore echarts={echarts} option={option} notMerge style={{ height: 320 }} />
    </div>
  );
}

function KpiTable({ rows, loading }: { rows: ReferralKpiRow[]; loading: boolean }) {
  const { t } = useTranslation('referralKpis');
  const fraction = (n: number, d: number, rate: number | null, testId?: string) => (
    <span data-testid={testId}>
      {d > 0 ? `${n}/${d}` : '—'}
      {rate !== null && <Typography.Text type="secondary"> ({percent(rate)})</Typography.Text>}
    </span>
  );
  const columns: TableProps<ReferralKpiRow>['columns'] = [
    { title: t('month'), dataIndex: 'month', width: 90, fixed: 'left' },
    { title: t('unit'), dataIndex: 'unitName', width: 200, fixed: 'left' },
    { title: t('upSent'), dataIndex: 'upSent', align: 'right' },
    { title: t('upReceived'), dataIndex: 'upReceived', align: 'right' },
    { title: t('downSent'), dataIndex: 'downSent', align: 'right' },
    { title: t('downReceived'), dataIndex: 'downReceived', align: 'right' },
    {
      title: t('medianAcceptanceHours'),
      dataIndex: 'medianAcceptanceHours',
      align: 'right',
      render: (h: number | null) => (h === null ? '—' : h.toFixed(1)),
    },
    { title: t('reservedUsed'), key: 'reserved', align: 'right', render: (_, r) => fraction(r.reservedUsed, r.reservedSlots, r.reservedUsedRate) },
    { title: t('reservedReleasedRate'), dataIndex: 'reservedReleasedRate', align: 'right', render: percent },
    { title: t('noShows'), key: 'noShow', align: 'right', render: (_, r) => fraction(r.noShows, r.scheduled, r.noShowRate) },
    { title: t('loopClosure'), key: 'loop', align: 'right', render: (_, r) => fraction(r.closedUp, r.completedUp, r.loopClosureRate, 'kpi-loop') },
    { title: t('downInTime'), key: 'downInTime', align: 'right', render: (_, r) => fraction(r.downInTime, r.downDue, r.downInTimeRate) },
  ];
  return (
    <Table<ReferralKpiRow>
      rowKey={(r) => `${r.month}:${r.unitId}`}
      size="small"
      loading={loading}
      dataSource={rows}
      columns={columns}
      scroll={{ x: 1300 }}
      pagination={{ pageSize: 20, hideOnSinglePage: true }}
      data-testid="kpi-table"
    />
  );
}

