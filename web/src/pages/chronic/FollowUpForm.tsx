// One follow-up (随访) in one form, as the national standard's follow-up record asks: blood pressure or fasting glucose
// (whichever the programme's rules require), symptoms with the programme's danger signs, medication and adherence,
// lifestyle, and how the visit was made (clinic, home, phone, health post). Medications, weight, height and lifestyle
// are pre-filled from the last follow-up (or the active prescriptions); the last readings of any institution stand
// beside the fields and can be taken over. The server classifies the visit and answers with the next due date.
import { useState } from 'react';
import { Alert, App, Button, Card, Checkbox, Col, DatePicker, Descriptions, Divider, Flex, Form, Input, InputNumber, Radio, Result, Row, Space, Switch, Tag, Typography } from 'antd';
import { ArrowLeftOutlined, DeleteOutlined, PlusOutlined, SaveOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { Link, useParams, useSearchParams } from 'react-router';
import { z } from 'zod';
import { api, isApiError } from '../../api.ts';
import { Page } from '../../components/page.tsx';
import { QueryView } from '../../components/query-state.tsx';
import { currentLanguage } from '../../i18n/index.ts';
import type { ResidentDetail } from '../../types.ts';
import { parseForm, zodRule } from '../referrals/zod-form.ts';
import { ClassificationTag, consoleSourceId, formatDay, LastReadings, useProgrammeName } from './chronic-format.tsx';
import { ADHERENCE, MODES, SALT, type FollowUp, type Programme, type Reason, type ResidentCare } from './chronic-types.ts';
import { useProgrammes } from './Worklist.tsx';

/** Symptoms of the standard's follow-up records (besides the danger signs, which come from the programme's rules). */
const SYMPTOMS: Record<string, string[]> = {
  hypertension: ['headache_dizziness', 'tinnitus_blurred_vision', 'dyspnoea', 'epistaxis', 'limb_numbness', 'lower_limb_oedema'],
  diabetes: ['polydipsia', 'polyphagia', 'polyuria', 'blurred_vision', 'infection', 'limb_numbness', 'lower_limb_oedema', 'weight_loss'],
};

const blank = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === null || (typeof v === 'string' && v.trim() === '') ? undefined : v), schema.optional());
const num = (min: number, max: number) => blank(z.number({ error: 'number' }).min(min, 'range').max(max, 'range'));

// Messages are keys of chronic:followUp.validation; the ranges are the server's.
const Lifestyle = z.object({
  smokingPerDay: num(0, 200),
  drinkingPerDay: num(0, 5000),
  exerciseTimesPerWeek: num(0, 50),
  exerciseMinutes: num(0, 1000),
  salt: blank(z.enum(SALT)),
  targetWeightKg: num(2, 400),
});
const FollowUpSchema = z.object({
  enrolmentId: z.number({ error: 'programmeRequired' }).int().positive(),
  mode: z.enum(MODES, { error: 'modeRequired' }),
  visitAt: z.custom<Dayjs>((v) => dayjs.isDayjs(v) && v.isValid(), 'visitAt').refine((v) => !v.isAfter(dayjs().add(5, 'minute')), 'futureVisit'),
  sbp: num(40, 300),
  dbp: num(20, 200),
  fpg: num(0.5, 50),
  heartRate: num(20, 250),
  weightKg: num(2, 400),
  heightCm: num(30, 250),
  symptoms: z.array(z.string()).max(30).optional(),
  adherence: blank(z.enum(ADHERENCE)),
  adverseReaction: z.boolean().optional(),
  newComplication: z.boolean().optional(),
  medications: z
    .array(z.object({ name: z.string({ error: 'medicationName' }).trim().min(1, 'medicationName').max(200, 'tooLong'), dose: blank(z.string().trim().max(200, 'tooLong')) }))
    .max(30, 'tooLong')
    .optional(),
  lifestyle: Lifestyle.optional(),
  note: blank(z.string().max(2000, 'tooLong')),
});
type FormValues = z.input<typeof FollowUpSchema>;
type Parsed = z.output<typeof FollowUpSchema>;

