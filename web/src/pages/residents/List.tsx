import { Button, Card, Empty, Flex, Form, Input, Select, Table, Typography } from 'antd';
import type { TableProps } from 'antd';
import { SearchOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { api } from '../../api.ts';
import { ResidentTags, useCodeLabels } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryError } from '../../components/query-state.tsx';
import { listPagination } from '../../components/paging.ts';
import { RESIDENT_TAGS, type Items, type Page as Paged, type Region, type ResidentSummary } from '../../types.ts';
import { useRegionName } from '../regions/List.tsx';

const FILTER_KEYS = ['idNumber', 'q', 'communityId', 'tag'] as const;
type Filters = Partial<Record<(typeof FILTER_KEYS)[number], string>>;

/** Filters and paging live in the URL, so a search can be bookmarked and Back returns to it. */
function useResidentSearch() {
  const [params, setParams] = useSearchParams();
  const filters: Filters = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value) filters[key] = value;
  }
  const page = Math.max(1, Number(params.get('page')) || 1);
  const pageSize = Math.min(200, Math.max(1, Number(params.get('pageSize')) || 20));

  const update = (next: Filters, paging: { page: number; pageSize: number }) => {
    const search = new URLSearchParams();
    for (const key of FILTER_KEYS) {
      const value = next[key]?.trim();
      if (value) search.set(key, value);
    }
    if (paging.page > 1) search.set('page', String(paging.page));
    if (paging.pageSize !== 20) search.set('pageSize', String(paging.pageSize));
    setParams(search);
  };
  return { filters, page, pageSize, update };
}

export default function ResidentList() {
  const { t } = useTranslation('residents');
  const labels = useCodeLabels();
  const regionName = useRegionName();
  const { filters, page, pageSize, update } = useResidentSearch();
  const [form] = Form.useForm<Filters>();

  const communities = useQuery({
    queryKey: ['regions', 'level', 'community'],
    queryFn: () => api<Items<Region>>('/regions', { query: { level: 'community' } }).then((r) => r.items),
    staleTime: 10 * 60_000,
  });
  const list = useQuery({
    queryKey: ['residents', filters, page, pageSize],
    queryFn: () => api<Paged<ResidentSummary>>('/residents', { query: { ...filters, page, pageSize } }),
    placeholderData: keepPreviousData,
  });

  const columns: TableProps<ResidentSummary>['columns'] = [
    { title: t('name'), dataIndex: 'name', render: (name: string, r) => <Link to={`/residents/${r.id}`}>{name}</Link> },
    { title: t('sex'), dataIndex: 'sex', width: 70, render: labels.sex },
    { title: t('age'), dataIndex: 'age', width: 80, align: 'right' },
    {
      title: t('idNumber'),
      dataIndex: 'idNumberMasked',
      render: (v: string | null) => (v ? <Typography.Text code data-testid="masked-id">{v}</Typography.Text> : t('common:none')),
    },
    { title: t('phone'), dataIndex: 'phoneMasked', render: (v: string | null) => v ?? t('common:none') },
    {
      title: t('community'),
      key: 'place',
      render: (_, r) => [r.communityName, r.gridName].filter(Boolean).join(' / ') || t('common:none'),
    },
    { title: t('tags'), dataIndex: 'tags', render: (tags: string[]) => <ResidentTags tags={tags} /> },
  ];

  return (
    <Page title={t('title')}>
      <Card title={t('searchTitle')}>
        <Form<Filters>
          form={form}
          layout="inline"
          initialValues={filters}
          onFinish={(values) => update(values, { page: 1, pageSize })}
          style={{ rowGap: 12 }}
          role="search"
        >
          <Form.Item name="q" label={t('q')}>
            <Input allowClear placeholder={t('qPlaceholder')} style={{ width: 180 }} data-testid="resident-search-q" />
          </Form.Item>
          <Form.Item name="idNumber" label={t('idNumber')}>
            <Input allowClear placeholder={t('idNumberPlaceholder')} style={{ width: 220 }} maxLength={18} data-testid="resident-search-id" />
          </Form.Item>
          <Form.Item name="communityId" label={t('community')}>
            <Select
              allowClear
              showSearch={{ optionFilterProp: 'label' }}
              placeholder={t('communityPlaceholder')}
              style={{ width: 200 }}
              loading={communities.isPending}
              options={communities.data?.map((c) => ({ value: c.id, label: regionName(c) }))}
            />
          </Form.Item>
          <Form.Item name="tag" label={t('tag')}>
            <Select
              allowClear
              placeholder={t('tagPlaceholder')}
              style={{ width: 160 }}
              options={RESIDENT_TAGS.map((tag) => ({ value: tag, label: t(`tagNames.${tag}`) }))}
            />
          </Form.Item>
          <Flex gap={8}>
            <Button type="primary" htmlType="submit" icon={<SearchOutlined />} data-testid="resident-search-submit">
              {t('common:search')}
            </Button>
            <Button
              onClick={() => {
                form.setFieldsValue({ q: undefined, idNumber: undefined, communityId: undefined, tag: undefined });
                update({}, { page: 1, pageSize });
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
          <Table<ResidentSummary>
            rowKey="id"
            columns={columns}
            dataSource={list.data?.items}
            loading={list.isFetching}
            scroll={{ x: 900 }}
            locale={{ emptyText: <Empty description={t('empty')}>{t('emptyHint')}</Empty> }}
            pagination={listPagination(t, page, pageSize, list.data?.total ?? 0, (p, size) => update(filters, { page: p, pageSize: size }))}
            data-testid="resident-table"
          />
        )}
      </Card>
    </Page>
  );
}
