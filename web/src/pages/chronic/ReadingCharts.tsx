// Trend charts of blood pressure and glucose (血压、血糖趋势) from every institution's readings, with the programme's
// targets and danger values (from their rules) drawn as lines, so a reading at the hospital and one at a home visit read together.
import { Card, Col, Empty, Row } from 'antd';
import { useQuery } from '@tanstack/react-query';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import * as echarts from 'echarts/core';
import { LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkLineComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import { QueryError } from '../../components/query-state.tsx';
import type { Id, Items } from '../../types.ts';
import type { Programme, ReadingPoint } from './chronic-types.ts';

echarts.use([LineChart, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, CanvasRenderer]);

interface Line {
  name: string;
  color: string;
  points: Array<[string, number, string | null]>;
}
interface Threshold {
  value: number;
  label: string;
  color: string;
}

function lineOption(lines: Line[], thresholds: Threshold[], unit: string, ariaLabel: string) {
  return {
    aria: { enabled: true, label: { description: ariaLabel } },
    tooltip: {
      trigger: 'item',
      formatter: (p: { seriesName: string; data: [string, number, string | null] }) =>
        `${dayjs(p.data[0]).format('YYYY-MM-DD HH:mm')}<br/>${p.seriesName}: <b>${p.data[1]} ${unit}</b>${p.data[2] ? `<br/>${p.data[2]}` : ''}`,
    },
    legend: { top: 0 },
    grid: { left: 16, right: 72, top: 36, bottom: 16, containLabel: true },
    xAxis: { type: 'time' },
    yAxis: { type: 'value', name: unit, scale: true },
    series: lines.map((l, i) => ({
      name: l.name,
      type: 'line',
      data: l.points,
      symbolSize: 8,
      itemStyle: { color: l.color },
      lineStyle: { color: l.color },
      // the thresholds once, on the first line
      markLine:
        i === 0
          ? {
              silent: true,
              symbol: 'none',
              data: thresholds.map((th) => ({ yAxis: th.value, lineStyle: { color: th.color, type: 'dashed' }, label: { formatter: th.label, color: th.color } })),
            }
          : undefined,
    })),
  };
}

/** The programmes' targets (controlled) and danger values on these measures, as dashed lines: the rules are data. */
function thresholdsOf(programmes: Programme[], measures: string[], dangerLabel: (value: number) => string): Threshold[] {
  const out = new Map<number, Threshold>();
  for (const p of programmes) {
    for (const c of p.rules.danger) if (measures.includes(c.measure)) out.set(c.value, { value: c.value, label: dangerLabel(c.value), color: '#f5222d' });
    for (const c of p.rules.controlled) if (measures.includes(c.measure) && !out.has(c.value)) out.set(c.value, { value: c.value, label: String(c.value), color: '#faad14' });
  }
  return [...out.values()];
}

/** One trend in its card: the lines with the thresholds, or an empty state when nothing was measured. */
function TrendCard(props: { title: string; empty: string; testId: string; loading: boolean; lines: Line[]; thresholds: Threshold[]; unit: string }) {
  const lines = props.lines.filter((l) => l.points.length > 0);
  return (
    <Card title={props.title} loading={props.loading} size="small">
      {lines.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={props.empty} data-testid={`${props.testId}-empty`} />
      ) : (
        <div role="img" aria-label={props.title} data-testid={props.testId}>
          <ReactEChartsCore echarts={echarts} option={lineOption(lines, props.thresholds, props.unit, props.title)} notMerge style={{ height: 300 }} />
        </div>
      )}
    </Card>
  );
}

export function ReadingCharts({ residentId, programmes }: { residentId: Id; programmes: Programme[] }) {
  const { t } = useTranslation('chronic');
  const readings = useQuery({
    queryKey: ['chronic', 'residents', String(residentId), 'readings'],
    queryFn: () => api<Items<ReadingPoint>>(`/chronic/residents/${residentId}/readings`),
  });
  if (readings.error) return <QueryError error={readings.error} onRetry={() => void readings.refetch()} />;
  const points = readings.data?.items ?? [];
  const pick = (key: 'sbp' | 'dbp' | 'glucose', only?: (p: ReadingPoint) => boolean) =>
    points.filter((p) => p[key] !== null && (!only || only(p))).map((p): [string, number, string | null] => [p.at, p[key]!, p.institutionName]);
  const danger = (value: number) => t('programmePage.danger', { value });
  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} xl={12}>
        <TrendCard
          title={t('programmePage.bpTrend')}
          empty={t('programmePage.noBp')}
          testId="bp-chart"
          loading={readings.isPending}
          lines={[
            { name: t('measures.sbp'), color: '#cf1322', points: pick('sbp') },
            { name: t('measures.dbp'), color: '#1677ff', points: pick('dbp') },
          ]}
          thresholds={thresholdsOf(programmes, ['sbp', 'dbp'], danger)}
          unit="mmHg"
        />
      </Col>
      <Col xs={24} xl={12}>
        <TrendCard
          title={t('programmePage.glucoseTrend')}
          empty={t('programmePage.noGlucose')}
          testId="glucose-chart"
          loading={readings.isPending}
          lines={[
            { name: t('measures.fpg'), color: '#d46b08', points: pick('glucose', (p) => p.fasting) },
            { name: t('measures.glucose'), color: '#722ed1', points: pick('glucose', (p) => !p.fasting) },
          ]}
          thresholds={thresholdsOf(programmes, ['fpg', 'glucose'], danger)}
          unit="mmol/L"
        />
      </Col>
    </Row>
  );
}
