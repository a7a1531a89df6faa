// Picks a free specialist slot (号源) of a hospital department: a session from the published pools, then a time in it.
// Places reserved for referrals from primary care (基层预留) are listed apart, since they are the ones a family doctor
// can count on; they turn into ordinary slots when the reservation lapses.
import { useState } from 'react';
import { Alert, Empty, Flex, Radio, Select, Spin, Typography } from 'antd';
import { useQuery } from '@tanstack/react-query';
import dayjs from 'dayjs';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.ts';
import type { Id, Page as Paged } from '../../types.ts';
import type { Slot, SlotPool, SlotPoolDetail } from './referral-types.ts';

export const SLOT_POOLS_KEY = ['slot-pools'] as const;

function poolLabel(pool: SlotPool, t: TFunction<'referrals'>): string {
  const day = dayjs(pool.start).format('YYYY-MM-DD ddd');
  const time = `${dayjs(pool.start).format('HH:mm')}–${dayjs(pool.end).format('HH:mm')}`;
  return [day, time, pool.department, pool.practitionerName, t('poolFree', { reserved: pool.reservedFree, free: pool.free })].filter(Boolean).join(' · ');
}

export function SlotPicker({
  institutionId,
  department,
  value,
  onChange,
}: {
  institutionId: Id;
  department?: string | null;
  value?: Id;
  onChange?: (slotId: Id | undefined) => void;
}) {
  const { t } = useTranslation('referrals');
  const [chosenPool, setChosenPool] = useState<Id>();
  const pools = useQuery({
    queryKey: [...SLOT_POOLS_KEY, 'list', institutionId, department ?? null],
    queryFn: () => api<Paged<SlotPool>>('/slot-pools', { query: { institutionId, department: department ?? undefined, hasFree: true, pageSize: 50 } }),
    staleTime: 0,
  });
  // the soonest session is the usual choice: start there
  const poolId = chosenPool ?? pools.data?.items[0]?.id;
  const pool = useQuery({
    queryKey: [...SLOT_POOLS_KEY, poolId],
    queryFn: () => api<SlotPoolDetail>(`/slot-pools/${poolId}`),
    enabled: poolId !== undefined,
    staleTime: 0,
  });

  if (pools.error) return <Alert type="error" showIcon title={pools.error.message} />;
  if (pools.isPending) return <Spin size="small" />;
  if (pools.data.items.length === 0) {
    return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('noPools')} data-testid="slot-none" />;
  }
  const free = (pool.data?.slots ?? []).filter((s) => s.status === 'free' && dayjs(s.start).isAfter(dayjs()));
  const reserved = free.filter((s) => s.reservedFor);
  const general = free.filter((s) => !s.reservedFor);
  const group = (title: string, slots: Slot[], testId: string) =>
    slots.length > 0 && (
      <Flex vertical gap={4} data-testid={testId}>
        <Typography.Text type="secondary">{title}</Typography.Text>
        <Radio.Group
          optionType="button"
          size="small"
          value={value}
          onChange={(e) => onChange?.(e.target.value as Id)}
          options={slots.map((s) => ({
            value: s.id,
            label: <span data-testid={`slot-${s.id}`}>{dayjs(s.start).format('HH:mm')}</span>,
          }))}
        />
      </Flex>
    );

  return (
    <Flex vertical gap={8} data-testid="slot-picker">
      <Select<Id>
        value={poolId}
        onChange={(id) => {
          setChosenPool(id);
          onChange?.(undefined);
        }}
        options={pools.data.items.map((p) => ({ value: p.id, label: poolLabel(p, t) }))}
        style={{ width: '100%' }}
        data-testid="slot-pool"
      />
      {pool.isPending && poolId !== undefined ? (
        <Spin size="small" />
      ) : pool.error ? (
        <Alert type="error" showIcon title={pool.error.message} />
      ) : free.length === 0 ? (
        <Typography.Text type="secondary">{t('poolFull')}</Typography.Text>
      ) : (
        <>
          {group(t('reservedSlots'), reserved, 'slots-reserved')}
          {group(t('generalSlots'), general, 'slots-general')}
        </>
      )}
    </Flex>
  );
}
