// The team's contracts (签约管理): who is signed with which service packages and until when, with the consent on record;
// sign a resident, renew (续约), change team, cancel (解约). A team member sees the team's contracts, a centre's
// administrator the centre's, the district administrator all (the server decides). Filters and paging in the URL.
import { useState } from 'react';
import { App, Button, Card, Checkbox, DatePicker, Empty, Flex, Form, Input, Modal, Radio, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import type { TableProps } from 'antd';
import { PlusOutlined, SearchOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, isApiError } from '../../api.ts';
import { useUser } from '../../auth.ts';
import { formatDateTime } from '../../components/labels.tsx';
import { Page } from '../../components/page.tsx';
import { useUrlFilters } from '../../components/url-filters.ts';
import { listPagination } from '../../components/paging.ts';
import { QueryError } from '../../components/query-state.tsx';
import { currentLanguage } from '../../i18n/index.ts';
import type { Id, Items, Page as Paged } from '../../types.ts';
import { ResidentPicker } from '../referrals/New.tsx';
import { ContractStatusTag } from './chronic-format.tsx';
import { CONSENT_METHODS, CONSENT_SIGNERS, CONTRACT_STATUSES, type Consent, type Contract, type ServicePackage, type Team } from './chronic-types.ts';
import { useGridOptions } from './Worklist.tsx';

const FILTER_KEYS = ['status', 'dueForRenewal', 'packageCode', 'gridId', 'residentId'] as const;
type Filters = Partial<Record<(typeof FILTER_KEYS)[number], string>>;
type Action = 'sign' | 'renew' | 'change-team' | 'cancel';

function usePackages() {
  return useQuery({ queryKey: ['service-packages'], queryFn: () => api<Items<ServicePackage>>('/service-packages'), staleTime: 10 * 60_000 });
}

function usePackageName() {
  const packages = usePackages();
  const english = currentLanguage() === 'en';
  return (code: string) => {
    const p = packages.data?.items.find((x) => x.code === code);
    return p ? (english && p.nameEn ? p.nameEn : p.name) : code;
  };
}

export default function ContractList() {
  const { t } = useTranslation('chronic');
  const { filters, page, pageSize, update } = useUrlFilters(FILTER_KEYS);
  const [form] = Form.useForm<Filters & { due?: boolean }>();
  const [action, setAction] = useState<{ kind: Action; contract?: Contract } | null>(null);
  const gridOptions = useGridOptions();
  const packages = usePackages();
  const packageName = usePackageName();
  const user = useUser();
  const canSign = user.roles.some((r) => ['family_doctor', 'nurse', 'institution_admin', 'district_admin'].includes(r));
  const list = useQuery({
    queryKey: ['contracts', 'list', filters, page, pageSize],
    queryFn: () => api<Paged<Contract>>('/contracts', { query: { ...filters, page, pageSize } }),
    placeholderData: keepPreviousData,
  });

  const columns: TableProps<Contract>['columns'] = [
    {
      title: t('resident'),
      key: 'resident',
      width: 170,
      render: (_, c) => (
        <Flex vertical>
          <Link to={`/worklist/residents/${c.resident.id}`}>
            <Typography.Text strong>{c.resident.name}</Typography.Text>
          </Link>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {[c.resident.idNumberMasked, c.resident.gridName].filter(Boolean).join(' · ')}
          </Typography.Text>
        </Flex>
      ),
    },
    { title: t('contracts.team'), key: 'team', width: 160, render: (_, c) => c.team.name },
    {
      title: t('contracts.packages'),
      key: 'packages',
      width: 170,
      render: (_, c) => (
        <Space size={[0, 4]} wrap>
          {c.packages.map((p) => (
            <Tag key={p}>{packageName(p)}</Tag>
          ))}
        </Space>
      ),
    },
    {
      title: t('contracts.termTitle'),
      key: 'term',
      width: 210,
      render: (_, c) => (
        <Space size={4} wrap>
          {t('contracts.term', { start: c.startDate, end: c.endDate })}
          {c.dueForRenewal && (
            <Tag color="gold" data-testid="renewal-due">
              {t('contracts.renewalDue')}
            </Tag>
          )}
        </Space>
      ),
    },
    { title: t('contracts.status'), key: 'status', width: 100, render: (_, c) => <ContractStatusTag status={c.status} /> },
    {
      title: t('contracts.consent'),
      key: 'consent',
      width: 200,
      render: (_, c) => (
        <Flex vertical>
          <span>
            {t(`contracts.consentMethods.${c.consent.method}`, { defaultValue: c.consent.method })} · {t(`contracts.signers.${c.consent.signedBy}`, { defaultValue: c.consent.signedBy })}
          </span>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {formatDateTime(c.consent.signedAt)}
          </Typography.Text>
        </Flex>
      ),
    },
    {
      title: t('common:actions'),
      key: 'actions',
      width: 200,
      fixed: 'right',
      render: (_, c) =>
        c.status === 'active' ? (
          <Space size={0} wrap>
            {(['renew', 'change-team', 'cancel'] as const).map((kind) => (
              <Button key={kind} type="link" size="small" danger={kind === 'cancel'} onClick={() => setAction({ kind, contract: c })} data-testid={`contract-${kind}`}>
                {t(`contracts.actions.${kind}`)}
              </Button>
            ))}
          </Space>
        ) : (
          <Typography.Text type="secondary">{c.endReason ?? t('common:none')}</Typography.Text>
        ),
    },
  ];

  return (
    <Page
      title={t('contracts.title')}
      extra={
        canSign && (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setAction({ kind: 'sign' })} data-testid="contract-sign">
            {t('contracts.actions.sign')}
          </Button>
        )
      }
    >
      <Card>
        <Form
          form={form}
          layout="inline"
          role="search"
          style={{ rowGap: 12, marginBottom: 16 }}
          initialValues={{ ...filters, due: filters.dueForRenewal === 'true' }}
          onFinish={(v) =>
            update({ filters: { status: v.status, packageCode: v.packageCode, gridId: v.gridId, residentId: filters.residentId, dueForRenewal: v.due ? 'true' : undefined }, page: 1 })
          }
        >
          <Form.Item name="status" label={t('contracts.status')}>
            <Select allowClear placeholder={t('common:all')} style={{ width: 120 }} options={CONTRACT_STATUSES.map((s) => ({ value: s, label: t(`contracts.statuses.${s}`) }))} />
          </Form.Item>
          <Form.Item name="packageCode" label={t('contracts.packages')}>
            <Select
              allowClear
              placeholder={t('common:all')}
              style={{ width: 160 }}
              options={packages.data?.items.map((p) => ({ value: p.code, label: packageName(p.code) }))}
            />
          </Form.Item>
          <Form.Item name="gridId" label={t('grid')}>
            <Select allowClear showSearch={{ optionFilterProp: 'label' }} placeholder={t('common:all')} style={{ width: 180 }} options={gridOptions} />
          </Form.Item>
          <Form.Item name="due" label={t('contracts.renewalDue')} valuePropName="checked">
            <Switch data-testid="filter-renewal-due" />
          </Form.Item>
          <Flex gap={8}>
            <Button type="primary" htmlType="submit" icon={<SearchOutlined />} data-testid="contract-search">
              {t('common:search')}
            </Button>
            <Button
              onClick={() => {
                form.resetFields();
                form.setFieldsValue({ status: undefined, packageCode: undefined, gridId: undefined, due: false });
                update({ filters: {}, page: 1 });
              }}
            >
              {t('common:reset')}
            </Button>
          </Flex>
        </Form>
        {filters.residentId && (
          <Typography.Paragraph type="secondary">
            {t('contracts.oneResident')} <Link to="/contracts">{t('contracts.showAll')}</Link>
          </Typography.Paragraph>
        )}
        {list.error ? (
          <QueryError error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <Table<Contract>
            rowKey="id"
            columns={columns}
            dataSource={list.data?.items}
            loading={list.isFetching}
            scroll={{ x: 1250 }}
            locale={{ emptyText: <Empty description={Object.keys(filters).length ? t('contracts.emptyFiltered') : t('contracts.empty')} data-testid="contract-empty" /> }}
            pagination={listPagination(t, page, pageSize, list.data?.total ?? 0, (p, size) => update({ page: p, pageSize: size }))}
            data-testid="contract-table"
          />
        )}
      </Card>
      {action && <ContractModal action={action.kind} contract={action.contract} presetResident={Number(filters.residentId) || undefined} onClose={() => setAction(null)} />}
    </Page>
  );
}

