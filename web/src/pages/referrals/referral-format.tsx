// How a referral's state, urgency, direction and deadline show, the same on the worklist, the detail and the bell.
import { Tag, Tooltip } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined, ClockCircleOutlined, ThunderboltOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from '../../components/labels.tsx';
import type { Direction, ReferralState, Urgency } from './referral-types.ts';

const STATE_COLORS: Record<ReferralState, string> = {
  requested: 'processing',
  accepted: 'cyan',
  scheduled: 'geekblue',
  arrived: 'purple',
  completed: 'gold',
  closed: 'success',
  rejected: 'error',
  redirected: 'orange',
  cancelled: 'default',
  expired: 'volcano',
};

export function StateTag({ state }: { state: ReferralState }) {
  const { t } = useTranslation('referrals');
  return (
    <Tag color={STATE_COLORS[state]} data-testid="referral-state" data-state={state}>
      {t(`states.${state}`)}
    </Tag>
  );
}

/** Routine cases get no tag: only what needs attention stands out on a worklist. */
export function UrgencyTag({ urgency, always = false }: { urgency: Urgency; always?: boolean }) {
  const { t } = useTranslation('referrals');
  if (urgency === 'routine' && !always) return null;
  if (urgency === 'green_channel') {
    return (
      <Tag color="green" icon={<ThunderboltOutlined />} data-testid="green-channel">
        {t('urgencies.green_channel')}
      </Tag>
    );
  }
  return <Tag color={urgency === 'urgent' ? 'orange' : 'default'}>{t(`urgencies.${urgency}`)}</Tag>;
}

export function DirectionTag({ direction }: { direction: Direction }) {
  const { t } = useTranslation('referrals');
  return (
    <Tag icon={direction === 'up' ? <ArrowUpOutlined /> : <ArrowDownOutlined />} color={direction === 'up' ? 'blue' : 'purple'}>
      {t(`directions.${direction}`)}
    </Tag>
  );
}

export function OverdueTag({ dueAt }: { dueAt: string | null }) {
  const { t } = useTranslation('referrals');
  return (
    <Tooltip title={dueAt ? t('dueAtTooltip', { at: formatDateTime(dueAt) }) : undefined}>
      <Tag color="red" icon={<ClockCircleOutlined />} data-testid="overdue">
        {t('overdue')}
      </Tag>
    </Tooltip>
  );
}

/** "2026-12-01 09:00" — appointments and deadlines need minutes, not seconds. */
export function formatMinute(iso: string | null | undefined): string | null {
  return iso ? formatDateTime(iso).slice(0, 16) : null;
}
