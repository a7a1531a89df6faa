// The alert inbox (预警收件箱) of the CDC: fused alerts of the multi-point triggering rules, highest risk and latest
// evidence first (or newest first). Filters, sort and paging live in the URL so a link shows the same list.
import { Button, Card, DatePicker, Empty, Flex, Form, Segmented, Select, Space, Table, Typography } from 'antd';
import type { GetProps, TableProps } from 'antd';
import { SearchOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../../api.ts';
import { formatDateTime } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryError } from '../../components/query-state.tsx';
import { listPagination } from '../../components/paging.ts';
import { useUrlFilters } from '../../components/url-filters.ts';
import type { Page as Paged } from '../../types.ts';
import { AlertStateTag, DAY, RiskTag, useLocalName, useSourceName, useSyndromeLabel } from './surveillance-format.tsx';
import { ALERT_STATES, RISK_LEVELS, SYNDROMES, type AlertItem } from './surveillance-types.ts';

type RangeValue = GetProps<typeof DatePicker.RangePicker>['value'];
type Sort = 'risk' | 'newest';
const FILTER_KEYS = ['state', 'risk', 'syndrome', 'from', 'to'] as const;
type Filters = Partial<Record<(typeof FILTER_KEYS)[number], string>>;

interface FormValues {
  state?: string[];
  risk?: string[];
  syndrome?: string;
  range?: RangeValue;
}

/** The inbox's filters, sort and paging in the URL: the console's URL filters, the sort one more key ("risk" unwritten). */
function useInboxParams() {
  const { filters: params, page, pageSize, update: updateParams } = useUrlFilters([...FILTER_KEYS, 'sort'], 200);
  const { sort: sortParam, ...filters } = params;
  const sort: Sort = sortParam === 'newest' ? 'newest' : 'risk';
  const update = (next: { filters?: Filters; sort?: Sort; page?: number; pageSize?: number }) => {
    const nextSort = next.sort ?? sort;
    updateParams({ filters: { ...(next.filters ?? filters), sort: nextSort === 'risk' ? undefined : nextSort }, page: next.page, pageSize: next.pageSize });
  };
  return { filters, sort, page, pageSize, update };
}

