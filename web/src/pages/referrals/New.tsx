// A new referral (发起转诊). Upward, from primary care: the hospital and department (the resident's consortium first,
// with the departments' free reserved places), why, the diagnosis, the letter and results from the shared record, and
// a reserved slot booked in the same step or left to the hospital. Downward, from a hospital at discharge: the
// discharge summary, medications and the follow-up the community team owes within a deadline.
import { useState } from 'react';
import { Alert, App, AutoComplete, Button, Card, Descriptions, Empty, Flex, Form, Input, InputNumber, Radio, Select, Space, Table, Tag, Typography } from 'antd';
import { ArrowLeftOutlined, DeleteOutlined, PlusOutlined, SendOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import dayjs from 'dayjs';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { z } from 'zod';
import { api, isApiError } from '../../api.ts';
import { useUser } from '../../auth.ts';
import { useCodeLabels } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryView } from '../../components/query-state.tsx';
import type { Id, Institution, Page as Paged, ResidentDetail, ResidentSummary } from '../../types.ts';
import { InstitutionSelect } from '../residents/InstitutionSelect.tsx';
import type { TimelineItem } from '../residents/record-types.ts';
import { URGENCIES, type AttachmentType, type Referral, type ReferralTarget } from './referral-types.ts';
import { SLOT_POOLS_KEY, SlotPicker } from './SlotPicker.tsx';
import { parseForm, zodRule } from './zod-form.ts';

/** Institution types a downward referral comes from (the server's HOSPITAL_TYPES). */
const HOSPITAL_TYPES = ['tertiary_hospital', 'secondary_hospital', 'tcm_hospital', 'mch_hospital', 'specialty_hospital'];
const DOWN_SENDERS = ['specialist', 'referral_desk', 'institution_admin'];
/** ICD-10 as the server checks it (a letter, two digits, an optional subdivision). */
const ICD10 = /^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?[+*]?$/;
/** Results from the shared record a referral can carry (timeline types → the server's attachable FHIR types). */
const ATTACHABLE_TYPES = ['observation', 'report', 'document', 'condition'] as const;

/** An empty input is no answer, not an empty string. */
const blank = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

// Messages are keys of referrals:validation.
const ReferralForm = z
  .object({
    direction: z.enum(['up', 'down']),
    residentId: z.number({ error: 'residentRequired' }).int().positive(),
    targetInstitutionId: z.number().int().positive().optional(),
    targetDepartment: blank(z.string().trim().max(100, 'tooLong')),
    booking: z.enum(['now', 'later']),
    slotId: z.number().int().positive().optional(),
    urgency: z.enum(URGENCIES),
    reason: z.string({ error: 'reasonRequired' }).trim().min(1, 'reasonRequired').max(2000, 'tooLong'),
    diagnosisCode: blank(z.string().trim().toUpperCase().regex(ICD10, 'icd10')),
    diagnosisDisplay: blank(z.string().trim().max(200, 'tooLong')),
    summary: blank(z.string().max(20000, 'tooLong')),
    attachments: z.array(z.string()).max(50, 'tooManyAttachments').optional(),
    medications: z
      .array(z.object({ name: z.string({ error: 'medicationName' }).trim().min(1, 'medicationName').max(200, 'tooLong'), dose: blank(z.string().trim().max(200, 'tooLong')) }))
      .max(50, 'tooLong')
      .optional(),
    followUpPlan: blank(z.string().max(5000, 'tooLong')),
    followUpDays: z.number({ error: 'followUpDays' }).int('followUpDays').min(1, 'followUpDays').max(90, 'followUpDays').optional(),
  })
  .superRefine((v, ctx) => {
    if (v.direction === 'up' && !v.targetInstitutionId) ctx.addIssue({ code: 'custom', path: ['targetInstitutionId'], message: 'targetRequired' });
    if (v.direction === 'up' && v.booking === 'now' && !v.slotId) ctx.addIssue({ code: 'custom', path: ['slotId'], message: 'slotRequired' });
  });
type FormValues = z.input<typeof ReferralForm>;

