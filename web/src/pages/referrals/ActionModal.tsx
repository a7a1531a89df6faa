// Taking one action on a referral: what each action asks for is data (ACTION_FORMS), read by one modal. The case's
// version travels along, so a case someone else changed meanwhile is refused rather than overwritten.
import { Alert, App, DatePicker, Form, Input, Modal, Select, Space, Typography } from 'antd';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { z } from 'zod';
import { api, isApiError } from '../../api.ts';
import type { Id } from '../../types.ts';
import type { Referral, ReferralAction, ReferralDetail, ReferralTarget } from './referral-types.ts';
import { SLOT_POOLS_KEY, SlotPicker } from './SlotPicker.tsx';
import { parseForm, zodRule } from './zod-form.ts';

type Need = 'required' | 'optional';

interface ActionForm {
  note?: Need;
  summary?: Need;
  slot?: Need;
  /** redirect: another hospital (and department) */
  redirect?: boolean;
  /** follow-up: when it happened */
  at?: boolean;
  danger?: boolean;
}

/** What each action asks for (the server requires the same: reject, redirect and follow-up a note, …). */
export const ACTION_FORMS: Record<ReferralAction, ActionForm> = {
  accept: { slot: 'optional', note: 'optional' },
  reject: { note: 'required', danger: true },
  redirect: { redirect: true, note: 'required' },
  schedule: { slot: 'required' },
  arrive: { note: 'optional' },
  complete: { summary: 'optional' },
  'return-summary': { summary: 'required' },
  cancel: { note: 'optional', danger: true },
  'no-show': { note: 'optional', danger: true },
  'follow-up': { note: 'required', at: true },
};

/** The next step of the case's usual path: shown as the primary button. */
export const MAIN_ACTIONS: readonly ReferralAction[] = ['accept', 'arrive', 'complete', 'return-summary', 'follow-up'];

const blank = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

const ActionSchema = z.object({
  note: blank(z.string().trim().max(2000, 'tooLong')),
  summary: blank(z.string().trim().max(20000, 'tooLong')),
  slotId: z.number().int().positive().optional(),
  targetInstitutionId: z.number().int().positive().optional(),
  targetDepartment: blank(z.string().trim().max(100, 'tooLong')),
  at: z.custom<Dayjs>((v) => dayjs.isDayjs(v)).optional(),
});
type Values = z.input<typeof ActionSchema>;

