// Registry vocabularies, shared by the server and the web console (this file imports nothing).
export const REGION_LEVELS = ['district', 'street', 'community', 'grid'] as const;
export type RegionLevel = (typeof REGION_LEVELS)[number];

export const INSTITUTION_TYPES = [
  'tertiary_hospital', 'secondary_hospital', 'tcm_hospital', 'mch_hospital', 'specialty_hospital',
  'community_health_centre', 'community_health_station', 'township_health_centre', 'village_clinic',
  'cdc', 'ems_centre', 'ems_station', 'supervision_institute', 'elder_care_institution', 'elder_care_post',
  'pharmacy', 'school', 'health_commission',
] as const;
export const CAPABILITIES = ['fever_clinic', 'fever_sentinel', 'intestinal_clinic', 'chest_pain_centre', 'stroke_centre', 'internet_clinic', 'negative_pressure_ward', 'imaging', 'laboratory', 'ecg'] as const;
