import { useState } from 'react';
import { Button, Card, DatePicker, Empty, Flex, Form, Input, Select, Table, Tag } from 'antd';
import type { GetProps, TableProps } from 'antd';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../../api.ts';
import { formatDateTime, useCodeLabels } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryError } from '../../components/query-state.tsx';
import type { AuditEvent, Page as Paged } from '../../types.ts';

type RangeValue = GetProps<typeof DatePicker.RangePicker>['value'];

interface FormValues {
  username?: string;
  residentId?: string;
  action?: string;
  range?: RangeValue;
}

interface AuditFilters {
  username?: string;
  residentId?: string;
  action?: string;
  from?: string;
  to?: string;
}

// The server's AuditAction values (src/platform/audit.ts).
const AUDIT_ACTIONS = ['read', 'search', 'list', 'create', 'update', 'reveal', 'merge', 'unmerge', 'match', 'review', 'login', 'login_failed', 'logout', 'token_create', 'token_revoke', 'export', 'import', 'break_glass'] as const;

const OUTCOME_COLORS: Record<string, string> = { success: 'green', denied: 'red', failure: 'orange' };

function toFilters(values: FormValues): AuditFilters {
  const [start, end] = values.range ?? [];
  return {
    username: values.username?.trim() || undefined,
    residentId: values.residentId?.trim() || undefined,
    action: values.action?.trim() || undefined,
    // whole days in the browser's time zone, sent as instants
    from: start ? start.startOf('day').toISOString() : undefined,
    to: end ? end.endOf('day').toISOString() : undefined,
  };
}

export default function AuditList() {
  const { t } = useTranslation('audit');
  const labels = useCodeLabels();
  const [form] = Form.useForm<FormValues>();
  const [filters, setFilters] = useState<AuditFilters>({});
  const [paging, setPaging] = useState({ page: 1, pageSize: 20 });

  const list = useQuery({
    queryKey: ['audit', filters, paging],
    queryFn: () => api<Paged<AuditEvent>>('/audit', { query: { ...filters, ...paging } }),
    placeholderData: keepPreviousData,
  });

  const columns: TableProps<AuditEvent>['columns'] = [
    { title: t('at'), dataIndex: 'at', width: 180, render: formatDateTime },
    { title: t('username'), dataIndex: 'username', render: (v: string | null) => v ?? t('common:none') },
    { title: t('role'), dataIndex: 'role', render: (v: string | null) => (v ? labels.role(v) : t('common:none')) },
    {
      title: t('action'),
      dataIndex: 'action',
      render: (v: string) => <Tag color={v === 'reveal' ? 'orange' : 'default'}>{t(`actions.${v}`, { defaultValue: v })}</Tag>,
    },
    {
      title: t('resource'),
      key: 'resource',
      render: (_, e) => [e.resourceType, e.resourceId].filter(Boolean).join(' / ') || t('common:none'),
    },
    {
      title: t('residentId'),
      dataIndex: 'residentId',
      render: (v: string | null) => (v ? <Link to={`/residents/${v}`}>{v}</Link> : t('common:none')),
    },
    { title: t('clientIp'), dataIndex: 'clientIp', render: (v?: string | null) => v ?? t('common:none') },
    { title: t('purpose'), dataIndex: 'purpose', render: (v: string | null) => v ?? t('common:none') },
    {
      title: t('outcome'),
      dataIndex: 'outcome',
      render: (v: string) => <Tag color={OUTCOME_COLORS[v] ?? 'default'}>{t(`outcomes.${v}`, { defaultValue: v })}</Tag>,
    },
  ];

  return (
    <Page title={t('title')}>
      <Card>
        <Form<FormValues>
          form={form}
          layout="inline"
          style={{ rowGap: 12 }}
          onFinish={(values) => {
            setFilters(toFilters(values));
            setPaging((p) => ({ ...p, page: 1 }));
          }}
        >
          <Form.Item name="username" label={t('username')}>
            <Input allowClear style={{ width: 160 }} />
          </Form.Item>
          <Form.Item name="residentId" label={t('residentId')}>
            <Input allowClear style={{ width: 200 }} />
          </Form.Item>
          <Form.Item name="action" label={t('action')}>
            <Select
              allowClear
              style={{ width: 180 }}
              placeholder={t('actionPlaceholder')}
              options={AUDIT_ACTIONS.map((action) => ({ value: action, label: t(`actions.${action}`) }))}
            />
          </Form.Item>
          <Form.Item name="range" label={t('dateRange')}>
            <DatePicker.RangePicker placeholder={[t('startDate'), t('endDate')]} />
          </Form.Item>
          <Flex gap={8}>
            <Button type="primary" htmlType="submit">
              {t('common:search')}
            </Button>
            <Button
              onClick={() => {
                form.resetFields();
                setFilters({});
                setPaging((p) => ({ ...p, page: 1 }));
              }}
            >
              {t('common:reset')}
            </Button>
          </Flex>
        </Form>
      </Card>
      <Card>
        {list.error ? (
          <QueryError error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <Table<AuditEvent>
            rowKey="id"
            size="small"
            columns={columns}
            dataSource={list.data?.items}
            loading={list.isFetching}
            scroll={{ x: 1000 }}
            locale={{ emptyText: <Empty description={t('common:emptyText')} /> }}
            pagination={{
              current: paging.page,
              pageSize: paging.pageSize,
              total: list.data?.total ?? 0,
              showSizeChanger: true,
              showTotal: (total) => t('common:totalItems', { total }),
              onChange: (page, pageSize) => setPaging({ page: pageSize === paging.pageSize ? page : 1, pageSize }),
            }}
          />
        )}
      </Card>
    </Page>
  );
}
