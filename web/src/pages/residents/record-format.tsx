import { Space, Tag, Tooltip, Typography } from 'antd';
import { SafetyCertificateOutlined } from '@ant-design/icons';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { isApiError } from '../../api.ts';
import type { Recognition, TimelineType } from './record-types.ts';

export const TYPE_COLORS: Record<TimelineType, string> = {
  encounter: 'blue',
  condition: 'volcano',
  observation: 'green',
  report: 'cyan',
  medication: 'purple',
  document: 'geekblue',
  immunization: 'gold',
  allergy: 'red',
};

/** 403 OUT_OF_SCOPE: the caller has no care relationship with the resident; the console then offers break-glass. */
export function isOutOfScope(error: unknown): boolean {
  return isApiError(error, 403) && error.code === 'OUT_OF_SCOPE';
}

function formatNumber(value: number): string {
  // results arrive as stored numbers; 5.60000001 style noise from float columns is not clinical precision
  return String(Number(value.toPrecision(10)));
}

/** "3.5–5.5 mmol/L", "< 5.2", "> 60"; null when the result has no reference range. */
export function formatRange(low: number | null, high: number | null, unit: string | null): string | null {
  const suffix = unit ? ` ${unit}` : '';
  if (low !== null && high !== null) return `${formatNumber(low)}–${formatNumber(high)}${suffix}`;
  if (high !== null) return `< ${formatNumber(high)}${suffix}`;
  if (low !== null) return `> ${formatNumber(low)}${suffix}`;
  return null;
}

/** The result value with its unit; abnormal values in red with an arrow saying which side of the range they fall. */
export function ResultValue({
  value,
  valueText,
  unit,
  refLow = null,
  refHigh = null,
  abnormal = null,
}: {
  value: number | null;
  valueText: string | null;
  unit: string | null;
  refLow?: number | null;
  refHigh?: number | null;
  abnormal?: boolean | null;
}) {
  const { t } = useTranslation('records');
  if (value === null && !valueText) return null;
  const text = value !== null ? `${formatNumber(value)}${unit ? ` ${unit}` : ''}` : valueText!;
  if (!abnormal) return <Typography.Text strong data-testid="result-value">{text}</Typography.Text>;
  const arrow = value !== null && refHigh !== null && value > refHigh ? '↑' : value !== null && refLow !== null && value < refLow ? '↓' : '';
  return (
    <Space size={4}>
      <Typography.Text strong type="danger" data-testid="result-value" data-abnormal="true">
        {text} {arrow}
      </Typography.Text>
      <Tag color="error">{t('abnormal')}</Tag>
    </Space>
  );
}

/** "互认有效至 …": the result can be reused instead of repeating the test until the window closes. */
export function RecognitionBadge({ recognition }: { recognition: Recognition }) {
  const { t } = useTranslation('records');
  const until = dayjs(recognition.validUntil).format('YYYY-MM-DD');
  return (
    <Tooltip title={t('recognitionTooltip', { days: recognition.windowDays, until: dayjs(recognition.validUntil).format('YYYY-MM-DD HH:mm') })}>
      <Tag color="success" icon={<SafetyCertificateOutlined />} data-testid="recognition-badge">
        {t('recognisedUntil', { until })}
      </Tag>
    </Tooltip>
  );
}
