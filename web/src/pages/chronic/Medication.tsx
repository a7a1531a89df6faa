// The programme page's medicine for stable patients: long (长处方, up to 12 weeks) and extended prescriptions (延伸处方,
// from the consortium hospital) with the eligibility check naming each rule and whether it holds, issue and cancel;
// the year's medication coupons (用药券) with the balance, the ledger and redemption against a prescription; and home
// delivery (送药上门) requested for a prescription and moved along its states (the server says which moves it allows).
import { useState } from 'react';
import { Alert, App, Button, Card, Col, Empty, Flex, Form, Input, InputNumber, List, Modal, Radio, Row, Select, Space, Statistic, Table, Tag, Typography } from 'antd';
import { CheckCircleTwoTone, CloseCircleTwoTone, DeleteOutlined, MedicineBoxOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, isApiError } from '../../api.ts';
import { formatDateTime } from '../../components/labels.tsx';
import type { Id, Institution, Page as Paged } from '../../types.ts';
import { consoleSourceId, useProgrammeName, useText } from './chronic-format.tsx';
import type { Enrolment } from './chronic-types.ts';

interface Check {
  rule: string;
  ok: boolean;
  detail: { zh: string; en: string };
  field: string | null;
}
interface Prescription {
  id: Id;
  version: number;
  kind: 'long' | 'extended';
  programme: string;
  weeks: number;
  status: 'active' | 'expired' | 'completed' | 'cancelled';
  institution: { id: Id; name: string };
  checks: Check[];
  items: Array<{ medicationRequestId: Id; name: string; dosage: string | null; quantity: { value: number; unit: string } | null }>;
  authoredAt: string;
  validUntil: string;
  cancelReason: string | null;
}
interface Balance {
  year: number;
  issued: number;
  redeemed: number;
  voided: number;
  balance: number;
  balanceYuan: number;
}
interface CouponEntry {
  id: Id;
  kind: 'issue' | 'redeem' | 'void';
  count: number;
  amountYuan: number;
  institution: { id: Id; name: string };
  prescriptionId: Id | null;
  voidsId: Id | null;
  at: string;
  note: string | null;
}
interface Delivery {
  id: Id;
  version: number;
  status: 'requested' | 'dispatched' | 'delivered' | 'cancelled' | 'failed';
  prescriptionId: Id;
  addressMasked: string | null;
  courier: string | null;
  trackingNo: string | null;
  reason: string | null;
  requestedAt: string;
  actions: Array<'dispatched' | 'delivered' | 'cancelled' | 'failed'>;
}

const RX_COLORS: Record<string, string> = { active: 'success', expired: 'default', completed: 'blue', cancelled: 'default' };
const DELIVERY_COLORS: Record<string, string> = { requested: 'processing', dispatched: 'blue', delivered: 'success', cancelled: 'default', failed: 'error' };

function useInvalidate() {
  const queryClient = useQueryClient();
  return () => {
    for (const key of ['prescriptions', 'coupons', 'deliveries']) void queryClient.invalidateQueries({ queryKey: ['chronic', key] });
    void queryClient.invalidateQueries({ queryKey: ['worklist'] });
  };
}

/** A reason asked for before an action that needs one (cancel a prescription, cancel or fail a delivery). */
function ReasonPrompt({ title, extra, onSubmit, onClose, testId }: { title: string; extra?: boolean; onSubmit: (v: { reason?: string; courier?: string; trackingNo?: string }) => Promise<unknown>; onClose: () => void; testId: string }) {
  const { t } = useTranslation('care');
  const [form] = Form.useForm();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Modal
      open
      title={title}
      okText={t('confirm')}
      confirmLoading={busy}
      onCancel={onClose}
      okButtonProps={{ 'data-testid': `${testId}-confirm` }}
      onOk={() =>
        void form.validateFields().then(async (v) => {
          setBusy(true);
          try {
            await onSubmit(v);
            onClose();
          } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
          } finally {
            setBusy(false);
          }
        })
      }
    >
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} />}
      <Form form={form} layout="vertical">
        {extra ? (
          <>
            <Form.Item name="courier" label={t('deliveries.courier')}>
              <Input maxLength={100} data-testid={`${testId}-courier`} />
            </Form.Item>
            <Form.Item name="trackingNo" label={t('deliveries.trackingNo')}>
              <Input maxLength={100} />
            </Form.Item>
          </>
        ) : (
          <Form.Item name="reason" label={t('reason')} rules={[{ required: true, whitespace: true, message: t('reasonRequired') }]}>
            <Input.TextArea rows={2} maxLength={500} data-testid={`${testId}-reason`} />
          </Form.Item>
        )}
      </Form>
    </Modal>
  );
}

