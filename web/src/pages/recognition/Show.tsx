// Result recognition (检查检验结果互认): the windows within which a result from any institution is reused instead of
// repeating the test (edited by the district administrator), and how many duplicate tests that avoided.
import { useState } from 'react';
import { App, Button, Card, Col, DatePicker, Empty, Flex, Form, InputNumber, Row, Space, Switch, Table, Tag, Typography } from 'antd';
import type { GetProps, TableProps } from 'antd';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import { useUser } from '../../auth.ts';
import { Page } from '../../components/page.tsx';
import { QueryError } from '../../components/query-state.tsx';
import type { Id, Items } from '../../types.ts';
import { useRecognitionRules } from '../residents/BeforeOrdering.tsx';
import { InstitutionSelect } from '../residents/InstitutionSelect.tsx';
import type { RecognitionRule, RecognitionStat } from '../residents/record-types.ts';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

const CATEGORY_COLORS: Record<string, string> = { laboratory: 'green', imaging: 'blue', exam: 'purple' };
const ruleKey = (r: RecognitionRule) => `${r.codeSystem}|${r.code}`;

export default function RecognitionShow() {
  const { t } = useTranslation('recognition');
  return (
    <Page title={t('title')}>
      <RuleTable />
      <StatsCard />
    </Page>
  );
}

function RuleTable() {
  const { t, i18n } = useTranslation('recognition');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const user = useUser();
  const editable = user.roles.includes('district_admin');
  const rules = useRecognitionRules();
  // unsaved edits per rule, so several rows can be changed before saving each
  const [drafts, setDrafts] = useState<Record<string, Partial<Pick<RecognitionRule, 'windowDays' | 'active'>>>>({});
  const save = useMutation({
    mutationFn: (rule: RecognitionRule) => api<RecognitionRule>('/recognition/rules', { method: 'PUT', body: rule }),
    onSuccess: (saved) => {
      void message.success(t('saved'));
      setDrafts(({ [ruleKey(saved)]: _done, ...rest }) => rest);
      void queryClient.invalidateQueries({ queryKey: ['recognition', 'rules'] });
    },
    onError: (error) => void message.error(error.message),
  });
  const edited = (r: RecognitionRule): RecognitionRule => ({ ...r, ...drafts[ruleKey(r)] });
  const setDraft = (r: RecognitionRule, change: Partial<Pick<RecognitionRule, 'windowDays' | 'active'>>) =>
    setDrafts((d) => ({ ...d, [ruleKey(r)]: { ...d[ruleKey(r)], ...change } }));

  const columns: TableProps<RecognitionRule>['columns'] = [
    {
      title: t('name'),
      key: 'name',
      render: (_, r) => (
        <Space>
          <span>{i18n.language === 'en' && r.nameEn ? r.nameEn : r.name}</span>
          {r.codeSystem === '*' && <Tag>{t('categoryDefault')}</Tag>}
        </Space>
      ),
    },
    { title: t('code'), key: 'code', render: (_, r) => (r.codeSystem === '*' ? t('common:none') : <Typography.Text code>{r.code}</Typography.Text>) },
    { title: t('codeSystem'), dataIndex: 'codeSystem', responsive: ['xl'], render: (v: string) => (v === '*' ? t('common:none') : v) },
    { title: t('category'), dataIndex: 'category', render: (c: string) => <Tag color={CATEGORY_COLORS[c]}>{t(`categories.${c}`, { defaultValue: c })}</Tag> },
    {
      title: t('windowDays'),
      key: 'windowDays',
      render: (_, r) =>
        editable ? (
          <InputNumber
            min={0}
            max={3650}
            precision={0}
            value={edited(r).windowDays}
            onChange={(v) => v !== null && setDraft(r, { windowDays: v })}
            style={{ width: 100 }}
            data-testid={`window-${r.code}`}
          />
        ) : (
          t('daysUnit', { days: r.windowDays })
        ),
    },
    {
      title: t('active'),
      key: 'active',
      render: (_, r) =>
        editable ? <Switch checked={edited(r).active} onChange={(active) => setDraft(r, { active })} /> : r.active ? t('common:yes') : t('common:no'),
    },
    ...(editable
      ? [
          {
            title: t('common:actions'),
            key: 'save',
            render: (_: unknown, r: RecognitionRule) => (
              <Button
                size="small"
                type="primary"
                disabled={!drafts[ruleKey(r)]}
                loading={save.isPending && save.variables && ruleKey(save.variables) === ruleKey(r)}
                onClick={() => save.mutate(edited(r))}
              >
                {t('save')}
              </Button>
            ),
          },
        ]
      : []),
  ];

  return (
    <Card title={t('rules')} extra={<Typography.Text type="secondary">{t('rulesHint')}</Typography.Text>}>
      {rules.error ? (
        <QueryError error={rules.error} onRetry={() => void rules.refetch()} />
      ) : (
        <Table<RecognitionRule>
          rowKey={ruleKey}
          size="small"
          loading={rules.isPending}
          dataSource={rules.data?.items}
          columns={columns}
          pagination={false}
          locale={{ emptyText: <Empty /> }}
          data-testid="recognition-rules"
        />
      )}
    </Card>
  );
}

