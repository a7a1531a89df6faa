import { Suspense, useState } from 'react';
import { App as AntApp, Avatar, Button, Dropdown, Flex, Layout, Menu, Result, Typography, theme } from 'antd';
import type { MenuProps } from 'antd';
import { LogoutOutlined, UserOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { api } from '../api.ts';
import { ME_KEY, useUser } from '../auth.ts';
import { canSee, sectionForPath, visibleSections } from '../sections.ts';
import { LanguageSwitch } from './language-switch.tsx';
import { NotificationBell } from './notification-bell.tsx';
import { Loading } from './query-state.tsx';

const { Header, Sider, Content } = Layout;

export function AppLayout() {
  const { t } = useTranslation();
  const user = useUser();
  const location = useLocation();
  const navigate = useNavigate();
  const { token } = theme.useToken();
  const [collapsed, setCollapsed] = useState(false);

  const current = sectionForPath(location.pathname);
  const allowed = !current || canSee(current.section, user.roles);

  const menuItems: MenuProps['items'] = visibleSections(user.roles).map((section) => {
    const Icon = section.icon;
    return section.children
      ? {
          key: section.key,
          icon: <Icon aria-hidden />,
          label: t(`nav:${section.label}`),
          children: section.children.map((child) => ({ key: child.key, label: t(`nav:${child.label}`) })),
        }
      : { key: section.key, icon: <Icon aria-hidden />, label: t(`nav:${section.label}`) };
  });

  const pathOfKey = (key: string): string | undefined => {
    for (const section of visibleSections(user.roles)) {
      if (section.key === key) return section.path;
      const child = section.children?.find((c) => c.key === key);
      if (child) return child.path;
    }
    return undefined;
  };

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Sider
        collapsible
        collapsed={collapsed}
        onCollapse={setCollapsed}
        width={220}
        theme="dark"
        style={{ position: 'sticky', top: 0, height: '100vh', overflow: 'auto' }}
      >
        <Flex align="center" justify="center" style={{ height: 64, color: '#fff', fontWeight: 600, fontSize: collapsed ? 14 : 18 }}>
          {collapsed ? 'CG' : t('common:appShort')}
        </Flex>
        <nav aria-label={t('common:appName')}>
          <Menu
            theme="dark"
            mode="inline"
            selectedKeys={current ? [current.itemKey] : []}
            defaultOpenKeys={current?.section.children ? [current.section.key] : []}
            items={menuItems}
            onClick={({ key }) => {
              const path = pathOfKey(key);
              if (path) void navigate(path);
            }}
          />
        </nav>
      </Sider>
      <Layout>
        <Header
          style={{
            background: token.colorBgContainer,
            padding: '0 24px',
            display: 'flex',
            alignItems: 'center',
            justifyContent: 'space-between',
            borderBottom: `1px solid ${token.colorBorderSecondary}`,
          }}
        >
          <Typography.Text strong style={{ fontSize: 16 }}>
            {t('common:appName')}
          </Typography.Text>
          <Flex align="center" gap={16}>
            <LanguageSwitch />
            <NotificationBell />
            <UserMenu />
          </Flex>
        </Header>
        <Content style={{ margin: 24 }} role="main">
          {allowed ? (
            <Suspense fallback={<Loading />}>
              <Outlet />
            </Suspense>
          ) : (
            <Result status="403" title={t('common:errors.forbiddenTitle')} subTitle={t('common:errors.forbidden')} />
          )}
        </Content>
      </Layout>
    </Layout>
  );
}

function UserMenu() {
  const { t } = useTranslation();
  const user = useUser();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const { message } = AntApp.useApp();

  const logout = useMutation({
    mutationFn: () => api<unknown>('/auth/logout', { method: 'POST', body: {}, allowUnauthorized: true }),
    onSettled: () => {
      // Forget the user first: the guard unmounts the console, then nobody else's data stays in the cache.
      queryClient.setQueryData(ME_KEY, null);
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== ME_KEY[0] });
      void message.success(t('nav:loggedOut'));
      void navigate('/login', { replace: true });
    },
  });

  const roles = user.roles.map((role) => t(`roles:${role}`, { defaultValue: role })).join('、');
  const items: MenuProps['items'] = [
    {
      key: 'who',
      disabled: true,
      label: (
        <Flex vertical>
          <Typography.Text>{user.displayName || user.username}</Typography.Text>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {roles}
            {user.institutionName ? ` · ${user.institutionName}` : ''}
          </Typography.Text>
        </Flex>
      ),
    },
    { type: 'divider' },
    { key: 'logout', icon: <LogoutOutlined />, label: t('nav:logout'), danger: true },
  ];

  return (
    <Dropdown
      trigger={['click']}
      menu={{ items, onClick: ({ key }) => key === 'logout' && logout.mutate() }}
    >
      <Button type="text" data-testid="user-menu" aria-label={t('nav:userMenu')} icon={<Avatar size="small" icon={<UserOutlined />} />}>
        {user.displayName || user.username}
      </Button>
    </Dropdown>
  );
}
