// A resident's chronic-disease programme page (慢病管理档案): the programmes they are enrolled in, the open tasks
// (with the institution each came from), blood pressure and glucose over time from every institution, and the
// follow-up history of every programme, newest first.
import { Button, Card, Descriptions, Empty, Space, Table, Typography } from 'antd';
import { ArrowLeftOutlined, EditOutlined, ProfileOutlined, SolutionOutlined } from '@ant-design/icons';
import { useQueries, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api } from '../../api.ts';
import { formatDateTime, useCodeLabels } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryView } from '../../components/query-state.tsx';
import { currentLanguage } from '../../i18n/index.ts';
import type { Items, Page as Paged, ResidentDetail } from '../../types.ts';
import { ClassificationTag, ContractStatusTag, formatDay, LastReadings, OverdueTag, PriorityTag, useProgrammeName, WorkKindTag } from './chronic-format.tsx';
import type { Contract, Enrolment, FollowUp, OpenTask, Programme, ResidentCare } from './chronic-types.ts';
import { useReasonText } from './FollowUpForm.tsx';
import { ReadingCharts } from './ReadingCharts.tsx';
import { elderlyCheckPath } from './ElderlyCheck.tsx';
import { CouponsCard, DeliveriesCard, PrescriptionsCard } from './Medication.tsx';
import { followUpPath, useProgrammes } from './Worklist.tsx';

export default function ProgrammePage() {
  const { t } = useTranslation('chronic');
  const { id = '' } = useParams();
  const resident = useQuery({ queryKey: ['residents', id], queryFn: () => api<ResidentDetail>(`/residents/${id}`) });
  const care = useQuery({ queryKey: ['chronic', 'residents', id], queryFn: () => api<ResidentCare>(`/chronic/residents/${id}`) });
  const programmes = useProgrammes();
  const enrolled = care.data?.enrolments.some((e) => e.status === 'active');
  return (
    <Page
      title={resident.data ? `${t('programmePage.title')} · ${resident.data.name}` : t('programmePage.title')}
      extra={
        <Space wrap>
          {enrolled && (
            <Link to={followUpPath(Number(id))}>
              <Button type="primary" icon={<EditOutlined />} data-testid="programme-follow-up">
                {t('worklist.recordFollowUp')}
              </Button>
            </Link>
          )}
          {resident.data && resident.data.age >= 65 && (
            <Link to={elderlyCheckPath(Number(id))}>
              <Button icon={<SolutionOutlined />} data-testid="programme-elderly-check">
                {t('care:elderly.open')}
              </Button>
            </Link>
          )}
          <Link to={`/residents/${id}`}>
            <Button icon={<ProfileOutlined />}>{t('programmePage.healthRecord')}</Button>
          </Link>
          <Link to="/worklist">
            <Button icon={<ArrowLeftOutlined />}>{t('programmePage.backToWorklist')}</Button>
          </Link>
        </Space>
      }
    >
      <QueryView query={care}>
        {(c) => (
          <>
            <Basics resident={resident.data} care={c} />
            <Enrolments enrolments={c.enrolments} />
            <Tasks tasks={c.openTasks} residentId={c.residentId} />
            <ReadingCharts residentId={c.residentId} programmes={programmes.data?.items ?? []} />
            {c.enrolments.length > 0 && (
              <>
                <PrescriptionsCard residentId={c.residentId} enrolments={c.enrolments} />
                <CouponsCard residentId={c.residentId} enrolled={!!enrolled} />
                <DeliveriesCard residentId={c.residentId} />
              </>
            )}
            <History enrolments={c.enrolments} programmes={programmes.data?.items ?? []} />
          </>
        )}
      </QueryView>
    </Page>
  );
}

