// How work items, programmes, classifications and readings show, the same on the worklist, the follow-up form, the
// programme page and the contract list.
import { Space, Tag, Tooltip, Typography } from 'antd';
import { AlertOutlined, ClockCircleOutlined } from '@ant-design/icons';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { currentLanguage } from '../../i18n/index.ts';
import type { Classification, Readings, WorkKind } from './chronic-types.ts';

const KIND_COLORS: Record<WorkKind, string> = {
  follow_up: 'blue',
  enrolment: 'cyan',
  danger: 'red',
  discharge: 'purple',
  renewal: 'gold',
  elderly_check: 'green',
  check_follow_up: 'lime',
};
const CLASS_COLORS: Record<Classification, string> = { controlled: 'success', uncontrolled: 'warning', adverse_reaction: 'orange', new_complication: 'error' };
const STATUS_COLORS: Record<string, string> = { active: 'success', expired: 'default', cancelled: 'default', transferred: 'purple' };

/** The console's own id of one write: a double click or a retry after a lost answer records it once. */
export const consoleSourceId = () => `console-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/** A server text given in both languages ({zh, en}: rule names, findings), in the console's language. */
export const useText = () => (x: { zh: string; en: string }) => (currentLanguage() === 'en' ? x.en : x.zh);

export const isUrgent = (priority: string) => priority === 'urgent' || priority === 'asap' || priority === 'stat';

/** A day in the browser's time zone, the same in both languages. */
export const formatDay = (iso: string | null | undefined) => (iso ? dayjs(iso).format('YYYY-MM-DD') : null);

export function WorkKindTag({ kind }: { kind: string }) {
  const { t } = useTranslation('chronic');
  return (
    <Tag color={KIND_COLORS[kind as WorkKind] ?? 'default'} data-testid="work-kind" data-kind={kind}>
      {t(`kinds.${kind}`, { defaultValue: kind })}
    </Tag>
  );
}

export function PriorityTag({ priority }: { priority: string }) {
  const { t } = useTranslation('chronic');
  if (!isUrgent(priority)) return null;
  return (
    <Tag color="red" icon={<AlertOutlined />} data-testid="urgent">
      {t('priorities.urgent')}
    </Tag>
  );
}

/** How far an overdue task has been escalated (超期督办): to the team lead, then to the centre's administrator. */
export function EscalationTag({ level }: { level: number | undefined }) {
  const { t } = useTranslation('chronic');
  if (!level) return null;
  return (
    <Tag color={level >= 2 ? 'magenta' : 'orange'} data-testid="escalated" data-level={level}>
      {t(`escalation.${level >= 2 ? 'admin' : 'lead'}`)}
    </Tag>
  );
}

export function OverdueTag({ dueAt }: { dueAt: string | null }) {
  const { t } = useTranslation('chronic');
  return (
    <Tooltip title={dueAt ? t('dueOn', { day: formatDay(dueAt) }) : undefined}>
      <Tag color="red" icon={<ClockCircleOutlined />} data-testid="overdue">
        {t('overdue')}
      </Tag>
    </Tooltip>
  );
}

export function ClassificationTag({ classification }: { classification: string | null }) {
  const { t } = useTranslation('chronic');
  if (!classification) return <>{t('common:none')}</>;
  return (
    <Tag color={CLASS_COLORS[classification as Classification] ?? 'default'} data-testid="classification" data-classification={classification}>
      {t(`classifications.${classification}`, { defaultValue: classification })}
    </Tag>
  );
}

export function ContractStatusTag({ status }: { status: string }) {
  const { t } = useTranslation('chronic');
  return (
    <Tag color={STATUS_COLORS[status] ?? 'default'} data-testid="contract-status" data-status={status}>
      {t(`contracts.statuses.${status}`, { defaultValue: status })}
    </Tag>
  );
}

/** A programme's name from its code (the server's names are Chinese; the console translates the known ones). */
export function useProgrammeName(): (code: string) => string {
  const { t } = useTranslation('chronic');
  return (code) => t(`programmes.${code}`, { defaultValue: code });
}

export function ProgrammeTags({ codes }: { codes: readonly string[] }) {
  const name = useProgrammeName();
  if (codes.length === 0) return null;
  return (
    <Space size={[0, 4]} wrap>
      {codes.map((code) => (
        <Tag key={code} color={code === 'hypertension' ? 'red' : code === 'diabetes' ? 'volcano' : 'default'}>
          {name(code)}
        </Tag>
      ))}
    </Space>
  );
}

/** The last blood pressure and glucose, each with where and when it was measured. */
export function LastReadings({ readings }: { readings: Readings | null }) {
  const { t } = useTranslation('chronic');
  if (!readings || (!readings.sbp && !readings.dbp && !readings.fpg && !readings.glucose)) {
    return <Typography.Text type="secondary">{t('noReadings')}</Typography.Text>;
  }
  const bp = readings.sbp ?? readings.dbp;
  const glucose = readings.fpg ?? readings.glucose;
  return (
    <Space orientation="vertical" size={0}>
      {bp && (
        <Typography.Text data-testid="last-bp">
          {t('bpValue', { sbp: readings.sbp?.value ?? '—', dbp: readings.dbp?.value ?? '—' })}
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {' '}
            {t('measuredAt', { day: formatDay(bp.at), place: bp.institutionName ?? '—' })}
          </Typography.Text>
        </Typography.Text>
      )}
      {glucose && (
        <Typography.Text data-testid="last-glucose">
          {t(readings.fpg ? 'fpgValue' : 'glucoseValue', { value: glucose.value })}
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {' '}
            {t('measuredAt', { day: formatDay(glucose.at), place: glucose.institutionName ?? '—' })}
          </Typography.Text>
        </Typography.Text>
      )}
    </Space>
  );
}