/** Where the server's error `field` sits in this form. */
const FIELD_OF_SERVER: Record<string, keyof FormValues> = {
  residentId: 'residentId',
  targetInstitutionId: 'targetInstitutionId',
  targetDepartment: 'targetDepartment',
  slotId: 'slotId',
  reason: 'reason',
  'diagnosis.code': 'diagnosisCode',
  summary: 'summary',
  followUpPlan: 'followUpPlan',
  followUpDays: 'followUpDays',
};

function bodyOf(v: z.output<typeof ReferralForm>, sourceId: string) {
  const up = v.direction === 'up';
  return {
    direction: v.direction,
    residentId: v.residentId,
    targetInstitutionId: v.targetInstitutionId,
    targetDepartment: v.targetDepartment,
    urgency: v.urgency,
    reason: v.reason,
    diagnosis: v.diagnosisCode ? { code: v.diagnosisCode, display: v.diagnosisDisplay ?? null } : undefined,
    summary: v.summary,
    attachments: v.attachments?.map((key) => {
      const [type, id] = key.split(':');
      return { type: type as AttachmentType, id: Number(id) };
    }),
    slotId: up && v.booking === 'now' ? v.slotId : undefined,
    medications: !up && v.medications?.length ? v.medications : undefined,
    followUpPlan: up ? undefined : v.followUpPlan,
    followUpDays: up ? undefined : v.followUpDays,
    sourceId,
  };
}

export default function ReferralNew() {
  const { t } = useTranslation('referrals');
  const user = useUser();
  const institution = useQuery({
    queryKey: ['institutions', user.institutionId],
    queryFn: () => api<Institution>(`/institutions/${user.institutionId}`),
    enabled: user.institutionId !== null,
    staleTime: 10 * 60_000,
  });
  return (
    <Page
      title={t('newTitle')}
      extra={
        <Link to="/referrals">
          <Button icon={<ArrowLeftOutlined />}>{t('common:back')}</Button>
        </Link>
      }
    >
      {user.institutionId === null ? (
        <Alert type="warning" showIcon title={t('noInstitution')} />
      ) : (
        <QueryView query={institution}>
          {(inst) => {
            const atHospital = HOSPITAL_TYPES.includes(inst.type);
            const canDown = atHospital && user.roles.some((role) => DOWN_SENDERS.includes(role));
            return <ReferralFormCard directions={canDown ? ['down', 'up'] : ['up']} />;
          }}
        </QueryView>
      )}
    </Page>
  );
}

