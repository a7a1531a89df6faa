import { Alert, Button, Card, Flex, Form, Input, Typography } from 'antd';
import { LockOutlined, UserOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { api } from '../../api.ts';
import { ME_KEY, useMe } from '../../auth.ts';
import { LanguageSwitch } from '../../components/language-switch.tsx';
import { usePageTitle } from '../../components/page.tsx';
import { Loading } from '../../components/query-state.tsx';
import type { User } from '../../types.ts';

interface Credentials {
  username: string;
  password: string;
}

export function Login() {
  const { t } = useTranslation('auth');
  usePageTitle(t('title'));
  const me = useMe();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? '/';

  const login = useMutation({
    mutationFn: (credentials: Credentials) =>
      api<{ user: User }>('/auth/login', { method: 'POST', body: credentials, allowUnauthorized: true }),
    onSuccess: ({ user }) => {
      queryClient.setQueryData(ME_KEY, user);
      void navigate(from === '/login' ? '/' : from, { replace: true });
    },
  });

  if (me.isPending) return <Loading />;
  if (me.data) return <Navigate to={from} replace />;

  return (
    <Flex
      vertical
      align="center"
      justify="center"
      style={{ minHeight: '100vh', background: 'linear-gradient(160deg, #e6f4ff 0%, #f5f5f5 60%)', padding: 16 }}
    >
      <Card style={{ width: 380, maxWidth: '100%' }} role="main">
        <Flex justify="flex-end">
          <LanguageSwitch />
        </Flex>
        <Flex vertical align="center" style={{ margin: '8px 0 24px' }}>
          <Typography.Title level={2} style={{ margin: 0 }}>
            {t('common:appShort')}
          </Typography.Title>
          <Typography.Text type="secondary">{t('subtitle')}</Typography.Text>
        </Flex>
        <Typography.Title level={4} style={{ marginTop: 0 }}>
          {t('title')}
        </Typography.Title>
        {login.error && (
          <Alert
            type="error"
            showIcon
            title={login.error.message}
            style={{ marginBottom: 16 }}
            data-testid="login-error"
            role="alert"
          />
        )}
        <Form<Credentials> layout="vertical" requiredMark={false} onFinish={(values) => login.mutate(values)} disabled={login.isPending}>
          <Form.Item name="username" label={t('username')} rules={[{ required: true, message: t('usernameRequired') }]}>
            <Input prefix={<UserOutlined />} autoComplete="username" autoFocus data-testid="login-username" />
          </Form.Item>
          <Form.Item name="password" label={t('password')} rules={[{ required: true, message: t('passwordRequired') }]}>
            <Input.Password prefix={<LockOutlined />} autoComplete="current-password" data-testid="login-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={login.isPending} data-testid="login-submit">
            {t('submit')}
          </Button>
        </Form>
        <Typography.Paragraph type="secondary" style={{ marginTop: 16, marginBottom: 0, fontSize: 12, textAlign: 'center' }}>
          {t('footer')}
        </Typography.Paragraph>
      </Card>
    </Flex>
  );
}