type MonthRange = GetProps<typeof DatePicker.RangePicker>['value'];

interface StatsFilters {
  from?: string;
  to?: string;
  institutionId?: Id;
}

function StatsCard() {
  const { t } = useTranslation('recognition');
  const user = useUser();
  const districtWide = user.roles.includes('district_admin');
  const [form] = Form.useForm<{ range?: MonthRange; institutionId?: Id }>();
  // the last twelve months by default
  const [filters, setFilters] = useState<StatsFilters>(() => ({ from: dayjs().subtract(11, 'month').format('YYYY-MM'), to: dayjs().format('YYYY-MM') }));
  const stats = useQuery({
    queryKey: ['recognition', 'stats', filters],
    queryFn: () => api<Items<RecognitionStat>>('/recognition/stats', { query: { ...filters } }),
    placeholderData: keepPreviousData,
  });
  const items = stats.data?.items ?? [];
  const total = items.reduce((sum, s) => sum + s.avoided, 0);

  const columns: TableProps<RecognitionStat>['columns'] = [
    { title: t('month'), dataIndex: 'month', width: 120 },
    { title: t('institution'), dataIndex: 'institutionName' },
    { title: t('avoided'), dataIndex: 'avoided', align: 'right', width: 180 },
  ];

  return (
    <Card title={t('stats')} extra={<Typography.Text type="secondary">{t('statsHint')}</Typography.Text>}>
      <Flex vertical gap={16}>
        <Form
          form={form}
          layout="inline"
          style={{ rowGap: 12 }}
          initialValues={{ range: [dayjs(filters.from), dayjs(filters.to)] }}
          onFinish={({ range, institutionId }) => {
            const [start, end] = range ?? [];
            setFilters({ from: start?.format('YYYY-MM'), to: end?.format('YYYY-MM'), institutionId });
          }}
        >
          <Form.Item name="range" label={t('monthRange')}>
            <DatePicker.RangePicker picker="month" placeholder={[t('startMonth'), t('endMonth')]} />
          </Form.Item>
          {districtWide && (
            <Form.Item name="institutionId" label={t('institution')}>
              <InstitutionSelect />
            </Form.Item>
          )}
          <Button type="primary" htmlType="submit">
            {t('common:search')}
          </Button>
        </Form>
        {stats.error ? (
          <QueryError error={stats.error} onRetry={() => void stats.refetch()} />
        ) : !stats.isPending && items.length === 0 ? (
          <Empty description={t('noStats')} data-testid="recognition-stats-empty" />
        ) : (
          <Row gutter={[16, 16]}>
            <Col xs={24} xl={14}>
              <StatsChart items={items} from={filters.from} to={filters.to} label={t('chartLabel')} />
            </Col>
            <Col xs={24} xl={10}>
              <Table<RecognitionStat>
                rowKey={(s) => `${s.month}:${s.institutionId}`}
                size="small"
                loading={stats.isFetching}
                dataSource={items}
                columns={columns}
                pagination={{ pageSize: 12, hideOnSinglePage: true }}
                summary={() => (
                  <Table.Summary.Row>
                    <Table.Summary.Cell index={0} colSpan={2}>
                      <Typography.Text strong>{t('total')}</Typography.Text>
                    </Table.Summary.Cell>
                    <Table.Summary.Cell index={2} align="right">
                      <Typography.Text strong data-testid="recognition-stats-total">{total}</Typography.Text>
                    </Table.Summary.Cell>
                  </Table.Summary.Row>
                )}
                data-testid="recognition-stats"
              />
            </Col>
          </Row>
        )}
      </Flex>
    </Card>
  );
}

/** Every month of the range, oldest first: a month with nothing avoided shows as zero rather than disappearing. */
function monthsOf(items: RecognitionStat[], from?: string, to?: string): string[] {
  const seen = items.map((s) => s.month).sort();
  const first = from ?? seen[0];
  const last = to ?? seen.at(-1);
  if (!first || !last) return [];
  const months: string[] = [];
  for (let m = dayjs(`${first}-01`); !m.isAfter(dayjs(`${last}-01`)) && months.length < 120; m = m.add(1, 'month')) months.push(m.format('YYYY-MM'));
  return months;
}

/** Months on the horizontal axis, one stacked bar segment per institution. */
function StatsChart({ items, from, to, label }: { items: RecognitionStat[]; from?: string; to?: string; label: string }) {
  const months = monthsOf(items, from, to);
  const institutions = [...new Map(items.map((s) => [s.institutionId, s.institutionName])).entries()];
  const count = new Map(items.map((s) => [`${s.month}:${s.institutionId}`, s.avoided]));
  const option = {
    aria: { enabled: true, label: { description: label } },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: months },
    yAxis: { type: 'value', minInterval: 1 },
    series: institutions.map(([id, name]) => ({
      name,
      type: 'bar',
      stack: 'avoided',
      barMaxWidth: 32,
      data: months.map((m) => count.get(`${m}:${id}`) ?? 0),
    })),
  };
  return (
    <div role="img" aria-label={label} data-testid="recognition-chart">
      <ReactEChartsCore echarts={echarts} option={option} notMerge style={{ height: 320 }} />
    </div>
  );
}
