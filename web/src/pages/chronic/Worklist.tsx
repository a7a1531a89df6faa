// The family doctor's worklist for a day (工作清单, 医防融合): due and overdue follow-ups, new enrolments, danger values
// from any institution (with where they were measured), discharges to follow and contracts due for renewal — urgent
// first (the server's order). Filters and paging live in the URL; each row opens the follow-up form or the programme.
import { Button, Card, DatePicker, Empty, Flex, Form, Segmented, Select, Space, Table, Tag, Typography } from 'antd';
import type { TableProps } from 'antd';
import { EditOutlined, SearchOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../../api.ts';
import { useUser } from '../../auth.ts';
import { useCodeLabels } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { useUrlFilters } from '../../components/url-filters.ts';
import { listPagination } from '../../components/paging.ts';
import { QueryError } from '../../components/query-state.tsx';
import type { Items, Page as Paged, Region } from '../../types.ts';
import { EscalationTag, formatDay, LastReadings, OverdueTag, PriorityTag, ProgrammeTags, useProgrammeName, WorkKindTag } from './chronic-format.tsx';
import { WORK_KINDS, type Programme, type WorkItem } from './chronic-types.ts';
import { elderlyCheckPath } from './ElderlyCheck.tsx';

const FILTER_KEYS = ['date', 'gridId', 'programme', 'priority', 'kind', 'escalation'] as const;
interface FormValues {
  date?: Dayjs;
  gridId?: string;
  programme?: string;
  priority?: string;
  escalation?: string;
}

/** Kinds of work that a follow-up answers: the form opens from them. */
const FOLLOW_UP_KINDS = new Set(['follow_up', 'enrolment', 'danger', 'discharge']);

/** The enrolment a task is about ("EpisodeOfCare/12"), when it names one. */
export function enrolmentOf(item: Pick<WorkItem, 'focus'>): number | undefined {
  const match = /^EpisodeOfCare\/(\d+)$/.exec(item.focus ?? '');
  return match ? Number(match[1]) : undefined;
}

export function followUpPath(residentId: number, enrolmentId?: number): string {
  return `/worklist/residents/${residentId}/follow-up${enrolmentId ? `?enrolmentId=${enrolmentId}` : ''}`;
}

/** The grids a user works in: a team member's team's grids, else every grid. */
export function useGridOptions() {
  const user = useUser();
  const grids = useQuery({ queryKey: ['regions', 'grids'], queryFn: () => api<Items<Region>>('/regions', { query: { level: 'grid' } }), staleTime: 10 * 60_000 });
  const team = useQuery({
    queryKey: ['teams', user.teamId],
    queryFn: () => api<{ gridIds: number[] }>(`/teams/${user.teamId}`),
    enabled: user.teamId !== null,
    staleTime: 10 * 60_000,
  });
  const own = team.data ? new Set(team.data.gridIds) : null;
  return (grids.data?.items ?? []).filter((g) => !own || own.has(g.id)).map((g) => ({ value: String(g.id), label: g.name }));
}

export function useProgrammes() {
  return useQuery({ queryKey: ['chronic', 'programmes'], queryFn: () => api<Items<Programme>>('/chronic/programmes'), staleTime: 5 * 60_000 });
}

export default function Worklist() {
  const { t } = useTranslation('chronic');
  const { filters, page, pageSize, update } = useUrlFilters(FILTER_KEYS);
  const [form] = Form.useForm<FormValues>();
  const gridOptions = useGridOptions();
  const programmes = useProgrammes();
  const programmeName = useProgrammeName();
  const labels = useCodeLabels();
  const list = useQuery({
    queryKey: ['worklist', filters, page, pageSize],
    queryFn: () => api<Paged<WorkItem> & { date: string }>('/worklist', { query: { ...filters, page, pageSize } }),
    placeholderData: keepPreviousData,
  });
  const filtered = Object.keys(filters).some((key) => key !== 'date');

  const columns: TableProps<WorkItem>['columns'] = [
    {
      title: t('worklist.work'),
      key: 'work',
      width: 140,
      render: (_, w) => (
        <Space size={[0, 4]} wrap>
          <PriorityTag priority={w.priority} />
          <WorkKindTag kind={w.kind} />
          {w.contractingLead && <Tag color="geekblue">{t('worklist.lead')}</Tag>}
        </Space>
      ),
    },
    {
      title: t('resident'),
      key: 'resident',
      width: 150,
      render: (_, w) => (
        <Flex vertical>
          <Link to={`/worklist/residents/${w.resident.id}`} data-testid="worklist-resident">
            <Typography.Text strong>{w.resident.name}</Typography.Text>
          </Link>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {[labels.sex(w.resident.sex), t('residents:ageYears', { age: w.resident.age }), w.resident.gridName].filter(Boolean).join(' · ')}
          </Typography.Text>
          {w.couponBalance !== null && w.couponBalance !== undefined && (
            <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="coupon-balance">
              {t('worklist.coupons', { count: w.couponBalance })}
            </Typography.Text>
          )}
        </Flex>
      ),
    },
    { title: t('programme'), key: 'programmes', width: 110, render: (_, w) => <ProgrammeTags codes={w.programmes} /> },
    {
      title: t('worklist.what'),
      key: 'what',
      render: (_, w) => (
        <Flex vertical>
          <Typography.Text>{w.kind === 'renewal' ? t('worklist.renewalDue', { day: w.contractEndDate }) : (w.description ?? t('common:none'))}</Typography.Text>
          {w.source && w.kind !== 'renewal' && (
            <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="work-source">
              {t('worklist.source', { place: w.source.institutionName })}
            </Typography.Text>
          )}
        </Flex>
      ),
    },
    { title: t('lastReadings'), key: 'readings', width: 230, render: (_, w) => <LastReadings readings={w.lastReadings} /> },
    {
      title: t('worklist.due'),
      key: 'due',
      width: 120,
      render: (_, w) => (
        <Space size={[0, 4]} wrap>
          <Typography.Text type={w.overdue ? 'danger' : undefined}>{formatDay(w.dueAt) ?? t('common:none')}</Typography.Text>
          {w.overdue && <OverdueTag dueAt={w.dueAt} />}
          <EscalationTag level={w.escalationLevel} />
        </Space>
      ),
    },
    {
      title: t('common:actions'),
      key: 'actions',
      width: 120,
      fixed: 'right',
      render: (_, w) =>
        w.kind === 'renewal' ? (
          <Link to={`/contracts?residentId=${w.resident.id}`} data-testid="worklist-renew">
            {t('worklist.openContract')}
          </Link>
        ) : w.kind === 'elderly_check' ? (
          <Link to={elderlyCheckPath(w.resident.id)} data-testid="worklist-elderly-check">
            <Button size="small" type="primary" icon={<EditOutlined />}>
              {t('care:elderly.open')}
            </Button>
          </Link>
        ) : FOLLOW_UP_KINDS.has(w.kind) && w.programmes.length > 0 ? (
          <Link to={followUpPath(w.resident.id, enrolmentOf(w))} data-testid="worklist-follow-up">
            <Button size="small" type="primary" icon={<EditOutlined />}>
              {t('worklist.recordFollowUp')}
            </Button>
          </Link>
        ) : (
          <Link to={`/worklist/residents/${w.resident.id}`}>{t('common:details')}</Link>
        ),
    },
  ];

  return (
    <Page title={t('worklist.title')}>
      <Card>
        <Segmented
          style={{ marginBottom: 16 }}
          value={filters.kind ?? 'all'}
          onChange={(kind) => update({ filters: { ...filters, kind: kind === 'all' ? undefined : String(kind) }, page: 1 })}
          options={[{ value: 'all', label: t('common:all') }, ...WORK_KINDS.map((k) => ({ value: k, label: <span data-testid={`kind-${k}`}>{t(`kinds.${k}`)}</span> }))]}
        />
        <Form<FormValues>
          form={form}
          layout="inline"
          role="search"
          style={{ rowGap: 12, marginBottom: 16 }}
          initialValues={{ date: filters.date ? dayjs(filters.date) : undefined, gridId: filters.gridId, programme: filters.programme, priority: filters.priority, escalation: filters.escalation }}
          onFinish={(v) =>
            update({
              filters: { kind: filters.kind, date: v.date?.format('YYYY-MM-DD'), gridId: v.gridId, programme: v.programme, priority: v.priority, escalation: v.escalation },
              page: 1,
            })
          }
        >
          <Form.Item name="date" label={t('worklist.date')}>
            <DatePicker placeholder={t('worklist.today')} />
          </Form.Item>
          <Form.Item name="gridId" label={t('grid')}>
            <Select allowClear showSearch={{ optionFilterProp: 'label' }} placeholder={t('common:all')} style={{ width: 180 }} options={gridOptions} data-testid="filter-grid" />
          </Form.Item>
          <Form.Item name="programme" label={t('programme')}>
            <Select
              allowClear
              placeholder={t('common:all')}
              style={{ width: 150 }}
              options={programmes.data?.items.map((p) => ({ value: p.code, label: programmeName(p.code) }))}
              data-testid="filter-programme"
            />
          </Form.Item>
          <Form.Item name="priority" label={t('priority')}>
            <Select
              allowClear
              placeholder={t('common:all')}
              style={{ width: 120 }}
              options={(['urgent', 'routine'] as const).map((p) => ({ value: p, label: t(`priorities.${p}`) }))}
              data-testid="filter-priority"
            />
          </Form.Item>
          <Form.Item name="escalation" label={t('escalation.filter')}>
            <Select
              allowClear
              placeholder={t('common:all')}
              style={{ width: 160 }}
              options={[
                { value: '1', label: t('escalation.lead') },
                { value: '2', label: t('escalation.admin') },
              ]}
            />
          </Form.Item>
          <Flex gap={8}>
            <Button type="primary" htmlType="submit" icon={<SearchOutlined />} data-testid="worklist-search">
              {t('common:search')}
            </Button>
            <Button
              data-testid="worklist-reset"
              onClick={() => {
                form.setFieldsValue({ date: undefined, gridId: undefined, programme: undefined, priority: undefined, escalation: undefined });
                update({ filters: {}, page: 1 });
              }}
            >
              {t('common:reset')}
            </Button>
          </Flex>
        </Form>
        {list.data && (
          <Typography.Paragraph type="secondary" data-testid="worklist-date">
            {t('worklist.forDay', { day: list.data.date })}
          </Typography.Paragraph>
        )}
        {list.error ? (
          <QueryError error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <Table<WorkItem>
            rowKey={(w) => (w.taskId ? `t${w.taskId}` : w.contractId ? `c${w.contractId}` : `${w.kind}-${w.resident.id}`)}
            columns={columns}
            dataSource={list.data?.items}
            loading={list.isFetching}
            scroll={{ x: 1100 }}
            rowClassName={(w) => (w.kind === 'danger' ? 'worklist-danger' : '')}
            locale={{ emptyText: <Empty description={filtered || filters.kind ? t('worklist.emptyFiltered') : t('worklist.empty')} data-testid="worklist-empty" /> }}
            pagination={listPagination(t, page, pageSize, list.data?.total ?? 0, (p, size) => update({ page: p, pageSize: size }))}
            data-testid="worklist-table"
          />
        )}
      </Card>
    </Page>
  );
}