function ReferralFormCard({ directions }: { directions: Array<'up' | 'down'> }) {
  const { t } = useTranslation('referrals');
  const user = useUser();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  const [form] = Form.useForm<FormValues>();
  // the console's own id of this referral: a double click or a retry after a lost answer returns the same case
  const [sourceId] = useState(() => `console-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`);
  const presetResident = Number(params.get('residentId')) || undefined;
  const v = (key: string) => t(`validation.${key}`, { defaultValue: t('validation.invalid') });
  const rule = (field: keyof typeof ReferralForm.shape) => zodRule(ReferralForm.shape[field], v);

  const direction = Form.useWatch('direction', form) ?? directions[0];
  const residentId = Form.useWatch('residentId', form);
  const targetInstitutionId = Form.useWatch('targetInstitutionId', form);
  const department = Form.useWatch('targetDepartment', form);
  const targetDepartment = typeof department === 'string' && department.trim() ? department.trim() : undefined;
  const booking = Form.useWatch('booking', form);
  const urgency = Form.useWatch('urgency', form);
  const up = direction === 'up';

  const targets = useQuery({
    queryKey: ['referral-targets', residentId],
    queryFn: () => api<ReferralTarget[]>('/referral-targets', { query: { residentId } }),
    enabled: up && residentId !== undefined,
  });
  const target = targets.data?.find((x) => x.institutionId === targetInstitutionId);

  const create = useMutation({
    mutationFn: (body: ReturnType<typeof bodyOf>) => api<Referral>('/referrals', { method: 'POST', body }),
    onSuccess: (created) => {
      void message.success(t('created'));
      void queryClient.invalidateQueries({ queryKey: ['referrals'] });
      void navigate(`/referrals/${created.id}`);
    },
    onError: (error) => {
      if (isApiError(error) && (error.code === 'SLOT_TAKEN' || error.code === 'SLOT_RESERVED')) {
        // someone was quicker: show the slots as they are now and let the user pick again
        form.setFieldValue('slotId', undefined);
        void queryClient.invalidateQueries({ queryKey: SLOT_POOLS_KEY });
      }
      const field = isApiError(error) && error.field ? (FIELD_OF_SERVER[error.field] ?? (error.field.startsWith('attachments') ? 'attachments' : undefined)) : undefined;
      if (field) form.setFields([{ name: field, errors: [error.message] }]);
    },
  });

  return (
    <Form<FormValues>
      form={form}
      layout="vertical"
      initialValues={{ direction: directions[0], residentId: presetResident, urgency: 'routine', booking: 'later', followUpDays: 7 }}
      onFinish={() => {
        // every value, also those without a field on screen (the only direction, fields of the other direction)
        const parsed = parseForm(form, ReferralForm, form.getFieldsValue(true), v);
        if (parsed) create.mutate(bodyOf(parsed, sourceId));
      }}
      scrollToFirstError
      data-testid="referral-form"
    >
      <Flex vertical gap={16}>
        <Card title={t('sections.resident')}>
          {directions.length > 1 && (
            <Form.Item name="direction" label={t('direction')}>
              <Radio.Group
                optionType="button"
                options={directions.map((d) => ({ value: d, label: t(`directions.${d}`) }))}
                data-testid="referral-direction"
              />
            </Form.Item>
          )}
          <Form.Item name="residentId" label={t('resident')} required rules={[rule('residentId')]}>
            <ResidentPicker />
          </Form.Item>
          {residentId !== undefined && <ResidentCard residentId={residentId} />}
        </Card>

        <Card title={up ? t('sections.targetUp') : t('sections.targetDown')}>
          {up ? (
            <>
              <Flex gap={16} wrap>
                <Form.Item name="targetInstitutionId" label={t('targetHospital')} required rules={[rule('targetInstitutionId')]} style={{ minWidth: 320, flex: 1 }}>
                  <Select<Id>
                    showSearch={{ optionFilterProp: 'title' }}
                    placeholder={residentId === undefined ? t('pickResidentFirst') : t('targetPlaceholder')}
                    disabled={residentId === undefined}
                    loading={targets.isFetching}
                    onChange={() => form.setFieldsValue({ targetDepartment: undefined, slotId: undefined })}
                    // a hospital refers upward to another hospital, never to itself
                    options={targetOptions((targets.data ?? []).filter((x) => x.institutionId !== user.institutionId), t)}
                    data-testid="referral-target"
                  />
                </Form.Item>
                <Form.Item name="targetDepartment" label={t('department')} rules={[rule('targetDepartment')]} style={{ minWidth: 240, flex: 1 }}>
                  <AutoComplete
                    allowClear
                    placeholder={t('departmentPlaceholder')}
                    disabled={!targetInstitutionId}
                    onChange={() => form.setFieldValue('slotId', undefined)}
                    options={(target?.departments ?? []).map((d) => ({
                      value: d.department,
                      label: (
                        <Flex justify="space-between" gap={8}>
                          <span>{d.department}</span>
                          <Typography.Text type="secondary">{t('reservedFree', { count: d.reservedFree })}</Typography.Text>
                        </Flex>
                      ),
                    }))}
                    showSearch={{ filterOption: (input, option) => String(option?.value ?? '').includes(input) }}
                    data-testid="referral-department"
                  />
                </Form.Item>
              </Flex>
              <Form.Item name="urgency" label={t('urgency')}>
                <Radio.Group
                  optionType="button"
                  options={URGENCIES.map((u) => ({ value: u, label: t(`urgencies.${u}`) }))}
                  data-testid="referral-urgency"
                />
              </Form.Item>
              {urgency === 'green_channel' && <Alert type="warning" showIcon title={t('greenChannelHint')} style={{ marginBottom: 16 }} />}
              <Form.Item name="booking" label={t('booking')}>
                <Radio.Group
                  options={[
                    { value: 'now', label: <span data-testid="booking-now">{t('bookNow')}</span> },
                    { value: 'later', label: <span data-testid="booking-later">{t('bookLater')}</span> },
                  ]}
                />
              </Form.Item>
              {booking === 'now' &&
                (targetInstitutionId ? (
                  <Form.Item name="slotId" label={t('slot')} required rules={[rule('slotId')]}>
                    <SlotPicker key={`${targetInstitutionId}:${targetDepartment ?? ''}`} institutionId={targetInstitutionId} department={targetDepartment} />
                  </Form.Item>
                ) : (
                  <Typography.Paragraph type="secondary">{t('pickTargetFirst')}</Typography.Paragraph>
                ))}
            </>
          ) : (
            <>
              <Alert type="info" showIcon title={t('downTargetHint')} style={{ marginBottom: 16 }} />
              <Form.Item name="targetInstitutionId" label={t('downTarget')} extra={t('downTargetExtra')}>
                <InstitutionSelect style={{ width: 360 }} testId="referral-down-target" />
              </Form.Item>
              <Form.Item name="urgency" label={t('urgency')}>
                <Radio.Group optionType="button" options={URGENCIES.map((u) => ({ value: u, label: t(`urgencies.${u}`) }))} />
              </Form.Item>
            </>
          )}
        </Card>

        <Card title={t('sections.clinical')}>
          <Form.Item name="reason" label={up ? t('reason') : t('downReason')} required rules={[rule('reason')]}>
            <Input.TextArea rows={2} maxLength={2000} showCount placeholder={up ? t('reasonPlaceholder') : t('downReasonPlaceholder')} data-testid="referral-reason" />
          </Form.Item>
          <DiagnosisFields residentId={residentId} onPick={(code, display) => form.setFieldsValue({ diagnosisCode: code, diagnosisDisplay: display })} rule={rule} />
          <Form.Item name="summary" label={up ? t('summary') : t('dischargeSummary')} rules={[rule('summary')]}>
            <Input.TextArea rows={5} maxLength={20000} placeholder={up ? t('summaryPlaceholder') : t('dischargeSummaryPlaceholder')} data-testid="referral-summary" />
          </Form.Item>
          <Form.Item name="attachments" label={t('attachments')} extra={t('attachmentsHint')}>
            {residentId === undefined ? <Typography.Text type="secondary">{t('pickResidentFirst')}</Typography.Text> : <AttachmentPicker residentId={residentId} />}
          </Form.Item>
        </Card>

        {!up && (
          <Card title={t('sections.followUp')}>
            <Form.List name="medications">
              {(fields, { add, remove }) => (
                <Form.Item label={t('medications')}>
                  <Flex vertical gap={8}>
                    {fields.map((field) => (
                      <Space key={field.key} align="start">
                        <Form.Item name={[field.name, 'name']} noStyle rules={[zodRule(z.string({ error: 'medicationName' }).trim().min(1, 'medicationName'), v)]}>
                          <Input placeholder={t('medicationName')} style={{ width: 240 }} />
                        </Form.Item>
                        <Form.Item name={[field.name, 'dose']} noStyle>
                          <Input placeholder={t('medicationDose')} style={{ width: 240 }} />
                        </Form.Item>
                        <Button icon={<DeleteOutlined />} aria-label={t('removeMedication')} onClick={() => remove(field.name)} />
                      </Space>
                    ))}
                    <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ name: '', dose: '' })} style={{ width: 200 }}>
                      {t('addMedication')}
                    </Button>
                  </Flex>
                </Form.Item>
              )}
            </Form.List>
            <Form.Item name="followUpPlan" label={t('followUpPlan')} rules={[rule('followUpPlan')]}>
              <Input.TextArea rows={3} maxLength={5000} placeholder={t('followUpPlanPlaceholder')} />
            </Form.Item>
            <Form.Item name="followUpDays" label={t('followUpDays')} extra={t('followUpDaysHint')} rules={[rule('followUpDays')]}>
              <InputNumber min={1} max={90} precision={0} suffix={t('days')} style={{ width: 160 }} />
            </Form.Item>
          </Card>
        )}

        {create.error && <Alert type="error" showIcon title={create.error.message} data-testid="referral-error" />}
        <Flex gap={8}>
          <Button type="primary" htmlType="submit" icon={<SendOutlined />} loading={create.isPending} data-testid="referral-submit">
            {t('submit')}
          </Button>
          <Link to="/referrals">
            <Button>{t('common:cancel')}</Button>
          </Link>
        </Flex>
      </Flex>
    </Form>
  );
}

