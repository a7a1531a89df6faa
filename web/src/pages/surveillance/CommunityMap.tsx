// The communities of the district on a map of their centroids (社区热力分布): each community a dot at its lon/lat,
// coloured and sized by what happened there in a date range — detection signals, alerts, or the counts of a source
// for a syndrome or category. A click opens the community's epidemic curve. Beside it the communities ranked.
import { useMemo } from 'react';
import { Alert, Button, Card, Col, DatePicker, Empty, Flex, Form, Row, Segmented, Select, Table, Typography } from 'antd';
import type { GetProps } from 'antd';
import { useQuery } from '@tanstack/react-query';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import * as echarts from 'echarts/core';
import { ScatterChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { useNavigate, useSearchParams } from 'react-router';
import { api } from '../../api.ts';
import { Page } from '../../components/page.tsx';
import { Loading, QueryError } from '../../components/query-state.tsx';
import type { Page as Paged } from '../../types.ts';
import { beijingToday, DAY, useCatalogue, useCommunities, useLocalName, useSyndromeLabel } from './surveillance-format.tsx';
import { SYNDROMES, type AlertItem, type Community, type SeriesSet, type Signal } from './surveillance-types.ts';

echarts.use([ScatterChart, GridComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

type Metric = 'signals' | 'alerts' | 'counts';
type RangeValue = GetProps<typeof DatePicker.RangePicker>['value'];
/** Pages of 200 read at most for one map (signals and alerts); beyond that the map says it is incomplete. */
const MAX_PAGES = 10;

interface MapParams {
  metric: Metric;
  from: string;
  to: string;
  syndrome?: string;
  source?: string;
  category?: string;
}

function useMapParams() {
  const [params, setParams] = useSearchParams();
  const today = beijingToday();
  const metric = (['signals', 'alerts', 'counts'] as const).find((m) => m === params.get('metric')) ?? 'signals';
  const value: MapParams = {
    metric,
    from: params.get('from') ?? today.subtract(14, 'day').format(DAY),
    to: params.get('to') ?? today.subtract(1, 'day').format(DAY),
    syndrome: params.get('syndrome') ?? undefined,
    source: params.get('source') ?? undefined,
    category: params.get('category') ?? undefined,
  };
  const update = (next: MapParams) => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v) search.set(k, v);
    setParams(search);
  };
  return { value, update };
}

/** Every page of a paged list (up to MAX_PAGES), and whether some were left out. */
async function allPages<T>(path: string, query: Record<string, string | undefined>): Promise<{ items: T[]; complete: boolean }> {
  const items: T[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const res = await api<Paged<T>>(path, { query: { ...query, page, pageSize: 200 } });
    items.push(...res.items);
    if (items.length >= res.total || res.items.length === 0) return { items, complete: true };
  }
  return { items, complete: false };
}

/** The value of each community for the chosen metric. */
function useCommunityValues(p: MapParams, categories: string[]) {
  return useQuery({
    queryKey: ['surveillance', 'map', p, categories],
    enabled: p.metric !== 'counts' || Boolean(p.source && categories.length),
    queryFn: async (): Promise<{ values: Map<number, number>; complete: boolean }> => {
      const values = new Map<number, number>();
      const add = (id: number, n: number) => values.set(id, (values.get(id) ?? 0) + n);
      if (p.metric === 'signals') {
        const { items, complete } = await allPages<Signal>('/surveillance/signals', { from: p.from, to: p.to, sourceCode: p.source, categoryCode: p.category });
        for (const s of items) if (!p.syndrome || s.syndrome === p.syndrome) for (const id of s.regionIds.length ? s.regionIds : [s.regionId]) add(id, 1);
        return { values, complete };
      }
      if (p.metric === 'alerts') {
        const { items, complete } = await allPages<AlertItem>('/surveillance/alerts', { from: p.from, to: p.to, syndrome: p.syndrome, sort: 'newest' });
        for (const a of items) for (const c of a.communities) add(c.id, 1);
        return { values, complete };
      }
      const set = await api<SeriesSet>('/surveillance/series', {
        query: { from: p.from, to: p.to, sourceCode: p.source, categoryCode: categories.join(','), perCommunity: 'true' },
      });
      for (const s of set.series) if (s.regionId !== null) add(s.regionId, s.values.reduce((a, b) => a + b, 0));
      return { values, complete: true };
    },
  });
}

export default function CommunityMap() {
  const { t } = useTranslation('surveillance');
  const navigate = useNavigate();
  const { value: p, update } = useMapParams();
  const [form] = Form.useForm<{ metric: Metric; range: RangeValue; syndrome?: string; source?: string; category?: string }>();
  const metric = Form.useWatch('metric', form) ?? p.metric;
  const formSource = Form.useWatch('source', form) ?? p.source;
  const catalogue = useCatalogue();
  const regions = useCommunities();
  const name = useLocalName();
  const syndromeLabel = useSyndromeLabel();
  const source = catalogue.data?.sources.find((s) => s.code === p.source);
  // counts of a source: the chosen category, or every category of the chosen syndrome, or all its categories
  const categories = (source?.categories ?? []).filter((c) => (p.category ? c.code === p.category : !p.syndrome || c.syndrome === p.syndrome)).map((c) => c.code);
  const values = useCommunityValues(p, categories);
  const formSourceCategories = catalogue.data?.sources.find((s) => s.code === formSource)?.categories ?? [];

  const streetOf = useMemo(() => new Map((regions.data?.streets ?? []).map((s) => [s.id, s])), [regions.data]);
  const rows = (regions.data?.communities ?? []).map((c) => ({ community: c, value: values.data?.values.get(c.id) ?? 0 }));
  const ranked = rows.filter((r) => r.value > 0).sort((a, b) => b.value - a.value);

  return (
    <Page title={t('mapTitle')}>
      <Card>
        <Form
          form={form}
          layout="inline"
          style={{ rowGap: 12 }}
          initialValues={{ metric: p.metric, range: [dayjs(p.from), dayjs(p.to)], syndrome: p.syndrome, source: p.source, category: p.category }}
          onFinish={(v) => {
            const [start, end] = v.range ?? [];
            update({
              metric: v.metric,
              from: (start ?? dayjs(p.from)).format(DAY),
              to: (end ?? dayjs(p.to)).format(DAY),
              syndrome: v.syndrome,
              source: v.source,
              category: v.metric === 'alerts' ? undefined : v.category,
            });
          }}
        >
          <Form.Item name="metric" label={t('mapMetric')}>
            <Segmented<Metric>
              options={(['signals', 'alerts', 'counts'] as const).map((m) => ({ value: m, label: t(`mapMetrics.${m}`) }))}
              data-testid="map-metric"
            />
          </Form.Item>
          <Form.Item name="range" label={t('dateRange')}>
            <DatePicker.RangePicker allowClear={false} placeholder={[t('startDate'), t('endDate')]} />
          </Form.Item>
          <Form.Item name="syndrome" label={t('syndrome')}>
            <Select allowClear placeholder={t('common:all')} style={{ width: 150 }} options={SYNDROMES.map((s) => ({ value: s, label: syndromeLabel(s) }))} />
          </Form.Item>
          {metric !== 'alerts' && (
            <>
              <Form.Item
                name="source"
                label={t('source')}
                rules={metric === 'counts' ? [{ required: true, message: t('sourceRequired') }] : []}
              >
                <Select
                  allowClear={metric !== 'counts'}
                  placeholder={metric === 'counts' ? t('sourcePick') : t('common:all')}
                  style={{ width: 180 }}
                  loading={catalogue.isPending}
                  options={catalogue.data?.sources.map((s) => ({ value: s.code, label: name(s) }))}
                  onChange={() => form.setFieldValue('category', undefined)}
                  data-testid="map-source"
                />
              </Form.Item>
              <Form.Item name="category" label={t('category')}>
                <Select
                  allowClear
                  disabled={!formSource}
                  placeholder={t('common:all')}
                  style={{ width: 180 }}
                  options={formSourceCategories.map((c) => ({ value: c.code, label: name(c) }))}
                />
              </Form.Item>
            </>
          )}
          <Button type="primary" htmlType="submit" data-testid="map-search">
            {t('common:search')}
          </Button>
        </Form>
      </Card>
      {p.metric === 'counts' && !p.source ? (
        <Card>
          <Empty description={t('sourcePickHint')} />
        </Card>
      ) : regions.error || values.error ? (
        <QueryError error={regions.error ?? values.error} onRetry={() => void (regions.error ? regions.refetch() : values.refetch())} />
      ) : regions.isPending || values.isPending ? (
        <Loading />
      ) : (
        <Row gutter={[16, 16]}>
          <Col xs={24} xl={15}>
            <Card
              title={t('mapCardTitle', { metric: t(`mapMetrics.${p.metric}`), from: p.from, to: p.to })}
              extra={<Typography.Text type="secondary">{t('mapClickHint')}</Typography.Text>}
            >
              {!values.data!.complete && <Alert type="warning" showIcon title={t('mapIncomplete')} style={{ marginBottom: 12 }} />}
              <CommunityScatter
                rows={rows}
                metricLabel={t(`mapMetrics.${p.metric}`)}
                onOpen={(c) => void navigate(`/surveillance/epicurve?regionId=${c.id}&from=${p.from}&to=${p.to}`)}
              />
            </Card>
          </Col>
          <Col xs={24} xl={9}>
            <Card title={t('mapRanking')}>
              <Table
                rowKey={(r) => r.community.id}
                size="small"
                dataSource={ranked}
                pagination={{ pageSize: 15, hideOnSinglePage: true, size: 'small' }}
                locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('mapEmpty')} /> }}
                columns={[
                  { title: t('community'), key: 'c', render: (_, r) => name(r.community) },
                  { title: t('street'), key: 's', render: (_, r) => (r.community.parentId && streetOf.get(r.community.parentId) ? name(streetOf.get(r.community.parentId)!) : '—') },
                  { title: t(`mapMetrics.${p.metric}`), dataIndex: 'value', align: 'right', render: (v: number) => Math.round(v * 100) / 100 },
                ]}
                data-testid="map-ranking"
              />
            </Card>
          </Col>
        </Row>
      )}
    </Page>
  );
}

