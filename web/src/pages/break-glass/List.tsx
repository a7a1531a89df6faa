// Break-glass review (紧急调阅审查): the district administrator looks at every emergency access to a record outside
// the user's scope of care and decides whether it was justified.
import { useState } from 'react';
import { Alert, App, Button, Card, Empty, Form, Input, Modal, Radio, Segmented, Space, Table, Tag, Typography } from 'antd';
import type { TableProps } from 'antd';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../../api.ts';
import { formatDateTime } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryError } from '../../components/query-state.tsx';
import type { Page as Paged } from '../../types.ts';
import { REVIEW_STATUSES, type BreakGlassEntry, type ReviewStatus } from '../residents/record-types.ts';

const STATUS_COLORS: Record<ReviewStatus, string> = { pending: 'orange', justified: 'green', unjustified: 'red' };

export default function BreakGlassReviewList() {
  const { t } = useTranslation('breakGlassReview');
  const [status, setStatus] = useState<ReviewStatus>('pending');
  const [paging, setPaging] = useState({ page: 1, pageSize: 20 });
  const [reviewing, setReviewing] = useState<BreakGlassEntry | null>(null);
  const list = useQuery({
    queryKey: ['break-glass', status, paging],
    queryFn: () => api<Paged<BreakGlassEntry>>('/break-glass', { query: { status, ...paging } }),
    placeholderData: keepPreviousData,
  });

  const columns: TableProps<BreakGlassEntry>['columns'] = [
    { title: t('grantedAt'), dataIndex: 'grantedAt', width: 170, render: formatDateTime },
    {
      title: t('user'),
      key: 'user',
      render: (_, e) => (
        <Space orientation="vertical" size={0}>
          <span>{e.username ?? e.userId}</span>
          {e.institutionName && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{e.institutionName}</Typography.Text>}
        </Space>
      ),
    },
    {
      title: t('resident'),
      key: 'resident',
      render: (_, e) => <Link to={`/residents/${e.residentId}`}>{e.residentName ?? e.residentId}</Link>,
    },
    { title: t('reason'), dataIndex: 'reason', render: (reason: string) => <Typography.Paragraph style={{ marginBottom: 0, maxWidth: 360 }} ellipsis={{ rows: 3, expandable: true }}>{reason}</Typography.Paragraph> },
    { title: t('expiresAt'), dataIndex: 'expiresAt', width: 170, render: formatDateTime },
    {
      title: t('status'),
      dataIndex: 'reviewStatus',
      render: (s: ReviewStatus) => <Tag color={STATUS_COLORS[s]}>{t(`statuses.${s}`)}</Tag>,
    },
    ...(status === 'pending'
      ? []
      : [
          { title: t('reviewedAt'), dataIndex: 'reviewedAt', width: 170, render: (v: string | null) => (v ? formatDateTime(v) : t('common:none')) },
          { title: t('reviewNote'), dataIndex: 'reviewNote', render: (v: string | null) => v ?? t('common:none') },
        ]),
    {
      title: t('common:actions'),
      key: 'actions',
      render: (_, e) => (
        <Button size="small" type={e.reviewStatus === 'pending' ? 'primary' : 'default'} onClick={() => setReviewing(e)} data-testid="break-glass-review">
          {t('review')}
        </Button>
      ),
    },
  ];

  return (
    <Page title={t('title')}>
      <Card>
        <Segmented<ReviewStatus>
          value={status}
          onChange={(value) => {
            setStatus(value);
            setPaging((p) => ({ ...p, page: 1 }));
          }}
          options={REVIEW_STATUSES.map((s) => ({ value: s, label: t(`statuses.${s}`) }))}
          data-testid="break-glass-status"
        />
      </Card>
      <Card>
        {list.error ? (
          <QueryError error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <Table<BreakGlassEntry>
            rowKey="id"
            size="small"
            columns={columns}
            dataSource={list.data?.items}
            loading={list.isFetching}
            scroll={{ x: 1100 }}
            locale={{ emptyText: <Empty description={t('empty')} /> }}
            data-testid="break-glass-table"
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
      <ReviewModal entry={reviewing} onClose={() => setReviewing(null)} />
    </Page>
  );
}

interface ReviewValues {
  decision: 'justified' | 'unjustified';
  note?: string;
}

function ReviewModal({ entry, onClose }: { entry: BreakGlassEntry | null; onClose: () => void }) {
  const { t } = useTranslation('breakGlassReview');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<ReviewValues>();
  const review = useMutation({
    mutationFn: ({ id, values }: { id: number; values: ReviewValues }) =>
      api<BreakGlassEntry>(`/break-glass/${id}/review`, { method: 'POST', body: { decision: values.decision, note: values.note?.trim() || undefined } }),
    onSuccess: () => {
      void message.success(t('reviewed'));
      void queryClient.invalidateQueries({ queryKey: ['break-glass'] });
      onClose();
    },
  });
  return (
    <Modal
      open={entry !== null}
      title={t('reviewTitle')}
      okText={t('submit')}
      okButtonProps={{ loading: review.isPending, 'data-testid': 'break-glass-review-submit' }}
      onOk={() => form.submit()}
      onCancel={() => {
        review.reset();
        onClose();
      }}
      destroyOnHidden
    >
      {entry && (
        <Space orientation="vertical" size={16} style={{ width: '100%' }}>
          <Typography.Paragraph style={{ marginBottom: 0 }}>
            <Typography.Text type="secondary">{t('common:labelled', { label: t('user'), value: `${entry.username ?? entry.userId}${entry.institutionName ? ` · ${entry.institutionName}` : ''}` })}</Typography.Text>
            <br />
            <Typography.Text type="secondary">{t('common:labelled', { label: t('grantedAt'), value: formatDateTime(entry.grantedAt) })}</Typography.Text>
            <br />
            {t('common:labelled', { label: t('reason'), value: entry.reason })}
          </Typography.Paragraph>
          {review.error && <Alert type="error" showIcon title={review.error.message} />}
          <Form<ReviewValues>
            form={form}
            layout="vertical"
            initialValues={entry.reviewStatus === 'pending' ? {} : { decision: entry.reviewStatus, note: entry.reviewNote ?? undefined }}
            onFinish={(values) => review.mutate({ id: entry.id, values })}
          >
            <Form.Item name="decision" label={t('decision')} rules={[{ required: true, message: t('decisionRequired') }]}>
              <Radio.Group
                optionType="button"
                buttonStyle="solid"
                options={[
                  { value: 'justified', label: t('statuses.justified') },
                  { value: 'unjustified', label: t('statuses.unjustified') },
                ]}
                data-testid="break-glass-decision"
              />
            </Form.Item>
            <Form.Item name="note" label={t('reviewNote')}>
              <Input.TextArea rows={3} maxLength={500} showCount placeholder={t('notePlaceholder')} />
            </Form.Item>
          </Form>
        </Space>
      )}
    </Modal>
  );
}
