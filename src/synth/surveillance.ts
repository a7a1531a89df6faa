// Surveillance data of the synthetic district: daily feeds for every community × source × category up to yesterday,
// background statutory case reports, and one injected outbreak (a norovirus cluster in three adjacent communities)
// that ends a few days before the seed's "today", for the daily run to find as a multi-source alert.
// The numbers come from feeds.ts; this file decides who reports them and loads them with COPY.
import type { Db } from '../db/engine.ts';
import { copyValue } from '../db/engine.ts';
import { dateOfDay, dayNumber } from '../modules/surveillance/algorithms/dates.ts';
import { districtDate } from '../platform/local-date.ts';
import type { District, InstitutionRow, RegionRow } from './district.ts';
import { generateCaseReports, generateFeeds, injectOutbreak, type FeedCommunity, type FeedSet, type OutbreakSpec, type SyntheticCaseReport } from './feeds.ts';
import { distanceKm } from './geometry.ts';
import type { Profile } from './profiles.ts';
import { Rng } from './random.ts';
import { withoutSecondaryIndexes } from './seed.ts';

export interface SurveillanceSeedOptions {
  seed: number;
  /** the seed's "today"; feeds run to the day before (Beijing calendar) */
  now: Date;
  /** days of history; default the profile's */
  historyDays?: number;
}

export interface SurveillanceSeedResult {
  /** first and last day of the feeds */
  from: string;
  to: string;
  feedRows: number;
  caseReports: number;
  outbreak: { syndrome: string; communityIds: number[]; start: string; end: string; ill: number };
  seconds: number;
}

/** Residents of each community scaled to the profile's feed population (the demo district has a tenth of the residents but the district's whole catchment). */
export function feedCommunities(d: District, profile: Profile): FeedCommunity[] {
  const people = new Map<number, number>();
  for (const h of d.households) people.set(h.communityId, (people.get(h.communityId) ?? 0) + h.size);
  const total = [...people.values()].reduce((a, b) => a + b, 0) || 1;
  return d.communities.map((c) => ({ id: c.id, population: Math.max(500, Math.round(((people.get(c.id) ?? 0) * profile.feedPopulation) / total)) }));
}

/**
 * The seeded outbreak: norovirus (gastrointestinal) in a community and two of its neighbours that also touch each
 * other, 300 ill with onsets over the six days up to yesterday, so that it is still emerging when the daily run
 * evaluates yesterday: pharmacy and wastewater see it first, the sentinels a day or more after onset, the laboratory
 * three to six days after. (The daily run looks at its as-of day — EARS against the week before, the scan over windows
 * ending that day — so an outbreak that ended days before the seed's today would have been found only by the runs of
 * those days, which a freshly seeded district never had.)
 */
export function demoOutbreak(d: District, today: string, seed: number): OutbreakSpec {
  const rng = new Rng(seed, 41);
  const neighbours = new Map<number, Set<number>>();
  for (const a of d.adjacency) (neighbours.get(a.region_id) ?? neighbours.set(a.region_id, new Set()).get(a.region_id)!).add(a.neighbour_id);
  const triangles: number[][] = [];
  for (const c of d.communities) {
    const mine = [...(neighbours.get(c.id) ?? [])].sort((x, y) => x - y);
    for (const b of mine) for (const e of mine) if (b < e && neighbours.get(b)?.has(e)) triangles.push([c.id, b, e]);
  }
  const communities = triangles.length ? rng.pick(triangles) : d.communities.slice(0, 3).map((c) => c.id);
  const days = 6;
  return { syndrome: 'gastrointestinal', communities, start: dateOfDay(dayNumber(today)! - days), days, size: 300 };
}

