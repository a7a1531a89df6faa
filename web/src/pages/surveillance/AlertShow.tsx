// One alert (预警详情): the fusion rule and risk that raised it, the communities and sources, where it stands in its
// workflow, every contributing signal with its series and threshold, case reports (without identity) and its
// history; buttons for what the caller may do now (the server's `actions`, so the console never offers a move the
// workflow would refuse).
import { useState } from 'react';
import { Button, Card, Col, Descriptions, Empty, Flex, Row, Space, Steps, Table, Tag, Timeline, Typography } from 'antd';
import type { DescriptionsProps } from 'antd';
import { ArrowLeftOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api } from '../../api.ts';
import { formatDateTime } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryView } from '../../components/query-state.tsx';
import { ACTION_FORMS, AlertActionModal, MAIN_ACTIONS } from './AlertActionModal.tsx';
import { SignalChart } from './SignalChart.tsx';
import { AlertStateTag, RiskTag, useCommunities, useLocalName, useSourceName, useSyndromeLabel } from './surveillance-format.tsx';
import type { AlertAction, AlertDetail, AlertEvent, AlertSignal, AlertState } from './surveillance-types.ts';

const PATH: readonly AlertState[] = ['new', 'under_review', 'investigating'];

export default function AlertShow() {
  const { t } = useTranslation('surveillance');
  const { id = '' } = useParams();
  const detail = useQuery({ queryKey: ['surveillance', 'alerts', id], queryFn: () => api<AlertDetail>(`/surveillance/alerts/${id}`) });
  const [action, setAction] = useState<AlertAction | null>(null);
  const a = detail.data;

  return (
    <Page
      title={a ? t('alertTitle', { id: a.id }) : t('alertTitleLoading')}
      extra={
        <Space wrap>
          {a?.actions.map((x) => (
            <Button
              key={x}
              type={MAIN_ACTIONS.includes(x) ? 'primary' : 'default'}
              onClick={() => setAction(x)}
              data-testid={`alert-action-${x}`}
            >
              {t(`actions.${x}`)}
            </Button>
          ))}
          <Link to="/surveillance/alerts">
            <Button icon={<ArrowLeftOutlined />}>{t('common:back')}</Button>
          </Link>
        </Space>
      }
    >
      <QueryView query={detail} notFound={t('alertNotFound')}>
        {(alert) => (
          <>
            <AlertBody alert={alert} />
            <AlertActionModal alert={alert} action={action && ACTION_FORMS[action] ? action : null} onClose={() => setAction(null)} />
          </>
        )}
      </QueryView>
    </Page>
  );
}

