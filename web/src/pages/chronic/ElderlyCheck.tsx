// The elderly annual health check (老年人年度健康体检) in one form: the components come from the check's rules
// (versioned data, GET /elderly-checks/rules), each with its fields; the server judges the check and answers with the
// abnormal findings (urgent ones first to the team), which show after saving, with the components not done. A check
// made at a health-post session (?sessionId=) is linked to it. The resident's earlier checks are listed below.
import { useState } from 'react';
import { Alert, App, Button, Card, Col, DatePicker, Empty, Flex, Form, Input, InputNumber, List, Result, Row, Select, Space, Table, Tag, Typography } from 'antd';
import { ArrowLeftOutlined, SaveOutlined, WarningOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { Link, useParams, useSearchParams } from 'react-router';
import { api } from '../../api.ts';
import { Page } from '../../components/page.tsx';
import { QueryView } from '../../components/query-state.tsx';
import type { Id, Items, ResidentDetail } from '../../types.ts';
import { consoleSourceId, formatDay, useText } from './chronic-format.tsx';

interface Text {
  code: string;
  zh: string;
  en: string;
}
interface Finding extends Text {
  urgent?: boolean;
  measure?: string;
  value?: number;
}
export interface ElderlyCheck {
  id: Id;
  year: number;
  checkDate: string;
  ruleVersion: number;
  sessionId: Id | null;
  missing: string[];
  complete: boolean;
  findings: Finding[];
  urgent: boolean;
  followUpTaskId: Id | null;
  createdAt: string;
}
interface CheckRules {
  current: number;
  items: Array<{ version: number; rules: { components: Text[] } }>;
}

type Field = { name: string; kind: 'number'; unit?: string; step?: number } | { name: string; kind: 'choice'; options: string[] } | { name: string; kind: 'symptoms' };
/** The fields of each component (the server's CheckResults), by component code; `path` is where its values go. */
const COMPONENT_FIELDS: Record<string, { path: string[]; fields: Field[] }> = {
  lifestyle: { path: ['lifestyle'], fields: [{ name: 'smoking', kind: 'choice', options: ['never', 'former', 'current'] }, { name: 'drinking', kind: 'choice', options: ['never', 'occasional', 'often', 'daily'] }, { name: 'exerciseTimesPerWeek', kind: 'number' }, { name: 'diet', kind: 'choice', options: ['balanced', 'meat', 'vegetarian', 'salty', 'oily', 'sweet'] }] },
  symptoms: { path: [], fields: [{ name: 'symptoms', kind: 'symptoms' }] },
  physical: {
    path: ['physical'],
    fields: [
      { name: 'sbp', kind: 'number', unit: 'mmHg' }, { name: 'dbp', kind: 'number', unit: 'mmHg' }, { name: 'heartRate', kind: 'number', unit: '/min' }, { name: 'temperature', kind: 'number', unit: '℃', step: 0.1 },
      { name: 'heightCm', kind: 'number', unit: 'cm' }, { name: 'weightKg', kind: 'number', unit: 'kg', step: 0.1 }, { name: 'waistCm', kind: 'number', unit: 'cm' },
    ],
  },
  self_assessment: { path: ['selfAssessment'], fields: [{ name: 'health', kind: 'choice', options: ['satisfied', 'fair', 'unsatisfied'] }, { name: 'selfCareScore', kind: 'number' }] },
  cognitive: { path: [], fields: [{ name: 'cognitive', kind: 'choice', options: ['negative', 'positive'] }] },
  emotional: { path: [], fields: [{ name: 'emotional', kind: 'choice', options: ['negative', 'positive'] }] },
  blood_routine: { path: ['bloodRoutine'], fields: [{ name: 'hb', kind: 'number', unit: 'g/L' }, { name: 'wbc', kind: 'number', unit: '×10⁹/L', step: 0.1 }, { name: 'plt', kind: 'number', unit: '×10⁹/L' }] },
  urine_routine: { path: ['urineRoutine'], fields: ['protein', 'glucose', 'ketone', 'occultBlood'].map((name) => ({ name, kind: 'choice' as const, options: ['negative', 'trace', 'positive'] })) },
  fasting_glucose: { path: [], fields: [{ name: 'fastingGlucose', kind: 'number', unit: 'mmol/L', step: 0.1 }] },
  blood_lipids: { path: ['bloodLipids'], fields: ['tc', 'tg', 'ldl', 'hdl'].map((name) => ({ name, kind: 'number' as const, unit: 'mmol/L', step: 0.01 })) },
  liver_function: { path: ['liverFunction'], fields: [{ name: 'alt', kind: 'number', unit: 'U/L' }, { name: 'ast', kind: 'number', unit: 'U/L' }, { name: 'tbil', kind: 'number', unit: 'μmol/L', step: 0.1 }] },
  kidney_function: { path: ['kidneyFunction'], fields: [{ name: 'scr', kind: 'number', unit: 'μmol/L' }, { name: 'bun', kind: 'number', unit: 'mmol/L', step: 0.1 }] },
  ecg: { path: [], fields: [{ name: 'ecg', kind: 'choice', options: ['normal', 'abnormal'] }] },
  abdominal_ultrasound: { path: [], fields: [{ name: 'abdominalUltrasound', kind: 'choice', options: ['normal', 'abnormal'] }] },
};
const SYMPTOMS = ['none', 'headache_dizziness', 'chest_pain', 'palpitation', 'dyspnoea', 'cough', 'polyuria', 'weight_loss', 'joint_pain'];

/** The form's values without the empty fields (and empty groups), as the API takes them. */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [k, compact(v)] as const).filter(([, v]) => v !== undefined && v !== null && v !== '');
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  return value;
}

