// The team's sessions at community health posts (健康驿站): the list (newest first, with how many follow-ups and checks
// were made there), a new session, and one session's visits, from which a follow-up (mode health_post) or an elderly
// health check is recorded within the session for a resident chosen there.
import { useState } from 'react';
import { App, Button, Card, DatePicker, Descriptions, Empty, Form, Input, InputNumber, Modal, Space, Table, Tag, Typography } from 'antd';
import { ArrowLeftOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { api } from '../../api.ts';
import { formatDateTime } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { listPagination } from '../../components/paging.ts';
import { QueryView } from '../../components/query-state.tsx';
import { useUrlFilters } from '../../components/url-filters.ts';
import type { Id, Page as Paged } from '../../types.ts';
import { ResidentPicker } from '../referrals/New.tsx';
import { ClassificationTag, consoleSourceId, useProgrammeName } from './chronic-format.tsx';
import { elderlyCheckPath } from './ElderlyCheck.tsx';
import { followUpPath } from './Worklist.tsx';

interface Session {
  id: Id;
  team: { id: Id; name: string };
  sessionDate: string;
  postName: string;
  location: string | null;
  community: { id: Id; name: string } | null;
  attendees: number;
  topic: string | null;
  note: string | null;
  followUps: number;
  checks: number;
}
interface Visit {
  kind: 'follow_up' | 'elderly_check';
  id: Id;
  resident: { id: Id; name: string };
  at: string;
  programme: string | null;
  classification: string | null;
  urgent: boolean;
}

export function HealthPostList() {
  const { t } = useTranslation('care');
  const navigate = useNavigate();
  const { page, pageSize, update } = useUrlFilters([] as const);
  const [creating, setCreating] = useState(false);
  const list = useQuery({
    queryKey: ['health-post-sessions', page, pageSize],
    queryFn: () => api<Paged<Session>>('/health-post-sessions', { query: { page, pageSize } }),
    placeholderData: keepPreviousData,
  });
  return (
    <Page
      title={t('posts.title')}
      extra={
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="post-new">
          {t('posts.new')}
        </Button>
      }
    >
      <Card>
        <Table<Session>
          rowKey="id"
          loading={list.isFetching}
          dataSource={list.data?.items}
          data-testid="post-table"
          locale={{ emptyText: <Empty description={t('posts.empty')} /> }}
          pagination={listPagination(t, page, pageSize, list.data?.total ?? 0, (p, size) => update({ page: p, pageSize: size }))}
          onRow={(s) => ({ onClick: () => void navigate(`/health-posts/${s.id}`), style: { cursor: 'pointer' } })}
          columns={[
            { title: t('posts.sessionDate'), key: 'date', width: 120, render: (_, s) => s.sessionDate },
            { title: t('posts.postName'), key: 'name', render: (_, s) => <Link to={`/health-posts/${s.id}`} data-testid="post-link">{s.postName}</Link> },
            { title: t('posts.topic'), key: 'topic', render: (_, s) => s.topic ?? t('common:none') },
            { title: t('posts.team'), key: 'team', render: (_, s) => s.team.name },
            { title: t('posts.attendees'), key: 'attendees', render: (_, s) => s.attendees },
            { title: t('posts.followUps'), key: 'followUps', render: (_, s) => <span data-testid="post-follow-ups">{s.followUps}</span> },
            { title: t('posts.checks'), key: 'checks', render: (_, s) => s.checks },
          ]}
        />
      </Card>
      {creating && <NewSession onClose={() => setCreating(false)} onCreated={(s) => void navigate(`/health-posts/${s.id}`)} />}
    </Page>
  );
}

function NewSession({ onClose, onCreated }: { onClose: () => void; onCreated: (s: Session) => void }) {
  const { t } = useTranslation('care');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<{ sessionDate: Dayjs; postName: string; location?: string; attendees: number; topic?: string; note?: string }>();
  const [sourceId] = useState(consoleSourceId);
  const create = useMutation({
    mutationFn: (v: { sessionDate: Dayjs; postName: string; location?: string; attendees: number; topic?: string; note?: string }) =>
      api<Session>('/health-post-sessions', {
        method: 'POST',
        body: { sessionDate: v.sessionDate.format('YYYY-MM-DD'), postName: v.postName.trim(), location: v.location || undefined, attendees: v.attendees, topic: v.topic || undefined, note: v.note || undefined, sourceId },
      }),
    onSuccess: (s) => {
      void message.success(t('posts.created'));
      void queryClient.invalidateQueries({ queryKey: ['health-post-sessions'] });
      onCreated(s);
    },
  });
  return (
    <Modal open title={t('posts.new')} onCancel={onClose} okText={t('confirm')} confirmLoading={create.isPending} onOk={() => void form.validateFields().then((v) => create.mutate(v))} okButtonProps={{ 'data-testid': 'post-confirm' }}>
      {create.error && <Typography.Paragraph type="danger">{create.error.message}</Typography.Paragraph>}
      <Form form={form} layout="vertical" initialValues={{ sessionDate: dayjs(), attendees: 0 }}>
        <Form.Item name="sessionDate" label={t('posts.sessionDate')} rules={[{ required: true, message: t('posts.validation.sessionDate') }]}>
          <DatePicker allowClear={false} />
        </Form.Item>
        <Form.Item name="postName" label={t('posts.postName')} rules={[{ required: true, whitespace: true, message: t('posts.validation.postName') }]}>
          <Input maxLength={200} data-testid="post-name" />
        </Form.Item>
        <Form.Item name="location" label={t('posts.location')}>
          <Input maxLength={200} />
        </Form.Item>
        <Form.Item name="attendees" label={t('posts.attendees')} rules={[{ required: true, message: t('posts.validation.attendees') }]}>
          <InputNumber min={0} max={100000} data-testid="post-attendees" />
        </Form.Item>
        <Form.Item name="topic" label={t('posts.topic')}>
          <Input maxLength={200} data-testid="post-topic" />
        </Form.Item>
        <Form.Item name="note" label={t('posts.note')}>
          <Input.TextArea rows={2} maxLength={2000} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

export default function HealthPostShow() {
  const { t } = useTranslation('care');
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const programmeName = useProgrammeName();
  const [resident, setResident] = useState<Id | undefined>();
  const session = useQuery({ queryKey: ['health-post-sessions', id], queryFn: () => api<Session & { visits: Visit[] }>(`/health-post-sessions/${id}`) });
  return (
    <Page
      title={session.data ? t('posts.session', { name: session.data.postName, day: session.data.sessionDate }) : t('posts.title')}
      extra={
        <Link to="/health-posts">
          <Button icon={<ArrowLeftOutlined />}>{t('posts.back')}</Button>
        </Link>
      }
    >
      <QueryView query={session}>
        {(s) => (
          <>
            <Card>
              <Descriptions
                size="small"
                column={{ xs: 1, md: 3 }}
                items={[
                  { key: 'team', label: t('posts.team'), children: s.team.name },
                  { key: 'location', label: t('posts.location'), children: s.location ?? s.community?.name ?? t('common:none') },
                  { key: 'attendees', label: t('posts.attendees'), children: s.attendees },
                  { key: 'topic', label: t('posts.topic'), children: s.topic ?? t('common:none') },
                  { key: 'note', label: t('posts.note'), children: s.note ?? t('common:none') },
                ]}
              />
            </Card>
            <Card title={t('posts.visits')}>
              <Space wrap style={{ marginBottom: 16 }}>
                <Typography.Text>{t('posts.pickResident')}</Typography.Text>
                <ResidentPicker value={resident} onChange={setResident} testId="post-resident" />
                <Button type="primary" icon={<EditOutlined />} disabled={!resident} onClick={() => resident && void navigate(`${followUpPath(resident)}?sessionId=${s.id}`)} data-testid="post-follow-up">
                  {t('posts.recordFollowUp')}
                </Button>
                <Button disabled={!resident} onClick={() => resident && void navigate(elderlyCheckPath(resident, s.id))} data-testid="post-check">
                  {t('posts.recordCheck')}
                </Button>
              </Space>
              <Table<Visit>
                rowKey={(v) => `${v.kind}-${v.id}`}
                size="small"
                pagination={false}
                dataSource={s.visits}
                data-testid="post-visits"
                locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('posts.noVisits')} /> }}
                columns={[
                  { title: t('chronic:followUp.visitAt'), key: 'at', render: (_, v) => formatDateTime(v.at) },
                  { title: t('posts.kind'), key: 'kind', render: (_, v) => <Tag data-testid="visit-kind" data-kind={v.kind}>{t(`posts.kinds.${v.kind}`)}</Tag> },
                  { title: t('chronic:resident'), key: 'resident', render: (_, v) => <Link to={`/worklist/residents/${v.resident.id}`}>{v.resident.name}</Link> },
                  { title: t('chronic:programme'), key: 'programme', render: (_, v) => (v.programme ? programmeName(v.programme) : t('common:none')) },
                  { title: t('chronic:followUp.classification'), key: 'class', render: (_, v) => <ClassificationTag classification={v.classification} /> },
                ]}
              />
            </Card>
          </>
        )}
      </QueryView>
    </Page>
  );
}