/** Who reports a community's series of each source: the nearest fever clinic, pharmacy and school, the street's health centre, the CDC. */
export function reportersOf(d: District): (source: string, community: RegionRow) => number {
  const regionOf = new Map(d.regions.map((r) => [r.id, r]));
  const at = (i: InstitutionRow) => regionOf.get(i.region_id)!;
  const point = (r: RegionRow) => ({ lon: r.lon ?? 116.415, lat: r.lat ?? 39.91 });
  const nearest = (pool: InstitutionRow[], c: RegionRow) => {
    let best = pool[0];
    let bestKm = Infinity;
    for (const i of pool) {
      const km = distanceKm(point(at(i)), point(c));
      if (km < bestKm) (best = i), (bestKm = km);
    }
    return best.id;
  };
  const fever = d.institutions.filter((i) => i.capabilities.includes('fever_clinic'));
  const pharmacies = d.institutions.filter((i) => i.type === 'pharmacy');
  const schools = d.institutions.filter((i) => i.type === 'school');
  const centres = d.institutions.filter((i) => i.type === 'community_health_centre');
  const cdc = d.institutions.find((i) => i.type === 'cdc')!;
  const memo = new Map<string, number>();
  return (source, c) => {
    const key = `${source}:${c.id}`;
    let id = memo.get(key);
    if (id !== undefined) return id;
    if (source === 'fever_clinic') id = nearest(fever, c);
    else if (source === 'pharmacy') id = nearest(pharmacies, c);
    else if (source === 'school') id = nearest(schools, c);
    else if (source === 'sentinel') id = (centres.find((i) => i.region_id === c.parent_id) ?? centres[0]).id;
    else id = cdc.id; // laboratory positives and wastewater: the district CDC's laboratory and environmental monitoring
    memo.set(key, id);
    return id;
  };
}

/** The feeds of the district with the demo outbreak in them; pure, so tests and benchmarks see what the seed loads. */
export function planSurveillance(d: District, profile: Profile, opts: SurveillanceSeedOptions) {
  const today = districtDate(opts.now);
  const days = opts.historyDays ?? profile.feedHistoryDays;
  const start = dateOfDay(dayNumber(today)! - days);
  const communities = feedCommunities(d, profile);
  const set = generateFeeds({ communities, start, days, seed: opts.seed });
  const outbreak = demoOutbreak(d, today, opts.seed);
  const plan = injectOutbreak(set, outbreak, opts.seed);
  const reports = [...generateCaseReports({ communities, start, days, seed: opts.seed }), ...plan.caseReports];
  return { today, start, set, outbreak, plan, reports };
}

const FEED_COLUMNS = ['institution_id', 'source_code', 'category_code', 'region_id', 'on_date', 'value'] as const;
const REPORT_COLUMNS = ['institution_id', 'source_id', 'region_id', 'disease_code', 'case_class', 'onset_date', 'diagnosed_at', 'reported_at', 'deadline_at', 'late', 'created_at', 'updated_at'] as const;

/**
 * COPY text of the feed rows, 50,000 a chunk; zeros have no row. received_at is left to its default (the time of
 * seeding): two timestamps a row made the COPY half as slow again.
 */
