// How the surveillance console shows risk levels, alert states and syndromes, and the reference data every page
// reads: the catalogue of sources and categories, the communities with their centroids.
import { Select, Tag } from 'antd';
import { useQuery } from '@tanstack/react-query';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import type { Items } from '../../types.ts';
// the district's calendar, the server's own (local-date.ts imports nothing)
import { districtDate } from '../../../../src/platform/local-date.ts';
import type { AlertState, Community, RiskLevel, SourceCatalogue } from './surveillance-types.ts';

export const RISK_COLORS: Record<RiskLevel, string> = { low: 'blue', medium: 'gold', high: 'orange', critical: 'red' };
const STATE_COLORS: Record<AlertState, string> = {
  new: 'processing',
  under_review: 'gold',
  investigating: 'purple',
  closed_true: 'success',
  closed_false: 'default',
};

export function RiskTag({ risk }: { risk: RiskLevel }) {
  const { t } = useTranslation('surveillance');
  return (
    <Tag color={RISK_COLORS[risk]} data-testid="alert-risk" data-risk={risk}>
      {t(`risks.${risk}`)}
    </Tag>
  );
}

export function AlertStateTag({ state }: { state: AlertState }) {
  const { t } = useTranslation('surveillance');
  return (
    <Tag color={STATE_COLORS[state]} data-testid="alert-state" data-state={state}>
      {t(`states.${state}`)}
    </Tag>
  );
}

/** The zh or en name of something the API names in both languages. */
export function useLocalName() {
  const { i18n } = useTranslation();
  const english = i18n.language === 'en';
  return (x: { name: string; nameEn?: string | null }) => (english && x.nameEn ? x.nameEn : x.name);
}

export function useSyndromeLabel() {
  const { t } = useTranslation('surveillance');
  return (syndrome: string) => t(`syndromes.${syndrome}`, { defaultValue: syndrome });
}

/** Sources, their categories and the notifiable diseases: reference data, asked for once a session. */
export function useCatalogue() {
  return useQuery({ queryKey: ['surveillance', 'sources'], queryFn: () => api<SourceCatalogue>('/surveillance/sources'), staleTime: 30 * 60_000 });
}

/** Source code → localized name (falls back to the code while the catalogue loads). */
export function useSourceName() {
  const catalogue = useCatalogue();
  const name = useLocalName();
  const { t } = useTranslation('surveillance');
  return (code: string) => {
    if (code === 'case_report') return t('caseReportSource');
    const source = catalogue.data?.sources.find((s) => s.code === code);
    return source ? name(source) : code;
  };
}

/** The district's communities (with their centroids) and streets. */
export function useCommunities() {
  return useQuery({
    queryKey: ['regions', 'surveillance-communities'],
    queryFn: async () => {
      const [communities, streets] = await Promise.all([
        api<Items<Community>>('/regions', { query: { level: 'community' } }),
        api<Items<Community>>('/regions', { query: { level: 'street' } }),
      ]);
      return { communities: communities.items, streets: streets.items };
    },
    staleTime: 30 * 60_000,
  });
}

/** A street or one of its communities, grouped by street. */
export function RegionSelect({ value, onChange, testId }: { value?: number; onChange?: (v: number | undefined) => void; testId?: string }) {
  const { t } = useTranslation('surveillance');
  const regions = useCommunities();
  const name = useLocalName();
  const data = regions.data;
  const options = (data?.streets ?? []).map((street) => ({
    label: name(street),
    title: name(street),
    options: [
      { value: street.id, label: t('wholeStreet', { street: name(street) }) },
      ...data!.communities.filter((c) => c.parentId === street.id).map((c) => ({ value: c.id, label: name(c) })),
    ],
  }));
  return (
    <Select<number>
      allowClear
      showSearch={{ optionFilterProp: 'label' }}
      loading={regions.isPending}
      value={value}
      onChange={(v) => onChange?.(v ?? undefined)}
      placeholder={t('wholeDistrict')}
      options={options}
      style={{ width: 220 }}
      data-testid={testId}
    />
  );
}

/** A day in Beijing, where the district's surveillance days are counted. */
export function beijingToday(): dayjs.Dayjs {
  return dayjs(districtDate());
}

export const DAY = 'YYYY-MM-DD';

/** A rate of the API (0..1, null when nothing was counted) as a percentage. */
export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`;
}

export function hours(h: number | null | undefined): string {
  return h === null || h === undefined ? '—' : h.toFixed(1);
}
