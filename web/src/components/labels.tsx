import { Space, Tag } from 'antd';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';

const TAG_COLORS: Record<string, string> = {
  elderly: 'gold',
  child_0_6: 'cyan',
  hypertension: 'red',
  diabetes: 'volcano',
  pregnant: 'magenta',
  postpartum: 'pink',
  severe_mental: 'purple',
  tuberculosis: 'orange',
  disability: 'geekblue',
  special_family: 'blue',
};

export function ResidentTags({ tags }: { tags: readonly string[] }) {
  const { t } = useTranslation('residents');
  if (tags.length === 0) return <>{t('common:none')}</>;
  return (
    <Space size={[0, 4]} wrap>
      {tags.map((tag) => (
        <Tag key={tag} color={TAG_COLORS[tag] ?? 'default'}>
          {t(`tagNames.${tag}`, { defaultValue: tag })}
        </Tag>
      ))}
    </Space>
  );
}

export function ConsortiumKindTag({ kind }: { kind: string }) {
  const { t } = useTranslation('consortia');
  return <Tag color={kind === 'comprehensive' ? 'blue' : 'purple'}>{t(`kinds.${kind}`, { defaultValue: kind })}</Tag>;
}

export function RegionLevelTag({ level }: { level: string }) {
  const { t } = useTranslation('regions');
  const colors: Record<string, string> = { district: 'blue', street: 'cyan', community: 'green', grid: 'default' };
  return (
    <Tag color={colors[level]} variant="filled">
      {t(`levels.${level}`, { defaultValue: level })}
    </Tag>
  );
}

/** Institution codes from the API, shown with their localized names when the console knows them. */
export function useCodeLabels() {
  const { t, i18n } = useTranslation();
  return {
    role: (role: string) => t(`roles:${role}`, { defaultValue: role }),
    institutionType: (type: string) => t(`institutions:types.${type}`, { defaultValue: type }),
    capability: (cap: string) => t(`institutions:capabilityNames.${cap}`, { defaultValue: cap }),
    sex: (sex: string) => t(`common:sex.${sex}`, { defaultValue: sex }),
    /** "三级甲等" / "Level 3 Grade A" from the API's level and grade codes */
    institutionRank: (level: string | null, grade: string | null) =>
      [level && t(`institutions:levels.${level}`, { defaultValue: level }), grade && t(`institutions:grades.${grade}`, { defaultValue: grade })]
        .filter(Boolean)
        .join(i18n.language === 'en' ? ' ' : ''),
  };
}

/** One unambiguous timestamp format for both languages, in the browser's time zone. */
export function formatDateTime(iso: string): string {
  return dayjs(iso).format('YYYY-MM-DD HH:mm:ss');
}
