// One contributing signal's series over the last 8 weeks (daily or weekly, summed over the signal's communities),
// with the algorithm's threshold and the alarm points. The alert API gives each alarm's threshold; for EARS on a
// daily series the console also draws the threshold of every day, recomputed by the server's own EARS
// (POST /surveillance/detect) with the latest run's settings, and shown only when it reproduces the signal's
// threshold (so the line never contradicts the alarm it explains).
import { Descriptions, Empty, Flex, Tag, Typography } from 'antd';
import { useQuery } from '@tanstack/react-query';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkLineComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import type { Page as Paged } from '../../types.ts';
import { useLocalName } from './surveillance-format.tsx';
import type { AlertSignal, DetectPoint, Run } from './surveillance-types.ts';

echarts.use([BarChart, LineChart, ScatterChart, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, CanvasRenderer]);

const EARS = ['earsC1', 'earsC2', 'earsC3'];

/** The EARS settings of the latest run (the daily run's config: `{ears: {method, params}}`). */
function earsParamsOf(run: Run | undefined, method: string): Record<string, unknown> {
  const ears = (run?.config as { ears?: { method?: string; params?: Record<string, unknown> } } | undefined)?.ears;
  return ears?.method === method ? (ears.params ?? {}) : {};
}

const sameNumber = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

/** Upper bounds of every day of a daily EARS series, or null when they cannot be recomputed faithfully. */
function useThresholdLine(signal: AlertSignal) {
  const points = signal.series.points;
  const eligible =
    signal.series.frequency === 'daily' && EARS.includes(signal.algorithm) && points.length > 0 && points.every((p) => Number.isInteger(p.value) && p.value >= 0);
  const runs = useQuery({
    queryKey: ['surveillance', 'runs', 'latest'],
    queryFn: () => api<Paged<Run>>('/surveillance/runs', { query: { pageSize: 1 } }),
    enabled: eligible,
    staleTime: 5 * 60_000,
  });
  const params = earsParamsOf(runs.data?.items[0], signal.algorithm);
  const line = useQuery({
    queryKey: ['surveillance', 'detect', signal.id, signal.algorithm, params, points],
    queryFn: () =>
      api<{ points: DetectPoint[] }>('/surveillance/detect', {
        method: 'POST',
        body: { method: signal.algorithm, frequency: 'daily', start: points[0]!.date, counts: points.map((p) => p.value), from: points[0]!.date, to: points[points.length - 1]!.date, params },
      }),
    enabled: eligible && runs.isSuccess,
    staleTime: Infinity,
    retry: false,
  });
  if (!line.data) return null;
  const at = line.data.points.find((p) => p.date === signal.date);
  if (signal.threshold !== null && (at?.upperbound == null || !sameNumber(at.upperbound, signal.threshold))) return null;
  return new Map(line.data.points.map((p) => [p.date, p.upperbound]));
}

/** `signalCount`: how many of the alert's signals this series carries (the daily runs signal a series on several days). */
export function SignalChart({ signal, signalCount = 1 }: { signal: AlertSignal; signalCount?: number }) {
  const { t } = useTranslation('surveillance');
  const name = useLocalName();
  const thresholds = useThresholdLine(signal);
  const { points, alarms, frequency } = signal.series;
  const dates = points.map((p) => p.date);
  const round = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 100) / 100);
  const title = `${name(signal.source)} · ${name(signal.category)}`;
  const label = t('signalChartLabel', { series: title, algorithm: t(`algorithms.${signal.algorithm}`, { defaultValue: signal.algorithm }) });

  const series: object[] = [
    {
      name: t('observed'),
      type: frequency === 'weekly' ? 'bar' : 'line',
      data: points.map((p) => p.value),
      itemStyle: { color: '#1677ff' },
      areaStyle: frequency === 'daily' ? { opacity: 0.12 } : undefined,
      showSymbol: false,
      barMaxWidth: 28,
      z: 2,
    },
  ];
  if (thresholds) {
    series.push({
      name: t('threshold'),
      type: 'line',
      step: 'middle',
      data: dates.map((d) => round(thresholds.get(d))),
      lineStyle: { type: 'dashed', color: '#fa8c16' },
      itemStyle: { color: '#fa8c16' },
      showSymbol: false,
      connectNulls: false,
      z: 3,
    });
  } else {
    series.push({
      name: t('threshold'),
      type: 'scatter',
      symbol: 'rect',
      symbolSize: [18, 3],
      itemStyle: { color: '#fa8c16' },
      data: alarms.filter((a) => a.threshold !== null && dates.includes(a.date)).map((a) => [a.date, round(a.threshold)]),
      z: 3,
    });
  }
  series.push({
    name: t('alarms'),
    type: 'scatter',
    symbolSize: 11,
    itemStyle: { color: '#f5222d' },
    data: alarms
      .filter((a) => dates.includes(a.date))
      .map((a) => ({ value: [a.date, frequency === 'weekly' ? (points.find((p) => p.date === a.date)?.value ?? a.observed) : a.observed], algorithm: a.algorithm })),
    tooltip: {
      formatter: (p: { data: { value: [string, number]; algorithm: string } }) =>
        `${p.data.value[0]}<br/>${t('alarmBy', { algorithm: t(`algorithms.${p.data.algorithm}`, { defaultValue: p.data.algorithm }) })}: ${p.data.value[1]}`,
    },
    z: 4,
  });

  const option = {
    aria: { enabled: true, label: { description: label } },
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: dates, axisLabel: { formatter: (d: string) => d.slice(5) } },
    yAxis: { type: 'value', minInterval: 1 },
    series,
  };

  return (
    <Flex vertical gap={8} data-testid="signal-chart" data-signal-id={signal.id} data-threshold-line={thresholds ? 'computed' : 'alarms'}>
      <Flex justify="space-between" align="center" wrap gap={8}>
        <Typography.Text strong>{title}</Typography.Text>
        <span>
          <Tag>{t(`algorithms.${signal.algorithm}`, { defaultValue: signal.algorithm })}</Tag>
          <Tag>{t(`frequencies.${frequency}`)}</Tag>
          {signalCount > 1 && <Tag color="volcano">{t('signalsOnSeries', { count: signalCount })}</Tag>}
          {signal.high && <Tag color="red">{t('highSignal')}</Tag>}
          {signal.support && <Tag color="blue">{t('supportSignal')}</Tag>}
        </span>
      </Flex>
      {points.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('noSeries')} />
      ) : (
        <div role="img" aria-label={label}>
          <ReactEChartsCore echarts={echarts} option={option} notMerge style={{ height: 240 }} />
        </div>
      )}
      <Descriptions
        size="small"
        column={{ xs: 2, md: 4 }}
        items={[
          { key: 'date', label: t('latestSignal'), children: signal.startDate === signal.date ? signal.date : `${signal.startDate} ~ ${signal.date}` },
          { key: 'observed', label: t('observed'), children: signal.observed },
          { key: 'threshold', label: t('threshold'), children: round(signal.threshold) ?? t('common:none') },
          { key: 'expected', label: t('expected'), children: round(signal.expected) ?? t('common:none') },
          ...(signal.pValue !== null ? [{ key: 'p', label: t('pValue'), children: signal.pValue }] : []),
          ...(signal.statistic !== null ? [{ key: 'stat', label: t('statistic'), children: round(signal.statistic) }] : []),
        ]}
      />
    </Flex>
  );
}
