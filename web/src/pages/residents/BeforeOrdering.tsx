// Before ordering a test (检查检验结果互认): results from any institution still inside their recognition window can be
// reused instead of repeating the test; each reuse counts as one duplicate test avoided for the caller's institution.
import { useState } from 'react';
import { Alert, AutoComplete, Button, Card, Empty, Flex, Form, Space, Table, Typography } from 'antd';
import type { TableProps } from 'antd';
import { CheckCircleOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import { useUser } from '../../auth.ts';
import { QueryError } from '../../components/query-state.tsx';
import type { Id, Items } from '../../types.ts';
import { OutOfScope } from './BreakGlass.tsx';
import { isOutOfScope, RecognitionBadge, ResultValue } from './record-format.tsx';
import { isClinician, type RecognitionRule, type ReusableResult, type ReuseEvent } from './record-types.ts';

const resultKey = (r: ReusableResult) => (r.observationId !== null ? `o${r.observationId}` : `r${r.reportId}`);

export function useRecognitionRules() {
  return useQuery({
    queryKey: ['recognition', 'rules'],
    queryFn: () => api<Items<RecognitionRule>>('/recognition/rules'),
    staleTime: 5 * 60_000,
  });
}

export function BeforeOrdering({ residentId }: { residentId: Id }) {
  const { t, i18n } = useTranslation('records');
  const queryClient = useQueryClient();
  const rules = useRecognitionRules();
  // a reuse stands in for a test the caller would order: only clinical roles can record one
  const mayReuse = isClinician(useUser().roles);
  const [typed, setTyped] = useState('');
  const [test, setTest] = useState<{ code?: string; system?: string }>({});
  const [reused, setReused] = useState<Map<string, ReusableResult>>(new Map());
  const [lastReuse, setLastReuse] = useState<ReusableResult | null>(null);

  const reusable = useQuery({
    queryKey: ['residents', residentId, 'recognition', test],
    queryFn: () => api<Items<ReusableResult>>(`/residents/${residentId}/recognition`, { query: test }),
  });
  const reuse = useMutation({
    mutationFn: (r: ReusableResult) =>
      api<ReuseEvent>(`/residents/${residentId}/recognition/reuse`, {
        method: 'POST',
        body: r.observationId !== null ? { observationId: r.observationId } : { reportId: r.reportId },
      }),
    onSuccess: (_event, r) => {
      setReused((m) => new Map(m).set(resultKey(r), r));
      setLastReuse(r);
      void queryClient.invalidateQueries({ queryKey: ['recognition', 'stats'] });
    },
  });

  if (isOutOfScope(reusable.error)) return <OutOfScope residentId={residentId} />;

  // specific tests only: the '*' rows are category defaults, not something a clinician orders
  const orderable = (rules.data?.items ?? []).filter((r) => r.code !== '*' && r.codeSystem !== '*' && r.active);
  const ruleName = (r: RecognitionRule) => (i18n.language === 'en' && r.nameEn ? r.nameEn : r.name);
  const search = (text: string) => {
    const code = text.trim();
    const rule = orderable.find((r) => r.code === code);
    setTest(code ? { code, system: rule?.codeSystem } : {});
    setLastReuse(null);
  };

  const columns: TableProps<ReusableResult>['columns'] = [
    {
      title: t('test'),
      key: 'test',
      render: (_, r) => (
        <Space orientation="vertical" size={0}>
          <Typography.Text strong>{r.display}</Typography.Text>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>{r.code}</Typography.Text>
        </Space>
      ),
    },
    { title: t('result'), key: 'value', render: (_, r) => <ResultValue value={r.value} valueText={r.valueText} unit={r.unit} /> },
    { title: t('institution'), dataIndex: 'institutionName' },
    { title: t('performedAt'), dataIndex: 'at', render: (at: string) => dayjs(at).format('YYYY-MM-DD HH:mm') },
    { title: t('recognition'), key: 'window', render: (_, r) => <RecognitionBadge recognition={r} /> },
    ...(mayReuse
      ? [
          {
            title: t('common:actions'),
            key: 'reuse',
            render: (_: unknown, r: ReusableResult) =>
              reused.has(resultKey(r)) ? (
                <Typography.Text type="success">
                  <CheckCircleOutlined /> {t('reused')}
                </Typography.Text>
              ) : (
                <Button
                  type="primary"
                  size="small"
                  loading={reuse.isPending && reuse.variables === r}
                  onClick={() => reuse.mutate(r)}
                  data-testid="reuse-result"
                >
                  {t('reuse')}
                </Button>
              ),
          },
        ]
      : []),
  ];

  return (
    <Card title={t('beforeOrdering')} extra={<Typography.Text type="secondary">{t('beforeOrderingHint')}</Typography.Text>}>
      <Flex vertical gap={16}>
        <Form
          layout="inline"
          onFinish={() => search(typed)}
        >
          <Form.Item label={t('testCode')}>
            <AutoComplete
              style={{ width: 320 }}
              value={typed}
              onChange={setTyped}
              onSelect={(code: string) => {
                setTyped(code);
                search(code);
              }}
              allowClear
              onClear={() => search('')}
              placeholder={t('testCodePlaceholder')}
              showSearch={{
                filterOption: (input, option) => String(option?.label ?? '').toLowerCase().includes(input.toLowerCase()),
              }}
              options={orderable.map((r) => ({ value: r.code, label: `${ruleName(r)} · ${r.code}` }))}
              data-testid="recognition-code"
            />
          </Form.Item>
          <Button type="primary" htmlType="submit" data-testid="recognition-search">
            {t('findReusable')}
          </Button>
        </Form>
        {lastReuse && (
          <Alert
            type="success"
            showIcon
            closable={{ onClose: () => setLastReuse(null) }}
            title={t('reuseDone', { name: lastReuse.display, institution: lastReuse.institutionName, date: dayjs(lastReuse.at).format('YYYY-MM-DD') })}
            description={t('reuseDoneDetail')}
            data-testid="reuse-done"
          />
        )}
        {reuse.error && <Alert type="error" showIcon title={reuse.error.message} />}
        {reusable.error ? (
          <QueryError error={reusable.error} onRetry={() => void reusable.refetch()} />
        ) : (
          <Table<ReusableResult>
            rowKey={resultKey}
            size="small"
            loading={reusable.isFetching}
            dataSource={reusable.data?.items}
            columns={columns}
            pagination={false}
            scroll={{ x: 900 }}
            locale={{ emptyText: <Empty description={test.code ? t('noReusableFor', { code: test.code }) : t('noReusable')} /> }}
            data-testid="reusable-results"
          />
        )}
      </Flex>
    </Card>
  );
}