export function PrescriptionsCard({ residentId, enrolments }: { residentId: Id; enrolments: Enrolment[] }) {
  const { t } = useTranslation('care');
  const { message } = App.useApp();
  const programmeName = useProgrammeName();
  const invalidate = useInvalidate();
  const [issuing, setIssuing] = useState(false);
  const [cancelling, setCancelling] = useState<Prescription | null>(null);
  const list = useQuery({
    queryKey: ['chronic', 'prescriptions', residentId],
    queryFn: () => api<Paged<Prescription>>('/chronic/prescriptions', { query: { residentId, pageSize: 50 } }),
  });
  const deliver = useMutation({
    mutationFn: (p: Prescription) => api<Delivery>('/chronic/deliveries', { method: 'POST', body: { prescriptionId: p.id, sourceId: consoleSourceId() } }),
    onSuccess: () => {
      void message.success(t('rx.delivery'));
      invalidate();
    },
    onError: (e) => void message.error(e.message),
  });
  const active = enrolments.filter((e) => e.status === 'active');
  return (
    <Card
      title={t('rx.title')}
      extra={
        active.length > 0 && (
          <Button icon={<PlusOutlined />} onClick={() => setIssuing(true)} data-testid="rx-new">
            {t('rx.new')}
          </Button>
        )
      }
    >
      <Table<Prescription>
        rowKey="id"
        size="small"
        pagination={false}
        loading={list.isPending}
        dataSource={list.data?.items}
        data-testid="rx-table"
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('rx.empty')} /> }}
        columns={[
          { title: t('rx.kind'), key: 'kind', render: (_, p) => t(`rx.kinds.${p.kind}`) },
          { title: t('rx.programme'), key: 'programme', render: (_, p) => programmeName(p.programme) },
          { title: t('rx.items'), key: 'items', render: (_, p) => p.items.map((i) => [i.name, i.dosage].filter(Boolean).join(' ')).join(t('chronic:separator')) },
          { title: t('rx.weeks'), key: 'weeks', render: (_, p) => `${p.weeks} ${t('rx.weeksUnit')}` },
          {
            title: t('rx.status'),
            key: 'status',
            render: (_, p) => (
              <Space size={4} wrap>
                <Tag color={RX_COLORS[p.status]} data-testid="rx-status" data-status={p.status}>
                  {t(`rx.statuses.${p.status}`)}
                </Tag>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {t('rx.validUntil', { day: p.validUntil })}
                </Typography.Text>
              </Space>
            ),
          },
          { title: t('coupons.institution'), key: 'inst', render: (_, p) => p.institution.name },
          {
            title: t('common:actions'),
            key: 'actions',
            render: (_, p) =>
              p.status === 'active' && (
                <Space size={4}>
                  <Button size="small" onClick={() => deliver.mutate(p)} loading={deliver.isPending && deliver.variables?.id === p.id} data-testid="rx-deliver">
                    {t('rx.deliver')}
                  </Button>
                  <Button size="small" danger onClick={() => setCancelling(p)} data-testid="rx-cancel">
                    {t('rx.cancel')}
                  </Button>
                </Space>
              ),
          },
        ]}
      />
      {issuing && <IssueModal residentId={residentId} enrolments={active} onClose={() => setIssuing(false)} />}
      {cancelling && (
        <ReasonPrompt
          title={`${t('rx.cancel')} · ${t(`rx.kinds.${cancelling.kind}`)}`}
          testId="rx-cancel"
          onClose={() => setCancelling(null)}
          onSubmit={async (v) => {
            await api(`/chronic/prescriptions/${cancelling.id}/cancel`, { method: 'POST', body: { reason: v.reason, version: cancelling.version } });
            void message.success(t('rx.cancelled'));
            invalidate();
          }}
        />
      )}
    </Card>
  );
}

interface IssueValues {
  kind: 'long' | 'extended';
  programme: string;
  weeks: number;
  prescriberInstitutionId?: Id;
  items: Array<{ name: string; dosage?: string; quantity?: number; unit?: string }>;
}

