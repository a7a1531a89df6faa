// The registry of a synthetic district: regions, institutions, consortia, practitioners, teams and households.
// Small enough to build in memory; residents are generated in chunks by residents.ts.
import { Rng, cumulative } from './random.ts';
import { COMMUNITY_WORDS, GIVEN_FEMALE, GIVEN_MALE, STREETS, SURNAMES, SURNAME_WEIGHTS, ALLEYS } from './names.ts';
import type { Profile } from './profiles.ts';
import { placeCommunities } from './geometry.ts';

export const DISTRICT_CODE = '110101'; // GB/T 2260: Dongcheng District, Beijing

/** lon/lat: the centroid (WGS-84) of a community, the mean of its communities' for a street; null for grids. */
export interface RegionRow { id: number; code: string; name: string; name_en: string | null; level: string; parent_id: number | null; kind: string | null; lon: number | null; lat: number | null }
export interface InstitutionRow { id: number; code: string; name: string; name_en: string | null; type: string; level: string | null; grade: string | null; capabilities: string[]; region_id: number; parent_id: number | null; address: string; beds: number | null }
export interface ConsortiumRow { id: number; name: string; kind: string; integration: string; specialty: string | null; lead_institution_id: number }
export interface PractitionerRow { id: number; code: string; name: string; sex: string; institution_id: number; profession: string; specialty: string | null; title: string | null }
export interface TeamRow { id: number; code: string; name: string; kind: string; institution_id: number; community_id: number }
export interface HouseholdSpec { id: number; gridId: number; communityId: number; streetId: number; size: number; address: string }

export interface District {
  regions: RegionRow[];
  streets: RegionRow[];
  communities: RegionRow[];
  grids: RegionRow[];
  institutions: InstitutionRow[];
  consortia: ConsortiumRow[];
  consortiumMembers: { consortium_id: number; institution_id: number; role: string }[];
  consortiumGrids: { consortium_id: number; grid_id: number }[];
  practitioners: PractitionerRow[];
  teams: TeamRow[];
  teamMembers: { team_id: number; practitioner_id: number; role: string }[];
  teamGrids: { team_id: number; grid_id: number }[];
  households: HouseholdSpec[];
  /** communities whose synthetic cells touch, both (a, b) and (b, a) */
  adjacency: { region_id: number; neighbour_id: number }[];
  residentCount: number;
}

export function personName(rng: Rng, sex: 'male' | 'female', surnameCum: number[]): string {
  const surname = SURNAMES[rng.weighted(surnameCum)];
  const pool = sex === 'male' ? GIVEN_MALE : GIVEN_FEMALE;
  return surname + rng.pick(pool) + (rng.chance(0.7) ? rng.pick(pool) : '');
}

