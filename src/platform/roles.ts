// Roles from DOMAIN.md "Users". What each may see is decided in access.ts, never by ad-hoc checks in routes.
export const ROLES = [
  'district_admin',
  'institution_admin',
  'family_doctor',
  'nurse',
  'specialist',
  'referral_desk',
  'cdc_epidemiologist',
  'investigator',
  'ems_dispatcher',
  'supervisor',
  'resident',
] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, { zh: string; en: string }> = {
  district_admin: { zh: '区卫健委管理员', en: 'District administrator' },
  institution_admin: { zh: '机构管理员', en: 'Institution administrator' },
  family_doctor: { zh: '家庭医生', en: 'Family doctor' },
  nurse: { zh: '护士', en: 'Nurse' },
  specialist: { zh: '专科医生', en: 'Specialist' },
  referral_desk: { zh: '转诊服务台', en: 'Referral desk' },
  cdc_epidemiologist: { zh: '疾控流行病学人员', en: 'CDC epidemiologist' },
  investigator: { zh: '流调队员', en: 'Investigator' },
  ems_dispatcher: { zh: '120 调度员', en: 'EMS dispatcher' },
  supervisor: { zh: '卫生监督员', en: 'Health supervisor' },
  resident: { zh: '居民', en: 'Resident' },
};