/** The resident's consortium first (as the server orders them), each hospital with its free reserved places. */
function targetOptions(targets: ReferralTarget[], t: TFunction<'referrals'>) {
  const option = (x: ReferralTarget) => {
    const free = x.departments.reduce((sum, d) => sum + d.reservedFree, 0);
    return {
      value: x.institutionId,
      title: x.name,
      label: (
        <Flex justify="space-between" gap={8}>
          <span>{x.name}</span>
          {free > 0 && <Typography.Text type="secondary">{t('reservedFree', { count: free })}</Typography.Text>}
        </Flex>
      ),
    };
  };
  const inConsortium = targets.filter((x) => x.inConsortium);
  const others = targets.filter((x) => !x.inConsortium);
  return [
    ...(inConsortium.length ? [{ label: t('inConsortium'), title: t('inConsortium'), options: inConsortium.map(option) }] : []),
    ...(others.length ? [{ label: t('otherHospitals'), title: t('otherHospitals'), options: others.map(option) }] : []),
  ];
}

/** Finds a resident by name (server-side search); a preset id shows that resident's name. */
export function ResidentPicker({ value, onChange, testId = 'referral-resident' }: { value?: Id; onChange?: (id: Id | undefined) => void; testId?: string }) {
  const { t } = useTranslation('referrals');
  const [q, setQ] = useState('');
  const list = useQuery({
    queryKey: ['residents', 'pick', q],
    queryFn: () => api<Paged<ResidentSummary>>('/residents', { query: { q: q || undefined, pageSize: 20 } }),
    enabled: q.length > 0,
    placeholderData: keepPreviousData,
  });
  const current = useQuery({
    queryKey: ['residents', String(value)],
    queryFn: () => api<ResidentDetail>(`/residents/${value}`),
    enabled: value !== undefined,
  });
  const items = [...(list.data?.items ?? [])];
  if (current.data && !items.some((r) => r.id === current.data.id)) items.unshift(current.data);
  return (
    <Select<Id>
      allowClear
      showSearch={{ filterOption: false, onSearch: (text) => setQ(text.trim()) }}
      value={value}
      onChange={(id) => onChange?.(id ?? undefined)}
      placeholder={t('residentPlaceholder')}
      loading={list.isFetching}
      notFoundContent={q ? t('common:emptyText') : t('residentSearchHint')}
      options={items.map((r) => ({ value: r.id, label: `${r.name}${r.idNumberMasked ? ` · ${r.idNumberMasked}` : ''}` }))}
      style={{ width: 360 }}
      data-testid={testId}
    />
  );
}