function schemaFor(spec: ActionForm) {
  return ActionSchema.superRefine((v, ctx) => {
    const missing = (path: keyof Values, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (spec.note === 'required' && !v.note) missing('note', 'noteRequired');
    if (spec.summary === 'required' && !v.summary) missing('summary', 'summaryRequired');
    if (spec.slot === 'required' && !v.slotId) missing('slotId', 'slotRequired');
    if (spec.redirect && !v.targetInstitutionId) missing('targetInstitutionId', 'targetRequired');
    if (v.at && v.at.isAfter(dayjs())) missing('at', 'notInFuture');
  });
}

export function ActionModal({ referral, action, onClose }: { referral: ReferralDetail; action: ReferralAction | null; onClose: () => void }) {
  const { t } = useTranslation('referrals');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<Values>();
  const spec = action ? ACTION_FORMS[action] : {};
  const v = (key: string) => t(`validation.${key}`, { defaultValue: t('validation.invalid') });
  const rule = (field: keyof Values) => zodRule(ActionSchema.shape[field], v);
  // a case with an appointment already is scheduled by accepting it; otherwise the desk may book one now (slots are
  // specialist places: upward cases only)
  const showSlot = referral.direction === 'up' && (spec.slot === 'required' || (spec.slot === 'optional' && !referral.appointment));

  const run = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Referral>(`/referrals/${referral.id}/${action}`, { method: 'POST', body: { version: referral.version, ...body } }),
    onSuccess: () => {
      void message.success(t('actionDone', { action: t(`actions.${action}`) }));
      void queryClient.invalidateQueries({ queryKey: ['referrals'] });
      void queryClient.invalidateQueries({ queryKey: ['notifications'] });
      void queryClient.invalidateQueries({ queryKey: SLOT_POOLS_KEY });
      form.resetFields();
      onClose();
    },
    onError: (error) => {
      if (isApiError(error) && (error.code === 'SLOT_TAKEN' || error.code === 'SLOT_RESERVED')) {
        form.setFieldValue('slotId', undefined);
        void queryClient.invalidateQueries({ queryKey: SLOT_POOLS_KEY });
      }
      // the case moved on meanwhile: show it as it is now behind the modal
      if (isApiError(error, 409)) void queryClient.invalidateQueries({ queryKey: ['referrals', String(referral.id)] });
    },
  });

  const submit = (values: Values) => {
    const parsed = parseForm(form, schemaFor(spec), values, v);
    if (!parsed) return;
    run.mutate({
      note: parsed.note,
      summary: parsed.summary,
      slotId: showSlot ? parsed.slotId : undefined,
      targetInstitutionId: spec.redirect ? parsed.targetInstitutionId : undefined,
      targetDepartment: spec.redirect ? parsed.targetDepartment : undefined,
      at: spec.at && parsed.at ? parsed.at.toISOString() : undefined,
    });
  };

  return (
    <Modal
      open={action !== null}
      title={action ? t('actionTitle', { action: t(`actions.${action}`), resident: referral.resident.name }) : undefined}
      okText={action ? t(`actions.${action}`) : undefined}
      okButtonProps={{ danger: spec.danger, loading: run.isPending, 'data-testid': 'action-confirm' }}
      onOk={() => form.submit()}
      onCancel={() => {
        run.reset();
        onClose();
      }}
      destroyOnHidden
      width={showSlot ? 720 : 520}
    >
      <Space orientation="vertical" style={{ width: '100%' }} size={12}>
        {action && <Typography.Paragraph type="secondary" style={{ margin: 0 }}>{t(`actionHints.${action}`)}</Typography.Paragraph>}
        {run.error && <Alert type="error" showIcon title={run.error.message} data-testid="action-error" />}
        <Form<Values> form={form} layout="vertical" onFinish={submit} initialValues={{ at: spec.at ? dayjs() : undefined }}>
          {spec.redirect && <RedirectFields referral={referral} rule={rule} />}
          {showSlot && (
            <Form.Item name="slotId" label={t('slot')} required={spec.slot === 'required'} rules={[rule('slotId')]}>
              <SlotPicker institutionId={referral.target.institutionId} department={referral.target.department} />
            </Form.Item>
          )}
          {spec.summary && (
            <Form.Item
              name="summary"
              label={t('resultSummary')}
              required={spec.summary === 'required'}
              extra={action === 'complete' ? t('completeSummaryHint') : undefined}
              rules={[rule('summary')]}
            >
              <Input.TextArea rows={5} maxLength={20000} showCount placeholder={t('resultSummaryPlaceholder')} data-testid="action-summary" />
            </Form.Item>
          )}
          {spec.at && (
            <Form.Item name="at" label={t('followedUpAt')} rules={[rule('at')]}>
              <DatePicker showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm" disabledDate={(d) => d.isAfter(dayjs(), 'day')} />
            </Form.Item>
          )}
          {spec.note && (
            <Form.Item name="note" label={t(`noteLabels.${action}`, { defaultValue: t('note') })} required={spec.note === 'required'} rules={[rule('note')]}>
              <Input.TextArea rows={3} maxLength={2000} showCount data-testid="action-note" />
            </Form.Item>
          )}
        </Form>
      </Space>
    </Modal>
  );
}

/** Another hospital for a redirected case: those of the resident's consortium first. */
function RedirectFields({ referral, rule }: { referral: ReferralDetail; rule: (field: keyof Values) => ReturnType<typeof zodRule> }) {
  const { t } = useTranslation('referrals');
  const targets = useQuery({
    queryKey: ['referral-targets', referral.resident.id],
    queryFn: () => api<ReferralTarget[]>('/referral-targets', { query: { residentId: referral.resident.id } }),
  });
  const others = (targets.data ?? []).filter((x) => x.institutionId !== referral.target.institutionId);
  return (
    <>
      <Form.Item name="targetInstitutionId" label={t('redirectTo')} required rules={[rule('targetInstitutionId')]}>
        <Select<Id>
          showSearch={{ optionFilterProp: 'label' }}
          loading={targets.isPending}
          placeholder={t('targetPlaceholder')}
          options={others.map((x) => ({ value: x.institutionId, label: x.inConsortium ? `${x.name} · ${t('inConsortium')}` : x.name }))}
          data-testid="action-redirect-target"
        />
      </Form.Item>
      <Form.Item name="targetDepartment" label={t('department')} rules={[rule('targetDepartment')]}>
        <Input maxLength={100} placeholder={t('departmentPlaceholder')} />
      </Form.Item>
    </>
  );
}