function IssueModal({ residentId, enrolments, onClose }: { residentId: Id; enrolments: Enrolment[]; onClose: () => void }) {
  const { t } = useTranslation('care');
  const { message } = App.useApp();
  const text = useText();
  const programmeName = useProgrammeName();
  const invalidate = useInvalidate();
  const [form] = Form.useForm<IssueValues>();
  const [sourceId] = useState(consoleSourceId);
  const [checks, setChecks] = useState<{ eligible: boolean; checks: Check[] } | null>(null);
  const kind = Form.useWatch('kind', form) ?? 'long';
  const hospitals = useQuery({
    queryKey: ['institutions', 'hospitals'],
    queryFn: () => api<Paged<Institution>>('/institutions', { query: { pageSize: 200 } }),
    enabled: kind === 'extended',
    staleTime: 10 * 60_000,
  });
  const bodyOf = (v: IssueValues) => ({
    kind: v.kind,
    residentId,
    programme: v.programme,
    weeks: v.weeks,
    prescriberInstitutionId: v.kind === 'extended' ? v.prescriberInstitutionId : undefined,
    items: (v.items ?? []).filter((i) => i?.name).map((i) => ({ name: i.name, dosage: i.dosage || undefined, quantity: i.quantity ?? undefined, unit: i.unit || undefined })),
  });
  const check = useMutation({
    mutationFn: (v: IssueValues) => api<{ eligible: boolean; checks: Check[] }>('/chronic/prescriptions/eligibility', { method: 'POST', body: bodyOf(v) }),
    onSuccess: setChecks,
  });
  const issue = useMutation({
    mutationFn: (v: IssueValues) => api<Prescription>('/chronic/prescriptions', { method: 'POST', body: { ...bodyOf(v), sourceId } }),
    onSuccess: () => {
      void message.success(t('rx.issued'));
      invalidate();
      onClose();
    },
    onError: (e) => {
      // refused: show every rule again, the broken ones marked
      if (isApiError(e) && e.code === 'PRESCRIPTION_REFUSED') check.mutate(form.getFieldsValue(true));
    },
  });
  const broken = checks?.checks.filter((c) => !c.ok) ?? [];
  return (
    <Modal
      open
      width={760}
      title={t('rx.new')}
      onCancel={onClose}
      footer={
        <Space>
          <Button onClick={() => void form.validateFields().then((v) => check.mutate(v))} loading={check.isPending} data-testid="rx-check">
            {t('rx.check')}
          </Button>
          <Button type="primary" icon={<MedicineBoxOutlined />} onClick={() => void form.validateFields().then((v) => issue.mutate(v))} loading={issue.isPending} data-testid="rx-issue">
            {t('rx.issue')}
          </Button>
        </Space>
      }
    >
      <Form<IssueValues>
        form={form}
        layout="vertical"
        initialValues={{ kind: 'long', programme: enrolments[0]?.programme, weeks: 12, items: [{ name: '' }] }}
        onValuesChange={() => setChecks(null)}
        data-testid="rx-form"
      >
        <Row gutter={16}>
          <Col span={12}>
            <Form.Item name="kind" label={t('rx.kind')}>
              <Radio.Group optionType="button" options={(['long', 'extended'] as const).map((k) => ({ value: k, label: <span data-testid={`rx-kind-${k}`}>{t(`rx.kinds.${k}`)}</span> }))} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="programme" label={t('rx.programme')} rules={[{ required: true }]}>
              <Radio.Group optionType="button" options={enrolments.map((e) => ({ value: e.programme, label: programmeName(e.programme) }))} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="weeks" label={t('rx.weeks')} rules={[{ required: true }]}>
              <InputNumber min={1} max={52} suffix={t('rx.weeksUnit')} style={{ width: '100%' }} data-testid="rx-weeks" />
            </Form.Item>
          </Col>
          {kind === 'extended' && (
            <Col span={12}>
              <Form.Item name="prescriberInstitutionId" label={t('rx.hospital')} rules={[{ required: true }]}>
                <Select
                  showSearch={{ optionFilterProp: 'label' }}
                  loading={hospitals.isPending}
                  options={hospitals.data?.items.filter((i) => /hospital/.test(i.type)).map((i) => ({ value: i.id, label: i.name }))}
                  data-testid="rx-hospital"
                />
              </Form.Item>
            </Col>
          )}
        </Row>
        <Typography.Text strong>{t('rx.items')}</Typography.Text>
        <Form.List name="items">
          {(fields, { add, remove }) => (
            <>
              {fields.map((f) => (
                <Flex key={f.key} gap={8} align="baseline">
                  <Form.Item name={[f.name, 'name']} rules={[{ required: true, whitespace: true, message: t('rx.drug') }]} style={{ flex: 2 }}>
                    <Input placeholder={t('rx.drug')} maxLength={200} data-testid="rx-drug" />
                  </Form.Item>
                  <Form.Item name={[f.name, 'dosage']} style={{ flex: 2 }}>
                    <Input placeholder={t('rx.dosage')} maxLength={200} data-testid="rx-dosage" />
                  </Form.Item>
                  <Form.Item name={[f.name, 'quantity']} style={{ flex: 1 }}>
                    <InputNumber placeholder={t('rx.quantity')} min={0} style={{ width: '100%' }} />
                  </Form.Item>
                  <Form.Item name={[f.name, 'unit']} style={{ flex: 1 }}>
                    <Input placeholder={t('rx.unit')} maxLength={20} />
                  </Form.Item>
                  <Button type="text" icon={<DeleteOutlined />} onClick={() => remove(f.name)} disabled={fields.length === 1} aria-label={t('chronic:followUp.removeMedication')} />
                </Flex>
              ))}
              <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ name: '' })} style={{ marginBottom: 16 }}>
                {t('rx.addItem')}
              </Button>
            </>
          )}
        </Form.List>
      </Form>
      {issue.error && !(isApiError(issue.error) && issue.error.code === 'PRESCRIPTION_REFUSED' && checks) && <Alert type="error" showIcon title={issue.error.message} data-testid="rx-error" />}
      {check.error && <Alert type="error" showIcon title={check.error.message} />}
      {checks && (
        <Alert
          type={checks.eligible ? 'success' : 'error'}
          showIcon
          data-testid="rx-eligibility"
          data-eligible={checks.eligible}
          title={checks.eligible ? t('rx.eligible') : `${t('rx.notEligible')}：${broken.map((c) => t(`rx.rules.${c.rule}`, { defaultValue: c.rule })).join(t('chronic:separator'))}`}
          description={
            <List
              size="small"
              dataSource={checks.checks}
              renderItem={(c) => (
                <List.Item data-testid="rx-rule" data-rule={c.rule} data-ok={c.ok}>
                  <Space>
                    {c.ok ? <CheckCircleTwoTone twoToneColor="#52c41a" /> : <CloseCircleTwoTone twoToneColor="#ff4d4f" />}
                    <Typography.Text strong>{t(`rx.rules.${c.rule}`, { defaultValue: c.rule })}</Typography.Text>
                    <Typography.Text type={c.ok ? 'secondary' : 'danger'}>{text(c.detail)}</Typography.Text>
                  </Space>
                </List.Item>
              )}
            />
          }
        />
      )}
    </Modal>
  );
}