function ResidentCard({ residentId }: { residentId: Id }) {
  const { t } = useTranslation('referrals');
  const labels = useCodeLabels();
  const resident = useQuery({ queryKey: ['residents', String(residentId)], queryFn: () => api<ResidentDetail>(`/residents/${residentId}`) });
  if (!resident.data) return null;
  const r = resident.data;
  return (
    <Descriptions
      size="small"
      column={{ xs: 1, md: 2, xl: 4 }}
      data-testid="referral-resident-card"
      items={[
        { key: 'name', label: t('residents:name'), children: <Link to={`/residents/${r.id}`}>{r.name}</Link> },
        { key: 'sex', label: t('residents:sex'), children: `${labels.sex(r.sex)} · ${t('residents:ageYears', { age: r.age })}` },
        { key: 'id', label: t('residents:idNumber'), children: r.idNumberMasked ? <Typography.Text code>{r.idNumberMasked}</Typography.Text> : t('common:none') },
        { key: 'community', label: t('residents:community'), children: [r.communityName, r.gridName].filter(Boolean).join(' / ') || t('common:none') },
      ]}
    />
  );
}

/** ICD-10 code and name; the resident's recorded diagnoses are offered first. */
function DiagnosisFields({
  residentId,
  onPick,
  rule,
}: {
  residentId: Id | undefined;
  onPick: (code: string, display: string) => void;
  rule: (field: 'diagnosisCode' | 'diagnosisDisplay') => ReturnType<typeof zodRule>;
}) {
  const { t } = useTranslation('referrals');
  const conditions = useQuery({
    queryKey: ['residents', residentId, 'timeline', { types: 'condition' }],
    queryFn: () => api<Paged<TimelineItem>>(`/residents/${residentId}/timeline`, { query: { types: 'condition', pageSize: 50 } }),
    enabled: residentId !== undefined,
  });
  const known = new Map<string, string>();
  for (const c of conditions.data?.items ?? []) if (c.code && ICD10.test(c.code) && !known.has(c.code)) known.set(c.code, c.title);
  return (
    <Flex gap={16} wrap>
      <Form.Item name="diagnosisCode" label={t('diagnosisCode')} rules={[rule('diagnosisCode')]} style={{ width: 240 }}>
        <AutoComplete
          allowClear
          placeholder={t('diagnosisCodePlaceholder')}
          options={[...known].map(([code, title]) => ({ value: code, label: `${code} ${title}` }))}
          onSelect={(code: string) => onPick(code, known.get(code) ?? '')}
          data-testid="referral-diagnosis-code"
        />
      </Form.Item>
      <Form.Item name="diagnosisDisplay" label={t('diagnosisDisplay')} rules={[rule('diagnosisDisplay')]} style={{ minWidth: 280, flex: 1 }}>
        <Input maxLength={200} placeholder={t('diagnosisDisplayPlaceholder')} data-testid="referral-diagnosis-display" />
      </Form.Item>
    </Flex>
  );
}

