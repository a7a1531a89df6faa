// Epidemic curves (流行曲线): daily counts for the district, a street or a community. Either one source with its
// categories stacked, or one syndrome as seen by every source, one small chart per source (their units differ:
// visits, sales, positives, absentees, wastewater concentrations, so they are never stacked on one axis).
import { Button, Card, Col, DatePicker, Empty, Flex, Form, Row, Segmented, Select, Statistic, Typography } from 'antd';
import type { GetProps } from 'antd';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { api } from '../../api.ts';
import { Page } from '../../components/page.tsx';
import { Loading, QueryError } from '../../components/query-state.tsx';
import { beijingToday, DAY, RegionSelect, useCatalogue, useLocalName, useSourceName, useSyndromeLabel } from './surveillance-format.tsx';
import { SYNDROMES, type Epicurve as EpicurveData } from './surveillance-types.ts';

echarts.use([BarChart, LineChart, DataZoomComponent, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

type Mode = 'stacked' | 'bySource';
type RangeValue = GetProps<typeof DatePicker.RangePicker>['value'];
const PALETTE = ['#1677ff', '#52c41a', '#fa8c16', '#722ed1', '#eb2f96', '#13c2c2', '#faad14', '#2f54eb', '#a0d911', '#f5222d', '#8c8c8c', '#597ef7'];

interface CurveParams {
  mode: Mode;
  from: string;
  to: string;
  regionId?: number;
  source?: string;
  syndrome: string;
}

function useCurveParams() {
  const [params, setParams] = useSearchParams();
  const today = beijingToday();
  const value: CurveParams = {
    mode: params.get('mode') === 'bySource' ? 'bySource' : 'stacked',
    from: params.get('from') ?? today.subtract(56, 'day').format(DAY),
    to: params.get('to') ?? today.subtract(1, 'day').format(DAY),
    regionId: Number(params.get('regionId')) || undefined,
    source: params.get('source') ?? undefined,
    syndrome: params.get('syndrome') ?? 'gastrointestinal',
  };
  const update = (next: CurveParams) => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v) search.set(k, String(v));
    setParams(search);
  };
  return { value, update };
}

export default function Epicurve() {
  const { t } = useTranslation('surveillance');
  const { value: p, update } = useCurveParams();
  const [form] = Form.useForm<{ mode: Mode; range: RangeValue; regionId?: number; source?: string; syndrome: string }>();
  const mode = Form.useWatch('mode', form) ?? p.mode;
  const catalogue = useCatalogue();
  const name = useLocalName();
  const syndromeLabel = useSyndromeLabel();
  const source = p.source ?? catalogue.data?.sources[0]?.code;
  const curve = useQuery({
    queryKey: ['surveillance', 'epicurve', p, source],
    queryFn: () =>
      api<EpicurveData>('/surveillance/epicurve', {
        query: { from: p.from, to: p.to, regionId: p.regionId, by: p.mode === 'stacked' ? 'category' : 'syndrome', sourceCode: p.mode === 'stacked' ? source : undefined },
      }),
    enabled: p.mode === 'bySource' || Boolean(source),
    placeholderData: keepPreviousData,
  });

  return (
    <Page title={t('epicurveTitle')}>
      <Card>
        <Form
          form={form}
          layout="inline"
          style={{ rowGap: 12 }}
          initialValues={{ mode: p.mode, range: [dayjs(p.from), dayjs(p.to)], regionId: p.regionId, source: p.source, syndrome: p.syndrome }}
          onFinish={(v) => {
            const [start, end] = v.range ?? [];
            update({ mode: v.mode, from: (start ?? dayjs(p.from)).format(DAY), to: (end ?? dayjs(p.to)).format(DAY), regionId: v.regionId, source: v.source, syndrome: v.syndrome });
          }}
        >
          <Form.Item name="mode" label={t('curveMode')}>
            <Segmented<Mode> options={[{ value: 'stacked', label: t('curveModes.stacked') }, { value: 'bySource', label: t('curveModes.bySource') }]} data-testid="curve-mode" />
          </Form.Item>
          <Form.Item name="range" label={t('dateRange')}>
            <DatePicker.RangePicker allowClear={false} placeholder={[t('startDate'), t('endDate')]} />
          </Form.Item>
          <Form.Item name="regionId" label={t('area')}>
            <RegionSelect testId="curve-region" />
          </Form.Item>
          {mode === 'stacked' ? (
            <Form.Item name="source" label={t('source')}>
              <Select
                style={{ width: 180 }}
                placeholder={catalogue.data?.sources[0] ? name(catalogue.data.sources[0]) : undefined}
                loading={catalogue.isPending}
                options={catalogue.data?.sources.map((s) => ({ value: s.code, label: name(s) }))}
                data-testid="curve-source"
              />
            </Form.Item>
          ) : (
            <Form.Item name="syndrome" label={t('syndrome')}>
              <Select style={{ width: 150 }} options={SYNDROMES.map((s) => ({ value: s, label: syndromeLabel(s) }))} />
            </Form.Item>
          )}
          <Button type="primary" htmlType="submit" data-testid="curve-search">
            {t('common:search')}
          </Button>
        </Form>
      </Card>
      {curve.error ? (
        <QueryError error={curve.error} onRetry={() => void curve.refetch()} />
      ) : !curve.data ? (
        <Loading />
      ) : p.mode === 'stacked' ? (
        <StackedCurve data={curve.data} />
      ) : (
        <SourceCurves data={curve.data} syndrome={p.syndrome} />
      )}
    </Page>
  );
}

