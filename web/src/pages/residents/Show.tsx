import { useState, type ReactNode } from 'react';
import { App, Button, Card, Col, Descriptions, Empty, Row, Space, Steps, Table, Tabs, Tag, Typography } from 'antd';
import { ArrowLeftOutlined, EyeOutlined, SafetyCertificateOutlined, SwapOutlined } from '@ant-design/icons';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useParams, useSearchParams } from 'react-router';
import { api } from '../../api.ts';
import { useUser } from '../../auth.ts';
import { ResidentTags, useCodeLabels } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryView } from '../../components/query-state.tsx';
import type { CareChain, Household, Ref, ResidentDetail, ResidentSummary } from '../../types.ts';
import { canSendReferrals } from '../referrals/referral-types.ts';
import { BeforeOrdering } from './BeforeOrdering.tsx';
import { BreakGlassBanner, OutOfScope } from './BreakGlass.tsx';
import { HealthRecord } from './HealthRecord.tsx';
import { ReasonModal } from './ReasonModal.tsx';
import { isOutOfScope } from './record-format.tsx';
import { Trends } from './Trends.tsx';

const TABS = ['overview', 'record', 'trends', 'recognition'] as const;
type TabKey = (typeof TABS)[number];

export default function ResidentShow() {
  const { t } = useTranslation('resident');
  const { id = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const tab: TabKey = TABS.find((key) => key === params.get('tab')) ?? 'overview';
  const detail = useQuery({ queryKey: ['residents', id], queryFn: () => api<ResidentDetail>(`/residents/${id}`) });
  const user = useUser();

  return (
    <Page
      title={detail.data ? `${t('title')} · ${detail.data.name}` : t('title')}
      extra={
        <Space>
          {detail.data && canSendReferrals(user) && (
            <Link to={`/referrals/new?residentId=${detail.data.id}`}>
              <Button type="primary" icon={<SwapOutlined />} data-testid="resident-refer">
                {t('referrals:refer')}
              </Button>
            </Link>
          )}
          <Link to="/residents">
            <Button icon={<ArrowLeftOutlined />}>{t('common:back')}</Button>
          </Link>
        </Space>
      }
    >
      {isOutOfScope(detail.error) ? (
        <OutOfScope residentId={id} />
      ) : (
        <QueryView query={detail} notFound={t('notFound')}>
          {(r) => (
            <>
              <BreakGlassBanner residentId={r.id} />
              <Tabs
                activeKey={tab}
                // the tab lives in the URL so a link can open the record or the trends directly
                onChange={(key) => setParams(key === 'overview' ? {} : { tab: key }, { replace: true })}
                destroyOnHidden
                items={[
                  { key: 'overview', label: t('tabs.overview'), children: <Overview resident={r} /> },
                  { key: 'record', label: <span data-testid="tab-record">{t('tabs.record')}</span>, children: <HealthRecord residentId={r.id} /> },
                  { key: 'trends', label: <span data-testid="tab-trends">{t('tabs.trends')}</span>, children: <Trends residentId={r.id} /> },
                  { key: 'recognition', label: <span data-testid="tab-recognition">{t('tabs.recognition')}</span>, children: <BeforeOrdering residentId={r.id} /> },
                ]}
              />
            </>
          )}
        </QueryView>
      )}
    </Page>
  );
}

function Overview({ resident: r }: { resident: ResidentDetail }) {
  const { t } = useTranslation('resident');
  const labels = useCodeLabels();
  const [revealedId, setRevealedId] = useState<string | null>(null);
  const [revealOpen, setRevealOpen] = useState(false);
  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }}>
      <Card
        title={t('basics')}
        extra={
          !revealedId && r.hasIdNumber !== false && r.idNumberMasked && (
            <Button icon={<EyeOutlined />} onClick={() => setRevealOpen(true)} data-testid="reveal-id">
              {t('reveal')}
            </Button>
          )
        }
      >
        <Descriptions
          bordered
          size="small"
          column={{ xs: 1, md: 2, xl: 3 }}
          items={[
            { key: 'name', label: t('residents:name'), children: r.name },
            { key: 'sex', label: t('residents:sex'), children: labels.sex(r.sex) },
            { key: 'birth', label: t('residents:birthDate'), children: r.birthDate },
            { key: 'age', label: t('residents:age'), children: t('residents:ageYears', { age: r.age }) },
            {
              key: 'id',
              label: t('residents:idNumber'),
              children: revealedId ? (
                <Space>
                  <Typography.Text code copyable data-testid="revealed-id">{revealedId}</Typography.Text>
                  <Tag icon={<SafetyCertificateOutlined />} color="warning">{t('revealedTag')}</Tag>
                </Space>
              ) : (
                r.idNumberMasked ? (
                  <Typography.Text code data-testid="masked-id">{r.idNumberMasked}</Typography.Text>
                ) : (
                  <Typography.Text type="secondary">{t('noIdNumber')}</Typography.Text>
                )
              ),
            },
            { key: 'phone', label: t('residents:phone'), children: r.phoneMasked ?? t('common:none') },
            { key: 'status', label: t('residents:status'), children: t(`residents:statuses.${r.status}`, { defaultValue: r.status }) },
            { key: 'community', label: t('residents:community'), children: r.communityName ?? t('common:none') },
            { key: 'grid', label: t('residents:grid'), children: r.gridName ?? t('common:none') },
            { key: 'address', label: t('residents:address'), children: r.address ?? t('common:none') },
            { key: 'tags', label: t('residents:tags'), children: <ResidentTags tags={r.tags} />, span: 'filled' },
          ]}
        />
      </Card>
      <CareChainCard residentId={r.id} />
      <Row gutter={16}>
        <Col xs={24} lg={14}>
          <HouseholdCard resident={r} />
        </Col>
        <Col xs={24} lg={10}>
          <Card title={t('sourceIds')}>
            <Table
              size="small"
              rowKey={(s) => `${s.institutionId}:${s.sourceId}`}
              dataSource={r.sourceIds ?? []}
              pagination={false}
              locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} /> }}
              columns={[
                { title: t('sourceInstitution'), key: 'inst', render: (_, s) => s.institutionName ?? s.institutionId },
                { title: t('sourceId'), dataIndex: 'sourceId' },
              ]}
            />
          </Card>
        </Col>
      </Row>
      <RevealModal
        residentId={r.id}
        open={revealOpen}
        onClose={() => setRevealOpen(false)}
        onRevealed={(value) => {
          setRevealedId(value);
          setRevealOpen(false);
        }}
      />
    </Space>
  );
}

