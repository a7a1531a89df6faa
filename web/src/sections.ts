import type { ComponentType } from 'react';
import {
  AlertOutlined,
  ApartmentOutlined,
  AuditOutlined,
  BankOutlined,
  BarChartOutlined,
  ClusterOutlined,
  FundOutlined,
  HomeOutlined,
  HeartOutlined,
  LineChartOutlined,
  ImportOutlined,
  MergeCellsOutlined,
  RadarChartOutlined,
  SafetyCertificateOutlined,
  SwapOutlined,
  TeamOutlined,
} from '@ant-design/icons';
import type { Role } from './types.ts';

/**
 * The console's single source of navigation: which sections exist, where they live and which roles see them.
 * The side menu and the route guard both read this list. `roles: 'all'` means every logged-in user.
 */
export interface Section {
  key: string;
  path: string;
  /** i18n key in the `nav` namespace */
  label: string;
  icon: ComponentType<{ 'aria-hidden'?: boolean }>;
  roles: readonly Role[] | 'all';
  children?: readonly Omit<Section, 'icon' | 'roles' | 'children'>[];
}

const PERSON_READERS: readonly Role[] = [
  'district_admin',
  'institution_admin',
  'family_doctor',
  'nurse',
  'specialist',
  'referral_desk',
  'cdc_epidemiologist',
  'investigator',
];

export const sections: readonly Section[] = [
  { key: 'home', path: '/', label: 'home', icon: HomeOutlined, roles: 'all' },
  { key: 'regions', path: '/regions', label: 'regions', icon: ApartmentOutlined, roles: 'all' },
  { key: 'institutions', path: '/institutions', label: 'institutions', icon: BankOutlined, roles: 'all' },
  {
    key: 'consortia',
    path: '/consortia',
    label: 'consortia',
    icon: ClusterOutlined,
    roles: 'all',
    children: [
      { key: 'consortia-list', path: '/consortia', label: 'consortiaList' },
      { key: 'coverage', path: '/coverage', label: 'coverage' },
    ],
  },
  { key: 'residents', path: '/residents', label: 'residents', icon: TeamOutlined, roles: PERSON_READERS },
  {
    // the family doctor's day: the worklist (with each resident's programme page and follow-up form under /worklist)
    // and the team's contracts
    key: 'family-doctor',
    path: '/worklist',
    label: 'familyDoctor',
    icon: HeartOutlined,
    roles: ['family_doctor', 'nurse', 'institution_admin', 'district_admin'],
    children: [
      { key: 'worklist', path: '/worklist', label: 'worklist' },
      { key: 'contracts', path: '/contracts', label: 'contracts' },
      { key: 'health-posts', path: '/health-posts', label: 'healthPosts' },
    ],
  },
  {
    key: 'chronic-kpis',
    path: '/chronic-kpis',
    label: 'chronicKpis',
    icon: LineChartOutlined,
    roles: ['district_admin', 'institution_admin'],
  },
  {
    key: 'referrals',
    path: '/referrals',
    label: 'referrals',
    icon: SwapOutlined,
    roles: ['family_doctor', 'nurse', 'specialist', 'referral_desk', 'institution_admin', 'district_admin'],
  },
  {
    key: 'referral-kpis',
    path: '/referral-kpis',
    label: 'referralKpis',
    icon: BarChartOutlined,
    roles: ['district_admin', 'institution_admin', 'referral_desk'],
  },
  {
    key: 'match-reviews',
    path: '/match-reviews',
    label: 'matchReviews',
    icon: MergeCellsOutlined,
    roles: ['district_admin', 'institution_admin'],
  },
  {
    key: 'recognition',
    path: '/recognition',
    label: 'recognition',
    icon: SafetyCertificateOutlined,
    roles: ['district_admin', 'institution_admin'],
  },
  {
    key: 'surveillance',
    path: '/surveillance/alerts',
    label: 'surveillance',
    icon: RadarChartOutlined,
    roles: ['cdc_epidemiologist', 'investigator', 'district_admin'],
    children: [
      { key: 'surveillance-alerts', path: '/surveillance/alerts', label: 'alertInbox' },
      { key: 'surveillance-runs', path: '/surveillance/runs', label: 'surveillanceRuns' },
    ],
  },
  {
    // feeds, series and case reports are read district-wide by the CDC and the district administrator only
    key: 'surveillance-analysis',
    path: '/surveillance/map',
    label: 'surveillanceAnalysis',
    icon: FundOutlined,
    roles: ['cdc_epidemiologist', 'district_admin'],
    children: [
      { key: 'surveillance-map', path: '/surveillance/map', label: 'surveillanceMap' },
      { key: 'surveillance-epicurve', path: '/surveillance/epicurve', label: 'epicurve' },
      { key: 'surveillance-timeliness', path: '/surveillance/timeliness', label: 'reportTimeliness' },
    ],
  },
  { key: 'break-glass', path: '/break-glass', label: 'breakGlass', icon: AlertOutlined, roles: ['district_admin'] },
  {
    key: 'imports',
    path: '/imports',
    label: 'imports',
    icon: ImportOutlined,
    roles: ['district_admin', 'institution_admin', 'family_doctor', 'nurse', 'specialist', 'referral_desk'],
  },
  { key: 'audit', path: '/audit', label: 'audit', icon: AuditOutlined, roles: ['district_admin'] },
];

export function canSee(section: Pick<Section, 'roles'>, userRoles: readonly string[]): boolean {
  return section.roles === 'all' || section.roles.some((role) => userRoles.includes(role));
}

export function visibleSections(userRoles: readonly string[]): Section[] {
  return sections.filter((section) => canSee(section, userRoles));
}

export function sectionByKey(key: string): Section {
  const section = sections.find((s) => s.key === key);
  if (!section) throw new Error(`unknown section ${key}`);
  return section;
}

/** The section a URL belongs to, so deep links (/residents/42) highlight and guard like their list. */
export function sectionForPath(pathname: string): { section: Section; itemKey: string } | undefined {
  let best: { section: Section; itemKey: string; length: number } | undefined;
  for (const section of sections) {
    const candidates = section.children ?? [section];
    for (const item of candidates) {
      const matches = item.path === '/' ? pathname === '/' : pathname === item.path || pathname.startsWith(`${item.path}/`);
      if (matches && (!best || item.path.length > best.length)) best = { section, itemKey: item.key, length: item.path.length };
    }
  }
  return best && { section: best.section, itemKey: best.itemKey };
}
