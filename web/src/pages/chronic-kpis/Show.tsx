// Chronic-disease and contracting KPIs (慢病与签约指标) for a month, quarter or year: contract coverage overall and by key
// population, GPs per 10,000 residents against the goal, standardised-management and control rates of hypertension
// and diabetes, follow-up timeliness, medication coupons used. Drill down district → street → community → grid, or
// look per community health centre → team; every view exports to Excel.
import { useState } from 'react';
import { Breadcrumb, Button, Card, DatePicker, Flex, Segmented, Typography } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api, buildQuery } from '../../api.ts';
import { formatDateTime } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryError } from '../../components/query-state.tsx';
import type { Id } from '../../types.ts';
import { childLevel, kpiQuery, periodAt, periodStart, PERIOD_KINDS, type KpiLevel, type KpiReport, type PeriodKind } from './kpi-format.ts';
import { KpiCharts, KpiTable, KpiTotals } from './kpi-view.tsx';

type View = 'region' | 'care';
interface Step {
  level: KpiLevel;
  parent?: Id;
  name?: string;
}

const TOP: Record<View, Step> = { region: { level: 'district' }, care: { level: 'centre' } };

export default function ChronicKpiShow() {
  const { t } = useTranslation('chronic');
  const [view, setView] = useState<View>('region');
  const [trail, setTrail] = useState<Step[]>([TOP.region]);
  const [period, setPeriod] = useState<PeriodKind>('month');
  const [at, setAt] = useState(() => periodAt('month', { year: dayjs().year(), month: dayjs().month() + 1 }));
  const step = trail[trail.length - 1]!;
  const query = kpiQuery({ level: step.level, parent: step.parent, period, at });
  const report = useQuery({
    queryKey: ['chronic-kpis', query],
    queryFn: () => api<KpiReport>('/chronic/kpis', { query }),
    placeholderData: keepPreviousData,
  });

  const changePeriod = (kind: PeriodKind) => {
    const start = periodStart(at) ?? { year: dayjs().year(), month: dayjs().month() + 1 };
    setPeriod(kind);
    setAt(periodAt(kind, start));
  };
  const start = periodStart(at);

  return (
    <Page
      title={t('kpis.title')}
      extra={
        <Button icon={<DownloadOutlined />} href={`/api/v1/chronic/kpis.xlsx${buildQuery(query)}`} data-testid="kpi-export">
          {t('kpis.export')}
        </Button>
      }
    >
      <Card>
        <Flex wrap gap={16} align="center">
          <Segmented<View>
            value={view}
            onChange={(v) => {
              setView(v);
              setTrail([TOP[v]]);
            }}
            options={[
              { value: 'region', label: <span data-testid="kpi-view-region">{t('kpis.byRegion')}</span> },
              { value: 'care', label: <span data-testid="kpi-view-care">{t('kpis.byCentre')}</span> },
            ]}
          />
          <Segmented<PeriodKind>
            value={period}
            onChange={changePeriod}
            options={PERIOD_KINDS.map((k) => ({ value: k, label: <span data-testid={`kpi-period-${k}`}>{t(`kpis.periods.${k}`)}</span> }))}
          />
          <DatePicker
            picker={period}
            allowClear={false}
            value={start ? dayjs(new Date(start.year, start.month - 1, 1)) : dayjs()}
            onChange={(d) => d && setAt(periodAt(period, { year: d.year(), month: d.month() + 1 }))}
            data-testid="kpi-at"
          />
          {report.data && (
            <Typography.Text type="secondary" data-testid="kpi-period">
              {t('kpis.periodLine', { label: report.data.period.label, from: report.data.period.from, to: report.data.period.to, at: formatDateTime(report.data.computedAt) })}
            </Typography.Text>
          )}
        </Flex>
        <Breadcrumb
          style={{ marginTop: 16 }}
          data-testid="kpi-trail"
          items={trail.map((s, i) => ({
            key: i,
            title:
              i < trail.length - 1 ? (
                <a onClick={() => setTrail(trail.slice(0, i + 1))}>{s.name ?? t(`kpis.top.${view}`)}</a>
              ) : (
                (s.name ?? t(`kpis.top.${view}`))
              ),
          }))}
        />
      </Card>
      {report.error ? (
        <QueryError error={report.error} onRetry={() => void report.refetch()} />
      ) : report.data ? (
        <>
          <KpiTotals total={report.data.total} />
          {report.data.rows.length > 0 && <KpiCharts report={report.data} />}
          <Card title={t(`kpis.levelsTable.${report.data.level}`, { defaultValue: t('kpis.table') })}>
            <KpiTable
              report={report.data}
              loading={report.isFetching}
              onDrill={(row) => {
                const next = childLevel(row.level ?? step.level);
                if (next) setTrail([...trail, { level: next, parent: row.id, name: row.name }]);
              }}
            />
          </Card>
        </>
      ) : (
        <Card loading />
      )}
    </Page>
  );
}
