// One referral (转诊单): where it stands on its path, both parties, the resident, what was sent, the appointment and
// deadlines, the result summary that closes the loop, its history, and the buttons for what the caller may do now
// (the server's `actions`, so the console never offers a move the state machine would refuse).
import { useState } from 'react';
import { Alert, Button, Card, Col, Descriptions, Flex, Row, Space, Steps, Tag, Timeline, Typography } from 'antd';
import type { DescriptionsProps } from 'antd';
import { ArrowLeftOutlined, CheckCircleOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api } from '../../api.ts';
import { formatDateTime, useCodeLabels } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryView } from '../../components/query-state.tsx';
import type { Page as Paged } from '../../types.ts';
import type { TimelineItem } from '../residents/record-types.ts';
import { ActionModal, ACTION_FORMS, MAIN_ACTIONS } from './ActionModal.tsx';
import { DirectionTag, formatMinute, OverdueTag, StateTag, UrgencyTag } from './referral-format.tsx';
import type { ReferralAction, ReferralDetail, ReferralEvent, ReferralState } from './referral-types.ts';

/** The usual path of a case; other ends (rejected, redirected, cancelled, expired) branch off it. */
const PATHS: Record<'up' | 'down', readonly ReferralState[]> = {
  up: ['requested', 'accepted', 'scheduled', 'arrived', 'completed', 'closed'],
  down: ['requested', 'accepted', 'closed'],
};

export default function ReferralShow() {
  const { t } = useTranslation('referrals');
  const { id = '' } = useParams();
  const detail = useQuery({ queryKey: ['referrals', id], queryFn: () => api<ReferralDetail>(`/referrals/${id}`) });
  const [action, setAction] = useState<ReferralAction | null>(null);
  const r = detail.data;

  return (
    <Page
      title={r ? t('showTitle', { id: r.id, resident: r.resident.name }) : t('showTitleLoading')}
      extra={
        <Space wrap>
          {r?.actions.map((a) => (
            <Button
              key={a}
              type={MAIN_ACTIONS.includes(a) ? 'primary' : 'default'}
              danger={ACTION_FORMS[a].danger}
              onClick={() => setAction(a)}
              data-testid={`action-${a}`}
            >
              {t(`actions.${a}`)}
            </Button>
          ))}
          <Link to="/referrals">
            <Button icon={<ArrowLeftOutlined />}>{t('common:back')}</Button>
          </Link>
        </Space>
      }
    >
      <QueryView query={detail} notFound={t('notFound')}>
        {(referral) => (
          <>
            <ReferralBody referral={referral} />
            <ActionModal referral={referral} action={action} onClose={() => setAction(null)} />
          </>
        )}
      </QueryView>
    </Page>
  );
}