/** Recent results and documents of the resident's shared record, ticked to travel with the referral. */
function AttachmentPicker({ residentId, value, onChange }: { residentId: Id; value?: string[]; onChange?: (keys: string[]) => void }) {
  const { t } = useTranslation('referrals');
  const records = useQuery({
    queryKey: ['residents', residentId, 'timeline', { types: ATTACHABLE_TYPES.join(',') }],
    queryFn: () => api<Paged<TimelineItem>>(`/residents/${residentId}/timeline`, { query: { types: ATTACHABLE_TYPES.join(','), pageSize: 30 } }),
  });
  if (records.error) return <Alert type="warning" showIcon title={records.error.message} />;
  return (
    <Table<TimelineItem>
      size="small"
      rowKey={(r) => `${r.fhirType}:${r.id}`}
      loading={records.isPending}
      dataSource={records.data?.items}
      pagination={false}
      scroll={{ y: 260 }}
      rowSelection={{ selectedRowKeys: value ?? [], onChange: (keys) => onChange?.(keys.map(String)) }}
      locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('noRecords')} /> }}
      columns={[
        { title: t('records:performedAt'), dataIndex: 'at', width: 120, render: (at: string) => dayjs(at).format('YYYY-MM-DD') },
        { title: t('records:type'), dataIndex: 'type', width: 110, render: (type: string) => <Tag>{t(`records:types.${type}`, { defaultValue: type })}</Tag> },
        { title: t('records:test'), dataIndex: 'title' },
        {
          title: t('records:result'),
          key: 'value',
          render: (_, r) => [r.value ?? r.valueText, r.unit].filter((x) => x !== null && x !== undefined).join(' ') || t('common:none'),
        },
        { title: t('records:institution'), dataIndex: 'institutionName', responsive: ['lg'] },
      ]}
      data-testid="referral-attachments"
    />
  );
}

