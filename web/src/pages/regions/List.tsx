import { useEffect, useState, type Key } from 'react';
import { Breadcrumb, Card, Col, Descriptions, Empty, Row, Space, Tree } from 'antd';
import type { TreeDataNode } from 'antd';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import { RegionLevelTag } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryError, QueryView } from '../../components/query-state.tsx';
import type { Id, Items, Region } from '../../types.ts';
import { InstitutionTable } from '../institutions/List.tsx';

interface RegionNode extends TreeDataNode {
  key: Id;
  region: Region;
  children?: RegionNode[];
}

const childrenKey = (parentId: Id | null) => ['regions', 'children', parentId ?? 'root'] as const;

function fetchChildren(parentId: Id | null) {
  return api<Items<Region>>('/regions', { query: { parentId } }).then((r) => r.items);
}

function withChildren(nodes: RegionNode[], key: Id, children: RegionNode[]): RegionNode[] {
  return nodes.map((node) =>
    node.key === key
      ? { ...node, children }
      : node.children
        ? { ...node, children: withChildren(node.children, key, children) }
        : node,
  );
}

export function useRegionName() {
  const { i18n } = useTranslation();
  return (region: Pick<Region, 'name'> & { nameEn?: string | null }) => (i18n.language === 'en' && region.nameEn ? region.nameEn : region.name);
}

export default function RegionList() {
  const { t } = useTranslation('regions');
  const regionName = useRegionName();
  const queryClient = useQueryClient();
  const [loaded, setLoaded] = useState<RegionNode[] | null>(null);
  const [selectedId, setSelectedId] = useState<Id | null>(null);
  const [expandedKeys, setExpandedKeys] = useState<Key[]>([]);

  const roots = useQuery({ queryKey: childrenKey(null), queryFn: () => fetchChildren(null) });

  const toNode = (region: Region): RegionNode => ({
    key: region.id,
    region,
    title: region.name,
    isLeaf: region.level === 'grid' || region.childCount === 0,
  });

  // Loaded children live in local state; the first level comes from the query so it stays cached.
  const treeData = loaded ?? roots.data?.map(toNode) ?? [];

  const loadData = async (node: RegionNode) => {
    if (node.children) return;
    const children = await queryClient.fetchQuery({ queryKey: childrenKey(node.key), queryFn: () => fetchChildren(node.key) });
    setLoaded((current) => withChildren(current ?? treeData, node.key, children.map(toNode)));
  };

  // A district console has one root: open it so the streets show at once.
  useEffect(() => {
    const only = roots.data?.length === 1 ? roots.data[0] : undefined;
    if (!only || only.childCount === 0 || loaded) return;
    void loadData(toNode(only)).then(() => setExpandedKeys((keys) => (keys.length ? keys : [only.id])));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once, when the roots arrive
  }, [roots.data]);

  return (
    <Page title={t('title')}>
      <Row gutter={16}>
        <Col xs={24} md={9} lg={8}>
          <Card title={t('tree')} styles={{ body: { maxHeight: 'calc(100vh - 260px)', overflow: 'auto' } }}>
            <QueryView query={roots}>
              {(items) =>
                items.length === 0 ? (
                  <Empty />
                ) : (
                  <Tree<RegionNode>
                    showLine
                    treeData={treeData}
                    loadData={loadData}
                    expandedKeys={expandedKeys}
                    onExpand={setExpandedKeys}
                    titleRender={(node) => (
                      <Space size={4}>
                        {regionName(node.region)}
                        <RegionLevelTag level={node.region.level} />
                      </Space>
                    )}
                    selectedKeys={selectedId ? [selectedId] : []}
                    onSelect={(_, { node }) => setSelectedId(node.key)}
                  />
                )
              }
            </QueryView>
          </Card>
        </Col>
        <Col xs={24} md={15} lg={16}>
          {selectedId ? <RegionDetail id={selectedId} /> : <Card><Empty description={t('selectHint')} /></Card>}
        </Col>
      </Row>
    </Page>
  );
}

function RegionDetail({ id }: { id: Id }) {
  const { t } = useTranslation('regions');
  const regionName = useRegionName();
  const region = useQuery({ queryKey: ['regions', id], queryFn: () => api<Region>(`/regions/${id}`) });

  if (region.error) return <QueryError error={region.error} onRetry={() => void region.refetch()} />;
  const data = region.data;
  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }}>
      <Card loading={region.isPending} title={data && regionName(data)} extra={data && <RegionLevelTag level={data.level} />}>
        {data && (
          <>
            {data.path && data.path.length > 0 && (
              <Breadcrumb
                style={{ marginBottom: 16 }}
                items={[...data.path, data].map((r) => ({ key: r.id, title: regionName(r) }))}
              />
            )}
            <Descriptions
              column={{ xs: 1, md: 2 }}
              bordered
              size="small"
              items={[
                { key: 'name', label: t('name'), children: data.name },
                { key: 'nameEn', label: t('nameEn'), children: data.nameEn ?? t('common:none') },
                { key: 'code', label: t('code'), children: data.code },
                { key: 'level', label: t('level'), children: t(`levels.${data.level}`) },
                { key: 'children', label: t('childCount'), children: data.childCount },
              ]}
            />
          </>
        )}
      </Card>
      {data && (data.level === 'street' || data.level === 'community') && (
        <Card title={t('institutionsInRegion')}>
          <InstitutionTable filters={{ regionId: data.id }} compact />
        </Card>
      )}
    </Space>
  );
}