export function buildDistrict(profile: Profile, seed: number): District {
  const rng = new Rng(seed, 1);
  const surnameCum = cumulative(SURNAME_WEIGHTS);
  const regions: RegionRow[] = [];
  let regionId = 0;
  const district: RegionRow = { id: ++regionId, code: DISTRICT_CODE, name: '东城区', name_en: 'Dongcheng District', level: 'district', parent_id: null, kind: 'district', lon: null, lat: null };
  regions.push(district);
  const streets: RegionRow[] = [];
  for (let s = 0; s < profile.streets; s++) {
    const [zh, en] = STREETS[s % STREETS.length];
    const st: RegionRow = { id: ++regionId, code: `${DISTRICT_CODE}${String(s + 1).padStart(3, '0')}`, name: zh, name_en: `${en} Subdistrict`, level: 'street', parent_id: district.id, kind: 'street', lon: null, lat: null };
    streets.push(st);
    regions.push(st);
  }
  // communities spread over streets as evenly as the count allows
  const communities: RegionRow[] = [];
  const usedNames = new Set<string>();
  for (let c = 0; c < profile.communities; c++) {
    const st = streets[c % streets.length];
    const nth = communities.filter((x) => x.parent_id === st.id).length + 1;
    let name: string;
    do name = rng.pick(COMMUNITY_WORDS) + rng.pick(COMMUNITY_WORDS) + '社区';
    while (usedNames.has(name));
    usedNames.add(name);
    const row: RegionRow = { id: ++regionId, code: `${st.code}${String(nth).padStart(3, '0')}`, name, name_en: null, level: 'community', parent_id: st.id, kind: 'community', lon: null, lat: null };
    communities.push(row);
  }
  communities.sort((a, b) => a.code.localeCompare(b.code));
  regions.push(...communities);
  const adjacency = placeCommunities(district, streets, communities, seed);
  const grids: RegionRow[] = [];
  for (const c of communities) {
    const n = rng.int(profile.gridsPerCommunity[0], profile.gridsPerCommunity[1]);
    for (let g = 1; g <= n; g++) {
      const row: RegionRow = { id: ++regionId, code: `${c.code}${String(g).padStart(2, '0')}`, name: `${c.name}第${g}网格`, name_en: null, level: 'grid', parent_id: c.id, kind: 'grid', lon: null, lat: null };
      grids.push(row);
    }
  }
  regions.push(...grids);

  // ── institutions ──
  const institutions: InstitutionRow[] = [];
  let instId = 0;
  const inst = (type: string, name: string, region: RegionRow, extra: Partial<InstitutionRow> = {}): InstitutionRow => {
    const row: InstitutionRow = {
      id: ++instId, code: `I${String(instId).padStart(4, '0')}`, name, name_en: null, type, level: null, grade: null, capabilities: [],
      region_id: region.id, parent_id: null, address: `北京市东城区${region.name === '东城区' ? '' : region.name}${rng.int(1, 200)}号`, beds: null, ...extra,
    };
    institutions.push(row);
    return row;
  };
  const streetOf = (i: number) => streets[i % streets.length];
  const ordinals = ['一', '二', '三', '四', '五', '六', '七', '八', '九', '十'];
  const tertiary = Array.from({ length: profile.tertiaryHospitals }, (_, i) =>
    inst('tertiary_hospital', `东城区第${ordinals[i]}人民医院`, streetOf(i * 4), { level: 'tertiary', grade: 'a', beds: rng.int(800, 2000), capabilities: ['fever_clinic', 'intestinal_clinic', 'chest_pain_centre', 'stroke_centre', 'internet_clinic', 'imaging', 'laboratory', 'ecg', 'negative_pressure_ward'] }));
  const secondary = Array.from({ length: Math.max(2, 6 - profile.tertiaryHospitals) }, (_, i) =>
    inst('secondary_hospital', `东城区第${ordinals[profile.tertiaryHospitals + i]}医院`, streetOf(i * 5 + 2), { level: 'secondary', grade: 'a', beds: rng.int(200, 600), capabilities: ['fever_clinic', 'intestinal_clinic', 'imaging', 'laboratory', 'ecg'] }));
  const tcm = inst('tcm_hospital', '东城区中医医院', streetOf(6), { level: 'tertiary', grade: 'a', beds: 500, capabilities: ['fever_clinic', 'internet_clinic', 'laboratory'] });
  const mch = inst('mch_hospital', '东城区妇幼保健院', streetOf(9), { level: 'secondary', grade: 'a', beds: 150, capabilities: ['laboratory', 'imaging'] });
  const dental = inst('specialty_hospital', '东城区口腔医院', streetOf(3), { level: 'secondary', grade: 'a', capabilities: ['imaging'] });
  const mental = inst('specialty_hospital', '东城区精神卫生保健院', streetOf(11), { level: 'secondary', grade: 'a', beds: 120 });
  const eye = inst('specialty_hospital', '东城区眼科医院', streetOf(7), { level: 'secondary', grade: 'b' });
  const rehab = inst('specialty_hospital', '东城区康复医院', streetOf(13), { level: 'secondary', grade: 'b', beds: 200 });
  const centres = streets.map((st) => inst('community_health_centre', `${st.name.replace('街道', '')}社区卫生服务中心`, st, { level: 'primary', capabilities: ['fever_sentinel', 'internet_clinic', 'ecg'] }));
  const stations: InstitutionRow[] = [];
  streets.forEach((st, si) => {
    const comms = communities.filter((c) => c.parent_id === st.id);
    const n = Math.min(profile.stationsPerStreet, comms.length);
    for (let k = 0; k < n; k++) {
      const c = comms[Math.floor((k * comms.length) / n)];
      stations.push(inst('community_health_station', `${c.name}卫生服务站`, c, { level: 'primary', parent_id: centres[si].id }));
    }
  });
  const cdc = inst('cdc', '东城区疾病预防控制中心', district, { capabilities: ['laboratory'] });
  const emsCentre = inst('ems_centre', '东城区急救中心', district);
  for (let i = 0; i < profile.emsStations; i++) inst('ems_station', `东城区急救站（${streetOf(i * 2).name.replace('街道', '')}）`, streetOf(i * 2), { parent_id: emsCentre.id });
  inst('supervision_institute', '东城区卫生健康监督所', district);
  for (let i = 0; i < profile.elderCareInstitutions; i++) inst('elder_care_institution', `东城区${rng.pick(COMMUNITY_WORDS)}${rng.pick(COMMUNITY_WORDS)}养老院（${i + 1}）`, streetOf(i), { beds: rng.int(60, 300) });
  for (let i = 0; i < profile.elderCarePosts; i++) {
    const c = communities[(i * 7) % communities.length];
    inst('elder_care_post', `${c.name}养老驿站`, c);
  }
  for (let i = 0; i < profile.pharmacies; i++) {
    const c = communities[(i * 3) % communities.length];
    inst('pharmacy', `${c.name}${rng.pick(['康', '仁', '济', '寿', '和'])}${rng.pick(['民', '心', '安', '泰'])}药店`, c);
  }
  for (let i = 0; i < profile.schools; i++) {
    const c = communities[(i * 5 + 1) % communities.length];
    inst('school', `东城区${c.name.replace('社区', '')}${i % 3 === 0 ? '中学' : '小学'}`, c);
  }

  // ── consortia: comprehensive ones split the streets, specialty ones cover every grid ──
  const consortia: ConsortiumRow[] = [];
  const consortiumMembers: District['consortiumMembers'] = [];
  const consortiumGrids: District['consortiumGrids'] = [];
  const leads = [...tertiary, ...secondary].slice(0, Math.min(6, streets.length));
  const gridsOfStreet = new Map<number, RegionRow[]>();
  for (const g of grids) {
    const streetId = communities.find((c) => c.id === g.parent_id)!.parent_id!;
    if (!gridsOfStreet.has(streetId)) gridsOfStreet.set(streetId, []);
    gridsOfStreet.get(streetId)!.push(g);
  }
  leads.forEach((lead, k) => {
    const c: ConsortiumRow = { id: consortia.length + 1, name: `${lead.name}综合医联体`, kind: 'comprehensive', integration: 'tight', specialty: null, lead_institution_id: lead.id };
    consortia.push(c);
    consortiumMembers.push({ consortium_id: c.id, institution_id: lead.id, role: 'lead' });
    streets.forEach((st, si) => {
      if (si % leads.length !== k) return;
      consortiumMembers.push({ consortium_id: c.id, institution_id: centres[si].id, role: 'member' });
      for (const s of stations.filter((x) => x.parent_id === centres[si].id)) consortiumMembers.push({ consortium_id: c.id, institution_id: s.id, role: 'member' });
      for (const g of gridsOfStreet.get(st.id) ?? []) consortiumGrids.push({ consortium_id: c.id, grid_id: g.id });
    });
  });
  const specialties: [InstitutionRow, string, string][] = [
    [tcm, 'tcm', '中医专科医联体'], [mch, 'maternal_child', '妇幼专科医联体'], [dental, 'stomatology', '口腔专科医联体'],
    [mental, 'mental_health', '精神卫生专科医联体'], [eye, 'ophthalmology', '眼科专科医联体'], [rehab, 'rehabilitation', '康复专科医联体'],
  ];
  for (const [lead, specialty, name] of specialties) {
    const c: ConsortiumRow = { id: consortia.length + 1, name: `东城区${name}`, kind: 'specialty', integration: 'loose', specialty, lead_institution_id: lead.id };
    consortia.push(c);
    consortiumMembers.push({ consortium_id: c.id, institution_id: lead.id, role: 'lead' });
    for (const ce of centres) consortiumMembers.push({ consortium_id: c.id, institution_id: ce.id, role: 'member' });
    for (const g of grids) consortiumGrids.push({ consortium_id: c.id, grid_id: g.id });
  }

  // ── practitioners ──
  const practitioners: PractitionerRow[] = [];
  const prac = (institutionId: number, profession: string, specialty: string | null, title: string | null) => {
    const sex = rng.chance(profession === 'nurse' ? 0.92 : 0.55) ? 'female' : 'male';
    const row: PractitionerRow = { id: practitioners.length + 1, code: `P${String(practitioners.length + 1).padStart(5, '0')}`, name: personName(rng, sex, surnameCum), sex, institution_id: institutionId, profession, specialty, title };
    practitioners.push(row);
    return row;
  };
  const hospitalSpecialties = ['cardiology', 'endocrinology', 'neurology', 'respiratory', 'orthopaedics', 'general_surgery', 'obstetrics', 'paediatrics', 'geriatrics', 'infectious_disease'];
  const specialistsOf = new Map<number, PractitionerRow[]>();
  for (const h of [...tertiary, ...secondary, tcm, mch, dental, mental, eye, rehab]) {
    specialistsOf.set(h.id, Array.from({ length: profile.specialistsPerHospital }, (_, i) => prac(h.id, 'specialist', hospitalSpecialties[i % hospitalSpecialties.length], rng.pick(['主任医师', '副主任医师', '主治医师']))));
  }
  const staffOf = new Map<number, { gps: PractitionerRow[]; nurses: PractitionerRow[]; ph: PractitionerRow[] }>();
  for (const ce of centres) {
    staffOf.set(ce.id, {
      gps: Array.from({ length: profile.gpsPerCentre }, () => prac(ce.id, 'gp', 'general_practice', rng.pick(['主治医师', '副主任医师', '医师']))),
      nurses: Array.from({ length: profile.gpsPerCentre }, () => prac(ce.id, 'nurse', null, rng.pick(['护师', '主管护师']))),
      ph: Array.from({ length: Math.max(2, profile.gpsPerCentre >> 1) }, () => prac(ce.id, 'public_health', null, '公卫医师')),
    });
  }
  for (let i = 0; i < 6; i++) prac(cdc.id, 'epidemiologist', 'epidemiology', rng.pick(['主任医师', '主管医师']));

  // ── family-doctor teams: each street's grids split among its teams (at least one per street) ──
  const teams: TeamRow[] = [];
  const teamMembers: District['teamMembers'] = [];
  const teamGrids: District['teamGrids'] = [];
  const teamsPerStreet = apportion(profile.familyDoctorTeams, streets.map((st) => gridsOfStreet.get(st.id)?.length ?? 0));
  streets.forEach((st, si) => {
    const sg = gridsOfStreet.get(st.id) ?? [];
    const n = Math.min(teamsPerStreet[si], sg.length);
    const centre = centres[si];
    const staff = staffOf.get(centre.id)!;
    const consortiumLead = leads[si % leads.length];
    for (let k = 0; k < n; k++) {
      const myGrids = sg.slice(Math.floor((k * sg.length) / n), Math.floor(((k + 1) * sg.length) / n));
      const lead = staff.gps[k % staff.gps.length];
      const team: TeamRow = { id: teams.length + 1, code: `T${String(teams.length + 1).padStart(4, '0')}`, name: `${lead.name}家庭医生团队`, kind: 'family_doctor', institution_id: centre.id, community_id: myGrids[0].parent_id! };
      teams.push(team);
      const add = (p: PractitionerRow, role: string) => {
        if (!teamMembers.some((m) => m.team_id === team.id && m.practitioner_id === p.id)) teamMembers.push({ team_id: team.id, practitioner_id: p.id, role });
      };
      add(lead, 'lead_gp');
      add(staff.nurses[k % staff.nurses.length], 'nurse');
      add(staff.ph[k % staff.ph.length], 'public_health');
      const specs = specialistsOf.get(consortiumLead.id)!;
      add(specs[k % specs.length], 'specialist_partner');
      for (const g of myGrids) teamGrids.push({ team_id: team.id, grid_id: g.id });
    }
  });

  // ── households: residents spread over grids with uneven density ──
  const gridWeights = grids.map(() => 0.5 + rng.next());
  const gridCum = cumulative(gridWeights);
  const perGrid = new Array<number>(grids.length).fill(0);
  for (let i = 0; i < profile.residents; i++) perGrid[rng.weighted(gridCum)]++;
  const sizeCum = cumulative([25, 33, 25, 10, 7]);
  const households: HouseholdSpec[] = [];
  const commOf = new Map(communities.map((c) => [c.id, c]));
  grids.forEach((g, gi) => {
    let left = perGrid[gi];
    const community = commOf.get(g.parent_id!)!;
    const alley = community.name.replace('社区', '') + rng.pick(ALLEYS);
    let no = 0;
    while (left > 0) {
      const size = Math.min(left, rng.weighted(sizeCum) + 1);
      no++;
      households.push({ id: households.length + 1, gridId: g.id, communityId: community.id, streetId: community.parent_id!, size, address: `北京市东城区${alley}${no}号${rng.int(1, 6)}单元${rng.int(101, 1802)}` });
      left -= size;
    }
  });
  return { regions, streets, communities, grids, institutions, consortia, consortiumMembers, consortiumGrids, practitioners, teams, teamMembers, teamGrids, households, adjacency, residentCount: profile.residents };
}

/** Largest-remainder apportionment of `total` seats by weights, at least one per non-zero weight. */
export function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0) || 1;
  const raw = weights.map((w) => (w > 0 ? Math.max(1, (total * w) / sum) : 0));
  const seats = raw.map(Math.floor);
  let left = total - seats.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; left > 0 && k < order.length; k++, left--) seats[order[k][1]]++;
  return seats;
}
