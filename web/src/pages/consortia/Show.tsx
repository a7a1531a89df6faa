import { useState } from 'react';
import { Button, Card, Descriptions, Empty, Table, Tag } from 'antd';
import { ArrowLeftOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api } from '../../api.ts';
import { ConsortiumKindTag, useCodeLabels } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryView } from '../../components/query-state.tsx';
import type { ConsortiumDetail, ConsortiumMember, Id } from '../../types.ts';
import { InstitutionDrawer } from '../institutions/List.tsx';

export default function ConsortiumShow() {
  const { t } = useTranslation('consortia');
  const labels = useCodeLabels();
  const { id = '' } = useParams();
  const [openInstitution, setOpenInstitution] = useState<Id | null>(null);
  const detail = useQuery({ queryKey: ['consortia', id], queryFn: () => api<ConsortiumDetail>(`/consortia/${id}`) });

  return (
    <Page
      title={detail.data?.name ?? t('title')}
      extra={
        <Link to="/consortia">
          <Button icon={<ArrowLeftOutlined />}>{t('common:back')}</Button>
        </Link>
      }
    >
      <QueryView query={detail} notFound={t('notFound')}>
        {(c) => (
          <>
            <Card>
              <Descriptions
                bordered
                size="small"
                column={{ xs: 1, md: 2 }}
                items={[
                  { key: 'name', label: t('name'), children: c.name },
                  { key: 'kind', label: t('kind'), children: <ConsortiumKindTag kind={c.kind} /> },
                  { key: 'integration', label: t('integration'), children: t(`integrations.${c.integration}`, { defaultValue: c.integration }) },
                  { key: 'lead', label: t('lead'), children: c.leadInstitutionName ?? t('common:none') },
                  { key: 'members', label: t('memberCount'), children: c.memberCount ?? c.members.length },
                  { key: 'grids', label: t('gridCount'), children: t('gridIdsCount', { count: c.gridIds?.length ?? c.gridCount }) },
                ]}
              />
            </Card>
            <Card title={t('members')}>
              <Table<ConsortiumMember>
                rowKey="institutionId"
                size="small"
                dataSource={c.members}
                pagination={c.members.length > 20 ? { pageSize: 20 } : false}
                locale={{ emptyText: <Empty description={t('common:emptyText')} /> }}
                columns={[
                  {
                    title: t('institutions:name'),
                    key: 'name',
                    render: (_, m) => (
                      <Button type="link" style={{ padding: 0 }} onClick={() => setOpenInstitution(m.institutionId)}>
                        {m.name}
                      </Button>
                    ),
                  },
                  { title: t('institutions:type'), dataIndex: 'type', render: labels.institutionType },
                  { title: t('institutions:level'), key: 'level', render: (_, m) => labels.institutionRank(m.level, null) || t('common:none') },
                  {
                    title: t('memberRole'),
                    dataIndex: 'role',
                    render: (role: string) => <Tag color={role === 'lead' ? 'blue' : 'default'}>{t(`memberRoles.${role}`, { defaultValue: role })}</Tag>,
                  },
                ]}
              />
            </Card>
            <InstitutionDrawer id={openInstitution} onClose={() => setOpenInstitution(null)} />
          </>
        )}
      </QueryView>
    </Page>
  );
}
