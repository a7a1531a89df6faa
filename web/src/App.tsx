import { lazy, type ReactNode } from 'react';
import { App as AntApp, ConfigProvider } from 'antd';
import zhCNLocale from 'antd/locale/zh_CN';
import enLocale from 'antd/locale/en_US';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { createBrowserRouter, Navigate, RouterProvider, useLocation } from 'react-router';
import { isApiError, setUnauthorizedHandler } from './api.ts';
import { ME_KEY, useMe, UserContext } from './auth.ts';
import { AppLayout } from './components/app-layout.tsx';
import { Loading, QueryError } from './components/query-state.tsx';
import { NotFound } from './pages/NotFound.tsx';
import { Login } from './pages/login/Login.tsx';

const Home = lazy(() => import('./pages/home/Show.tsx'));
const RegionList = lazy(() => import('./pages/regions/List.tsx'));
const InstitutionList = lazy(() => import('./pages/institutions/List.tsx'));
const ConsortiumList = lazy(() => import('./pages/consortia/List.tsx'));
const ConsortiumShow = lazy(() => import('./pages/consortia/Show.tsx'));
const Coverage = lazy(() => import('./pages/consortia/Coverage.tsx'));
const ResidentList = lazy(() => import('./pages/residents/List.tsx'));
const ResidentShow = lazy(() => import('./pages/residents/Show.tsx'));
const MatchReviewList = lazy(() => import('./pages/match-reviews/List.tsx'));
const AuditList = lazy(() => import('./pages/audit/List.tsx'));
const ImportList = lazy(() => import('./pages/imports/List.tsx'));
const BreakGlassReviewList = lazy(() => import('./pages/break-glass/List.tsx'));
const RecognitionShow = lazy(() => import('./pages/recognition/Show.tsx'));
const ReferralList = lazy(() => import('./pages/referrals/List.tsx'));
const ReferralNew = lazy(() => import('./pages/referrals/New.tsx'));
const ReferralShow = lazy(() => import('./pages/referrals/Show.tsx'));
const ReferralKpiShow = lazy(() => import('./pages/referral-kpis/Show.tsx'));
const Worklist = lazy(() => import('./pages/chronic/Worklist.tsx'));
const FollowUpPage = lazy(() => import('./pages/chronic/FollowUpForm.tsx'));
const ProgrammePage = lazy(() => import('./pages/chronic/Programme.tsx'));
const ContractList = lazy(() => import('./pages/chronic/Contracts.tsx'));
const ElderlyCheckPage = lazy(() => import('./pages/chronic/ElderlyCheck.tsx'));
const HealthPostList = lazy(() => import('./pages/chronic/HealthPosts.tsx').then((m) => ({ default: m.HealthPostList })));
const HealthPostShow = lazy(() => import('./pages/chronic/HealthPosts.tsx'));
const ChronicKpiShow = lazy(() => import('./pages/chronic-kpis/Show.tsx'));
const AlertList = lazy(() => import('./pages/surveillance/AlertList.tsx'));
const AlertShow = lazy(() => import('./pages/surveillance/AlertShow.tsx'));
const RunList = lazy(() => import('./pages/surveillance/Runs.tsx'));
const CommunityMap = lazy(() => import('./pages/surveillance/CommunityMap.tsx'));
const Epicurve = lazy(() => import('./pages/surveillance/Epicurve.tsx'));
const Timeliness = lazy(() => import('./pages/surveillance/Timeliness.tsx'));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 4xx will not heal by asking again; network blips and 5xx get one more try.
      retry: (failures, error) => failures < 1 && !(isApiError(error) && error.status >= 400 && error.status < 500),
      refetchOnWindowFocus: false,
      staleTime: 30_000,
    },
  },
});

// A lapsed session: forget the user, and RequireAuth sends the browser to /login.
setUnauthorizedHandler(() => queryClient.setQueryData(ME_KEY, null));

function RequireAuth({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <Loading />;
  if (me.error) return <QueryError error={me.error} onRetry={() => void me.refetch()} />;
  if (!me.data) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <UserContext value={me.data}>{children}</UserContext>;
}

const router = createBrowserRouter([
  { path: '/login', element: <Login /> },
  {
    path: '/',
    element: (
      <RequireAuth>
        <AppLayout />
      </RequireAuth>
    ),
    children: [
      { index: true, element: <Home /> },
      { path: 'regions', element: <RegionList /> },
      { path: 'institutions', element: <InstitutionList /> },
      { path: 'consortia', element: <ConsortiumList /> },
      { path: 'consortia/:id', element: <ConsortiumShow /> },
      { path: 'coverage', element: <Coverage /> },
      { path: 'residents', element: <ResidentList /> },
      { path: 'residents/:id', element: <ResidentShow /> },
      { path: 'match-reviews', element: <MatchReviewList /> },
      { path: 'audit', element: <AuditList /> },
      { path: 'imports', element: <ImportList /> },
      { path: 'break-glass', element: <BreakGlassReviewList /> },
      { path: 'recognition', element: <RecognitionShow /> },
      { path: 'referrals', element: <ReferralList /> },
      { path: 'referrals/new', element: <ReferralNew /> },
      { path: 'referrals/:id', element: <ReferralShow /> },
      { path: 'referral-kpis', element: <ReferralKpiShow /> },
      { path: 'worklist', element: <Worklist /> },
      { path: 'worklist/residents/:id', element: <ProgrammePage /> },
      { path: 'worklist/residents/:id/follow-up', element: <FollowUpPage /> },
      { path: 'worklist/residents/:id/elderly-check', element: <ElderlyCheckPage /> },
      { path: 'contracts', element: <ContractList /> },
      { path: 'health-posts', element: <HealthPostList /> },
      { path: 'health-posts/:id', element: <HealthPostShow /> },
      { path: 'chronic-kpis', element: <ChronicKpiShow /> },
      { path: 'surveillance', element: <Navigate to="/surveillance/alerts" replace /> },
      { path: 'surveillance/alerts', element: <AlertList /> },
      { path: 'surveillance/alerts/:id', element: <AlertShow /> },
      { path: 'surveillance/runs', element: <RunList /> },
      { path: 'surveillance/map', element: <CommunityMap /> },
      { path: 'surveillance/epicurve', element: <Epicurve /> },
      { path: 'surveillance/timeliness', element: <Timeliness /> },
      { path: '*', element: <NotFound /> },
    ],
  },
]);

export function App() {
  const { i18n } = useTranslation();
  const english = i18n.language === 'en';
  dayjs.locale(english ? 'en' : 'zh-cn');
  return (
    <ConfigProvider locale={english ? enLocale : zhCNLocale} theme={{ token: { colorPrimary: '#1677ff' } }}>
      <AntApp>
        <QueryClientProvider client={queryClient}>
          <RouterProvider router={router} />
        </QueryClientProvider>
      </AntApp>
    </ConfigProvider>
  );
}
