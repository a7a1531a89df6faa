// Detection runs (检测运行): the daily run and runs on demand, newest first, with their status, what they evaluated and
// found, and where the time went; the CDC and the district administrator may run detection now (for today or a
// past day). A run answers when it has finished, so the button waits for it.
import { useState } from 'react';
import { App, Button, Card, DatePicker, Empty, Flex, Popover, Space, Table, Tag, Typography } from 'antd';
import type { TableProps } from 'antd';
import { PlayCircleOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { Dayjs } from 'dayjs';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../../api.ts';
import { useUser } from '../../auth.ts';
import { formatDateTime } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryError } from '../../components/query-state.tsx';
import type { Page as Paged } from '../../types.ts';
import { beijingToday, DAY } from './surveillance-format.tsx';
import type { Run } from './surveillance-types.ts';

const RUN_STARTERS = ['cdc_epidemiologist', 'district_admin'];
const STATUS_COLORS: Record<Run['status'], string> = { running: 'processing', succeeded: 'success', failed: 'error' };

/** Durations in seconds (the run's timings are seconds per phase). */
function seconds(s: number | undefined): string {
  return s === undefined ? '—' : `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

/** Timings that are counts, not seconds. */
const COUNTS = ['threads', 'scans'];

export default function RunList() {
  const { t } = useTranslation('surveillance');
  const user = useUser();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(20);
  const [asOf, setAsOf] = useState<Dayjs | null>(null);
  const canRun = user.roles.some((r) => RUN_STARTERS.includes(r));
  const runs = useQuery({
    queryKey: ['surveillance', 'runs', page, pageSize],
    queryFn: () => api<Paged<Run>>('/surveillance/runs', { query: { page, pageSize } }),
    placeholderData: keepPreviousData,
    // a run someone else started shows up, and one running finishes, without a reload
    refetchInterval: (query) => (query.state.data?.items.some((r) => r.status === 'running') ? 5_000 : 60_000),
  });
  const runNow = useMutation({
    mutationFn: () => api<Run>('/surveillance/runs', { method: 'POST', body: asOf ? { asOf: asOf.format(DAY) } : {} }),
    onSuccess: (run) => {
      void message.success(t('runDone', { signals: run.signalCount ?? 0, alerts: run.alertCount ?? 0 }));
      void queryClient.invalidateQueries({ queryKey: ['surveillance'] });
    },
    onError: (error) => void message.error(error.message),
  });

  const columns: TableProps<Run>['columns'] = [
    { title: t('runNo'), dataIndex: 'id', width: 80, render: (id: number) => `#${id}` },
    { title: t('runKind'), dataIndex: 'kind', width: 100, render: (kind: Run['kind']) => t(`runKinds.${kind}`) },
    { title: t('asOf'), dataIndex: 'asOf', width: 120 },
    {
      title: t('runStatus'),
      key: 'status',
      width: 110,
      render: (_, r) => (
        <Tag color={STATUS_COLORS[r.status]} data-testid="run-status" data-status={r.status}>
          {t(`runStatuses.${r.status}`)}
        </Tag>
      ),
    },
    { title: t('startedAt'), dataIndex: 'startedAt', width: 170, render: formatDateTime },
    {
      title: t('duration'),
      key: 'duration',
      width: 110,
      align: 'right',
      render: (_, r) => (r.finishedAt ? seconds(dayjs(r.finishedAt).diff(dayjs(r.startedAt)) / 1000) : t('common:none')),
    },
    { title: t('seriesCount'), dataIndex: 'seriesCount', width: 100, align: 'right', render: (n: number | null) => n ?? '—' },
    {
      title: t('signalCount'),
      dataIndex: 'signalCount',
      width: 100,
      align: 'right',
      render: (n: number | null, r) => (n ? <Link to={`/surveillance/map?metric=signals&from=${r.asOf}&to=${r.asOf}`}>{n}</Link> : (n ?? '—')),
    },
    { title: t('alertCount'), dataIndex: 'alertCount', width: 100, align: 'right', render: (n: number | null) => n ?? '—' },
    {
      title: t('timings'),
      key: 'timings',
      width: 380,
      render: (_, r) => {
        const entries = Object.entries(r.timings ?? {});
        if (entries.length === 0) return r.error ? <Typography.Text type="danger">{r.error}</Typography.Text> : t('common:none');
        return (
          <Space size={[0, 4]} wrap>
            {entries.map(([k, v]) => (
              <Tag key={k}>
                {t(`timingNames.${k}`, { defaultValue: k })} {COUNTS.includes(k) ? v : seconds(v)}
              </Tag>
            ))}
            {r.error && (
              <Popover content={<Typography.Text type="danger">{r.error}</Typography.Text>}>
                <Tag color="red">{t('runError')}</Tag>
              </Popover>
            )}
          </Space>
        );
      },
    },
  ];

  return (
    <Page
      title={t('runsTitle')}
      extra={
        canRun && (
          <Flex gap={8} align="center">
            <DatePicker
              value={asOf}
              onChange={setAsOf}
              placeholder={t('asOfToday')}
              disabledDate={(d) => d.isAfter(beijingToday(), 'day')}
              data-testid="run-as-of"
            />
            <Button type="primary" icon={<PlayCircleOutlined />} loading={runNow.isPending} onClick={() => runNow.mutate()} data-testid="run-now">
              {runNow.isPending ? t('running') : t('runNow')}
            </Button>
          </Flex>
        )
      }
    >
      <Card>
        {runs.error ? (
          <QueryError error={runs.error} onRetry={() => void runs.refetch()} />
        ) : (
          <Table<Run>
            rowKey="id"
            size="small"
            columns={columns}
            dataSource={runs.data?.items}
            loading={runs.isFetching && !runs.data}
            scroll={{ x: 1400 }}
            locale={{ emptyText: <Empty description={t('noRuns')} data-testid="run-empty" /> }}
            pagination={{
              current: page,
              pageSize,
              total: runs.data?.total ?? 0,
              showSizeChanger: true,
              showTotal: (total) => t('common:totalItems', { total }),
              onChange: (p, size) => {
                setPage(size === pageSize ? p : 1);
                setPageSize(size);
              },
            }}
            data-testid="run-table"
          />
        )}
      </Card>
    </Page>
  );
}