/** The programme's required readings, checked after the fields themselves (the rules are data, not fixed here). */
function missingReadings(v: Parsed, programme: Programme | undefined): Array<'sbp' | 'dbp' | 'fpg'> {
  const required = programme?.rules.requiredMeasures ?? [];
  return (['sbp', 'dbp', 'fpg'] as const).filter((m) => required.includes(m) && v[m] === undefined);
}

function bodyOf(v: Parsed, sourceId: string, sessionId?: number) {
  const lifestyle = Object.fromEntries(Object.entries(v.lifestyle ?? {}).filter(([, x]) => x !== undefined));
  return {
    enrolmentId: v.enrolmentId,
    mode: v.mode,
    visitAt: v.visitAt.toISOString(),
    sbp: v.sbp,
    dbp: v.dbp,
    fpg: v.fpg,
    heartRate: v.heartRate,
    weightKg: v.weightKg,
    heightCm: v.heightCm,
    symptoms: v.symptoms ?? [],
    adherence: v.adherence,
    adverseReaction: !!v.adverseReaction,
    newComplication: !!v.newComplication,
    medications: (v.medications ?? []).map((m) => ({ name: m.name, dose: m.dose ?? null })),
    lifestyle: Object.keys(lifestyle).length ? lifestyle : undefined,
    note: v.note ?? null,
    sourceId,
    // a visit at a health-post session (健康驿站) is linked to it
    sessionId: v.mode === 'health_post' ? sessionId : undefined,
  };
}

export default function FollowUpPage() {
  const { t } = useTranslation('chronic');
  const { id = '' } = useParams();
  const resident = useQuery({ queryKey: ['residents', id], queryFn: () => api<ResidentDetail>(`/residents/${id}`) });
  const care = useQuery({ queryKey: ['chronic', 'residents', id], queryFn: () => api<ResidentCare>(`/chronic/residents/${id}`) });
  const programmes = useProgrammes();
  return (
    <Page
      title={resident.data ? `${t('followUp.title')} · ${resident.data.name}` : t('followUp.title')}
      extra={
        <Link to={`/worklist/residents/${id}`}>
          <Button icon={<ArrowLeftOutlined />}>{t('followUp.toProgramme')}</Button>
        </Link>
      }
    >
      <QueryView query={care}>
        {(c) => (
          <QueryView query={programmes}>
            {(p) =>
              c.enrolments.some((e) => e.status === 'active') ? (
                <FollowUpFormCard care={c} programmes={p.items} />
              ) : (
                <Alert type="info" showIcon title={t('followUp.notEnrolled')} data-testid="followup-not-enrolled" />
              )
            }
          </QueryView>
        )}
      </QueryView>
    </Page>
  );
}

