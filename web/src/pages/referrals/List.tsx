// Referral worklists (转诊工作台): the inbox holds cases sent to my institution (or my team), the outbox those it
// sent; open green-channel cases come first (the server's order). Filters and paging live in the URL.
import { Button, Card, DatePicker, Empty, Flex, Form, Select, Space, Switch, Table, Tabs, Typography } from 'antd';
import type { GetProps, TableProps } from 'antd';
import { PlusOutlined, SearchOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { api } from '../../api.ts';
import { useUser } from '../../auth.ts';
import { Page } from '../../components/page.tsx';
import { QueryError } from '../../components/query-state.tsx';
import { listPagination } from '../../components/paging.ts';
import type { Page as Paged } from '../../types.ts';
import { DirectionTag, formatMinute, OverdueTag, StateTag, UrgencyTag } from './referral-format.tsx';
import { canSendReferrals, STATES, URGENCIES, type Referral } from './referral-types.ts';

type Box = 'inbox' | 'outbox' | 'all';
type RangeValue = GetProps<typeof DatePicker.RangePicker>['value'];

interface Filters {
  state?: string;
  direction?: string;
  urgency?: string;
  overdue?: string;
  from?: string;
  to?: string;
}
const FILTER_KEYS = ['state', 'direction', 'urgency', 'overdue', 'from', 'to'] as const;

interface FormValues {
  state?: string[];
  direction?: string;
  urgency?: string;
  overdue?: boolean;
  range?: RangeValue;
}

/** The worklist's box, filters and page, read from and written to the URL. */
function useWorklistParams(boxes: readonly Box[]) {
  const [params, setParams] = useSearchParams();
  const box = boxes.find((b) => b === params.get('box')) ?? boxes[0]!;
  const filters: Filters = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value) filters[key] = value;
  }
  const page = Math.max(1, Number(params.get('page')) || 1);
  const pageSize = Math.min(200, Math.max(1, Number(params.get('pageSize')) || 20));
  const update = (next: { box?: Box; filters?: Filters; page?: number; pageSize?: number }) => {
    const search = new URLSearchParams();
    const nextBox = next.box ?? box;
    if (nextBox !== boxes[0]) search.set('box', nextBox);
    const nextFilters = next.filters ?? filters;
    for (const key of FILTER_KEYS) if (nextFilters[key]) search.set(key, nextFilters[key]!);
    if ((next.page ?? 1) > 1) search.set('page', String(next.page));
    const size = next.pageSize ?? pageSize;
    if (size !== 20) search.set('pageSize', String(size));
    setParams(search);
  };
  return { box, filters, page, pageSize, update };
}

function toFilters(values: FormValues): Filters {
  const [start, end] = values.range ?? [];
  return {
    state: values.state?.length ? values.state.join(',') : undefined,
    direction: values.direction,
    urgency: values.urgency,
    overdue: values.overdue ? 'true' : undefined,
    from: start ? start.format('YYYY-MM-DD') : undefined,
    to: end ? end.format('YYYY-MM-DD') : undefined,
  };
}

function toFormValues(filters: Filters): FormValues {
  return {
    state: filters.state?.split(','),
    direction: filters.direction,
    urgency: filters.urgency,
    overdue: filters.overdue === 'true',
    range: filters.from && filters.to ? [dayjs(filters.from), dayjs(filters.to)] : undefined,
  };
}