export function CouponsCard({ residentId, enrolled }: { residentId: Id; enrolled: boolean }) {
  const { t } = useTranslation('care');
  const { message } = App.useApp();
  const invalidate = useInvalidate();
  const [redeeming, setRedeeming] = useState(false);
  const [voiding, setVoiding] = useState<CouponEntry | null>(null);
  const balance = useQuery({ queryKey: ['chronic', 'coupons', residentId, 'balance'], queryFn: () => api<Balance>('/chronic/coupons/balance', { query: { residentId } }) });
  const ledger = useQuery({ queryKey: ['chronic', 'coupons', residentId, 'ledger'], queryFn: () => api<Paged<CouponEntry>>('/chronic/coupons/ledger', { query: { residentId, pageSize: 50 } }) });
  const issue = useMutation({
    mutationFn: () => api<Balance>(`/chronic/coupons/issue/${residentId}`, { method: 'POST', body: {} }),
    onSuccess: invalidate,
    onError: (e) => void message.error(e.message),
  });
  const b = balance.data;
  return (
    <Card
      title={b ? `${t('coupons.title')} · ${t('coupons.year', { year: b.year })}` : t('coupons.title')}
      extra={
        <Space>
          {b && b.issued === 0 && enrolled && (
            <Button onClick={() => issue.mutate()} loading={issue.isPending} data-testid="coupon-issue">
              {t('coupons.issue')}
            </Button>
          )}
          {enrolled && (
            <Button type="primary" onClick={() => setRedeeming(true)} data-testid="coupon-redeem">
              {t('coupons.redeem')}
            </Button>
          )}
        </Space>
      }
    >
      {b && (
        <Row gutter={16} style={{ marginBottom: 16 }}>
          <Col span={6}>
            <Statistic title={t('coupons.issued')} value={b.issued} data-testid="coupon-issued" />
          </Col>
          <Col span={6}>
            <Statistic title={t('coupons.redeemed')} value={b.redeemed - b.voided} data-testid="coupon-redeemed" />
          </Col>
          <Col span={6}>
            <Statistic title={t('coupons.balance')} value={b.balance} data-testid="coupon-balance-left" />
          </Col>
          <Col span={6}>
            <Statistic title={t('coupons.balanceYuan')} value={b.balanceYuan} />
          </Col>
        </Row>
      )}
      {b && b.issued === 0 && <Typography.Paragraph type="secondary">{t('coupons.notIssued')}</Typography.Paragraph>}
      <Typography.Text strong>{t('coupons.ledger')}</Typography.Text>
      <Table<CouponEntry>
        rowKey="id"
        size="small"
        pagination={false}
        loading={ledger.isPending}
        dataSource={ledger.data?.items}
        data-testid="coupon-ledger"
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('coupons.empty')} /> }}
        columns={[
          { title: t('coupons.at'), key: 'at', render: (_, e) => formatDateTime(e.at) },
          { title: t('rx.kind'), key: 'kind', render: (_, e) => <Tag data-testid="coupon-kind" data-kind={e.kind}>{t(`coupons.kinds.${e.kind}`)}</Tag> },
          { title: t('coupons.count'), key: 'count', render: (_, e) => e.count },
          { title: t('coupons.amount'), key: 'amount', render: (_, e) => e.amountYuan },
          { title: t('coupons.institution'), key: 'inst', render: (_, e) => e.institution.name },
          { title: t('coupons.note'), key: 'note', render: (_, e) => e.note ?? t('common:none') },
          {
            title: t('common:actions'),
            key: 'void',
            render: (_, e) =>
              e.kind === 'redeem' && !ledger.data?.items.some((x) => x.voidsId === e.id) ? (
                <Button size="small" type="link" onClick={() => setVoiding(e)}>
                  {t('coupons.voidAction')}
                </Button>
              ) : null,
          },
        ]}
      />
      {redeeming && <RedeemModal residentId={residentId} onClose={() => setRedeeming(false)} />}
      {voiding && (
        <ReasonPrompt
          title={t('coupons.voidAction')}
          testId="coupon-void"
          onClose={() => setVoiding(null)}
          onSubmit={async (v) => {
            await api(`/chronic/coupons/ledger/${voiding.id}/void`, { method: 'POST', body: { reason: v.reason } });
            invalidate();
          }}
        />
      )}
    </Card>
  );
}