function FollowUpFormCard({ care, programmes }: { care: ResidentCare; programmes: Programme[] }) {
  const { t } = useTranslation('chronic');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  const programmeName = useProgrammeName();
  const [form] = Form.useForm<FormValues>();
  const [result, setResult] = useState<FollowUp | null>(null);
  // the console's own id of this visit: a double click or a retry after a lost answer records it once
  const [sourceId, setSourceId] = useState(consoleSourceId);
  const v = (key: string) => t(`followUp.validation.${key}`, { defaultValue: t('followUp.validation.invalid') });
  const rule = (field: keyof typeof FollowUpSchema.shape) => zodRule(FollowUpSchema.shape[field], v);
  const lifestyleRule = (field: keyof typeof Lifestyle.shape) => zodRule(Lifestyle.shape[field], v);

  const active = care.enrolments.filter((e) => e.status === 'active');
  const asked = Number(params.get('enrolmentId'));
  const sessionId = Number(params.get('sessionId')) || undefined;
  const initialEnrolment = active.find((e) => e.id === asked)?.id ?? active[0]?.id;
  const enrolmentId = Form.useWatch('enrolmentId', form) ?? initialEnrolment;
  const enrolment = active.find((e) => e.id === enrolmentId);
  const programme = programmes.find((p) => p.code === enrolment?.programme);
  const required = new Set(programme?.rules.requiredMeasures ?? []);
  const weight = Form.useWatch('weightKg', form);
  const height = Form.useWatch('heightCm', form);
  const bmi = typeof weight === 'number' && typeof height === 'number' && height > 0 ? Math.round((weight / (height / 100) ** 2) * 10) / 10 : null;
  const last = care.lastFollowUp;
  const readings = care.lastReadings;
  const english = currentLanguage() === 'en';

  const record = useMutation({
    mutationFn: (body: ReturnType<typeof bodyOf>) => api<FollowUp>('/chronic/follow-ups', { method: 'POST', body }),
    onSuccess: (saved) => {
      setResult(saved);
      void message.success(t('followUp.saved'));
      void queryClient.invalidateQueries({ queryKey: ['chronic'] });
      void queryClient.invalidateQueries({ queryKey: ['worklist'] });
    },
    onError: (error) => {
      if (isApiError(error) && error.field) form.setFields([{ name: error.field.split('.'), errors: [error.message] }]);
    },
  });

  if (result) {
    return (
      <FollowUpResult
        followUp={result}
        programme={programme}
        onAnother={() => {
          setResult(null);
          setSourceId(consoleSourceId());
          form.resetFields(['sbp', 'dbp', 'fpg', 'heartRate', 'symptoms', 'note', 'adverseReaction', 'newComplication']);
        }}
      />
    );
  }

  const symptomOptions = (SYMPTOMS[programme?.code ?? ''] ?? []).filter((code) => !programme?.rules.dangerSigns.some((d) => d.code === code));
  const lastHint = (r: { value: number; at: string; institutionName: string | null } | null) =>
    r ? t('followUp.lastValue', { value: r.value, day: formatDay(r.at), place: r.institutionName ?? '—' }) : undefined;

  return (
    <Form<FormValues>
      form={form}
      layout="vertical"
      scrollToFirstError
      data-testid="followup-form"
      initialValues={{
        enrolmentId: initialEnrolment,
        mode: sessionId ? 'health_post' : 'clinic',
        visitAt: dayjs(),
        weightKg: last?.weightKg ?? undefined,
        heightCm: last?.heightCm ?? undefined,
        adherence: last?.adherence ?? undefined,
        medications: care.medications.map((m) => ({ name: m.name, dose: m.dose ?? undefined })),
        lifestyle: { ...last?.lifestyle },
        symptoms: [],
      }}
      onFinish={() => {
        const parsed = parseForm(form, FollowUpSchema, form.getFieldsValue(true), v);
        if (!parsed) return;
        const missing = missingReadings(parsed, programme);
        if (missing.length) {
          form.setFields(missing.map((m) => ({ name: m, errors: [t('followUp.validation.required', { reading: t(`measures.${m}`) })] })));
          return;
        }
        record.mutate(bodyOf(parsed, sourceId, sessionId));
      }}
    >
      <Flex vertical gap={16}>
        {record.error && (
          <Alert type="error" showIcon title={t('followUp.failed')} description={record.error.message} data-testid="followup-error" />
        )}
        <Card title={t('followUp.visit')}>
          <Row gutter={16}>
            <Col xs={24} lg={10}>
              <Form.Item name="enrolmentId" label={t('programme')} rules={[rule('enrolmentId')]}>
                <Radio.Group
                  optionType="button"
                  options={active.map((e) => ({ value: e.id, label: <span data-testid={`followup-programme-${e.programme}`}>{programmeName(e.programme)}</span> }))}
                />
              </Form.Item>
            </Col>
            <Col xs={24} lg={14}>
              <Form.Item name="mode" label={t('followUp.mode')} rules={[rule('mode')]}>
                <Radio.Group optionType="button" options={MODES.map((m) => ({ value: m, label: <span data-testid={`followup-mode-${m}`}>{t(`modes.${m}`)}</span> }))} />
              </Form.Item>
            </Col>
            <Col xs={24} lg={10}>
              <Form.Item name="visitAt" label={t('followUp.visitAt')} rules={[rule('visitAt')]}>
                <DatePicker showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm" allowClear={false} />
              </Form.Item>
            </Col>
            <Col xs={24} lg={14}>
              {enrolment && (
                <Descriptions
                  size="small"
                  column={1}
                  items={[
                    { key: 'next', label: t('nextDue'), children: formatDay(enrolment.nextDueAt) ?? t('common:none') },
                    { key: 'class', label: t('lastClassification'), children: <ClassificationTag classification={enrolment.lastClassification} /> },
                  ]}
                />
              )}
            </Col>
          </Row>
        </Card>

        <Card title={t('followUp.readings')} extra={<LastReadings readings={readings} />}>
          <Row gutter={16}>
            <Col xs={12} lg={6}>
              <Form.Item name="sbp" label={t('measures.sbp')} required={required.has('sbp')} rules={[rule('sbp')]} extra={lastHint(readings.sbp)}>
                <InputNumber suffix="mmHg" style={{ width: '100%' }} data-testid="followup-sbp" />
              </Form.Item>
            </Col>
            <Col xs={12} lg={6}>
              <Form.Item name="dbp" label={t('measures.dbp')} required={required.has('dbp')} rules={[rule('dbp')]} extra={lastHint(readings.dbp)}>
                <InputNumber suffix="mmHg" style={{ width: '100%' }} data-testid="followup-dbp" />
              </Form.Item>
            </Col>
            <Col xs={12} lg={6}>
              <Form.Item name="fpg" label={t('measures.fpg')} required={required.has('fpg')} rules={[rule('fpg')]} extra={lastHint(readings.fpg)}>
                <InputNumber suffix="mmol/L" step={0.1} style={{ width: '100%' }} data-testid="followup-fpg" />
              </Form.Item>
            </Col>
            <Col xs={12} lg={6}>
              <Form.Item name="heartRate" label={t('measures.heartRate')} rules={[rule('heartRate')]} extra={lastHint(readings.heartRate)}>
                <InputNumber suffix={t('followUp.perMinute')} style={{ width: '100%' }} data-testid="followup-heart-rate" />
              </Form.Item>
            </Col>
            <Col xs={12} lg={6}>
              <Form.Item name="weightKg" label={t('followUp.weight')} rules={[rule('weightKg')]}>
                <InputNumber suffix="kg" step={0.1} style={{ width: '100%' }} data-testid="followup-weight" />
              </Form.Item>
            </Col>
            <Col xs={12} lg={6}>
              <Form.Item name="heightCm" label={t('followUp.height')} rules={[rule('heightCm')]}>
                <InputNumber suffix="cm" style={{ width: '100%' }} data-testid="followup-height" />
              </Form.Item>
            </Col>
            <Col xs={12} lg={6}>
              <Form.Item label={t('followUp.bmi')}>
                <Typography.Text data-testid="followup-bmi">{bmi ?? t('common:none')}</Typography.Text>
              </Form.Item>
            </Col>
            <Col xs={12} lg={6}>
              <Form.Item label=" ">
                <Button
                  disabled={!readings.sbp && !readings.dbp && !readings.fpg && !readings.heartRate}
                  onClick={() =>
                    form.setFieldsValue({ sbp: readings.sbp?.value, dbp: readings.dbp?.value, fpg: readings.fpg?.value, heartRate: readings.heartRate?.value })
                  }
                  data-testid="followup-use-last"
                >
                  {t('followUp.useLast')}
                </Button>
              </Form.Item>
            </Col>
          </Row>
        </Card>

        <Card title={t('followUp.symptoms')}>
          {programme && programme.rules.dangerSigns.length > 0 && (
            <Typography.Paragraph type="danger">{t('followUp.dangerSignsHint')}</Typography.Paragraph>
          )}
          <Form.Item name="symptoms" rules={[rule('symptoms')]}>
            <Checkbox.Group data-testid="followup-symptoms">
              <Flex vertical gap={8}>
                <Space wrap>
                  {programme?.rules.dangerSigns.map((d) => (
                    <Checkbox key={d.code} value={d.code} data-testid={`symptom-${d.code}`}>
                      <Typography.Text type="danger">{english ? d.en : d.zh}</Typography.Text>
                    </Checkbox>
                  ))}
                </Space>
                <Space wrap>
                  {symptomOptions.map((code) => (
                    <Checkbox key={code} value={code} data-testid={`symptom-${code}`}>
                      {t(`symptoms.${code}`)}
                    </Checkbox>
                  ))}
                </Space>
              </Flex>
            </Checkbox.Group>
          </Form.Item>
          <Space size={32} wrap>
            <Form.Item name="adverseReaction" label={t('followUp.adverseReaction')} valuePropName="checked">
              <Switch data-testid="followup-adverse" />
            </Form.Item>
            <Form.Item name="newComplication" label={t('followUp.newComplication')} valuePropName="checked">
              <Switch data-testid="followup-complication" />
            </Form.Item>
          </Space>
        </Card>

        <Card title={t('followUp.medication')}>
          <Form.Item name="adherence" label={t('followUp.adherence')} rules={[rule('adherence')]}>
            <Radio.Group optionType="button" options={ADHERENCE.map((a) => ({ value: a, label: t(`adherence.${a}`) }))} />
          </Form.Item>
          <Form.List name="medications">
            {(fields, { add, remove }) => (
              <Flex vertical gap={8} data-testid="followup-medications">
                {fields.map((field) => (
                  <Space key={field.key} align="start" wrap>
                    <Form.Item name={[field.name, 'name']} rules={[zodRule(z.string({ error: 'medicationName' }).trim().min(1, 'medicationName').max(200, 'tooLong'), v)]} style={{ marginBottom: 0 }}>
                      <Input placeholder={t('followUp.medicationName')} style={{ width: 240 }} data-testid="medication-name" />
                    </Form.Item>
                    <Form.Item name={[field.name, 'dose']} style={{ marginBottom: 0 }}>
                      <Input placeholder={t('followUp.medicationDose')} style={{ width: 180 }} data-testid="medication-dose" />
                    </Form.Item>
                    <Button icon={<DeleteOutlined />} aria-label={t('followUp.removeMedication')} onClick={() => remove(field.name)} />
                  </Space>
                ))}
                <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ name: '', dose: '' })} style={{ width: 240 }} data-testid="medication-add">
                  {t('followUp.addMedication')}
                </Button>
              </Flex>
            )}
          </Form.List>
        </Card>

        <Card title={t('followUp.lifestyle')}>
          <Row gutter={16}>
            <Col xs={12} lg={4}>
              <Form.Item name={['lifestyle', 'smokingPerDay']} label={t('followUp.smoking')} rules={[lifestyleRule('smokingPerDay')]}>
                <InputNumber suffix={t('followUp.cigarettesPerDay')} style={{ width: '100%' }} data-testid="followup-smoking" />
              </Form.Item>
            </Col>
            <Col xs={12} lg={4}>
              <Form.Item name={['lifestyle', 'drinkingPerDay']} label={t('followUp.drinking')} rules={[lifestyleRule('drinkingPerDay')]}>
                <InputNumber suffix={t('followUp.mlPerDay')} style={{ width: '100%' }} data-testid="followup-drinking" />
              </Form.Item>
            </Col>
            <Col xs={12} lg={4}>
              <Form.Item name={['lifestyle', 'exerciseTimesPerWeek']} label={t('followUp.exerciseTimes')} rules={[lifestyleRule('exerciseTimesPerWeek')]}>
                <InputNumber suffix={t('followUp.timesPerWeek')} style={{ width: '100%' }} data-testid="followup-exercise-times" />
              </Form.Item>
            </Col>
            <Col xs={12} lg={4}>
              <Form.Item name={['lifestyle', 'exerciseMinutes']} label={t('followUp.exerciseMinutes')} rules={[lifestyleRule('exerciseMinutes')]}>
                <InputNumber suffix={t('followUp.minutesPerTime')} style={{ width: '100%' }} data-testid="followup-exercise-minutes" />
              </Form.Item>
            </Col>
            <Col xs={12} lg={4}>
              <Form.Item name={['lifestyle', 'targetWeightKg']} label={t('followUp.targetWeight')} rules={[lifestyleRule('targetWeightKg')]}>
                <InputNumber suffix="kg" style={{ width: '100%' }} />
              </Form.Item>
            </Col>
            <Col xs={24} lg={4}>
              <Form.Item name={['lifestyle', 'salt']} label={t('followUp.salt')}>
                <Radio.Group optionType="button" options={SALT.map((s) => ({ value: s, label: t(`salt.${s}`) }))} data-testid="followup-salt" />
              </Form.Item>
            </Col>
          </Row>
          <Form.Item name="note" label={t('followUp.note')} rules={[rule('note')]}>
            <Input.TextArea rows={3} maxLength={2000} showCount data-testid="followup-note" />
          </Form.Item>
        </Card>

        <Flex justify="end">
          <Button type="primary" htmlType="submit" icon={<SaveOutlined />} loading={record.isPending} data-testid="followup-submit">
            {t('followUp.submit')}
          </Button>
        </Flex>
      </Flex>
    </Form>
  );
}

