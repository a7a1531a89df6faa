import type { ReactNode } from 'react';
import { Alert, Button, Flex, Result, Spin } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { isApiError } from '../api.ts';

export function Loading({ tip }: { tip?: string }) {
  const { t } = useTranslation();
  return (
    <Flex justify="center" align="center" style={{ minHeight: 200 }} role="status" aria-live="polite">
      <Spin description={tip ?? t('common:loading')} />
    </Flex>
  );
}

/** Turns an API failure into something a clerk can act on: 403/404 as a Result, anything else as an Alert. */
export function QueryError({ error, onRetry, notFound }: { error: unknown; onRetry?: () => void; notFound?: string }) {
  const { t } = useTranslation();
  const message = error instanceof Error ? error.message : String(error);
  if (isApiError(error, 403)) {
    return <Result status="403" title={t('common:errors.forbiddenTitle')} subTitle={message} extra={<BackHome />} />;
  }
  if (isApiError(error, 404)) {
    return <Result status="404" title={notFound ?? t('common:errors.notFoundTitle')} subTitle={message} extra={<BackHome />} />;
  }
  return (
    <Alert
      type="error"
      showIcon
      title={t('common:errors.title')}
      description={message}
      action={onRetry && <Button size="small" onClick={onRetry}>{t('common:retry')}</Button>}
    />
  );
}

function BackHome() {
  const { t } = useTranslation();
  return (
    <Link to="/">
      <Button type="primary">{t('common:errors.backHome')}</Button>
    </Link>
  );
}

/** Renders loading, error or the data of one query. */
export function QueryView<T>({
  query,
  notFound,
  children,
}: {
  query: { data: T | undefined; error: unknown; isPending: boolean; refetch: () => unknown };
  notFound?: string;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading />;
  if (query.error || query.data === undefined) {
    return <QueryError error={query.error} onRetry={() => void query.refetch()} notFound={notFound} />;
  }
  return <>{children(query.data)}</>;
}
