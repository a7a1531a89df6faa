// The cross-institution health record (跨机构健康档案调阅): everything every institution sent about the resident, newest
// first and grouped by day. Each page load is audited by the server as a record view.
import { useState } from 'react';
import { Button, Card, DatePicker, Empty, Flex, Form, Pagination, Select, Space, Tag, Timeline, Typography } from 'antd';
import type { GetProps } from 'antd';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import { QueryError } from '../../components/query-state.tsx';
import type { Id, Page as Paged } from '../../types.ts';
import { OutOfScope } from './BreakGlass.tsx';
import { InstitutionSelect } from './InstitutionSelect.tsx';
import { formatRange, isOutOfScope, RecognitionBadge, ResultValue, TYPE_COLORS } from './record-format.tsx';
import { TIMELINE_TYPES, type TimelineItem, type TimelineType } from './record-types.ts';

type RangeValue = GetProps<typeof DatePicker.RangePicker>['value'];

interface FormValues {
  types?: TimelineType[];
  institutionId?: Id;
  range?: RangeValue;
}

interface TimelineFilters {
  types?: string;
  institutionId?: Id;
  from?: string;
  to?: string;
}

function toFilters(values: FormValues): TimelineFilters {
  const [start, end] = values.range ?? [];
  return {
    types: values.types?.length ? values.types.join(',') : undefined,
    institutionId: values.institutionId,
    from: start ? start.format('YYYY-MM-DD') : undefined,
    to: end ? end.format('YYYY-MM-DD') : undefined,
  };
}

/** Items of one page grouped by calendar day (the page is already newest first). */
function byDay(items: TimelineItem[]): Array<{ day: string; items: TimelineItem[] }> {
  const groups: Array<{ day: string; items: TimelineItem[] }> = [];
  for (const item of items) {
    const day = dayjs(item.at).format('YYYY-MM-DD');
    const last = groups.at(-1);
    if (last?.day === day) last.items.push(item);
    else groups.push({ day, items: [item] });
  }
  return groups;
}

export function HealthRecord({ residentId }: { residentId: Id }) {
  const { t } = useTranslation('records');
  const [form] = Form.useForm<FormValues>();
  const [filters, setFilters] = useState<TimelineFilters>({});
  const [paging, setPaging] = useState({ page: 1, pageSize: 50 });
  const timeline = useQuery({
    queryKey: ['residents', residentId, 'timeline', filters, paging],
    queryFn: () => api<Paged<TimelineItem>>(`/residents/${residentId}/timeline`, { query: { ...filters, ...paging } }),
    placeholderData: keepPreviousData,
  });

  if (isOutOfScope(timeline.error)) return <OutOfScope residentId={residentId} />;
  const filtered = Object.values(filters).some((v) => v !== undefined);

  return (
    <Flex vertical gap={16}>
      <Card size="small">
        <Form<FormValues>
          form={form}
          layout="inline"
          style={{ rowGap: 12 }}
          onFinish={(values) => {
            setFilters(toFilters(values));
            setPaging((p) => ({ ...p, page: 1 }));
          }}
        >
          <Form.Item name="types" label={t('type')}>
            <Select
              mode="multiple"
              allowClear
              maxTagCount="responsive"
              style={{ width: 260 }}
              placeholder={t('allTypes')}
              options={TIMELINE_TYPES.map((type) => ({ value: type, label: t(`types.${type}`) }))}
              data-testid="timeline-types"
            />
          </Form.Item>
          <Form.Item name="institutionId" label={t('institution')}>
            <InstitutionSelect testId="timeline-institution" />
          </Form.Item>
          <Form.Item name="range" label={t('dateRange')}>
            <DatePicker.RangePicker placeholder={[t('startDate'), t('endDate')]} />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit" data-testid="timeline-search">
              {t('common:search')}
            </Button>
            <Button
              onClick={() => {
                form.resetFields();
                setFilters({});
                setPaging((p) => ({ ...p, page: 1 }));
              }}
            >
              {t('common:reset')}
            </Button>
          </Space>
        </Form>
      </Card>
      <Card
        title={t('timeline')}
        extra={<Typography.Text type="secondary">{t('timelineHint')}</Typography.Text>}
        loading={timeline.isPending}
      >
        {timeline.error ? (
          <QueryError error={timeline.error} onRetry={() => void timeline.refetch()} />
        ) : timeline.data && timeline.data.items.length === 0 ? (
          <Empty description={filtered ? t('emptyFiltered') : t('empty')} data-testid="timeline-empty" />
        ) : (
          timeline.data && (
            <Flex vertical gap={16} style={{ opacity: timeline.isPlaceholderData ? 0.5 : 1 }}>
              <Timeline
                data-testid="record-timeline"
                // a narrow date column on the left, the records taking the rest of the width
                titleSpan="120px"
                items={byDay(timeline.data.items).map((group) => ({
                  key: group.day,
                  title: <Typography.Text strong>{group.day}</Typography.Text>,
                  content: (
                    <Flex vertical gap={8}>
                      {group.items.map((item) => (
                        <TimelineEntry key={`${item.type}:${item.id}`} item={item} />
                      ))}
                    </Flex>
                  ),
                  color: group.items.some((i) => i.abnormal) ? 'red' : 'blue',
                }))}
              />
              <Pagination
                align="end"
                current={paging.page}
                pageSize={paging.pageSize}
                total={timeline.data.total}
                showSizeChanger
                pageSizeOptions={[20, 50, 100]}
                showTotal={(total) => t('common:totalItems', { total })}
                onChange={(page, pageSize) => setPaging({ page: pageSize === paging.pageSize ? page : 1, pageSize })}
              />
            </Flex>
          )
        )}
      </Card>
    </Flex>
  );
}

function TimelineEntry({ item }: { item: TimelineItem }) {
  const { t } = useTranslation('records');
  const range = formatRange(item.refLow, item.refHigh, item.unit);
  const category = item.category && t(`categories.${item.category}`, { defaultValue: item.category });
  return (
    <div data-testid="timeline-entry" data-type={item.type}>
      <Space size={[8, 4]} wrap>
        <Typography.Text type="secondary">{dayjs(item.at).format('HH:mm')}</Typography.Text>
        <Tag color={TYPE_COLORS[item.type]}>{t(`types.${item.type}`, { defaultValue: item.fhirType })}</Tag>
        <Typography.Text strong>{item.title}</Typography.Text>
        {category && <Tag>{category}</Tag>}
        <ResultValue value={item.value} valueText={item.valueText} unit={item.unit} refLow={item.refLow} refHigh={item.refHigh} abnormal={item.abnormal} />
        {range && <Typography.Text type="secondary">{t('common:labelled', { label: t('referenceRange'), value: range })}</Typography.Text>}
        {item.recognition && <RecognitionBadge recognition={item.recognition} />}
      </Space>
      <div>
        <Typography.Text type="secondary" data-testid="timeline-institution-name">
          {item.institutionName}
        </Typography.Text>
        {item.status && item.status !== 'final' && item.status !== 'finished' && (
          <Typography.Text type="secondary"> · {t(`statuses.${item.status}`, { defaultValue: item.status })}</Typography.Text>
        )}
      </div>
      {item.detail && (
        <Typography.Paragraph type="secondary" ellipsis={{ rows: 2, expandable: true, symbol: t('more') }} style={{ marginBottom: 0 }}>
          {item.detail}
        </Typography.Paragraph>
      )}
    </div>
  );
}