/** A rule's reason in words: the measure and its threshold, the danger sign, the uncontrolled streak. */
export function useReasonText(programme: Programme | undefined): (reason: Reason) => string {
  const { t } = useTranslation('chronic');
  const english = currentLanguage() === 'en';
  return (r) => {
    switch (r.kind) {
      case 'danger_value':
        return t('reasons.danger_value', { measure: t(`measures.${r.measure}`, { defaultValue: r.measure }), value: r.value, rule: r.rule });
      case 'danger_sign': {
        const sign = programme?.rules.dangerSigns.find((d) => d.code === r.sign);
        return t('reasons.danger_sign', { sign: sign ? (english ? sign.en : sign.zh) : r.sign });
      }
      case 'successive_uncontrolled':
        return t('reasons.successive_uncontrolled', { count: r.count });
      default:
        return t('reasons.new_complication');
    }
  };
}

function FollowUpResult({ followUp: f, programme, onAnother }: { followUp: FollowUp; programme: Programme | undefined; onAnother: () => void }) {
  const { t } = useTranslation('chronic');
  const reasonText = useReasonText(programme);
  const alarming = f.danger || f.referral !== null;
  return (
    <Card data-testid="followup-result">
      <Result
        status={alarming ? 'warning' : f.classification === 'controlled' ? 'success' : 'info'}
        title={
          <Space>
            {t('followUp.resultTitle')}
            <ClassificationTag classification={f.classification} />
          </Space>
        }
        subTitle={
          <span data-testid="followup-next-due" data-next-due={f.nextDueAt}>
            {t('followUp.nextDueOn', { day: formatDay(f.nextDueAt) })}
          </span>
        }
        extra={[
          <Link key="worklist" to="/worklist">
            <Button type="primary" data-testid="followup-back-worklist">
              {t('followUp.backToWorklist')}
            </Button>
          </Link>,
          <Link key="programme" to={`/worklist/residents/${f.residentId}`}>
            <Button data-testid="followup-to-programme">{t('followUp.toProgramme')}</Button>
          </Link>,
          <Button key="another" onClick={onAnother}>
            {t('followUp.another')}
          </Button>,
        ]}
      >
        {alarming && (
          <Alert
            type="error"
            showIcon
            title={f.referral ? t('followUp.referralAdvice') : t('followUp.dangerFound')}
            description={
              <ul style={{ margin: 0, paddingInlineStart: 20 }} data-testid="followup-reasons">
                {f.reasons.map((r, i) => (
                  <li key={i}>{reasonText(r)}</li>
                ))}
              </ul>
            }
          />
        )}
        <Divider />
        <Descriptions
          size="small"
          column={{ xs: 1, md: 3 }}
          items={[
            { key: 'bp', label: t('bloodPressure'), children: f.sbp !== null || f.dbp !== null ? t('bpValue', { sbp: f.sbp ?? '—', dbp: f.dbp ?? '—' }) : t('common:none') },
            { key: 'fpg', label: t('measures.fpg'), children: f.fpg ?? t('common:none') },
            { key: 'bmi', label: t('followUp.bmi'), children: f.bmi ?? t('common:none') },
            { key: 'mode', label: t('followUp.mode'), children: <Tag>{t(`modes.${f.mode}`)}</Tag> },
            { key: 'rules', label: t('ruleVersion'), children: `v${f.ruleVersion}` },
          ]}
        />
      </Result>
    </Card>
  );
}