function AlertBody({ alert: a }: { alert: AlertDetail }) {
  const { t } = useTranslation('surveillance');
  const name = useLocalName();
  const sourceName = useSourceName();
  const syndrome = useSyndromeLabel();
  const none = t('common:none');
  const regions = useCommunities();
  const communityName = (id: number) => {
    const c = a.communities.find((x) => x.id === id) ?? regions.data?.communities.find((x) => x.id === id);
    return c ? name(c) : `#${id}`;
  };

  const items: DescriptionsProps['items'] = [
    { key: 'risk', label: t('risk'), children: <RiskTag risk={a.riskLevel} /> },
    { key: 'state', label: t('state'), children: <AlertStateTag state={a.state} /> },
    {
      key: 'rule',
      label: t('rule'),
      children: (
        <Space size={4} wrap>
          <span data-testid="alert-rule">{name(a.rule)}</span>
          <Tag>{t(`ruleKinds.${a.rule.kind}`, { defaultValue: a.rule.kind })}</Tag>
          <Typography.Text type="secondary">{t('ruleVersion', { version: a.rule.version })}</Typography.Text>
        </Space>
      ),
    },
    { key: 'params', label: t('ruleParams'), children: <RuleParams params={a.rule.params} /> },
    { key: 'syndrome', label: t('syndrome'), children: syndrome(a.syndrome) },
    { key: 'dates', label: t('evidenceDates'), children: a.firstDate === a.lastDate ? a.firstDate : `${a.firstDate} ~ ${a.lastDate}` },
    {
      key: 'communities',
      label: t('communities'),
      span: 2,
      children: (
        <Space size={[0, 4]} wrap data-testid="alert-communities">
          {a.communities.map((c) => <Tag key={c.id}>{name(c)}</Tag>)}
        </Space>
      ),
    },
    {
      key: 'sources',
      label: t('sources'),
      span: 2,
      children: (
        <Space size={[0, 4]} wrap data-testid="alert-sources">
          {a.sources.map((s) => <Tag key={s} color="geekblue">{sourceName(s)}</Tag>)}
        </Space>
      ),
    },
    { key: 'assignee', label: t('assignee'), children: a.assignee?.name ?? none },
    { key: 'createdAt', label: t('createdAt'), children: formatDateTime(a.createdAt) },
    ...(a.diseaseCode ? [{ key: 'disease', label: t('disease'), children: a.diseaseCode }] : []),
  ];

  return (
    <Flex vertical gap={16}>
      <Card>
        <StatePath alert={a} />
      </Card>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={16}>
          <Flex vertical gap={16}>
            <Card title={t('sections.summary')}>
              <Descriptions bordered size="small" column={{ xs: 1, md: 2 }} items={items} />
            </Card>
            {a.evidence && <EvidenceCard evidence={a.evidence} />}
            <Card title={t('sections.signals', { count: a.signals.length })} data-testid="alert-signals">
              {a.signals.length === 0 ? (
                <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('noSignals')} />
              ) : (
                <Row gutter={[24, 24]}>
                  {seriesOf(a.signals).map((group) => (
                    <Col key={group.key} xs={24} xxl={12}>
                      <Flex vertical gap={4}>
                        <Typography.Text type="secondary">
                          {(group.latest.communityIds.length ? group.latest.communityIds : [group.latest.communityId]).map(communityName).join(t('listSeparator'))}
                        </Typography.Text>
                        <SignalChart signal={group.latest} signalCount={group.signals.length} />
                      </Flex>
                    </Col>
                  ))}
                </Row>
              )}
            </Card>
            {a.caseReports.length > 0 && (
              <Card title={t('sections.caseReports', { count: a.caseReports.length })}>
                <Table
                  rowKey="id"
                  size="small"
                  pagination={false}
                  dataSource={a.caseReports}
                  columns={[
                    { title: t('disease'), key: 'disease', render: (_, r) => `${name(r.disease)}（${t('diseaseClass', { class: r.disease.class })}）` },
                    { title: t('community'), key: 'community', render: (_, r) => communityName(r.communityId) },
                    { title: t('caseClass'), dataIndex: 'caseClass' },
                    { title: t('diagnosedAt'), dataIndex: 'diagnosedAt', render: formatDateTime },
                    { title: t('reportedAt'), dataIndex: 'reportedAt', render: formatDateTime },
                    { title: t('late'), dataIndex: 'late', render: (late: boolean) => (late ? <Tag color="red">{t('lateYes')}</Tag> : <Tag color="green">{t('onTime')}</Tag>) },
                  ]}
                />
              </Card>
            )}
          </Flex>
        </Col>
        <Col xs={24} xl={8}>
          <Card title={t('history')}>
            <History events={a.events} />
          </Card>
        </Col>
      </Row>
    </Flex>
  );
}

/**
 * The contributing signals by series (source, category, communities, algorithm): the daily runs signal the same series
 * on several days, and one chart of its latest 8 weeks shows them all as alarm points.
 */
function seriesOf(signals: AlertSignal[]): Array<{ key: string; latest: AlertSignal; signals: AlertSignal[] }> {
  const groups = new Map<string, AlertSignal[]>();
  for (const s of signals) {
    const key = [s.source.code, s.category.code, s.algorithm, s.series.frequency, [...s.communityIds].sort((x, y) => x - y).join('.')].join('|');
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.entries()].map(([key, list]) => ({ key, signals: list, latest: list.reduce((a, b) => (b.date > a.date ? b : a)) }));
}