function ReferralBody({ referral: r }: { referral: ReferralDetail }) {
  const { t } = useTranslation('referrals');
  const labels = useCodeLabels();
  const none = t('common:none');
  const up = r.direction === 'up';

  const caseItems: DescriptionsProps['items'] = [
    { key: 'state', label: t('state'), children: <Space size={[0, 4]} wrap><StateTag state={r.state} />{r.overdue && <OverdueTag dueAt={r.dueAt} />}</Space> },
    { key: 'kind', label: t('kind'), children: <Space size={[0, 4]} wrap><DirectionTag direction={r.direction} /><UrgencyTag urgency={r.urgency} always /></Space> },
    { key: 'requestedAt', label: t('requestedAt'), children: formatDateTime(r.requestedAt) },
    {
      key: 'dueAt',
      label: t('dueAt'),
      children: r.dueAt ? (
        <Typography.Text type={r.overdue ? 'danger' : undefined} strong={r.overdue} data-testid="referral-due">
          {formatMinute(r.dueAt)}
        </Typography.Text>
      ) : (
        none
      ),
    },
    ...(r.expiresAt ? [{ key: 'expiresAt', label: t('expiresAt'), children: formatMinute(r.expiresAt) }] : []),
    ...(r.stateReason ? [{ key: 'stateReason', label: t('stateReason'), children: t(`stateReasons.${r.stateReason}`, { defaultValue: r.stateReason }) }] : []),
    ...(r.redirectedFrom ? [{ key: 'from', label: t('redirectedFrom'), children: <Link to={`/referrals/${r.redirectedFrom}`}>#{r.redirectedFrom}</Link> }] : []),
    ...(r.redirectedTo ? [{ key: 'to', label: t('redirectedTo'), children: <Link to={`/referrals/${r.redirectedTo}`}>#{r.redirectedTo}</Link> }] : []),
  ];

  const partyItems: DescriptionsProps['items'] = [
    { key: 'source', label: t('source'), children: [r.source.institutionName, r.source.practitionerName].filter(Boolean).join(' · ') },
    { key: 'target', label: t('target'), children: r.target.institutionName },
    up
      ? { key: 'department', label: t('department'), children: r.target.department ?? none }
      : { key: 'team', label: t('team'), children: r.target.teamName ?? none },
    {
      key: 'resident',
      label: t('resident'),
      children: (
        <Space wrap>
          <Link to={`/residents/${r.resident.id}`}>{r.resident.name}</Link>
          <span>{labels.sex(r.resident.sex)}</span>
          <span>{r.resident.birthDate}</span>
          {r.resident.idNumberMasked && <Typography.Text code data-testid="masked-id">{r.resident.idNumberMasked}</Typography.Text>}
        </Space>
      ),
    },
  ];

  const clinicalItems: DescriptionsProps['items'] = [
    { key: 'reason', label: up ? t('reason') : t('downReason'), children: r.reason, span: 'filled' },
    {
      key: 'diagnosis',
      label: t('diagnosis'),
      children: r.diagnosis ? (
        <Space>
          <Typography.Text code>{r.diagnosis.code}</Typography.Text>
          {r.diagnosis.display}
        </Space>
      ) : (
        none
      ),
      span: 'filled',
    },
    { key: 'summary', label: up ? t('summary') : t('dischargeSummary'), children: <Prose text={r.summary} />, span: 'filled' },
    { key: 'attachments', label: t('attachments'), children: <Attachments referral={r} />, span: 'filled' },
    ...(up
      ? []
      : [
          {
            key: 'medications',
            label: t('medications'),
            span: 'filled' as const,
            children: r.medications?.length ? (
              <Flex vertical>{r.medications.map((m, i) => <span key={i}>{[m.name, m.dose].filter(Boolean).join(' · ')}</span>)}</Flex>
            ) : (
              none
            ),
          },
          { key: 'plan', label: t('followUpPlan'), children: <Prose text={r.followUpPlan} />, span: 'filled' as const },
          { key: 'followUpDue', label: t('followUpDueAt'), children: formatMinute(r.followUpDueAt) ?? none },
          { key: 'followedUp', label: t('followedUpAt'), children: formatMinute(r.followedUpAt) ?? none },
          ...(r.followUpNote ? [{ key: 'followUpNote', label: t('followUpNote'), children: r.followUpNote, span: 'filled' as const }] : []),
        ]),
  ];

  return (
    <Flex vertical gap={16}>
      <Card>
        <StatePath referral={r} />
      </Card>
      {r.overdue && (
        <Alert type="error" showIcon title={t('overdueAlert', { at: formatMinute(r.dueAt) })} data-testid="overdue-alert" />
      )}
      {r.resultSummary && (
        <Alert
          type="success"
          showIcon
          icon={<CheckCircleOutlined />}
          title={t('resultReturned', { at: formatMinute(r.closedAt) ?? none })}
          description={<Prose text={r.resultSummary} />}
          data-testid="result-summary"
        />
      )}
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={16}>
          <Flex vertical gap={16}>
            <Card title={t('sections.case')}>
              <Descriptions bordered size="small" column={{ xs: 1, md: 2 }} items={caseItems} />
            </Card>
            <Card title={t('sections.parties')}>
              <Descriptions bordered size="small" column={{ xs: 1, md: 2 }} items={partyItems} />
            </Card>
            {up && (
              <Card title={t('appointment')} data-testid="referral-appointment">
                {r.appointment?.start ? (
                  <Space>
                    <Typography.Text strong>{formatMinute(r.appointment.start)}</Typography.Text>
                    <Tag>{t(`appointmentStatuses.${r.appointment.status}`, { defaultValue: r.appointment.status })}</Tag>
                    {r.target.department && <span>{r.target.department}</span>}
                  </Space>
                ) : (
                  <Typography.Text type="secondary">{t('noAppointment')}</Typography.Text>
                )}
              </Card>
            )}
            <Card title={t('sections.clinical')}>
              <Descriptions bordered size="small" column={1} items={clinicalItems} />
            </Card>
          </Flex>
        </Col>
        <Col xs={24} xl={8}>
          <Card title={t('history')}>
            <History events={r.events} />
          </Card>
        </Col>
      </Row>
    </Flex>
  );
}

/** The usual path as steps: done up to where the case is, red where it left the path. */
function StatePath({ referral: r }: { referral: ReferralDetail }) {
  const { t } = useTranslation('referrals');
  const path = PATHS[r.direction];
  const reachedAt = new Map<ReferralState, string>();
  for (const e of r.events) if (!reachedAt.has(e.toState)) reachedAt.set(e.toState, e.at);
  const onPath = path.includes(r.state);
  // off the path: the last state of the path the case reached before it ended
  const current = onPath ? path.indexOf(r.state) : Math.max(0, ...path.map((s, i) => (reachedAt.has(s) ? i : 0)));
  return (
    <Flex vertical gap={12}>
      <Steps
        data-testid="referral-steps"
        current={current}
        status={onPath ? (r.state === 'closed' ? 'finish' : 'process') : 'error'}
        size="small"
        items={path.map((s, i) => ({
          title: t(`states.${s}`),
          content: reachedAt.has(s) ? dayjs(reachedAt.get(s)).format('MM-DD HH:mm') : undefined,
          ...(i === current && !onPath ? { subTitle: t(`states.${r.state}`) } : {}),
        }))}
      />
      {!onPath && (
        <Alert type="warning" showIcon title={t('endedOffPath', { state: t(`states.${r.state}`) })} />
      )}
    </Flex>
  );
}

function History({ events }: { events: ReferralEvent[] }) {
  const { t } = useTranslation('referrals');
  const color = (e: ReferralEvent) =>
    ['reject', 'cancel', 'no-show', 'expire', 'escalate'].includes(e.action) ? 'red' : e.toState === 'closed' ? 'green' : 'blue';
  return (
    <Timeline
      data-testid="referral-history"
      items={events.map((e, i) => ({
        key: i,
        color: color(e),
        content: (
          <Flex vertical data-testid="referral-event" data-action={e.action}>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {formatDateTime(e.at)}
            </Typography.Text>
            <Space size={4} wrap>
              <Typography.Text strong>{t(`eventActions.${e.action}`, { defaultValue: e.action })}</Typography.Text>
              {e.fromState !== e.toState && <span>→ {t(`states.${e.toState}`)}</span>}
            </Space>
            {e.user && <Typography.Text type="secondary">{e.user}</Typography.Text>}
            {e.note && <Typography.Text type="secondary">{e.note}</Typography.Text>}
          </Flex>
        ),
      }))}
    />
  );
}

function Prose({ text }: { text: string | null }) {
  const { t } = useTranslation();
  if (!text) return <>{t('common:none')}</>;
  return <Typography.Paragraph style={{ whiteSpace: 'pre-wrap', marginBottom: 0 }}>{text}</Typography.Paragraph>;
}

/** The records sent along, named from the resident's shared record where the caller may read it. */
function Attachments({ referral: r }: { referral: ReferralDetail }) {
  const { t } = useTranslation('referrals');
  const records = useQuery({
    queryKey: ['residents', r.resident.id, 'timeline', 'attachments'],
    queryFn: () => api<Paged<TimelineItem>>(`/residents/${r.resident.id}/timeline`, { query: { pageSize: 200 } }),
    enabled: r.attachments.length > 0,
    retry: false,
  });
  if (r.attachments.length === 0) return <>{t('common:none')}</>;
  const named = new Map((records.data?.items ?? []).map((item) => [`${item.fhirType}:${item.id}`, item]));
  return (
    <Flex vertical gap={4} data-testid="referral-attachment-list">
      {r.attachments.map((a) => {
        const item = named.get(`${a.type}:${a.id}`);
        return (
          <Space key={`${a.type}:${a.id}`} size={8} wrap>
            <Tag>{t(`attachmentTypes.${a.type}`, { defaultValue: a.type })}</Tag>
            {item ? (
              <>
                <span>{item.title}</span>
                {(item.value ?? item.valueText) !== null && <span>{[item.value ?? item.valueText, item.unit].filter(Boolean).join(' ')}</span>}
                <Typography.Text type="secondary">{dayjs(item.at).format('YYYY-MM-DD')} · {item.institutionName}</Typography.Text>
              </>
            ) : (
              <Typography.Text type="secondary">#{a.id}</Typography.Text>
            )}
          </Space>
        );
      })}
      <Link to={`/residents/${r.resident.id}?tab=record`}>{t('openRecord')}</Link>
    </Flex>
  );
}