export default function ReferralList() {
  const { t } = useTranslation('referrals');
  const user = useUser();
  // the district administrator belongs to no institution and oversees every case: one list
  const boxes: readonly Box[] = user.institutionId === null ? ['all'] : ['inbox', 'outbox'];
  const { box, filters, page, pageSize, update } = useWorklistParams(boxes);
  const [form] = Form.useForm<FormValues>();

  const list = useQuery({
    queryKey: ['referrals', 'list', box, filters, page, pageSize],
    queryFn: () => api<Paged<Referral>>('/referrals', { query: { box, ...filters, page, pageSize } }),
    placeholderData: keepPreviousData,
  });
  const filtered = Object.keys(filters).length > 0;

  const columns: TableProps<Referral>['columns'] = [
    {
      title: t('resident'),
      key: 'resident',
      width: 140,
      render: (_, r) => (
        <Flex vertical>
          <Typography.Text strong>{r.resident.name}</Typography.Text>
          {r.resident.idNumberMasked && (
            <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }} data-testid="masked-id">
              {r.resident.idNumberMasked}
            </Typography.Text>
          )}
        </Flex>
      ),
    },
    {
      title: t('kind'),
      key: 'kind',
      width: 150,
      render: (_, r) => (
        <Space size={[0, 4]} wrap>
          <DirectionTag direction={r.direction} />
          <UrgencyTag urgency={r.urgency} />
        </Space>
      ),
    },
    {
      title: box === 'inbox' ? t('from') : box === 'outbox' ? t('to') : t('parties'),
      key: 'party',
      width: 200,
      ellipsis: true,
      render: (_, r) => {
        const target = [r.target.institutionName, r.target.department ?? r.target.teamName].filter(Boolean).join(' · ');
        if (box === 'inbox') return [r.source.institutionName, r.source.practitionerName].filter(Boolean).join(' · ');
        if (box === 'outbox') return target;
        return `${r.source.institutionName} → ${target}`;
      },
    },
    { title: t('reason'), dataIndex: 'reason', ellipsis: true },
    {
      title: t('state'),
      key: 'state',
      width: 140,
      render: (_, r) => (
        <Space size={[0, 4]} wrap>
          <StateTag state={r.state} />
          {r.overdue && <OverdueTag dueAt={r.dueAt} />}
        </Space>
      ),
    },
    {
      title: t('appointment'),
      key: 'appointment',
      width: 140,
      render: (_, r) => formatMinute(r.appointment?.start) ?? t('common:none'),
    },
    {
      title: t('dueAt'),
      key: 'dueAt',
      width: 140,
      render: (_, r) =>
        r.dueAt ? <Typography.Text type={r.overdue ? 'danger' : undefined}>{formatMinute(r.dueAt)}</Typography.Text> : t('common:none'),
    },
    { title: t('requestedAt'), dataIndex: 'requestedAt', width: 140, render: formatMinute },
    {
      title: t('common:actions'),
      key: 'open',
      width: 70,
      fixed: 'right',
      render: (_, r) => (
        <Link to={`/referrals/${r.id}`} data-testid="referral-open">
          {t('common:details')}
        </Link>
      ),
    },
  ];

  return (
    <Page
      title={t('title')}
      extra={
        canSendReferrals(user) && (
          <Link to="/referrals/new">
            <Button type="primary" icon={<PlusOutlined />} data-testid="referral-new">
              {t('new')}
            </Button>
          </Link>
        )
      }
    >
      <Card>
        <Tabs
          activeKey={box}
          onChange={(key) => update({ box: key as Box, page: 1 })}
          items={boxes.map((b) => ({ key: b, label: <span data-testid={`box-${b}`}>{t(`boxes.${b}`)}</span> }))}
        />
        <Form<FormValues>
          form={form}
          layout="inline"
          initialValues={toFormValues(filters)}
          onFinish={(values) => update({ filters: toFilters(values), page: 1 })}
          style={{ rowGap: 12, marginBottom: 16 }}
          role="search"
        >
          <Form.Item name="state" label={t('state')}>
            <Select
              mode="multiple"
              allowClear
              maxTagCount="responsive"
              placeholder={t('allStates')}
              style={{ width: 240 }}
              options={STATES.map((s) => ({ value: s, label: t(`states.${s}`) }))}
              data-testid="filter-state"
            />
          </Form.Item>
          <Form.Item name="direction" label={t('direction')}>
            <Select
              allowClear
              placeholder={t('common:all')}
              style={{ width: 120 }}
              options={(['up', 'down'] as const).map((d) => ({ value: d, label: t(`directions.${d}`) }))}
            />
          </Form.Item>
          <Form.Item name="urgency" label={t('urgency')}>
            <Select allowClear placeholder={t('common:all')} style={{ width: 130 }} options={URGENCIES.map((u) => ({ value: u, label: t(`urgencies.${u}`) }))} />
          </Form.Item>
          <Form.Item name="range" label={t('requestedRange')}>
            <DatePicker.RangePicker placeholder={[t('records:startDate'), t('records:endDate')]} />
          </Form.Item>
          <Form.Item name="overdue" label={t('overdueOnly')} valuePropName="checked">
            <Switch data-testid="filter-overdue" />
          </Form.Item>
          <Flex gap={8}>
            <Button type="primary" htmlType="submit" icon={<SearchOutlined />} data-testid="referral-search">
              {t('common:search')}
            </Button>
            <Button
              onClick={() => {
                form.setFieldsValue({ state: undefined, direction: undefined, urgency: undefined, overdue: false, range: undefined });
                update({ filters: {}, page: 1 });
              }}
            >
              {t('common:reset')}
            </Button>
          </Flex>
        </Form>
        {list.error ? (
          <QueryError error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <Table<Referral>
            rowKey="id"
            columns={columns}
            dataSource={list.data?.items}
            loading={list.isFetching}
            scroll={{ x: 1250 }}
            locale={{ emptyText: <Empty description={filtered ? t('emptyFiltered') : t(`empty.${box}`)} data-testid="referral-empty" /> }}
            pagination={listPagination(t, page, pageSize, list.data?.total ?? 0, (p, size) => update({ page: p, pageSize: size }))}
            data-testid="referral-table"
          />
        )}
      </Card>
    </Page>
  );
}