function* feedChunks(d: District, set: FeedSet, reporter: (source: string, c: RegionRow) => number, count: { rows: number }): Generator<string> {
  const first = dayNumber(set.start)!;
  const dates = Array.from({ length: set.days }, (_, i) => dateOfDay(first + i));
  const communityById = new Map(d.communities.map((c) => [c.id, c]));
  // in the order of the series index (source, category, community, day): its build after the load then finds the
  // rows already sorted, and the primary key still grows series by series
  const keyed = set.series.map((s) => ({ s, c: communityById.get(s.communityId)!, inst: reporter(s.spec.source, communityById.get(s.communityId)!) }));
  keyed.sort((a, b) => cmp(a.s.spec.source, b.s.spec.source) || cmp(a.s.spec.category, b.s.spec.category) || a.c.id - b.c.id);
  let out: string[] = [];
  for (const { s, c, inst } of keyed) {
    const prefix = `${inst}\t${s.spec.source}\t${s.spec.category}\t${c.id}\t`;
    const v = s.values;
    for (let i = 0; i < v.length; i++) if (v[i] > 0) out.push(`${prefix}${dates[i]}\t${v[i]}\n`);
    if (out.length >= 50_000) {
      count.rows += out.length;
      yield out.join('');
      out = [];
    }
  }
  count.rows += out.length;
  if (out.length) yield out.join('');
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Statutory case reports as rows: reported at diagnosis + the sender's delay; those not yet reported by `now` are left out. */
function reportRows(d: District, reports: SyntheticCaseReport[], now: Date, hoursOf: Map<string, number>): string[][] {
  const rng = new Rng(1, 51);
  const hospitals = d.institutions.filter((i) => i.capabilities.includes('fever_clinic'));
  const centres = d.institutions.filter((i) => i.type === 'community_health_centre');
  const communityById = new Map(d.communities.map((c) => [c.id, c]));
  const rows: string[][] = [];
  const serial = new Map<number, number>();
  for (const r of reports) {
    const c = communityById.get(r.communityId)!;
    // hospitals diagnose most notifiable cases; the street's health centre some
    const inst = rng.next() < 0.75 ? hospitals[rng.int(0, hospitals.length - 1)] : (centres.find((i) => i.region_id === c.parent_id) ?? centres[0]);
    const diagnosed = new Date(Date.parse(`${r.diagnosedAt.date}T00:00:00+08:00`) + r.diagnosedAt.minute * 60_000);
    const reported = new Date(diagnosed.getTime() + r.reportHours * 3600_000);
    if (reported > now) continue;
    const deadline = new Date(diagnosed.getTime() + (hoursOf.get(r.disease) ?? 24) * 3600_000);
    const n = (serial.get(inst.id) ?? 0) + 1;
    serial.set(inst.id, n);
    const cardNo = `${r.diagnosedAt.date.slice(0, 4)}${String(inst.id).padStart(4, '0')}${String(n).padStart(6, '0')}`;
    rows.push([String(inst.id), cardNo, String(c.id), r.disease, r.disease === 'A15' || r.disease === 'U07.1' ? 'confirmed' : 'clinical', r.onsetDate,
      diagnosed.toISOString(), reported.toISOString(), deadline.toISOString(), String(reported > deadline), reported.toISOString(), reported.toISOString()]);
  }
  return rows;
}

/** Loads feeds and case reports into an empty surveillance schema. */
export async function seedSurveillance(db: Db, d: District, profile: Profile, opts: SurveillanceSeedOptions): Promise<SurveillanceSeedResult> {
  const started = performance.now();
  const { start, today, set, outbreak, plan, reports } = planSurveillance(d, profile, opts);
  const reporter = reportersOf(d);
  const count = { rows: 0 };
  await withoutSecondaryIndexes(db, ['feed_count'], () => db.copyFrom('feed_count', FEED_COLUMNS, feedChunks(d, set, reporter, count)));
  const { rows: diseases } = await db.query<{ code: string; report_hours: number; class: string; managed_as_a: boolean }>('SELECT code, report_hours, class, managed_as_a FROM notifiable_disease');
  const hoursOf = new Map(diseases.map((x) => [x.code, x.report_hours]));
  const classA = new Set(diseases.filter((x) => x.class === 'A' || x.managed_as_a).map((x) => x.code));
  if (reports.some((r) => classA.has(r.disease))) throw new Error('seedSurveillance: synthetic case reports must not include class A diseases');
  const rows = reportRows(d, reports, opts.now, hoursOf);
  await db.copyFrom('case_report', REPORT_COLUMNS, [rows.map((r) => r.map(copyValue).join('\t') + '\n').join('')]);
  return {
    from: start, to: dateOfDay(dayNumber(today)! - 1), feedRows: count.rows, caseReports: rows.length,
    outbreak: { syndrome: outbreak.syndrome, communityIds: [...outbreak.communities], start: outbreak.start, end: dateOfDay(dayNumber(outbreak.start)! + outbreak.days - 1), ill: plan.ill },
    seconds: (performance.now() - started) / 1000,
  };
}