interface ModalValues {
  residentId?: Id;
  teamId?: Id;
  packages?: string[];
  startDate?: Dayjs;
  endDate?: Dayjs;
  method?: Consent['method'];
  signedBy?: Consent['signedBy'];
  document?: string;
  reason?: string;
}

function ContractModal({ action, contract, presetResident, onClose }: { action: Action; contract?: Contract; presetResident?: Id; onClose: () => void }) {
  const { t } = useTranslation('chronic');
  const user = useUser();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<ModalValues>();
  const packages = usePackages();
  const packageName = usePackageName();
  const [sourceId] = useState(() => `console-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`);
  const needsTeam = action === 'change-team' || (action === 'sign' && user.teamId === null);
  const teams = useQuery({
    queryKey: ['teams', 'list', user.institutionId],
    queryFn: () => api<Paged<Team>>('/teams', { query: { institutionId: user.institutionId ?? undefined, pageSize: 100 } }),
    enabled: needsTeam,
  });
  const save = useMutation({
    mutationFn: (v: ModalValues) => {
      const consent = { method: v.method, signedBy: v.signedBy, document: v.document?.trim() || null };
      const day = (d?: Dayjs) => d?.format('YYYY-MM-DD');
      switch (action) {
        case 'sign':
          return api<Contract>('/contracts', {
            method: 'POST',
            body: { residentId: v.residentId, teamId: v.teamId ?? user.teamId, packages: v.packages, startDate: day(v.startDate), endDate: day(v.endDate), consent, sourceId },
          });
        case 'renew':
          return api<Contract>(`/contracts/${contract!.id}/renew`, { method: 'POST', body: { consent, endDate: day(v.endDate), packages: v.packages, version: contract!.version } });
        case 'change-team':
          return api<Contract>(`/contracts/${contract!.id}/change-team`, { method: 'POST', body: { teamId: v.teamId, reason: v.reason, consent, packages: v.packages, version: contract!.version } });
        case 'cancel':
          return api<Contract>(`/contracts/${contract!.id}/cancel`, { method: 'POST', body: { reason: v.reason, version: contract!.version } });
      }
    },
    onSuccess: () => {
      void message.success(t(`contracts.done.${action}`));
      void queryClient.invalidateQueries({ queryKey: ['contracts'] });
      void queryClient.invalidateQueries({ queryKey: ['worklist'] });
      onClose();
    },
    onError: (error) => {
      const field = isApiError(error) && error.field ? error.field.replace(/^consent\./, '') : undefined;
      if (field && ['residentId', 'teamId', 'packages', 'startDate', 'endDate', 'method', 'signedBy', 'document', 'reason'].includes(field)) {
        form.setFields([{ name: field as keyof ModalValues, errors: [error.message] }]);
      }
    },
  });
  const required = (key: string) => [{ required: true, message: t(`contracts.validation.${key}`) }];
  const consentFields = action !== 'cancel';
  return (
    <Modal
      open
      title={t(`contracts.actions.${action}`) + (contract ? ` · ${contract.resident.name}` : '')}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={t('common:confirm')}
      okButtonProps={{ loading: save.isPending, danger: action === 'cancel', 'data-testid': 'contract-confirm' }}
      destroyOnHidden
      width={600}
    >
      {save.error && <Typography.Paragraph type="danger" data-testid="contract-error">{save.error.message}</Typography.Paragraph>}
      <Form<ModalValues>
        form={form}
        layout="vertical"
        initialValues={{ residentId: presetResident, packages: contract?.packages ?? ['basic'], method: 'written', signedBy: 'self' }}
        onFinish={(v) => save.mutate(v)}
      >
        {action === 'sign' && (
          <Form.Item name="residentId" label={t('resident')} rules={required('resident')}>
            <ResidentPicker testId="contract-resident" />
          </Form.Item>
        )}
        {needsTeam && (
          <Form.Item name="teamId" label={action === 'change-team' ? t('contracts.newTeam') : t('contracts.team')} rules={required('team')}>
            <Select
              showSearch={{ optionFilterProp: 'label' }}
              options={teams.data?.items.filter((tm) => (tm.kind ?? 'family_doctor') === 'family_doctor' && tm.id !== contract?.team.id).map((tm) => ({ value: tm.id, label: tm.name }))}
              data-testid="contract-team"
            />
          </Form.Item>
        )}
        {action !== 'cancel' && (
          <Form.Item name="packages" label={t('contracts.packages')} rules={required('packages')}>
            <Checkbox.Group options={packages.data?.items.filter((p) => p.active).map((p) => ({ value: p.code, label: packageName(p.code) }))} data-testid="contract-packages" />
          </Form.Item>
        )}
        {action === 'sign' && (
          <Form.Item name="startDate" label={t('contracts.startDate')} extra={t('contracts.startDateHint')}>
            <DatePicker />
          </Form.Item>
        )}
        {(action === 'sign' || action === 'renew') && (
          <Form.Item name="endDate" label={t('contracts.endDate')} extra={t('contracts.endDateHint')}>
            <DatePicker />
          </Form.Item>
        )}
        {(action === 'change-team' || action === 'cancel') && (
          <Form.Item name="reason" label={t('contracts.reason')} rules={required('reason')}>
            <Input.TextArea rows={2} maxLength={500} data-testid="contract-reason" />
          </Form.Item>
        )}
        {consentFields && (
          <Card size="small" title={t('contracts.consent')}>
            <Form.Item name="method" label={t('contracts.consentMethod')} rules={required('consent')}>
              <Radio.Group options={CONSENT_METHODS.map((m) => ({ value: m, label: t(`contracts.consentMethods.${m}`) }))} />
            </Form.Item>
            <Form.Item name="signedBy" label={t('contracts.signedBy')} rules={required('consent')}>
              <Radio.Group options={CONSENT_SIGNERS.map((s) => ({ value: s, label: t(`contracts.signers.${s}`) }))} />
            </Form.Item>
            <Form.Item name="document" label={t('contracts.consentDocument')} style={{ marginBottom: 0 }}>
              <Input maxLength={500} placeholder={t('contracts.consentDocumentHint')} />
            </Form.Item>
          </Card>
        )}
      </Form>
    </Modal>
  );
}
