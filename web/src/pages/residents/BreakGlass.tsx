// Emergency access (紧急调阅, "break-glass"): without a care relationship the record is refused; in an emergency the
// clinician states a reason, gets time-limited access, and the district administrator reviews every such use.
import { useState } from 'react';
import { Alert, App, Button, Result, Space, Typography } from 'antd';
import { AlertOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import { useUser } from '../../auth.ts';
import type { Id } from '../../types.ts';
import { ReasonModal } from './ReasonModal.tsx';
import { BREAK_GLASS_MIN_REASON, isClinician, type BreakGlassGrant } from './record-types.ts';

const grantKey = (residentId: Id | string) => `caregrid.breakGlass.${residentId}`;

/** Remembers a grant for this browser tab, so the page can say the record is open through emergency access. */
function rememberGrant(granted: BreakGlassGrant): void {
  try {
    window.sessionStorage.setItem(grantKey(granted.residentId), granted.expiresAt);
  } catch {
    // storage blocked: the banner simply does not show
  }
}

function activeGrantUntil(residentId: Id | string): string | null {
  try {
    const until = window.sessionStorage.getItem(grantKey(residentId));
    return until && dayjs(until).isAfter(dayjs()) ? until : null;
  } catch {
    return null;
  }
}

/** Shown above a record opened through break-glass: the user should not forget that this use will be reviewed. */
export function BreakGlassBanner({ residentId }: { residentId: Id | string }) {
  const { t } = useTranslation('records');
  const until = activeGrantUntil(residentId);
  if (!until) return null;
  return <Alert type="warning" showIcon banner title={t('breakGlass.active', { until: dayjs(until).format('YYYY-MM-DD HH:mm') })} data-testid="break-glass-active" />;
}

/** What the page shows instead of the record when the caller is outside the resident's circle of care. */
export function OutOfScope({ residentId }: { residentId: Id | string }) {
  const { t } = useTranslation('records');
  const [open, setOpen] = useState(false);
  // only people who give care may break the glass; others just learn why the record is closed
  const mayBreakGlass = isClinician(useUser().roles);
  return (
    <>
      <Result
        status="403"
        title={t('outOfScope.title')}
        subTitle={
          <Space orientation="vertical" size={4}>
            <span data-testid="out-of-scope">{t('outOfScope.explanation')}</span>
            {mayBreakGlass && <Typography.Text type="secondary">{t('outOfScope.howTo')}</Typography.Text>}
          </Space>
        }
        extra={
          mayBreakGlass && (
            <Button danger type="primary" icon={<AlertOutlined />} onClick={() => setOpen(true)} data-testid="break-glass-open">
              {t('breakGlass.button')}
            </Button>
          )
        }
      />
      <BreakGlassModal residentId={residentId} open={open} onClose={() => setOpen(false)} />
    </>
  );
}

function BreakGlassModal({ residentId, open, onClose }: { residentId: Id | string; open: boolean; onClose: () => void }) {
  const { t } = useTranslation('records');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const grant = useMutation({
    mutationFn: (reason: string) => api<BreakGlassGrant>(`/residents/${residentId}/break-glass`, { method: 'POST', body: { reason } }),
    onSuccess: async (granted) => {
      rememberGrant(granted);
      void message.warning(t('breakGlass.granted', { until: dayjs(granted.expiresAt).format('YYYY-MM-DD HH:mm') }), 6);
      onClose();
      // everything about this resident was refused before; ask again now that access is granted
      await queryClient.invalidateQueries({ queryKey: ['residents'] });
    },
  });
  return (
    <ReasonModal
      open={open}
      title={t('breakGlass.title')}
      okText={t('breakGlass.confirm')}
      warning={t('breakGlass.warning')}
      warningDetail={t('breakGlass.warningDetail')}
      label={t('breakGlass.reason')}
      placeholder={t('breakGlass.reasonPlaceholder')}
      rules={[
        { required: true, whitespace: true, message: t('breakGlass.reasonRequired') },
        {
          validator: (_, value?: string) =>
            !value || value.trim().length >= BREAK_GLASS_MIN_REASON
              ? Promise.resolve()
              : Promise.reject(new Error(t('breakGlass.reasonTooShort', { min: BREAK_GLASS_MIN_REASON }))),
        },
      ]}
      maxLength={500}
      testIds={{ confirm: 'break-glass-confirm', field: 'break-glass-reason', error: 'break-glass-error' }}
      pending={grant.isPending}
      error={grant.error}
      onSubmit={(reason) => grant.mutateAsync(reason)}
      onCancel={() => {
        grant.reset();
        onClose();
      }}
    />
  );
}
