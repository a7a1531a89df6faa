// Timeliness of statutory case reports (传染病报告及时性) per institution: class A and diseases managed as class A are
// due within 2 hours of diagnosis, other class B and class C within 24 hours. On-time rate, late reports and the
// median and 90th percentile hours from diagnosis to report, over the cards diagnosed in a date range.
import { useState } from 'react';
import { Button, Card, Col, DatePicker, Empty, Form, Row, Statistic, Table, Typography } from 'antd';
import type { GetProps, TableProps } from 'antd';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import { HorizontalBarChart } from '../../components/bar-chart.tsx';
import { Page } from '../../components/page.tsx';
import { Loading, QueryError } from '../../components/query-state.tsx';
import { beijingToday, DAY, hours, percent } from './surveillance-format.tsx';
import type { Timeliness as TimelinessData, TimelinessFigures } from './surveillance-types.ts';

type RangeValue = GetProps<typeof DatePicker.RangePicker>['value'];

export default function Timeliness() {
  const { t } = useTranslation('surveillance');
  const [range, setRange] = useState(() => ({ from: beijingToday().subtract(89, 'day').format(DAY), to: beijingToday().format(DAY) }));
  const data = useQuery({
    queryKey: ['surveillance', 'timeliness', range],
    queryFn: () => api<TimelinessData>('/surveillance/case-reports/timeliness', { query: range }),
    placeholderData: keepPreviousData,
  });
  const rows = [...(data.data?.institutions ?? [])].sort((a, b) => (a.onTimeRate ?? 1) - (b.onTimeRate ?? 1) || b.late - a.late);

  return (
    <Page title={t('timelinessTitle')}>
      <Card>
        <Form
          layout="inline"
          initialValues={{ range: [dayjs(range.from), dayjs(range.to)] }}
          onFinish={({ range: r }: { range: RangeValue }) => {
            const [start, end] = r ?? [];
            if (start && end) setRange({ from: start.format(DAY), to: end.format(DAY) });
          }}
        >
          <Form.Item name="range" label={t('diagnosedRange')}>
            <DatePicker.RangePicker allowClear={false} placeholder={[t('startDate'), t('endDate')]} />
          </Form.Item>
          <Button type="primary" htmlType="submit" data-testid="timeliness-search">
            {t('common:search')}
          </Button>
        </Form>
        <Typography.Paragraph type="secondary" style={{ margin: '12px 0 0' }}>
          {t('timelinessRule')}
        </Typography.Paragraph>
      </Card>
      {data.error ? (
        <QueryError error={data.error} onRetry={() => void data.refetch()} />
      ) : !data.data ? (
        <Loading />
      ) : data.data.total.reports === 0 ? (
        <Card>
          <Empty description={t('timelinessEmpty')} data-testid="timeliness-empty" />
        </Card>
      ) : (
        <>
          <Totals total={data.data.total} />
          <Row gutter={[16, 16]}>
            <Col xs={24} xl={10}>
              <Card title={t('timelinessChart')}>
                <HorizontalBarChart
                  categories={rows.map((r) => r.institutionName ?? '—')}
                  series={[
                    { name: t('onTimeReports'), color: '#52c41a', values: rows.map((r) => r.onTime || null) },
                    { name: t('lateReports'), color: '#f5222d', values: rows.map((r) => r.late || null) },
                  ]}
                  ariaLabel={t('timelinessChartLabel')}
                />
              </Card>
            </Col>
            <Col xs={24} xl={14}>
              <Card title={t('timelinessTable')}>
                <TimelinessTable rows={rows} loading={data.isFetching} />
              </Card>
            </Col>
          </Row>
        </>
      )}
    </Page>
  );
}

function Totals({ total }: { total: TimelinessFigures }) {
  const { t } = useTranslation('surveillance');
  return (
    <Card>
      <Row gutter={[16, 16]}>
        <Col xs={12} md={4}>
          <Statistic title={t('reports')} value={total.reports} />
        </Col>
        <Col xs={12} md={5}>
          <Statistic title={t('onTimeRate')} value={percent(total.onTimeRate)} data-testid="timeliness-rate" />
        </Col>
        <Col xs={12} md={5}>
          <Statistic title={t('lateReports')} value={total.late} valueStyle={total.late ? { color: '#cf1322' } : undefined} />
        </Col>
        <Col xs={12} md={5}>
          <Statistic title={t('medianDelay')} value={hours(total.medianDelayHours)} />
        </Col>
        <Col xs={12} md={5}>
          <Statistic title={t('p90Delay')} value={hours(total.p90DelayHours)} />
        </Col>
      </Row>
    </Card>
  );
}

function TimelinessTable({ rows, loading }: { rows: TimelinessFigures[]; loading: boolean }) {
  const { t } = useTranslation('surveillance');
  const columns: TableProps<TimelinessFigures>['columns'] = [
    { title: t('institution'), dataIndex: 'institutionName', ellipsis: true },
    { title: t('reports'), dataIndex: 'reports', align: 'right', width: 80, sorter: (a, b) => a.reports - b.reports },
    {
      title: t('onTimeRate'),
      dataIndex: 'onTimeRate',
      align: 'right',
      width: 100,
      sorter: (a, b) => (a.onTimeRate ?? 1) - (b.onTimeRate ?? 1),
      render: (r: number | null) => <Typography.Text type={r !== null && r < 0.9 ? 'danger' : undefined}>{percent(r)}</Typography.Text>,
    },
    { title: t('lateReports'), dataIndex: 'late', align: 'right', width: 80, sorter: (a, b) => a.late - b.late },
    { title: t('medianDelay'), dataIndex: 'medianDelayHours', align: 'right', width: 110, render: hours },
    { title: t('p90Delay'), dataIndex: 'p90DelayHours', align: 'right', width: 110, render: hours },
  ];
  return (
    <Table<TimelinessFigures>
      rowKey={(r) => r.institutionId ?? 0}
      size="small"
      loading={loading}
      dataSource={rows}
      columns={columns}
      pagination={{ pageSize: 20, hideOnSinglePage: true }}
      data-testid="timeliness-table"
    />
  );
}