function RedeemModal({ residentId, onClose }: { residentId: Id; onClose: () => void }) {
  const { t } = useTranslation('care');
  const { message } = App.useApp();
  const invalidate = useInvalidate();
  const [form] = Form.useForm<{ prescriptionId: Id; count: number; note?: string }>();
  const [sourceId] = useState(consoleSourceId);
  const prescriptions = useQuery({
    queryKey: ['chronic', 'prescriptions', residentId, 'active'],
    queryFn: () => api<Paged<Prescription>>('/chronic/prescriptions', { query: { residentId, status: 'active', pageSize: 50 } }),
  });
  const redeem = useMutation({
    mutationFn: (v: { prescriptionId: Id; count: number; note?: string }) => api<CouponEntry>('/chronic/coupons/redeem', { method: 'POST', body: { residentId, ...v, note: v.note || undefined, sourceId } }),
    onSuccess: (e) => {
      void message.success(t('coupons.redeemedOk', { count: e.count }));
      invalidate();
      onClose();
    },
    onError: (e) => {
      if (isApiError(e) && e.field) form.setFields([{ name: e.field as 'count', errors: [e.message] }]);
    },
  });
  const options = prescriptions.data?.items.map((p) => ({ value: p.id, label: `${t(`rx.kinds.${p.kind}`)} · ${p.items.map((i) => i.name).join('、')} · ${t('rx.validUntil', { day: p.validUntil })}` }));
  return (
    <Modal open title={t('coupons.redeem')} onCancel={onClose} okText={t('confirm')} confirmLoading={redeem.isPending} onOk={() => void form.validateFields().then((v) => redeem.mutate(v))} okButtonProps={{ 'data-testid': 'coupon-redeem-confirm' }}>
      {prescriptions.data && prescriptions.data.items.length === 0 && <Alert type="info" showIcon title={t('coupons.noPrescription')} style={{ marginBottom: 12 }} />}
      {redeem.error && !(isApiError(redeem.error) && redeem.error.field) && <Alert type="error" showIcon title={redeem.error.message} style={{ marginBottom: 12 }} />}
      {/* the form waits for the prescriptions so the newest active one is chosen */}
      {prescriptions.data && (
      <Form form={form} layout="vertical" initialValues={{ count: 1, prescriptionId: prescriptions.data.items[0]?.id }}>
        <Form.Item name="prescriptionId" label={t('coupons.prescription')} rules={[{ required: true }]}>
          <Select options={options} loading={prescriptions.isPending} data-testid="coupon-prescription" />
        </Form.Item>
        <Form.Item name="count" label={t('coupons.count')} rules={[{ required: true }]}>
          <InputNumber min={1} max={100} data-testid="coupon-count" />
        </Form.Item>
        <Form.Item name="note" label={t('coupons.note')}>
          <Input maxLength={500} />
        </Form.Item>
      </Form>
      )}
    </Modal>
  );
}

