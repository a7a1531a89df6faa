import { useState } from 'react';
import { App, Button, Card, Descriptions, Empty, Popconfirm, Progress, Segmented, Space, Table, Tag } from 'antd';
import type { TableProps } from 'antd';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../../api.ts';
import { formatDateTime, useCodeLabels } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryError } from '../../components/query-state.tsx';
import type { Id, MatchReview, MatchSide, Page as Paged } from '../../types.ts';

type Decision = 'merge' | 'distinct';
function PersonCell({ person }: { person: MatchSide }) {
  const { t } = useTranslation('residents');
  const labels = useCodeLabels();
  return (
    <Descriptions
      size="small"
      column={1}
      items={[
        { key: 'name', label: t('name'), children: <Link to={`/residents/${person.id}`}>{person.name}</Link> },
        { key: 'sex', label: t('sex'), children: labels.sex(person.sex) },
        { key: 'birth', label: t('birthDate'), children: person.birthDate },
        { key: 'phone', label: t('phone'), children: person.phoneMasked ?? t('common:none') },
        { key: 'id', label: t('idNumber'), children: person.idNumberMasked ?? t('common:none') },
      ]}
    />
  );
}

export default function MatchReviewList() {
  const { t } = useTranslation('matchReviews');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [status, setStatus] = useState('pending');
  const [paging, setPaging] = useState({ page: 1, pageSize: 20 });

  const list = useQuery({
    queryKey: ['match-reviews', status, paging],
    queryFn: () => api<Paged<MatchReview>>('/match-reviews', { query: { status, ...paging } }),
    placeholderData: keepPreviousData,
  });
  const decide = useMutation({
    mutationFn: ({ id, decision }: { id: Id; decision: Decision }) =>
      api<unknown>(`/match-reviews/${id}/decision`, { method: 'POST', body: { decision } }),
    onSuccess: () => {
      void message.success(t('decided'));
      void queryClient.invalidateQueries({ queryKey: ['match-reviews'] });
      void queryClient.invalidateQueries({ queryKey: ['residents'] });
    },
    onError: (error) => void message.error(error.message),
  });

  const columns: TableProps<MatchReview>['columns'] = [
    { title: t('createdAt'), dataIndex: 'createdAt', width: 170, render: formatDateTime },
    { title: t('incoming'), key: 'incoming', render: (_, r) => <PersonCell person={r.incoming} /> },
    { title: t('candidate'), key: 'existing', render: (_, r) => <PersonCell person={r.candidate} /> },
    {
      title: t('score'),
      dataIndex: 'score',
      width: 120,
      render: (score: number) => <Progress percent={Math.round(score * 100)} size="small" />,
    },
    {
      title: t('reasons'),
      key: 'reasons',
      render: (_, r) =>
        r.reasons.length ? (
          <Space size={[0, 4]} wrap>
            {r.reasons.map((reason) => (
              <Tag key={reason}>{t(`reasonNames.${reason}`, { defaultValue: reason })}</Tag>
            ))}
          </Space>
        ) : (
          t('common:none')
        ),
    },
    {
      title: t('common:actions'),
      key: 'actions',
      width: 180,
      render: (_, r) =>
        r.status === 'pending' ? (
          <Space>
            <Popconfirm title={t('mergeConfirm')} onConfirm={() => decide.mutate({ id: r.id, decision: 'merge' })}>
              <Button type="primary" size="small" loading={decide.isPending && decide.variables?.id === r.id}>
                {t('merge')}
              </Button>
            </Popconfirm>
            <Popconfirm title={t('distinctConfirm')} onConfirm={() => decide.mutate({ id: r.id, decision: 'distinct' })}>
              <Button size="small">{t('distinct')}</Button>
            </Popconfirm>
          </Space>
        ) : (
          <Tag>{t(`statuses.${r.status}`, { defaultValue: r.status })}</Tag>
        ),
    },
  ];

  return (
    <Page
      title={t('title')}
      extra={
        <Segmented
          value={status}
          onChange={(value) => {
            setStatus(value);
            setPaging((p) => ({ ...p, page: 1 }));
          }}
          options={['pending', 'merged', 'distinct'].map((value) => ({ value, label: t(`statuses.${value}`) }))}
        />
      }
    >
      <Card>
        {list.error ? (
          <QueryError error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <Table<MatchReview>
            rowKey="id"
            columns={columns}
            dataSource={list.data?.items}
            loading={list.isFetching}
            locale={{ emptyText: <Empty description={t('empty')} /> }}
            pagination={{
              current: paging.page,
              pageSize: paging.pageSize,
              total: list.data?.total ?? 0,
              showTotal: (total) => t('common:totalItems', { total }),
              onChange: (page, pageSize) => setPaging({ page, pageSize }),
            }}
          />
        )}
      </Card>
    </Page>
  );
}
