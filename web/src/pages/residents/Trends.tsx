// Result trends (结果趋势): one numeric result over time across institutions, against its reference range, so a
// clinician sees whether a value measured at the hospital and one measured at the community centre tell the same story.
import { useState } from 'react';
import { Card, Empty, Flex, Select, Space, Typography } from 'antd';
import { useQuery } from '@tanstack/react-query';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import * as echarts from 'echarts/core';
import { LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkAreaComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import { QueryError, QueryView } from '../../components/query-state.tsx';
import type { Id } from '../../types.ts';
import { OutOfScope } from './BreakGlass.tsx';
import { formatRange, isOutOfScope } from './record-format.tsx';
import type { Trend, TrendSeries } from './record-types.ts';

echarts.use([LineChart, ScatterChart, GridComponent, LegendComponent, MarkAreaComponent, TooltipComponent, CanvasRenderer]);

/** One colour per institution, in order of first appearance; distinguishable on the light reference band. */
const INSTITUTION_COLORS = ['#1677ff', '#fa8c16', '#722ed1', '#13c2c2', '#eb2f96', '#a0d911', '#2f54eb', '#faad14'];

const seriesKey = (s: { codeSystem: string; code: string }) => `${s.codeSystem}|${s.code}`;

export function Trends({ residentId }: { residentId: Id }) {
  const { t } = useTranslation('records');
  const [picked, setPicked] = useState<string | undefined>();
  const list = useQuery({
    queryKey: ['residents', residentId, 'trends'],
    queryFn: () => api<{ series: TrendSeries[] }>(`/residents/${residentId}/trends`),
  });
  const series = list.data?.series ?? [];
  const selected = series.find((s) => seriesKey(s) === picked) ?? series[0];

  if (isOutOfScope(list.error)) return <OutOfScope residentId={residentId} />;
  return (
    <Card
      title={t('trends')}
      loading={list.isPending}
      extra={
        series.length > 0 && (
          <Space>
            <Typography.Text type="secondary">{t('series')}</Typography.Text>
            <Select
              showSearch={{ optionFilterProp: 'label' }}
              style={{ width: 320 }}
              value={selected && seriesKey(selected)}
              onChange={setPicked}
              options={series.map((s) => ({
                value: seriesKey(s),
                label: `${s.display}${s.unit ? ` (${s.unit})` : ''} · ${t('pointCount', { count: s.count })}`,
              }))}
              data-testid="trend-series"
            />
          </Space>
        )
      }
    >
      {list.error ? (
        <QueryError error={list.error} onRetry={() => void list.refetch()} />
      ) : !selected ? (
        <Empty description={t('noTrends')} data-testid="trends-empty" />
      ) : (
        <TrendChart residentId={residentId} series={selected} />
      )}
    </Card>
  );
}

function TrendChart({ residentId, series }: { residentId: Id; series: TrendSeries }) {
  const { t } = useTranslation('records');
  const trend = useQuery({
    queryKey: ['residents', residentId, 'trends', series.codeSystem, series.code],
    queryFn: () => api<Trend>(`/residents/${residentId}/trends`, { query: { code: series.code, system: series.codeSystem } }),
  });
  return (
    <QueryView query={trend}>
      {(data) => {
        if (data.points.length === 0) return <Empty description={t('noTrends')} />;
        const range = formatRange(data.refLow, data.refHigh, data.unit);
        return (
          <Flex vertical gap={8}>
            <Space wrap>
              <Typography.Text strong>{data.display}</Typography.Text>
              <Typography.Text type="secondary">
                {range ? t('common:labelled', { label: t('referenceRange'), value: range }) : t('noReferenceRange')}
              </Typography.Text>
            </Space>
            <div role="img" aria-label={t('trendChartLabel', { name: data.display })} data-testid="trend-chart">
              <ReactEChartsCore echarts={echarts} option={trendOption(data, t('referenceRange'), t('value'))} notMerge style={{ height: 360 }} />
            </div>
          </Flex>
        );
      }}
    </QueryView>
  );
}

/** Reference band bounds; a one-sided range ("< 5.2") is closed at the edge of the plotted values. */
function bandOf(trend: Trend): [number, number] | null {
  const { refLow, refHigh, points } = trend;
  if (refLow === null && refHigh === null) return null;
  const values = points.map((p) => p.value);
  const low = refLow ?? Math.min(0, ...values);
  const high = refHigh ?? Math.max(...values, refLow!) * 1.2;
  return [low, high];
}

function padded(extent: { min: number; max: number }, band: [number, number]): [number, number] {
  const low = Math.min(extent.min, band[0]);
  const high = Math.max(extent.max, band[1]);
  const air = (high - low || Math.abs(high) || 1) * 0.08;
  return [low - air, high + air];
}

function outside(value: number, { refLow, refHigh }: Trend): boolean {
  return (refLow !== null && value < refLow) || (refHigh !== null && value > refHigh);
}

function trendOption(trend: Trend, bandLabel: string, valueLabel: string) {
  const institutions = [...new Map(trend.points.map((p) => [p.institutionId, p.institutionName])).entries()];
  const colorOf = new Map(institutions.map(([id], i) => [id, INSTITUTION_COLORS[i % INSTITUTION_COLORS.length]!]));
  const band = bandOf(trend);
  const unit = trend.unit ?? '';
  return {
    tooltip: {
      trigger: 'item',
      formatter: (p: { seriesName: string; value: [string, number] }) =>
        `${dayjs(p.value[0]).format('YYYY-MM-DD HH:mm')}<br/>${p.seriesName}<br/><b>${p.value[1]} ${unit}</b>`,
    },
    legend: { top: 0, data: institutions.map(([, name]) => name) },
    grid: { left: 16, right: 24, top: 40, bottom: 16, containLabel: true },
    xAxis: { type: 'time' },
    yAxis: {
      type: 'value',
      name: unit || valueLabel,
      scale: true,
      // keep the whole reference band in view, not only the measured values, with a little air above and below
      min: band ? (extent: { min: number; max: number }) => padded(extent, band)[0] : undefined,
      max: band ? (extent: { min: number; max: number }) => padded(extent, band)[1] : undefined,
      // the padded ends are not round numbers: label the axis's own ticks only
      axisLabel: { showMinLabel: !band, showMaxLabel: !band },
    },
    series: [
      {
        // the path through every result regardless of where it was measured
        name: valueLabel,
        type: 'line',
        data: trend.points.map((p) => [p.at, p.value]),
        lineStyle: { color: '#8c8c8c', width: 1.5 },
        itemStyle: { color: '#8c8c8c' },
        symbol: 'none',
        silent: true,
        tooltip: { show: false },
        markArea: band
          ? {
              silent: true,
              itemStyle: { color: 'rgba(82, 196, 26, 0.12)' },
              label: { show: true, position: 'insideTopRight', color: '#389e0d', formatter: bandLabel },
              data: [[{ yAxis: band[0] }, { yAxis: band[1] }]],
            }
          : undefined,
      },
      ...institutions.map(([id, name]) => ({
        name,
        type: 'scatter',
        symbolSize: 10,
        itemStyle: { color: colorOf.get(id) },
        data: trend.points
          .filter((p) => p.institutionId === id)
          .map((p) => ({
            value: [p.at, p.value],
            // a result outside the reference range gets a red ring, whatever institution's colour it has
            itemStyle: outside(p.value, trend) ? { borderColor: '#f5222d', borderWidth: 3 } : undefined,
          })),
        z: 3,
      })),
    ],
  };
}
