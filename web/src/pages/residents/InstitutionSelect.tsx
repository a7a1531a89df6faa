import { useState, type CSSProperties } from 'react';
import { Select } from 'antd';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import type { Id, Institution, Page as Paged } from '../../types.ts';

/** Picks one institution by name or code, searched on the server (a district has more than fits in one list). */
export function InstitutionSelect({
  value,
  onChange,
  style,
  testId,
}: {
  value?: Id;
  onChange?: (value: Id | undefined) => void;
  style?: CSSProperties;
  testId?: string;
}) {
  const { t } = useTranslation('records');
  const [q, setQ] = useState('');
  const list = useQuery({
    queryKey: ['institutions', 'pick', q],
    queryFn: () => api<Paged<Institution>>('/institutions', { query: { q: q || undefined, page: 1, pageSize: 50 } }),
    placeholderData: keepPreviousData,
    staleTime: 5 * 60_000,
  });
  return (
    <Select<Id>
      allowClear
      showSearch={{ filterOption: false, onSearch: (text) => setQ(text.trim()) }}
      value={value}
      onChange={(v) => onChange?.(v ?? undefined)}
      onClear={() => setQ('')}
      loading={list.isFetching}
      placeholder={t('institutionPlaceholder')}
      notFoundContent={list.isFetching ? t('common:loading') : t('common:emptyText')}
      options={(list.data?.items ?? []).map((i) => ({ value: i.id, label: i.name }))}
      style={style ?? { width: 240 }}
      data-testid={testId}
    />
  );
}
