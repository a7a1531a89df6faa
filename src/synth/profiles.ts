// Seed profiles. `dongcheng` follows the district figures in the seed documents (17 streets, 168 communities,
// about 700,000 residents, 114 family-doctor teams, 6 comprehensive + 6 specialty consortia, 11 elder-care institutions
// and 21 posts); `demo` is the same district at a tenth of the residents; `test` is tiny for the test suite.
export interface Profile {
  name: 'demo' | 'dongcheng' | 'test';
  streets: number;
  communities: number;
  gridsPerCommunity: [number, number];
  residents: number;
  familyDoctorTeams: number;
  tertiaryHospitals: number;
  stationsPerStreet: number;
  emsStations: number;
  elderCareInstitutions: number;
  elderCarePosts: number;
  pharmacies: number;
  schools: number;
  gpsPerCentre: number;
  specialistsPerHospital: number;
  /** surveillance feeds: the residents the sources serve (spread over communities as the residents are) */
  feedPopulation: number;
  /** days of feed history before the seed's today: Farrington on weekly aggregates wants 3 years and its window;
   *  the test profile keeps 13 weeks (EARS, CUSUM, the scan) so that seeding it stays quick */
  feedHistoryDays: number;
  /** family-doctor contracts, chronic-disease enrolments and 3 years of follow-ups (the test profile has none: the
   *  tests sign and enrol residents themselves) */
  chronic: boolean;
}

/** 3 years of weeks (Farrington's b = 3) plus its window and 12 weeks to evaluate */
const THREE_YEARS_OF_WEEKS = (3 * 52 + 12) * 7;

export const PROFILES: Record<Profile['name'], Profile> = {
  dongcheng: { name: 'dongcheng', streets: 17, communities: 168, gridsPerCommunity: [3, 6], residents: 700_000, familyDoctorTeams: 114, tertiaryHospitals: 4, stationsPerStreet: 4, emsStations: 10, elderCareInstitutions: 11, elderCarePosts: 21, pharmacies: 60, schools: 40, gpsPerCentre: 12, specialistsPerHospital: 20, feedPopulation: 700_000, feedHistoryDays: THREE_YEARS_OF_WEEKS, chronic: true },
  demo: { name: 'demo', streets: 17, communities: 168, gridsPerCommunity: [3, 6], residents: 70_000, familyDoctorTeams: 114, tertiaryHospitals: 4, stationsPerStreet: 4, emsStations: 10, elderCareInstitutions: 11, elderCarePosts: 21, pharmacies: 60, schools: 40, gpsPerCentre: 12, specialistsPerHospital: 20, feedPopulation: 700_000, feedHistoryDays: THREE_YEARS_OF_WEEKS, chronic: true },
  test: { name: 'test', streets: 3, communities: 6, gridsPerCommunity: [2, 3], residents: 600, familyDoctorTeams: 6, tertiaryHospitals: 2, stationsPerStreet: 1, emsStations: 1, elderCareInstitutions: 1, elderCarePosts: 2, pharmacies: 2, schools: 2, gpsPerCentre: 3, specialistsPerHospital: 3, feedPopulation: 25_000, feedHistoryDays: 91, chronic: false },
};

export function profileNamed(name: string, residents?: number): Profile {
  const p = PROFILES[name as Profile['name']];
  if (!p) throw new Error(`unknown seed profile "${name}" (demo, dongcheng, test)`);
  return residents ? { ...p, residents } : p;
}

// Age structure of an old inner-city district (5-year bands, 0–4 … 95–99), roughly 20% aged 65 and over.
export const AGE_BAND_WEIGHTS = [4.0, 4.5, 3.8, 3.2, 4.0, 6.0, 8.5, 8.3, 7.0, 6.5, 7.0, 7.2, 7.0, 6.5, 5.0, 3.5, 2.8, 1.7, 0.6, 0.2];

// Prevalence by age (national surveys give this shape: hypertension ~27% of adults, diabetes ~11%).
export function hypertensionRisk(age: number): number {
  if (age < 18) return 0;
  if (age < 35) return 0.02;
  if (age < 45) return 0.1;
  if (age < 55) return 0.22;
  if (age < 65) return 0.38;
  if (age < 75) return 0.52;
  return 0.6;
}
export function diabetesRisk(age: number): number {
  if (age < 18) return 0.0005;
  if (age < 35) return 0.005;
  if (age < 45) return 0.04;
  if (age < 55) return 0.09;
  if (age < 65) return 0.15;
  return 0.2;
}
