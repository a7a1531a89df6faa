// Taking one workflow action on an alert (review → investigate → close as a true or false alarm; assign; add a note).
// What each action asks for is data (ACTION_FORMS), as on the server: investigating opens the investigation record
// and needs its note, closing needs the outcome and the conclusion. The alert's version travels along, so an alert
// someone else changed meanwhile is refused and the page says so, showing the alert as it is now.
import { Alert, App, Form, Input, Modal, Radio, Select, Space, Typography } from 'antd';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, isApiError } from '../../api.ts';
import type { AlertAction, AlertDetail, AlertItem, Assignee } from './surveillance-types.ts';

type Need = 'required' | 'optional';
interface ActionForm {
  note: Need;
  assignee?: Need;
  outcome?: boolean;
}

export const ACTION_FORMS: Record<AlertAction, ActionForm> = {
  review: { note: 'optional', assignee: 'optional' },
  investigate: { note: 'required', assignee: 'optional' },
  close: { note: 'required', outcome: true },
  assign: { note: 'optional', assignee: 'required' },
  note: { note: 'required' },
};

/** The next step of the usual path, shown as the primary button. */
export const MAIN_ACTIONS: readonly AlertAction[] = ['review', 'investigate'];

interface Values {
  note?: string;
  assigneeId?: number;
  outcome?: 'true' | 'false';
}

export function AlertActionModal({ alert, action, onClose }: { alert: AlertDetail; action: AlertAction | null; onClose: () => void }) {
  const { t } = useTranslation('surveillance');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<Values>();
  const spec = action ? ACTION_FORMS[action] : undefined;
  const assignees = useQuery({
    queryKey: ['surveillance', 'assignees'],
    queryFn: () => api<{ items: Assignee[] }>('/surveillance/assignees'),
    enabled: Boolean(spec?.assignee),
    staleTime: 10 * 60_000,
  });

  const run = useMutation({
    mutationFn: (body: Values) =>
      api<AlertItem>(`/surveillance/alerts/${alert.id}/${action}`, {
        method: 'POST',
        body: { ...(action === 'note' ? {} : { version: alert.version }), ...body },
      }),
    onSuccess: () => {
      void message.success(t('actionDone', { action: t(`actions.${action}`) }));
      void queryClient.invalidateQueries({ queryKey: ['surveillance', 'alerts'] });
      form.resetFields();
      onClose();
    },
    onError: (error) => {
      // the alert moved on meanwhile: reload it behind the modal so the user sees what changed
      if (isApiError(error, 409)) void queryClient.invalidateQueries({ queryKey: ['surveillance', 'alerts', String(alert.id)] });
    },
  });

  const submit = (values: Values) => {
    const note = values.note?.trim() || undefined;
    run.mutate({ note, assigneeId: spec?.assignee ? values.assigneeId : undefined, outcome: spec?.outcome ? values.outcome : undefined });
  };
  const stale = isApiError(run.error, 409) && run.error.code === 'STALE_VERSION';

  return (
    <Modal
      open={action !== null}
      title={action ? t('actionTitle', { action: t(`actions.${action}`), id: alert.id }) : undefined}
      okText={action ? t(`actions.${action}`) : undefined}
      okButtonProps={{ loading: run.isPending, 'data-testid': 'alert-action-confirm' }}
      onOk={() => form.submit()}
      onCancel={() => {
        run.reset();
        onClose();
      }}
      destroyOnHidden
    >
      <Space orientation="vertical" style={{ width: '100%' }} size={12}>
        {action && <Typography.Paragraph type="secondary" style={{ margin: 0 }}>{t(`actionHints.${action}`)}</Typography.Paragraph>}
        {stale ? (
          <Alert type="warning" showIcon title={t('staleTitle')} description={t('staleHint')} data-testid="alert-stale" />
        ) : (
          run.error && <Alert type="error" showIcon title={run.error.message} data-testid="alert-action-error" />
        )}
        <Form<Values> form={form} layout="vertical" onFinish={submit}>
          {spec?.outcome && (
            <Form.Item name="outcome" label={t('outcome')} rules={[{ required: true, message: t('outcomeRequired') }]}>
              <Radio.Group
                options={[
                  { value: 'true', label: t('outcomes.true') },
                  { value: 'false', label: t('outcomes.false') },
                ]}
                data-testid="alert-outcome"
              />
            </Form.Item>
          )}
          {spec?.assignee && (
            <Form.Item
              name="assigneeId"
              label={t('assignee')}
              rules={spec.assignee === 'required' ? [{ required: true, message: t('assigneeRequired') }] : []}
            >
              <Select<number>
                allowClear
                showSearch={{ optionFilterProp: 'label' }}
                loading={assignees.isPending}
                placeholder={spec.assignee === 'optional' ? t('assigneeDefault') : undefined}
                options={(assignees.data?.items ?? []).map((u) => ({
                  value: u.id,
                  label: [u.displayName, u.roles.map((r) => t(`roles:${r}`, { defaultValue: r })).join('/')].join(' · '),
                }))}
                data-testid="alert-assignee"
              />
            </Form.Item>
          )}
          {spec && (
            <Form.Item
              name="note"
              label={t(`noteLabels.${action}`)}
              rules={spec.note === 'required' ? [{ required: true, whitespace: true, message: t(`noteRequired.${action}`, { defaultValue: t('noteRequired.note') }) }] : []}
            >
              <Input.TextArea rows={action === 'investigate' ? 5 : 3} maxLength={5000} showCount data-testid="alert-note-input" />
            </Form.Item>
          )}
        </Form>
      </Space>
    </Modal>
  );
}