export function elderlyCheckPath(residentId: Id, sessionId?: Id): string {
  return `/worklist/residents/${residentId}/elderly-check${sessionId ? `?sessionId=${sessionId}` : ''}`;
}

export default function ElderlyCheckPage() {
  const { t } = useTranslation('care');
  const { id = '' } = useParams();
  const resident = useQuery({ queryKey: ['residents', id], queryFn: () => api<ResidentDetail>(`/residents/${id}`) });
  const rules = useQuery({ queryKey: ['elderly-checks', 'rules'], queryFn: () => api<CheckRules>('/elderly-checks/rules'), staleTime: 10 * 60_000 });
  return (
    <Page
      title={resident.data ? `${t('elderly.title')} · ${resident.data.name}` : t('elderly.title')}
      extra={
        <Link to={`/worklist/residents/${id}`}>
          <Button icon={<ArrowLeftOutlined />}>{t('chronic:followUp.toProgramme')}</Button>
        </Link>
      }
    >
      <QueryView query={rules}>{(r) => <CheckForm residentId={Number(id)} rules={r} />}</QueryView>
      <CheckHistory residentId={Number(id)} />
    </Page>
  );
}

function CheckForm({ residentId, rules }: { residentId: Id; rules: CheckRules }) {
  const { t } = useTranslation('care');
  const { message } = App.useApp();
  const text = useText();
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  const sessionId = Number(params.get('sessionId')) || undefined;
  const [form] = Form.useForm();
  const [saved, setSaved] = useState<ElderlyCheck | null>(null);
  const [sourceId] = useState(consoleSourceId);
  const current = rules.items.find((v) => v.version === rules.current) ?? rules.items[0];
  const record = useMutation({
    mutationFn: (v: Record<string, unknown> & { checkedAt: Dayjs; note?: string }) => {
      const { checkedAt, note, ...results } = v;
      const symptoms = (results.symptoms as string[] | undefined) ?? undefined;
      return api<ElderlyCheck>('/elderly-checks', {
        method: 'POST',
        body: { residentId, checkedAt: checkedAt.toISOString(), results: { ...(compact({ ...results, symptoms: undefined }) as object), ...(symptoms ? { symptoms: symptoms.filter((s) => s !== 'none') } : {}) }, sessionId, note: note || undefined, sourceId },
      });
    },
    onSuccess: (check) => {
      setSaved(check);
      void message.success(t('saved'));
      void queryClient.invalidateQueries({ queryKey: ['elderly-checks'] });
      void queryClient.invalidateQueries({ queryKey: ['chronic'] });
      void queryClient.invalidateQueries({ queryKey: ['worklist'] });
    },
  });

  if (saved) return <CheckResult check={saved} components={current?.rules.components ?? []} residentId={residentId} />;

  return (
    <Form form={form} layout="vertical" data-testid="elderly-form" initialValues={{ checkedAt: dayjs() }} onFinish={(v) => record.mutate(v)}>
      <Flex vertical gap={16}>
        {record.error && <Alert type="error" showIcon title={t('failed')} description={record.error.message} data-testid="elderly-error" />}
        <Card>
          <Form.Item name="checkedAt" label={t('elderly.checkedAt')} rules={[{ required: true }]}>
            <DatePicker showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm" allowClear={false} />
          </Form.Item>
          <Typography.Text type="secondary">{t('elderly.rules', { version: rules.current })}</Typography.Text>
        </Card>
        {(current?.rules.components ?? []).map((c) => {
          const spec = COMPONENT_FIELDS[c.code];
          if (!spec) return null;
          return (
            <Card key={c.code} title={text(c)} size="small" data-testid={`component-${c.code}`}>
              <Row gutter={16}>
                {spec.fields.map((f) => (
                  <Col key={f.name} xs={12} lg={f.kind === 'symptoms' ? 24 : 6}>
                    <Form.Item name={[...spec.path, f.name]} label={t(`elderly.fields.${f.name}`)}>
                      {f.kind === 'number' ? (
                        <InputNumber suffix={f.unit} step={f.step ?? 1} style={{ width: '100%' }} data-testid={`check-${f.name}`} />
                      ) : f.kind === 'choice' ? (
                        <Select allowClear options={f.options.map((o) => ({ value: o, label: t(`elderly.options.${o}`) }))} data-testid={`check-${f.name}`} />
                      ) : (
                        <Select mode="multiple" allowClear options={SYMPTOMS.map((s) => ({ value: s, label: t(`elderly.symptoms.${s}`) }))} data-testid="check-symptoms" />
                      )}
                    </Form.Item>
                  </Col>
                ))}
              </Row>
            </Card>
          );
        })}
        <Card>
          <Form.Item name="note" label={t('elderly.note')}>
            <Input.TextArea rows={2} maxLength={2000} />
          </Form.Item>
          <Button type="primary" htmlType="submit" icon={<SaveOutlined />} loading={record.isPending} data-testid="elderly-submit">
            {t('elderly.submit')}
          </Button>
        </Card>
      </Flex>
    </Form>
  );
}