function CommunityScatter({ rows, metricLabel, onOpen }: { rows: Array<{ community: Community; value: number }>; metricLabel: string; onOpen: (c: Community) => void }) {
  const { t } = useTranslation('surveillance');
  const name = useLocalName();
  const placed = rows.filter((r) => r.community.lon !== null && r.community.lat !== null);
  if (placed.length === 0) return <Empty description={t('mapNoCentroids')} />;
  const lons = placed.map((r) => r.community.lon!);
  const lats = placed.map((r) => r.community.lat!);
  const [lonMin, lonMax, latMin, latMax] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const padLon = Math.max(0.004, (lonMax - lonMin) * 0.06);
  const padLat = Math.max(0.004, (latMax - latMin) * 0.06);
  // a degree of longitude is shorter than one of latitude by cos(latitude): keep the district's shape
  const aspect = ((lonMax - lonMin + 2 * padLon) * Math.cos(((latMin + latMax) / 2) * (Math.PI / 180))) / (latMax - latMin + 2 * padLat);
  const max = Math.max(1, ...placed.map((r) => r.value));
  const label = t('mapChartLabel', { metric: metricLabel, count: placed.length });
  const option = {
    aria: { enabled: true, label: { description: label } },
    tooltip: {
      trigger: 'item',
      formatter: (item: { data: { name: string; value: [number, number, number] } }) => `${item.data.name}<br/>${metricLabel}: ${Math.round(item.data.value[2] * 100) / 100}`,
    },
    grid: { left: 8, right: 8, top: 8, bottom: 48, containLabel: false },
    xAxis: { type: 'value', min: lonMin - padLon, max: lonMax + padLon, show: false },
    yAxis: { type: 'value', min: latMin - padLat, max: latMax + padLat, show: false },
    visualMap: {
      type: 'continuous',
      min: 0,
      max,
      dimension: 2,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      calculable: true,
      inRange: { color: ['#e6f4ff', '#ffd666', '#fa541c', '#a8071a'] },
    },
    series: [
      {
        type: 'scatter',
        data: placed.map((r) => ({ name: name(r.community), id: r.community.id, value: [r.community.lon, r.community.lat, r.value] })),
        symbolSize: (v: [number, number, number]) => 10 + 16 * Math.sqrt(v[2] / max),
        // names on the map while they fit (a street's worth); the whole district's 168 only in tooltips and the ranking
        label: { show: placed.length <= 40, position: 'right', formatter: '{b}', fontSize: 11, color: '#595959' },
        itemStyle: { borderColor: '#8c8c8c', borderWidth: 0.5, opacity: 0.9 },
        emphasis: { itemStyle: { borderColor: '#000', borderWidth: 1.5 } },
      },
    ],
  };
  const byId = new Map(placed.map((r) => [r.community.id, r.community]));
  return (
    <Flex justify="center" role="img" aria-label={label} data-testid="map-chart" data-communities={placed.length}>
      <div style={{ width: '100%', maxWidth: 640 * aspect + 16, aspectRatio: `${aspect} / 1`, minHeight: 360, maxHeight: 680 }}>
        <ReactEChartsCore
          echarts={echarts}
          option={option}
          notMerge
          style={{ height: '100%', width: '100%' }}
          onEvents={{ click: (e: { data?: { id?: number } }) => e.data?.id && byId.get(e.data.id) && onOpen(byId.get(e.data.id)!) }}
        />
      </div>
    </Flex>
  );
}
