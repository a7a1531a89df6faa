import { useSearchParams } from 'react-router';

/**
 * A list's filters and paging kept in the URL, so a search can be bookmarked and Back returns to it: the named keys,
 * `page` (from 1) and `pageSize` (20 unless set, at most `maxPageSize`). `update` writes the next state; what it does
 * not name keeps its value, except the page, which starts again at 1.
 */
export function useUrlFilters<K extends string>(keys: readonly K[], maxPageSize = 100) {
  const [params, setParams] = useSearchParams();
  const filters: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = params.get(key);
    if (value) filters[key] = value;
  }
  const page = Math.max(1, Number(params.get('page')) || 1);
  const pageSize = Math.min(maxPageSize, Math.max(1, Number(params.get('pageSize')) || 20));
  const update = (next: { filters?: Partial<Record<K, string>>; page?: number; pageSize?: number }) => {
    const search = new URLSearchParams();
    const nextFilters = next.filters ?? filters;
    for (const key of keys) {
      const value = nextFilters[key]?.trim();
      if (value) search.set(key, value);
    }
    if ((next.page ?? 1) > 1) search.set('page', String(next.page));
    const size = next.pageSize ?? pageSize;
    if (size !== 20) search.set('pageSize', String(size));
    setParams(search);
  };
  return { filters, page, pageSize, update };
}