function Basics({ resident, care }: { resident: ResidentDetail | undefined; care: ResidentCare }) {
  const { t } = useTranslation('chronic');
  const labels = useCodeLabels();
  const contracts = useQuery({
    queryKey: ['contracts', 'resident', care.residentId],
    queryFn: () => api<Paged<Contract>>('/contracts', { query: { residentId: care.residentId, status: 'active', pageSize: 1 } }),
  });
  const contract = contracts.data?.items[0];
  return (
    <Card title={t('programmePage.basics')}>
      <Descriptions
        bordered
        size="small"
        column={{ xs: 1, md: 2, xl: 3 }}
        items={[
          { key: 'name', label: t('resident'), children: resident ? t('programmePage.residentLine', { name: resident.name, sex: labels.sex(resident.sex), age: resident.age }) : t('common:none') },
          { key: 'grid', label: t('grid'), children: resident?.gridName ?? t('common:none') },
          {
            key: 'contract',
            label: t('programmePage.contract'),
            children: contract ? (
              <Space size={4} wrap data-testid="programme-contract">
                <ContractStatusTag status={contract.status} />
                {contract.team.name}
                <Typography.Text type="secondary">{t('contracts.term', { start: contract.startDate, end: contract.endDate })}</Typography.Text>
              </Space>
            ) : (
              <Typography.Text type="secondary">{t('programmePage.noContract')}</Typography.Text>
            ),
          },
          { key: 'readings', label: t('lastReadings'), children: <LastReadings readings={care.lastReadings} />, span: 2 },
          {
            key: 'medications',
            label: t('programmePage.medications'),
            children: care.medications.length ? care.medications.map((m) => [m.name, m.dose].filter(Boolean).join(' ')).join(t('separator')) : t('common:none'),
          },
        ]}
      />
    </Card>
  );
}

function Enrolments({ enrolments }: { enrolments: Enrolment[] }) {
  const { t } = useTranslation('chronic');
  const programmeName = useProgrammeName();
  return (
    <Card title={t('programmePage.enrolments')}>
      <Table<Enrolment>
        rowKey="id"
        size="small"
        pagination={false}
        dataSource={enrolments}
        data-testid="enrolment-table"
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('programmePage.noEnrolments')} /> }}
        columns={[
          { title: t('programme'), key: 'programme', render: (_, e) => <Typography.Text strong>{programmeName(e.programme)}</Typography.Text> },
          { title: t('programmePage.status'), key: 'status', render: (_, e) => t(`programmePage.statuses.${e.status}`, { defaultValue: e.status }) },
          { title: t('programmePage.diagnosis'), key: 'dx', render: (_, e) => e.diagnosis?.code ?? t('common:none') },
          { title: t('programmePage.started'), key: 'start', render: (_, e) => formatDay(e.startedAt) },
          { title: t('programmePage.lastFollowUp'), key: 'last', render: (_, e) => formatDay(e.lastFollowUpAt) ?? t('common:none') },
          { title: t('lastClassification'), key: 'class', render: (_, e) => <ClassificationTag classification={e.lastClassification} /> },
          { title: t('nextDue'), key: 'next', render: (_, e) => formatDay(e.nextDueAt) ?? t('common:none') },
        ]}
      />
    </Card>
  );
}

function Tasks({ tasks, residentId }: { tasks: OpenTask[]; residentId: number }) {
  const { t } = useTranslation('chronic');
  return (
    <Card title={t('programmePage.openTasks')}>
      <Table<OpenTask>
        rowKey="id"
        size="small"
        pagination={false}
        dataSource={tasks}
        data-testid="task-table"
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('programmePage.noTasks')} data-testid="tasks-empty" /> }}
        columns={[
          {
            title: t('worklist.work'),
            key: 'kind',
            width: 160,
            render: (_, task) => (
              <Space size={[0, 4]} wrap>
                <PriorityTag priority={task.priority} />
                <WorkKindTag kind={task.kind} />
              </Space>
            ),
          },
          { title: t('worklist.what'), key: 'what', render: (_, task) => task.description ?? t('common:none') },
          { title: t('programmePage.from'), key: 'source', render: (_, task) => task.source.institutionName },
          {
            title: t('worklist.due'),
            key: 'due',
            render: (_, task) => (
              <Space size={4}>
                {formatDay(task.dueAt) ?? t('common:none')}
                {task.overdue && <OverdueTag dueAt={task.dueAt} />}
              </Space>
            ),
          },
          {
            title: t('common:actions'),
            key: 'open',
            render: (_, task) => <Link to={followUpPath(residentId, task.enrolmentId ?? undefined)}>{t('worklist.recordFollowUp')}</Link>,
          },
        ]}
      />
    </Card>
  );
}