export function DeliveriesCard({ residentId }: { residentId: Id }) {
  const { t } = useTranslation('care');
  const { message } = App.useApp();
  const invalidate = useInvalidate();
  const [moving, setMoving] = useState<{ delivery: Delivery; status: Delivery['actions'][number] } | null>(null);
  const list = useQuery({ queryKey: ['chronic', 'deliveries', residentId], queryFn: () => api<Paged<Delivery>>('/chronic/deliveries', { query: { residentId, pageSize: 50 } }) });
  const move = async (d: Delivery, status: string, extra: Record<string, unknown> = {}) => {
    await api(`/chronic/deliveries/${d.id}/status`, { method: 'POST', body: { status, version: d.version, ...extra } });
    void message.success(t('deliveries.changed'));
    invalidate();
  };
  return (
    <Card title={t('deliveries.title')}>
      <Table<Delivery>
        rowKey="id"
        size="small"
        pagination={false}
        loading={list.isPending}
        dataSource={list.data?.items}
        data-testid="delivery-table"
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('deliveries.empty')} /> }}
        columns={[
          { title: t('deliveries.requestedAt'), key: 'at', render: (_, d) => formatDateTime(d.requestedAt) },
          { title: t('coupons.prescription'), key: 'rx', render: (_, d) => `#${d.prescriptionId}` },
          { title: t('deliveries.address'), key: 'address', render: (_, d) => d.addressMasked ?? t('common:none') },
          {
            title: t('deliveries.status'),
            key: 'status',
            render: (_, d) => (
              <Space size={4} wrap>
                <Tag color={DELIVERY_COLORS[d.status]} data-testid="delivery-status" data-status={d.status}>
                  {t(`deliveries.statuses.${d.status}`)}
                </Tag>
                {d.courier && <Typography.Text type="secondary">{[d.courier, d.trackingNo].filter(Boolean).join(' · ')}</Typography.Text>}
                {d.reason && <Typography.Text type="secondary">{d.reason}</Typography.Text>}
              </Space>
            ),
          },
          {
            title: t('common:actions'),
            key: 'actions',
            render: (_, d) => (
              <Space size={4} wrap>
                {d.actions.map((a) => (
                  <Button
                    key={a}
                    size="small"
                    danger={a === 'cancelled' || a === 'failed'}
                    type={a === 'delivered' ? 'primary' : 'default'}
                    data-testid={`delivery-${a}`}
                    onClick={() => (a === 'delivered' ? void move(d, a).catch((e: Error) => void message.error(e.message)) : setMoving({ delivery: d, status: a }))}
                  >
                    {t(`deliveries.actions.${a}`)}
                  </Button>
                ))}
              </Space>
            ),
          },
        ]}
      />
      {moving && (
        <ReasonPrompt
          title={t(`deliveries.actions.${moving.status}`)}
          testId="delivery-move"
          extra={moving.status === 'dispatched'}
          onClose={() => setMoving(null)}
          onSubmit={(v) => move(moving.delivery, moving.status, { reason: v.reason || undefined, courier: v.courier || undefined, trackingNo: v.trackingNo || undefined })}
        />
      )}
    </Card>
  );
}
