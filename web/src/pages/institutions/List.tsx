import { useState } from 'react';
import { Button, Card, Descriptions, Drawer, Empty, Flex, Form, Input, Select, Space, Table, Tag } from 'antd';
import type { TableProps } from 'antd';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import { useCodeLabels } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryError, QueryView } from '../../components/query-state.tsx';
import { INSTITUTION_TYPES, type Id, type Institution, type Page as Paged } from '../../types.ts';

export interface InstitutionFilters {
  type?: string;
  q?: string;
  regionId?: Id;
  capability?: string;
}

/** Paged institution table; also used by the region page for the institutions inside a street or community. */
export function InstitutionTable({ filters, compact = false }: { filters: InstitutionFilters; compact?: boolean }) {
  const { t } = useTranslation('institutions');
  const labels = useCodeLabels();
  const [paging, setPaging] = useState({ page: 1, pageSize: compact ? 10 : 20 });
  const [openId, setOpenId] = useState<Id | null>(null);
  const [lastFilters, setLastFilters] = useState(filters);
  if (JSON.stringify(lastFilters) !== JSON.stringify(filters)) {
    // new filters start again from the first page
    setLastFilters(filters);
    setPaging((p) => ({ ...p, page: 1 }));
  }

  const list = useQuery({
    queryKey: ['institutions', filters, paging],
    queryFn: () => api<Paged<Institution>>('/institutions', { query: { ...filters, ...paging } }),
    placeholderData: keepPreviousData,
  });

  const columns: TableProps<Institution>['columns'] = [
    {
      title: t('name'),
      dataIndex: 'name',
      render: (name: string, row) => (
        <Button type="link" style={{ padding: 0 }} onClick={() => setOpenId(row.id)}>
          {name}
        </Button>
      ),
    },
    { title: t('type'), dataIndex: 'type', render: labels.institutionType },
    {
      title: t('level'),
      key: 'level',
      render: (_, row) => labels.institutionRank(row.level, row.grade) || t('common:none'),
    },
    ...(compact ? [] : [{ title: t('region'), dataIndex: 'regionName', render: (v: string | null) => v ?? t('common:none') }]),
    {
      title: t('capabilities'),
      dataIndex: 'capabilities',
      render: (caps: string[]) => (
        <Space size={[0, 4]} wrap>
          {caps.map((cap) => (
            <Tag key={cap} color="green">
              {labels.capability(cap)}
            </Tag>
          ))}
        </Space>
      ),
    },
  ];

  if (list.error) return <QueryError error={list.error} onRetry={() => void list.refetch()} />;
  return (
    <>
      <Table<Institution>
        rowKey="id"
        size={compact ? 'small' : 'middle'}
        loading={list.isFetching}
        columns={columns}
        dataSource={list.data?.items}
        locale={{ emptyText: <Empty description={t('common:emptyText')} /> }}
        pagination={{
          current: paging.page,
          pageSize: paging.pageSize,
          total: list.data?.total ?? 0,
          showSizeChanger: !compact,
          showTotal: (total) => t('common:totalItems', { total }),
          onChange: (page, pageSize) => setPaging({ page: pageSize === paging.pageSize ? page : 1, pageSize }),
        }}
        data-testid="institution-table"
      />
      <InstitutionDrawer id={openId} onClose={() => setOpenId(null)} />
    </>
  );
}

export function InstitutionDrawer({ id, onClose }: { id: Id | null; onClose: () => void }) {
  const { t } = useTranslation('institutions');
  const labels = useCodeLabels();
  const detail = useQuery({
    queryKey: ['institutions', id],
    queryFn: () => api<Institution>(`/institutions/${id}`),
    enabled: id !== null,
  });
  return (
    <Drawer open={id !== null} onClose={onClose} size={560} title={detail.data?.name ?? t('detailTitle')}>
      {id !== null && (
        <QueryView query={detail}>
          {(inst) => (
            <Descriptions
              column={1}
              bordered
              size="small"
              items={[
                { key: 'name', label: t('name'), children: inst.name },
                { key: 'code', label: t('code'), children: inst.code },
                { key: 'type', label: t('type'), children: labels.institutionType(inst.type) },
                { key: 'level', label: t('level'), children: labels.institutionRank(inst.level, inst.grade) || t('common:none') },
                ...(inst.beds != null ? [{ key: 'beds', label: t('beds'), children: inst.beds }] : []),
                { key: 'region', label: t('region'), children: inst.regionName ?? t('common:none') },
                { key: 'address', label: t('address'), children: inst.address ?? t('common:none') },
                {
                  key: 'caps',
                  label: t('capabilities'),
                  children: inst.capabilities.length ? (
                    <Space size={[0, 6]} wrap>
                      {inst.capabilities.map((cap) => (
                        <Tag key={cap} color="green">
                          {labels.capability(cap)}
                        </Tag>
                      ))}
                    </Space>
                  ) : (
                    t('noCapabilities')
                  ),
                },
              ]}
            />
          )}
        </QueryView>
      )}
    </Drawer>
  );
}

export default function InstitutionList() {
  const { t } = useTranslation('institutions');
  const labels = useCodeLabels();
  const [form] = Form.useForm<InstitutionFilters>();
  const [filters, setFilters] = useState<InstitutionFilters>({});

  return (
    <Page title={t('title')}>
      <Card>
        <Form<InstitutionFilters> form={form} layout="inline" onFinish={(values) => setFilters(values)}>
          <Form.Item name="type" label={t('type')}>
            <Select
              allowClear
              placeholder={t('typeFilter')}
              style={{ width: 220 }}
              options={INSTITUTION_TYPES.map((type) => ({ value: type, label: labels.institutionType(type) }))}
            />
          </Form.Item>
          <Form.Item name="q" label={t('name')}>
            <Input allowClear placeholder={t('searchPlaceholder')} style={{ width: 220 }} />
          </Form.Item>
          <Flex gap={8}>
            <Button type="primary" htmlType="submit">
              {t('common:search')}
            </Button>
            <Button
              onClick={() => {
                form.resetFields();
                setFilters({});
              }}
            >
              {t('common:reset')}
            </Button>
          </Flex>
        </Form>
      </Card>
      <Card>
        <InstitutionTable filters={filters} />
      </Card>
    </Page>
  );
}
