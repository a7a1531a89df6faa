import { useState } from 'react';
import { Alert, App, Button, Card, Empty, Flex, Segmented, Space, Statistic, Table, Tag, Typography, Upload } from 'antd';
import type { TableProps } from 'antd';
import { DownloadOutlined, InboxOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ApiError, api } from '../../api.ts';
import i18n from '../../i18n/index.ts';
import { formatDateTime } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { QueryError } from '../../components/query-state.tsx';
import type { Page as Paged } from '../../types.ts';

// The server's import kinds (src/modules/imports/columns.ts).
const KINDS = ['encounters', 'results', 'feeds'] as const;
type Kind = (typeof KINDS)[number];

interface RowError {
  row: number;
  column: string;
  field: string;
  message: string;
}

interface ImportResult {
  importId: number;
  kind: Kind;
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  errors: RowError[];
}

interface ImportBatch extends Omit<ImportResult, 'errors'> {
  institutionName: string;
  username: string | null;
  format: 'csv' | 'xlsx';
  fileName: string | null;
  createdAt: string;
}

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The file goes up as the raw request body; its type is told by the extension, not by what the browser guesses. */
async function uploadFile(kind: Kind, file: File): Promise<ImportResult> {
  const type = /\.xlsx$/i.test(file.name) ? XLSX_TYPE : 'text/csv';
  const response = await fetch(`/api/v1/imports/${kind}?fileName=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { 'Content-Type': type, Accept: 'application/json', 'Accept-Language': i18n.language },
    credentials: 'same-origin',
    body: file,
  });
  const payload = (await response.json().catch(() => ({}))) as Partial<ImportResult> & { code?: string; message?: string; field?: string };
  if (!response.ok) throw new ApiError(response.status, payload.code ?? `HTTP_${response.status}`, payload.message ?? i18n.t('common:errors.http', { status: response.status }), payload.field);
  return payload as ImportResult;
}

const reportUrl = (id: number, format: 'xlsx' | 'csv') => `/api/v1/imports/${id}/errors.${format}?lang=${encodeURIComponent(i18n.language)}`;

function ReportLinks({ id }: { id: number }) {
  const { t } = useTranslation('imports');
  return (
    <Space wrap>
      <Button size="small" icon={<DownloadOutlined />} href={reportUrl(id, 'xlsx')}>
        {t('errorReportXlsx')}
      </Button>
      <Button size="small" icon={<DownloadOutlined />} href={reportUrl(id, 'csv')}>
        {t('errorReportCsv')}
      </Button>
    </Space>
  );
}

function ResultView({ result }: { result: ImportResult }) {
  const { t } = useTranslation('imports');
  const columns: TableProps<RowError>['columns'] = [
    { title: t('row'), dataIndex: 'row', width: 80 },
    { title: t('column'), dataIndex: 'column', width: 240 },
    { title: t('reason'), dataIndex: 'message' },
  ];
  return (
    <Flex vertical gap={16}>
      <Flex gap={32} wrap>
        <Statistic title={t('total')} value={result.total} />
        <Statistic title={t('created')} value={result.created} />
        <Statistic title={t('updated')} value={result.updated} />
        <Statistic title={t('unchanged')} value={result.unchanged} />
        <Statistic title={t('failed')} value={result.failed} styles={{ content: { color: result.failed ? '#cf1322' : undefined } }} />
      </Flex>
      {result.failed > 0 ? (
        <>
          <Alert type="warning" showIcon title={t('failedHint', { count: result.failed })} action={<ReportLinks id={result.importId} />} />
          <Table<RowError>
            rowKey={(e) => `${e.row}-${e.field}-${e.message}`}
            size="small"
            columns={columns}
            dataSource={result.errors}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
          />
        </>
      ) : (
        <Alert type="success" showIcon title={t('allImported')} />
      )}
    </Flex>
  );
}

export default function ImportList() {
  const { t } = useTranslation('imports');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<Kind>('encounters');
  const [result, setResult] = useState<ImportResult | null>(null);
  const [paging, setPaging] = useState({ page: 1, pageSize: 10 });

  const history = useQuery({
    queryKey: ['imports', paging],
    queryFn: () => api<Paged<ImportBatch>>('/imports', { query: paging }),
    placeholderData: keepPreviousData,
  });
  const upload = useMutation({
    mutationFn: (file: File) => uploadFile(kind, file),
    onSuccess: (r) => {
      setResult(r);
      void message.success(t('done', { created: r.created, updated: r.updated, failed: r.failed }));
      void queryClient.invalidateQueries({ queryKey: ['imports'] });
    },
    onError: (error) => void message.error(error.message),
  });
  const show = useMutation({
    mutationFn: (id: number) => api<ImportResult>(`/imports/${id}`),
    onSuccess: setResult,
    onError: (error) => void message.error(error.message),
  });

  const columns: TableProps<ImportBatch>['columns'] = [
    { title: t('at'), dataIndex: 'createdAt', width: 170, render: formatDateTime },
    { title: t('kind'), dataIndex: 'kind', render: (v: Kind) => <Tag>{t(`kinds.${v}`)}</Tag> },
    { title: t('fileName'), dataIndex: 'fileName', render: (v: string | null) => v ?? t('common:none') },
    { title: t('user'), dataIndex: 'username', render: (v: string | null) => v ?? t('common:none') },
    { title: t('institution'), dataIndex: 'institutionName' },
    { title: t('total'), dataIndex: 'total', align: 'right' },
    { title: t('created'), dataIndex: 'created', align: 'right' },
    { title: t('updated'), dataIndex: 'updated', align: 'right' },
    { title: t('unchanged'), dataIndex: 'unchanged', align: 'right' },
    { title: t('failed'), dataIndex: 'failed', align: 'right', render: (v: number) => (v ? <Typography.Text type="danger">{v}</Typography.Text> : v) },
    {
      title: t('common:actions'),
      key: 'actions',
      render: (_, b) => (
        <Space wrap>
          <Button size="small" type="link" onClick={() => show.mutate(b.importId)}>
            {t('common:details')}
          </Button>
          {b.failed > 0 && <ReportLinks id={b.importId} />}
        </Space>
      ),
    },
  ];

  return (
    <Page title={t('title')}>
      <Card title={t('templates')}>
        <Typography.Paragraph type="secondary">{t('templatesHint')}</Typography.Paragraph>
        <Space wrap>
          {KINDS.flatMap((k) =>
            (['xlsx', 'csv'] as const).map((format) => (
              <Button key={`${k}-${format}`} icon={<DownloadOutlined />} href={`/api/v1/imports/templates/${k}.${format}`}>
                {t('templateFile', { kind: t(`kinds.${k}`), format: format.toUpperCase() })}
              </Button>
            )),
          )}
        </Space>
      </Card>
      <Card title={t('upload')}>
        <Flex vertical gap={16}>
          <Segmented<Kind> value={kind} onChange={setKind} options={KINDS.map((k) => ({ value: k, label: t(`kinds.${k}`) }))} />
          <Upload.Dragger
            accept=".csv,.xlsx"
            multiple={false}
            showUploadList={false}
            disabled={upload.isPending}
            beforeUpload={(file) => {
              upload.mutate(file);
              return false;
            }}
          >
            <p className="ant-upload-drag-icon">
              <InboxOutlined />
            </p>
            <p className="ant-upload-text">{upload.isPending ? t('uploading') : t('uploadHint', { kind: t(`kinds.${kind}`) })}</p>
            <p className="ant-upload-hint">{t('uploadFormats')}</p>
          </Upload.Dragger>
          {result && <ResultView result={result} />}
        </Flex>
      </Card>
      <Card title={t('history')}>
        {history.error ? (
          <QueryError error={history.error} onRetry={() => void history.refetch()} />
        ) : (
          <Table<ImportBatch>
            rowKey="importId"
            size="small"
            columns={columns}
            dataSource={history.data?.items}
            loading={history.isFetching}
            scroll={{ x: 1100 }}
            locale={{ emptyText: <Empty description={t('common:emptyText')} /> }}
            pagination={{
              current: paging.page,
              pageSize: paging.pageSize,
              total: history.data?.total ?? 0,
              showTotal: (total) => t('common:totalItems', { total }),
              onChange: (page, pageSize) => setPaging({ page: pageSize === paging.pageSize ? page : 1, pageSize }),
            }}
          />
        )}
      </Card>
    </Page>
  );
}
