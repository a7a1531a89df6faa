// In-app notifications (站内通知) in the header: the unread count, asked for every 30 seconds, and the latest messages;
// opening one marks it read and goes to its referral or alert. Green-channel referrals arrive as urgent ones.
import { useState } from 'react';
import { Badge, Button, Empty, Flex, Popover, Tag, Typography, theme } from 'antd';
import { BellOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { api } from '../api.ts';
import type { Notification } from '../pages/referrals/referral-types.ts';
import { formatDateTime } from './labels.tsx';

interface NotificationPage {
  items: Notification[];
  total: number;
  unread: number;
}

const POLL_MS = 30_000;
const PRIORITY_COLORS: Record<Notification['priority'], string | undefined> = { urgent: 'red', high: 'orange', normal: undefined };

export function NotificationBell() {
  const { t } = useTranslation('notifications');
  const { token } = theme.useToken();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const list = useQuery({
    queryKey: ['notifications', 'bell'],
    queryFn: () => api<NotificationPage>('/notifications', { query: { pageSize: 10 } }),
    refetchInterval: POLL_MS,
    staleTime: 0,
  });
  const markRead = useMutation({
    mutationFn: (body: { ids: number[] } | { all: true }) => api<{ marked: number }>('/notifications/read', { method: 'POST', body }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['notifications'] }),
  });
  const unread = list.data?.unread ?? 0;

  const openItem = (n: Notification) => {
    if (!n.readAt) markRead.mutate({ ids: [n.id] });
    setOpen(false);
    if (n.referralId !== null) void navigate(`/referrals/${n.referralId}`);
    else if (n.alertId) void navigate(`/surveillance/alerts/${n.alertId}`);
  };

  const content = (
    <Flex vertical style={{ width: 380, maxHeight: 420, overflowY: 'auto' }} data-testid="notification-list">
      {list.data && list.data.items.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('empty')} />
      ) : (
        list.data?.items.map((n) => (
          <Flex
            key={n.id}
            vertical
            gap={2}
            role="button"
            tabIndex={0}
            onClick={() => openItem(n)}
            onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && openItem(n)}
            style={{
              padding: '8px 4px',
              cursor: 'pointer',
              borderBottom: `1px solid ${token.colorBorderSecondary}`,
              background: n.readAt ? undefined : token.colorPrimaryBg,
            }}
            data-testid="notification-item"
            data-unread={!n.readAt}
          >
            <Flex gap={4} align="start">
              {PRIORITY_COLORS[n.priority] && <Tag color={PRIORITY_COLORS[n.priority]}>{t(`priorities.${n.priority}`)}</Tag>}
              <Typography.Text strong={!n.readAt}>{n.message}</Typography.Text>
            </Flex>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {formatDateTime(n.createdAt)}
            </Typography.Text>
          </Flex>
        ))
      )}
    </Flex>
  );

  return (
    <Popover
      trigger="click"
      placement="bottomRight"
      open={open}
      onOpenChange={setOpen}
      title={
        <Flex justify="space-between" align="center">
          <span>{t('title')}</span>
          <Button type="link" size="small" disabled={unread === 0} onClick={() => markRead.mutate({ all: true })} data-testid="notification-read-all">
            {t('markAllRead')}
          </Button>
        </Flex>
      }
      content={content}
    >
      <Badge count={unread} size="small" overflowCount={99}>
        <Button
          type="text"
          shape="circle"
          icon={<BellOutlined />}
          aria-label={t('bell', { count: unread })}
          data-testid="notification-bell"
          data-unread={unread}
        />
      </Badge>
    </Popover>
  );
}