function CheckResult({ check, components, residentId }: { check: ElderlyCheck; components: Text[]; residentId: Id }) {
  const { t } = useTranslation('care');
  const text = useText();
  const name = (code: string) => {
    const c = components.find((x) => x.code === code);
    return c ? text(c) : code;
  };
  return (
    <Result
      status={check.urgent ? 'warning' : 'success'}
      title={t('elderly.resultTitle')}
      subTitle={check.complete ? t('elderly.complete') : t('elderly.missing', { items: check.missing.map(name).join(t('chronic:separator')) })}
      data-testid="elderly-result"
      extra={
        <Link to={`/worklist/residents/${residentId}`}>
          <Button type="primary" data-testid="elderly-to-programme">{t('elderly.another')}</Button>
        </Link>
      }
    >
      {check.findings.length === 0 ? (
        <Typography.Paragraph data-testid="elderly-no-findings">{t('elderly.noFindings')}</Typography.Paragraph>
      ) : (
        <Card title={t('elderly.findings')} size="small">
          <List
            size="small"
            dataSource={check.findings}
            data-testid="elderly-findings"
            renderItem={(f) => (
              <List.Item data-testid="elderly-finding" data-code={f.code}>
                <Space>
                  {f.urgent && (
                    <Tag color="red" icon={<WarningOutlined />}>
                      {t('elderly.urgent')}
                    </Tag>
                  )}
                  {text(f)}
                  {f.value !== undefined && <Typography.Text type="secondary">({f.value})</Typography.Text>}
                </Space>
              </List.Item>
            )}
          />
          {check.followUpTaskId && <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>{t('elderly.followUpTask')}</Typography.Paragraph>}
        </Card>
      )}
    </Result>
  );
}

function CheckHistory({ residentId }: { residentId: Id }) {
  const { t } = useTranslation('care');
  const text = useText();
  const list = useQuery({ queryKey: ['elderly-checks', residentId], queryFn: () => api<Items<ElderlyCheck>>('/elderly-checks', { query: { residentId } }) });
  return (
    <Card title={t('elderly.history')}>
      <Table<ElderlyCheck>
        rowKey="id"
        size="small"
        pagination={false}
        loading={list.isPending}
        dataSource={list.data?.items}
        data-testid="elderly-history"
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('elderly.noHistory')} /> }}
        columns={[
          { title: t('elderly.year'), key: 'year', render: (_, c) => c.year },
          { title: t('elderly.checkedAt'), key: 'day', render: (_, c) => formatDay(c.checkDate) },
          { title: t('chronic:ruleVersion'), key: 'v', render: (_, c) => `v${c.ruleVersion}` },
          {
            title: t('elderly.findings'),
            key: 'findings',
            render: (_, c) => (c.findings.length ? c.findings.map((f) => <Tag key={f.code} color={f.urgent ? 'red' : 'orange'}>{text(f)}</Tag>) : t('elderly.noFindings')),
          },
        ]}
      />
    </Card>
  );
}