function curveOption(dates: string[], series: Array<{ name: string; values: number[] }>, opts: { stack: boolean; label: string; zoom: boolean }) {
  return {
    aria: { enabled: true, label: { description: opts.label } },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0, type: 'scroll', show: series.length > 1 },
    grid: { left: 8, right: 16, top: series.length > 1 ? 32 : 8, bottom: opts.zoom ? 40 : 8, containLabel: true },
    xAxis: { type: 'category', data: dates, axisLabel: { formatter: (d: string) => d.slice(5) } },
    yAxis: { type: 'value', minInterval: 1 },
    dataZoom: opts.zoom ? [{ type: 'slider', bottom: 4, height: 20 }] : undefined,
    series: series.map((s, i) => ({
      name: s.name,
      type: 'bar',
      stack: opts.stack ? 'total' : undefined,
      data: s.values.map((v) => Math.round(v * 100) / 100),
      itemStyle: { color: PALETTE[i % PALETTE.length] },
      barMaxWidth: 18,
    })),
  };
}

/** One source, its categories stacked day by day. */
function StackedCurve({ data }: { data: EpicurveData }) {
  const { t } = useTranslation('surveillance');
  const name = useLocalName();
  const sourceName = useSourceName();
  const series = data.series.filter((s) => s.total > 0).sort((a, b) => b.total - a.total);
  if (series.length === 0) {
    return (
      <Card>
        <Empty description={t('curveEmpty')} data-testid="curve-empty" />
      </Card>
    );
  }
  const label = t('curveChartLabel', { source: sourceName(series[0]!.sourceCode), from: data.from, to: data.to });
  return (
    <Flex vertical gap={16}>
      <Card>
        <Row gutter={[16, 16]}>
          {series.slice(0, 6).map((s) => (
            <Col key={s.key} xs={12} md={8} xl={4}>
              <Statistic title={name(s)} value={Math.round(s.total * 100) / 100} />
            </Col>
          ))}
        </Row>
      </Card>
      <Card title={sourceName(series[0]!.sourceCode)}>
        <div role="img" aria-label={label} data-testid="curve-chart">
          <ReactEChartsCore echarts={echarts} option={curveOption(data.dates, series.map((s) => ({ name: name(s), values: s.values })), { stack: true, label, zoom: data.dates.length > 60 })} notMerge style={{ height: 380 }} />
        </div>
      </Card>
    </Flex>
  );
}

/** One syndrome, one chart per source (case reports included). */
function SourceCurves({ data, syndrome }: { data: EpicurveData; syndrome: string }) {
  const { t } = useTranslation('surveillance');
  const sourceName = useSourceName();
  const syndromeLabel = useSyndromeLabel();
  const series = data.series.filter((s) => s.key === syndrome && s.total > 0);
  if (series.length === 0) {
    return (
      <Card>
        <Empty description={t('curveEmpty')} data-testid="curve-empty" />
      </Card>
    );
  }
  return (
    <Row gutter={[16, 16]}>
      {series.map((s) => {
        const label = t('curveChartLabel', { source: `${sourceName(s.sourceCode)} · ${syndromeLabel(syndrome)}`, from: data.from, to: data.to });
        return (
          <Col key={s.sourceCode} xs={24} xl={12}>
            <Card
              size="small"
              title={sourceName(s.sourceCode)}
              extra={<Typography.Text type="secondary">{t('curveTotal', { total: Math.round(s.total * 100) / 100 })}</Typography.Text>}
            >
              <div role="img" aria-label={label} data-testid="curve-chart">
                <ReactEChartsCore echarts={echarts} option={curveOption(data.dates, [{ name: sourceName(s.sourceCode), values: s.values }], { stack: false, label, zoom: false })} notMerge style={{ height: 220 }} />
              </div>
            </Card>
          </Col>
        );
      })}
    </Row>
  );
}