function History({ enrolments, programmes }: { enrolments: Enrolment[]; programmes: Programme[] }) {
  const { t } = useTranslation('chronic');
  const programmeName = useProgrammeName();
  const lists = useQueries({
    queries: enrolments.map((e) => ({
      queryKey: ['chronic', 'enrolments', e.id, 'follow-ups'],
      queryFn: () => api<Items<FollowUp>>(`/chronic/enrolments/${e.id}/follow-ups`),
    })),
  });
  const rows = lists.flatMap((l) => l.data?.items ?? []).sort((a, b) => b.visitAt.localeCompare(a.visitAt) || b.id - a.id);
  return (
    <Card title={t('programmePage.history')}>
      <Table<FollowUp>
        rowKey="id"
        size="small"
        loading={lists.some((l) => l.isPending)}
        dataSource={rows}
        data-testid="history-table"
        pagination={{ pageSize: 10, hideOnSinglePage: true }}
        scroll={{ x: 1000 }}
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('programmePage.noFollowUps')} data-testid="history-empty" /> }}
        expandable={{ expandedRowRender: (f) => <FollowUpDetail followUp={f} programme={programmes.find((p) => p.code === f.programme)} />, rowExpandable: () => true }}
        columns={[
          { title: t('followUp.visitAt'), key: 'at', width: 160, render: (_, f) => formatDateTime(f.visitAt) },
          { title: t('programme'), key: 'programme', render: (_, f) => programmeName(f.programme) },
          { title: t('followUp.mode'), key: 'mode', render: (_, f) => t(`modes.${f.mode}`) },
          {
            title: t('bloodPressure'),
            key: 'bp',
            render: (_, f) => (f.sbp !== null || f.dbp !== null ? <span data-testid="history-bp">{t('bpValue', { sbp: f.sbp ?? '—', dbp: f.dbp ?? '—' })}</span> : t('common:none')),
          },
          { title: t('measures.fpg'), key: 'fpg', render: (_, f) => f.fpg ?? t('common:none') },
          { title: t('followUp.classification'), key: 'class', render: (_, f) => <ClassificationTag classification={f.classification} /> },
          { title: t('nextDue'), key: 'next', render: (_, f) => formatDay(f.nextDueAt) },
        ]}
      />
    </Card>
  );
}

function FollowUpDetail({ followUp: f, programme }: { followUp: FollowUp; programme: Programme | undefined }) {
  const { t } = useTranslation('chronic');
  const reasonText = useReasonText(programme);
  const sign = (code: string) => {
    const d = programme?.rules.dangerSigns.find((x) => x.code === code);
    return d ? (currentLanguage() === 'en' ? d.en : d.zh) : t(`symptoms.${code}`, { defaultValue: code });
  };
  const l = f.lifestyle;
  return (
    <Descriptions
      size="small"
      column={{ xs: 1, md: 2 }}
      items={[
        { key: 'symptoms', label: t('followUp.symptoms'), children: f.symptoms.length ? f.symptoms.map(sign).join(t('separator')) : t('followUp.noSymptoms') },
        { key: 'meds', label: t('programmePage.medications'), children: f.medications.map((m) => [m.name, m.dose].filter(Boolean).join(' ')).join(t('separator')) || t('common:none') },
        { key: 'adherence', label: t('followUp.adherence'), children: f.adherence ? t(`adherence.${f.adherence}`) : t('common:none') },
        { key: 'body', label: t('followUp.bmi'), children: f.bmi !== null ? t('programmePage.bmiLine', { bmi: f.bmi, weight: f.weightKg, height: f.heightCm }) : t('common:none') },
        {
          key: 'lifestyle',
          label: t('followUp.lifestyle'),
          children:
            [
              l.smokingPerDay !== undefined && `${t('followUp.smoking')} ${l.smokingPerDay}`,
              l.drinkingPerDay !== undefined && `${t('followUp.drinking')} ${l.drinkingPerDay} ml`,
              l.exerciseTimesPerWeek !== undefined && `${t('followUp.exerciseTimes')} ${l.exerciseTimesPerWeek}`,
              l.salt && `${t('followUp.salt')} ${t(`salt.${l.salt}`)}`,
            ]
              .filter(Boolean)
              .join(t('separator')) || t('common:none'),
        },
        { key: 'reasons', label: t('programmePage.reasons'), children: f.reasons.length ? f.reasons.map(reasonText).join(t('separator')) : t('common:none') },
        { key: 'rules', label: t('ruleVersion'), children: `v${f.ruleVersion}` },
        { key: 'note', label: t('followUp.note'), children: f.note ?? t('common:none') },
      ]}
    />
  );
}