/** A rule's parameters as "key: value" tags (the rules are data a district admin edits). */
function RuleParams({ params }: { params: unknown }) {
  const { t } = useTranslation('surveillance');
  if (!params || typeof params !== 'object') return <>{t('common:none')}</>;
  return (
    <Space size={[0, 4]} wrap>
      {Object.entries(params as Record<string, unknown>).map(([key, value]) => (
        <Tag key={key}>
          {t(`ruleParamNames.${key}`, { defaultValue: key })}: {Array.isArray(value) ? value.join(', ') : t(`ruleParamValues.${String(value)}`, { defaultValue: String(value) })}
        </Tag>
      ))}
    </Space>
  );
}

/** A rule that combines the sources' evidence: what each independence group brought and Fisher's combination of it. */
function EvidenceCard({ evidence: e }: { evidence: NonNullable<AlertDetail['evidence']> }) {
  const { t } = useTranslation('surveillance');
  const sourceName = useSourceName();
  const fmt = (p: number) => (p < 1e-3 ? p.toExponential(2) : p.toPrecision(3));
  return (
    <Card title={t('evidence.title')} data-testid="alert-evidence">
      <Flex vertical gap={8}>
        <Typography.Text>{t('evidence.intro', { statistic: e.statistic.toFixed(1), df: e.df, p: fmt(e.pValue), days: e.days })}</Typography.Text>
        <Descriptions bordered size="small" column={1} items={e.groups.map((g) => ({
          key: g.group,
          label: `${t('evidence.group')}: ${g.group}`,
          children: `${sourceName(g.source)} · ${g.algorithm} · ${g.date} · ${t('evidence.pValue')} ${g.pValue === null ? t('evidence.noP') : fmt(g.pValue)}`,
        }))} />
      </Flex>
    </Card>
  );
}

/** new → under review → investigating → closed, with when each step was reached. */
function StatePath({ alert: a }: { alert: AlertDetail }) {
  const { t } = useTranslation('surveillance');
  const closed = a.state === 'closed_true' || a.state === 'closed_false';
  const current = closed ? PATH.length : PATH.indexOf(a.state);
  const at = (iso: string | null) => (iso ? dayjs(iso).format('MM-DD HH:mm') : undefined);
  return (
    <Steps
      data-testid="alert-steps"
      size="small"
      current={current}
      status={closed ? 'finish' : 'process'}
      items={[
        { title: t('states.new'), content: at(a.createdAt) },
        { title: t('states.under_review'), content: at(a.reviewedAt) },
        { title: t('states.investigating'), content: at(a.investigatingAt) },
        { title: closed ? t(`states.${a.state}`) : t('closedStep'), content: at(a.closedAt) },
      ]}
    />
  );
}

function History({ events }: { events: AlertEvent[] }) {
  const { t } = useTranslation('surveillance');
  if (events.length === 0) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('noHistory')} />;
  const color = (e: AlertEvent) => (e.toState === 'closed_true' ? 'red' : e.toState === 'closed_false' ? 'gray' : e.action === 'note' ? 'gray' : 'blue');
  return (
    <Timeline
      data-testid="alert-history"
      items={events.map((e) => ({
        key: e.id,
        color: color(e),
        content: (
          <Flex vertical data-testid="alert-event" data-action={e.action}>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {formatDateTime(e.at)}
            </Typography.Text>
            <Space size={4} wrap>
              <Typography.Text strong>{t(`eventActions.${e.action}`, { defaultValue: e.action })}</Typography.Text>
              {e.toState && e.fromState !== e.toState && <span>→ {t(`states.${e.toState}`, { defaultValue: e.toState })}</span>}
            </Space>
            {e.user && <Typography.Text type="secondary">{e.user.name}</Typography.Text>}
            {e.note && <Typography.Paragraph style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{e.note}</Typography.Paragraph>}
          </Flex>
        ),
      }))}
    />
  );
}