function CareChainCard({ residentId }: { residentId: number }) {
  const { t } = useTranslation('resident');
  const labels = useCodeLabels();
  const chain = useQuery({
    queryKey: ['residents', residentId, 'care-chain'],
    queryFn: () => api<CareChain>(`/residents/${residentId}/care-chain`),
  });
  const step = (title: string, link: Ref | null, detail?: ReactNode) => ({
    title,
    status: link ? ('finish' as const) : ('error' as const),
    content: link ? (
      <>
        <div>{link.name}</div>
        {detail && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{detail}</Typography.Text>}
      </>
    ) : (
      <Typography.Text type="danger">{t('chainMissing')}</Typography.Text>
    ),
  });
  return (
    <Card title={t('careChain')} extra={<Typography.Text type="secondary">{t('careChainHint')}</Typography.Text>}>
      <QueryView query={chain}>
        {(c) => (
          <Space orientation="vertical" size={16} style={{ width: '100%' }}>
            <Steps
              data-testid="care-chain"
              current={5}
              items={[
                step(t('chain.grid'), c.grid, `${c.street.name} / ${c.community.name}`),
                step(t('chain.communityHealthCentre'), c.communityHealthCentre, c.communityHealthStation && t('common:labelled', { label: t('station'), value: c.communityHealthStation.name })),
                step(t('chain.consortium'), c.consortium, c.consortium && t(`consortia:integrations.${c.consortium.integration}`, { defaultValue: c.consortium.integration })),
                step(t('chain.partnerHospital'), c.partnerHospital, c.partnerHospital && labels.institutionType(c.partnerHospital.type)),
                step(t('chain.team'), c.familyDoctorTeam),
              ]}
            />
            {c.specialtyConsortia.length > 0 && (
              <Space wrap>
                <Typography.Text type="secondary">{t('common:labelled', { label: t('specialtyConsortia'), value: '' })}</Typography.Text>
                {c.specialtyConsortia.map((sc) => (
                  <Tag key={sc.id} color="purple">
                    <Link to={`/consortia/${sc.id}`}>{sc.name}</Link>
                  </Tag>
                ))}
              </Space>
            )}
          </Space>
        )}
      </QueryView>
    </Card>
  );
}

