import type { TablePaginationConfig } from 'antd';
import type { TFunction } from 'i18next';

/**
 * The paging of the console's server-paged lists: page sizes 10–100, the total, and a new page size starting again
 * at page 1. `onChange` receives the page and size to load (the list keeps them in its URL).
 */
export function listPagination(t: TFunction, page: number, pageSize: number, total: number, onChange: (page: number, pageSize: number) => void): TablePaginationConfig {
  return {
    current: page,
    pageSize,
    total,
    showSizeChanger: true,
    pageSizeOptions: [10, 20, 50, 100],
    showTotal: (n) => t('common:totalItems', { total: n }),
    onChange: (nextPage, nextSize) => onChange(nextSize === pageSize ? nextPage : 1, nextSize),
  };
}
