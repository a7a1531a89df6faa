import { Card, Col, Descriptions, Empty, Row, Statistic } from 'antd';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import { useUser } from '../../auth.ts';
import { useCodeLabels } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryView } from '../../components/query-state.tsx';

type Overview = Record<string, unknown>;

/** Every numeric field of the overview, one level of nesting flattened (`residents.elderly`). */
export function numericStats(overview: Overview): Array<[string, number]> {
  const stats: Array<[string, number]> = [];
  for (const [key, value] of Object.entries(overview)) {
    if (typeof value === 'number' && Number.isFinite(value)) stats.push([key, value]);
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, innerValue] of Object.entries(value)) {
        if (typeof innerValue === 'number' && Number.isFinite(innerValue)) stats.push([`${key}.${inner}`, innerValue]);
      }
    }
  }
  return stats;
}

export default function HomeShow() {
  const { t } = useTranslation('home');
  const user = useUser();
  const labels = useCodeLabels();
  const overview = useQuery({ queryKey: ['stats', 'overview'], queryFn: () => api<Overview>('/stats/overview') });

  return (
    <Page title={t('title')}>
      <Card>
        <Descriptions
          title={t('welcome', { name: user.displayName || user.username })}
          column={{ xs: 1, md: 3 }}
          items={[
            { key: 'roles', label: t('roles'), children: user.roles.map(labels.role).join('、') },
            ...(user.institutionName ? [{ key: 'inst', label: t('institution'), children: user.institutionName }] : []),
          ]}
        />
      </Card>
      <Card title={t('overview')}>
        <QueryView query={overview}>
          {(data) => {
            const stats = numericStats(data);
            if (stats.length === 0) return <Empty description={t('noStats')} />;
            return (
              <Row gutter={[16, 16]}>
                {stats.map(([key, value]) => (
                  <Col key={key} xs={12} md={8} lg={6}>
                    <Card size="small" variant="borderless" style={{ background: '#fafafa' }}>
                      <Statistic title={t(`stats.${key}`, { defaultValue: key })} value={value} />
                    </Card>
                  </Col>
                ))}
              </Row>
            );
          }}
        </QueryView>
      </Card>
    </Page>
  );
}
