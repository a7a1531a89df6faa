import { Card, Empty, Table, Tag } from 'antd';
import type { TableProps } from 'antd';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../../api.ts';
import { ConsortiumKindTag } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryView } from '../../components/query-state.tsx';
import type { Consortium, Items } from '../../types.ts';

export default function ConsortiumList() {
  const { t } = useTranslation('consortia');
  const list = useQuery({ queryKey: ['consortia'], queryFn: () => api<Items<Consortium>>('/consortia') });

  const columns: TableProps<Consortium>['columns'] = [
    { title: t('name'), dataIndex: 'name', render: (name: string, row) => <Link to={`/consortia/${row.id}`}>{name}</Link> },
    {
      title: t('kind'),
      dataIndex: 'kind',
      render: (kind: string) => <ConsortiumKindTag kind={kind} />,
      filters: (['comprehensive', 'specialty'] as const).map((kind) => ({ text: t(`kinds.${kind}`), value: kind })),
      onFilter: (value, row) => row.kind === value,
    },
    {
      title: t('integration'),
      dataIndex: 'integration',
      render: (v: string) => <Tag color={v === 'tight' ? 'green' : 'default'}>{t(`integrations.${v}`, { defaultValue: v })}</Tag>,
    },
    { title: t('lead'), dataIndex: 'leadInstitutionName', render: (v: string | null) => v ?? t('common:none') },
    { title: t('memberCount'), dataIndex: 'memberCount', align: 'right', sorter: (a, b) => a.memberCount - b.memberCount },
    { title: t('gridCount'), dataIndex: 'gridCount', align: 'right', sorter: (a, b) => a.gridCount - b.gridCount },
  ];

  return (
    <Page title={t('listTitle')}>
      <Card>
        <QueryView query={list}>
          {(data) => (
            <Table<Consortium>
              rowKey="id"
              columns={columns}
              dataSource={data.items}
              pagination={false}
              locale={{ emptyText: <Empty description={t('common:emptyText')} /> }}
            />
          )}
        </QueryView>
      </Card>
    </Page>
  );
}