export default function AlertList() {
  const { t } = useTranslation('surveillance');
  const { filters, sort, page, pageSize, update } = useInboxParams();
  const [form] = Form.useForm<FormValues>();
  const name = useLocalName();
  const sourceName = useSourceName();
  const syndrome = useSyndromeLabel();
  const list = useQuery({
    queryKey: ['surveillance', 'alerts', 'list', filters, sort, page, pageSize],
    queryFn: () => api<Paged<AlertItem>>('/surveillance/alerts', { query: { ...filters, sort, page, pageSize } }),
    placeholderData: keepPreviousData,
    refetchInterval: 60_000,
  });
  const filtered = Object.keys(filters).length > 0;

  const columns: TableProps<AlertItem>['columns'] = [
    { title: t('alertNo'), dataIndex: 'id', width: 80, render: (id: number) => <Link to={`/surveillance/alerts/${id}`}>#{id}</Link> },
    { title: t('risk'), key: 'risk', width: 100, render: (_, a) => <RiskTag risk={a.riskLevel} /> },
    { title: t('state'), key: 'state', width: 150, render: (_, a) => <AlertStateTag state={a.state} /> },
    { title: t('syndrome'), key: 'syndrome', width: 130, render: (_, a) => syndrome(a.syndrome) },
    { title: t('rule'), key: 'rule', width: 200, ellipsis: true, render: (_, a) => name(a.rule) },
    {
      title: t('communities'),
      key: 'communities',
      ellipsis: true,
      render: (_, a) => a.communities.map((c) => name(c)).join(t('listSeparator')) || t('common:none'),
    },
    { title: t('sources'), key: 'sources', ellipsis: true, render: (_, a) => a.sources.map(sourceName).join(t('listSeparator')) },
    {
      title: t('evidenceDates'),
      key: 'dates',
      width: 190,
      render: (_, a) => (a.firstDate === a.lastDate ? a.firstDate : `${a.firstDate} ~ ${a.lastDate}`),
    },
    { title: t('assignee'), key: 'assignee', width: 120, render: (_, a) => a.assignee?.name ?? t('common:none') },
    { title: t('updatedAt'), dataIndex: 'updatedAt', width: 170, render: formatDateTime },
    {
      title: t('common:actions'),
      key: 'open',
      width: 100,
      fixed: 'right',
      render: (_, a) => (
        <Link to={`/surveillance/alerts/${a.id}`} data-testid="alert-open" data-alert-id={a.id}>
          {t('common:details')}
        </Link>
      ),
    },
  ];

  return (
    <Page title={t('inboxTitle')}>
      <Card>
        <Form<FormValues>
          form={form}
          layout="inline"
          initialValues={{
            state: filters.state?.split(','),
            risk: filters.risk?.split(','),
            syndrome: filters.syndrome,
            range: filters.from && filters.to ? [dayjs(filters.from), dayjs(filters.to)] : undefined,
          }}
          onFinish={(v) => {
            const [start, end] = v.range ?? [];
            update({
              filters: {
                state: v.state?.length ? v.state.join(',') : undefined,
                risk: v.risk?.length ? v.risk.join(',') : undefined,
                syndrome: v.syndrome,
                from: start ? start.format(DAY) : undefined,
                to: end ? end.format(DAY) : undefined,
              },
              page: 1,
            });
          }}
          style={{ rowGap: 12, marginBottom: 16 }}
          role="search"
        >
          <Form.Item name="state" label={t('state')}>
            <Select
              mode="multiple"
              allowClear
              maxTagCount="responsive"
              placeholder={t('common:all')}
              style={{ width: 220 }}
              options={ALERT_STATES.map((s) => ({ value: s, label: t(`states.${s}`) }))}
              data-testid="filter-state"
            />
          </Form.Item>
          <Form.Item name="risk" label={t('risk')}>
            <Select
              mode="multiple"
              allowClear
              maxTagCount="responsive"
              placeholder={t('common:all')}
              style={{ width: 200 }}
              options={RISK_LEVELS.map((r) => ({ value: r, label: t(`risks.${r}`) }))}
              data-testid="filter-risk"
            />
          </Form.Item>
          <Form.Item name="syndrome" label={t('syndrome')}>
            <Select allowClear placeholder={t('common:all')} style={{ width: 150 }} options={SYNDROMES.map((s) => ({ value: s, label: syndrome(s) }))} />
          </Form.Item>
          <Form.Item name="range" label={t('evidenceDates')}>
            <DatePicker.RangePicker placeholder={[t('startDate'), t('endDate')]} />
          </Form.Item>
          <Flex gap={8}>
            <Button type="primary" htmlType="submit" icon={<SearchOutlined />} data-testid="alert-search">
              {t('common:search')}
            </Button>
            <Button
              onClick={() => {
                form.setFieldsValue({ state: undefined, risk: undefined, syndrome: undefined, range: undefined });
                update({ filters: {}, page: 1 });
              }}
            >
              {t('common:reset')}
            </Button>
          </Flex>
        </Form>
        <Flex justify="space-between" align="center" style={{ marginBottom: 12 }}>
          <Space>
            <Typography.Text type="secondary">{t('sortBy')}</Typography.Text>
            <Segmented<Sort>
              value={sort}
              onChange={(value) => update({ sort: value, page: 1 })}
              options={[
                { value: 'risk', label: t('sortRisk') },
                { value: 'newest', label: t('sortNewest') },
              ]}
              data-testid="alert-sort"
            />
          </Space>
        </Flex>
        {list.error ? (
          <QueryError error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <Table<AlertItem>
            rowKey="id"
            columns={columns}
            dataSource={list.data?.items}
            loading={list.isFetching}
            scroll={{ x: 1500 }}
            locale={{ emptyText: <Empty description={filtered ? t('emptyFiltered') : t('emptyInbox')} data-testid="alert-empty" /> }}
            pagination={listPagination(t, page, pageSize, list.data?.total ?? 0, (p, size) => update({ page: p, pageSize: size }))}
            data-testid="alert-table"
          />
        )}
      </Card>
    </Page>
  );
}
