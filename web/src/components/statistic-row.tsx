import { Card, Col, Row, Statistic } from 'antd';

export interface StatisticItem {
  key: string;
  title: string;
  value: string | number;
}

/** A KPI page's headline figures in one card, eight to a row on a wide screen; each tagged `kpi-total-<key>`. */
export function StatisticRow({ items }: { items: StatisticItem[] }) {
  return (
    <Card>
      <Row gutter={[16, 16]}>
        {items.map((item) => (
          <Col key={item.key} xs={12} md={6} xl={3}>
            <Statistic title={item.title} value={item.value} data-testid={`kpi-total-${item.key}`} />
          </Col>
        ))}
      </Row>
    </Card>
  );
}
