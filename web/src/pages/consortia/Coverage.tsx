import { useState } from 'react';
import { Alert, Card, Checkbox, Col, Empty, Flex, Form, Row, Select, Space, Statistic, Table, Tag, Typography } from 'antd';
import type { TableProps } from 'antd';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../../api.ts';
import { HorizontalBarChart } from '../../components/bar-chart.tsx';
import { Page } from '../../components/page.tsx';
import { QueryView } from '../../components/query-state.tsx';
import type { ConsortiumKind, Id, CoverageResponse, GridCoverage, Items, Region } from '../../types.ts';
import { useRegionName } from '../regions/List.tsx';

const KIND_COLORS: Record<ConsortiumKind, string> = { comprehensive: '#1677ff', specialty: '#722ed1' };

/** A grid counts as uncovered when no comprehensive consortium answers for it (DOMAIN: the grid decides the consortium). */
export const isUncovered = (grid: GridCoverage) => !grid.consortia.some((c) => c.kind === 'comprehensive');

function gridsPerConsortium(items: GridCoverage[]) {
  const counts = new Map<Id, { name: string; kind: ConsortiumKind; grids: number }>();
  for (const grid of items) {
    for (const c of grid.consortia) {
      const entry = counts.get(c.id) ?? { name: c.name, kind: c.kind, grids: 0 };
      entry.grids += 1;
      counts.set(c.id, entry);
    }
  }
  return [...counts.values()].sort((a, b) => (a.kind === b.kind ? b.grids - a.grids : a.kind === 'comprehensive' ? -1 : 1));
}

export default function Coverage() {
  const { t } = useTranslation('coverage');
  const regionName = useRegionName();
  const [streetId, setStreetId] = useState<Id | undefined>();
  const [onlyUncovered, setOnlyUncovered] = useState(false);

  const streets = useQuery({
    queryKey: ['regions', 'level', 'street'],
    queryFn: () => api<Items<Region>>('/regions', { query: { level: 'street' } }).then((r) => r.items),
  });
  const coverage = useQuery({
    queryKey: ['coverage', 'grids', streetId ?? 'all'],
    queryFn: () => api<CoverageResponse>('/coverage/grids', { query: { streetId } }),
  });

  const consortiumTags = (grid: GridCoverage, kind: ConsortiumKind) =>
    grid.consortia
      .filter((c) => c.kind === kind)
      .map((c) => (
        <Tag key={c.id} color={kind === 'comprehensive' ? 'blue' : 'purple'}>
          <Link to={`/consortia/${c.id}`}>{c.name}</Link>
        </Tag>
      ));

  const columns: TableProps<GridCoverage>['columns'] = [
    { title: t('street'), dataIndex: 'streetName', width: 130 },
    { title: t('community'), dataIndex: 'communityName', width: 150 },
    {
      title: t('grid'),
      dataIndex: 'gridName',
      width: 200,
      render: (name: string, grid) =>
        isUncovered(grid) ? (
          <Space size={4}>
            <Typography.Text type="danger">{name}</Typography.Text>
            <Tag color="error">{t('uncovered')}</Tag>
          </Space>
        ) : (
          name
        ),
    },
    {
      title: t('comprehensive'),
      key: 'comprehensive',
      width: 260,
      render: (_, grid) => {
        const tags = consortiumTags(grid, 'comprehensive');
        return tags.length ? <Space size={[0, 4]} wrap>{tags}</Space> : <Typography.Text type="danger">{t('uncovered')}</Typography.Text>;
      },
    },
    {
      title: t('specialty'),
      key: 'specialty',
      render: (_, grid) => {
        const tags = consortiumTags(grid, 'specialty');
        return tags.length ? <Space size={[0, 4]} wrap>{tags}</Space> : t('common:none');
      },
    },
  ];

  return (
    <Page title={t('title')}>
      <Card>
        <Flex gap={16} wrap align="center">
          <Form.Item label={t('street')} style={{ margin: 0 }}>
            <Select
              allowClear
              showSearch={{ optionFilterProp: 'label' }}
              placeholder={t('streetPlaceholder')}
              style={{ width: 240 }}
              loading={streets.isPending}
              value={streetId}
              onChange={setStreetId}
              options={streets.data?.map((s) => ({ value: s.id, label: regionName(s) }))}
              data-testid="coverage-street"
            />
          </Form.Item>
          <Checkbox checked={onlyUncovered} onChange={(e) => setOnlyUncovered(e.target.checked)}>
            {t('onlyUncovered')}
          </Checkbox>
        </Flex>
      </Card>
      <QueryView query={coverage}>
        {(data) => {
          const uncovered = data.items.filter(isUncovered).length;
          const perConsortium = gridsPerConsortium(data.items);
          const rows = onlyUncovered ? data.items.filter(isUncovered) : data.items;
          return (
            <>
              <Row gutter={16}>
                <Col xs={12} md={6}>
                  <Card>
                    <Statistic title={t('gridsTotal')} value={data.items.length} />
                  </Card>
                </Col>
                <Col xs={12} md={6}>
                  <Card>
                    <Statistic
                      title={t('uncovered')}
                      value={data.uncovered ?? uncovered}
                      styles={{ content: { color: (data.uncovered ?? uncovered) > 0 ? '#cf1322' : '#3f8600' } }}
                    />
                  </Card>
                </Col>
                <Col xs={24} md={12}>
                  {(data.uncovered ?? uncovered) > 0 ? (
                    <Alert type="error" showIcon title={t('uncoveredSummary', { count: data.uncovered ?? uncovered })} />
                  ) : (
                    <Alert type="success" showIcon title={t('allCovered')} />
                  )}
                </Col>
              </Row>
              {/* One chart per kind: specialty consortia serve the whole district and would flatten the comprehensive bars. */}
              <Row gutter={16}>
                {(['comprehensive', 'specialty'] as const).map((kind) => {
                  const bars = perConsortium.filter((c) => c.kind === kind);
                  const title = `${t('chartTitle')} · ${t(`consortia:kinds.${kind}`)}`;
                  return (
                    <Col key={kind} xs={24} xl={12}>
                      <Card title={title}>
                        {bars.length === 0 ? (
                          <Empty />
                        ) : (
                          <HorizontalBarChart
                            ariaLabel={title}
                            categories={bars.map((c) => c.name)}
                            series={[{ name: t('gridCount'), color: KIND_COLORS[kind], values: bars.map((c) => c.grids) }]}
                          />
                        )}
                      </Card>
                    </Col>
                  );
                })}
              </Row>
              <Card>
                <Table<GridCoverage>
                  rowKey="gridId"
                  size="small"
                  columns={columns}
                  dataSource={rows}
                  onRow={(grid) => (isUncovered(grid) ? { style: { background: '#fff1f0' } } : {})}
                  pagination={{ defaultPageSize: 20, showSizeChanger: true, showTotal: (total) => t('common:totalItems', { total }) }}
                  locale={{ emptyText: <Empty description={t('common:emptyText')} /> }}
                  data-testid="coverage-table"
                />
              </Card>
            </>
          );
        }}
      </QueryView>
    </Page>
  );
}