function HouseholdCard({ resident }: { resident: ResidentDetail }) {
  const { t } = useTranslation('resident');
  const labels = useCodeLabels();
  const householdId = resident.household?.id ?? resident.householdId;
  const household = useQuery({
    queryKey: ['households', householdId],
    queryFn: () => api<Household>(`/households/${householdId}`),
    enabled: Boolean(householdId),
  });
  if (!householdId) {
    return (
      <Card title={t('household')}>
        <Empty description={t('noHousehold')} />
      </Card>
    );
  }
  return (
    <Card title={t('household')}>
      <QueryView query={household}>
        {(h) => (
          <Space orientation="vertical" style={{ width: '100%' }}>
            <Descriptions
              size="small"
              column={2}
              items={[
                { key: 'address', label: t('householdAddress'), children: h.address ?? resident.household?.address ?? t('common:none') },
                { key: 'count', label: t('memberCount'), children: h.members.length },
              ]}
            />
            <Table<ResidentSummary>
              size="small"
              rowKey="id"
              dataSource={h.members}
              pagination={false}
              columns={[
                {
                  title: t('residents:name'),
                  dataIndex: 'name',
                  render: (name: string, m) => (m.id === resident.id ? <strong>{name}</strong> : <Link to={`/residents/${m.id}`}>{name}</Link>),
                },
                { title: t('residents:sex'), dataIndex: 'sex', render: labels.sex },
                { title: t('residents:age'), dataIndex: 'age' },
                { title: t('residents:tags'), dataIndex: 'tags', render: (tags: string[]) => <ResidentTags tags={tags ?? []} /> },
              ]}
            />
          </Space>
        )}
      </QueryView>
    </Card>
  );
}

function RevealModal({
  residentId,
  open,
  onClose,
  onRevealed,
}: {
  residentId: number;
  open: boolean;
  onClose: () => void;
  onRevealed: (idNumber: string | null) => void;
}) {
  const { t } = useTranslation('resident');
  const { message } = App.useApp();
  const reveal = useMutation({
    mutationFn: (purpose: string) =>
      api<{ idNumber: string | null }>(`/residents/${residentId}/reveal-id`, { method: 'POST', body: { purpose } }),
    onSuccess: ({ idNumber }) => {
      void message.warning(t('revealed'));
      onRevealed(idNumber ?? t('noIdNumber'));
    },
  });
  return (
    <ReasonModal
      open={open}
      title={t('revealTitle')}
      okText={t('reveal')}
      warning={t('revealWarning')}
      label={t('purpose')}
      placeholder={t('purposePlaceholder')}
      rules={[{ required: true, whitespace: true, message: t('purposeRequired') }]}
      maxLength={200}
      testIds={{ confirm: 'reveal-confirm', field: 'reveal-purpose' }}
      pending={reveal.isPending}
      error={reveal.error}
      onSubmit={(purpose) => reveal.mutateAsync(purpose)}
      onCancel={() => {
        reveal.reset();
        onClose();
      }}
    />
  );
}
