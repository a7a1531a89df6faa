// Family-doctor and chronic-disease KPIs (家庭医生签约与慢病管理指标) per period and unit — a reporting read model over
// the registry, residents, contracts, enrolments, follow-ups and the coupon ledger. Each period is
// computed by one statement into chronic_kpi, so the dashboard reads one indexed range; the recompute job keeps the
// live periods fresh and a district administrator can recompute now.
//
// Contents: definitions · computing a period · the job · reading (scope, totals, rates) · the workbook
//
// ── Definitions (also in docs/api.md) ──
// Units: the district, its streets, communities and grids (a resident belongs to the regions of their grid); the
// centres (the institutions of the family-doctor teams and every community/township health centre) and their teams.
// Reference day: the period's last day, or today while the period runs (its end is "now"); times are Beijing time.
// - population: active residents (not merged, deceased or provisional) — of the region; of a team's grids; of the
//   grids of a centre's teams.
// - contracted (签约): residents with a contract in force on the reference day (start ≤ day ≤ end; a cancelled or
//   transferred contract stops on the day it ended) — of the region; to the team; to one of the centre's teams.
//   coverage = contracted / population.
// - key populations (重点人群), each with population, contracted and coverage: elderly (aged ≥ 65 on the reference
//   day), children (aged 0–6), hypertension and diabetes (managed in the programme on the reference day), pregnant
//   (tags pregnant or postpartum: 孕产妇), mental (severe_mental), disability, special (special_family).
// - gps: general practitioners (profession gp, active) — of the region: members of the family-doctor teams serving a
//   grid in it and practitioners of institutions located in it; of a team: its members; of a centre: its and its
//   stations' practitioners and its teams' members. gpsPer10k = gps / population × 10,000 (goal ≥ 3).
// - Patients of a unit: enrolled residents of the region; patients contracted to the team; patients of the centre's
//   teams plus the uncontracted patients of its street (its contracting leads).
// - managed (管理人数): enrolments (not cancelled or entered-in-error) managed at some time in the period. Management
//   runs from the earlier of the enrolment and its first follow-up (follow-ups loaded from an earlier system can
//   predate the enrolment record) until the enrolment ends.
// - standardised (规范管理): managed patients with at least the required face-to-face follow-ups (clinic, home, health
//   post — not phone) in the assessment window. Window: the period; for a month, the programme's follow-up interval
//   (12 / minVisitsPerYear months: 3) ending with the month. Required: minVisitsPerYear (current rule version) ×
//   days managed in the window / 365, rounded half up — a whole year 4, a whole quarter 1, a month's window 1; a
//   patient managed for too short a part of the window to owe a visit (under 46 days at 4 a year) counts as
//   standardised. standardisedRate = standardised / managed.
// - controlled (控制): managed patients whose last follow-up in the assessment window had readings meeting the
//   controlled conditions of that visit's rule version (SBP < 140 and DBP < 90; fasting glucose < 7.0 by default).
//   controlRate = controlled / managed (the standard's denominator: a patient not seen is not counted controlled).
// - followUpsDue: follow-ups due in the period up to its end — each visit's scheduled next follow-up and each
//   enrolment's first — unless the enrolment ended first; followUpsOnTime: those for which the next visit happened
//   by the due time. timeliness = onTime / due.
// - couponsIssued: coupons issued in the period; couponsUsed: redeemed in the period less the redemptions voided in it
//   (a void returns a redemption's coupons; coupon_ledger, by the resident's units).
// Rates are 0..1 (4 decimals), null when the denominator is 0.
import ExcelJS from 'exceljs';
import type { Db, Queryable, Row } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import { hasRole, type Principal } from '../../platform/principal.ts';
import { startPeriodicJob, type PeriodicJob } from '../../platform/jobs.ts';
import { Params } from '../../platform/sql.ts';
import { TASK_CODES, TASK_SOURCE } from './fusion.ts';
import { RuleSet } from './rules.ts';
import { assessmentWindow, livePeriods, parsePeriod, periodEnd, type Period, type PeriodKind } from './kpi-periods.ts';

export const LEVELS = ['district', 'street', 'community', 'grid', 'centre', 'team'] as const;
export type Level = (typeof LEVELS)[number];
const PARENT_LEVEL: Record<Level, Level | null> = { district: null, street: 'district', community: 'street', grid: 'community', centre: 'district', team: 'centre' };
const CENTRE_TYPES = ['community_health_centre', 'township_health_centre'];
/** The programmes the KPIs report, as the response names them. */
const PROGRAMMES = { hypertension: 'htn', diabetes: 'dm' } as const;

/** Key populations: the response's name and the resident-level condition (on the facts row). */
const KEY_POPULATIONS = {
  elderly: 'f.elderly',
  hypertension: 'f.htn_end',
  diabetes: 'f.dm_end',
  pregnant: 'f.pregnant',
  children: 'f.child',
  mental: 'f.mental',
  disability: 'f.disability',
  special: 'f.special',
} as const;
export type KeyPopulation = keyof typeof KEY_POPULATIONS;
const KP = Object.keys(KEY_POPULATIONS) as KeyPopulation[];

// ── computing a period ──

/** Rule columns of a follow-up row `f` a controlled condition can read (temperature is not recorded at visits). */
const MEASURE_COLUMN: Record<string, string> = { sbp: 'f.sbp', dbp: 'f.dbp', fpg: 'f.fpg', glucose: 'f.fpg', heart_rate: 'f.heart_rate', temperature: 'NULL::numeric' };
const OPS = new Set(['<', '<=', '>', '>=']);

interface RuleVersion { programme: string; version: number; rules: RuleSet }

async function ruleVersions(q: Queryable): Promise<RuleVersion[]> {
  const { rows } = await q.query('SELECT programme_code, version, rules FROM chronic_rule_set ORDER BY programme_code, version');
  return rows.map((r) => ({ programme: r.programme_code, version: Number(r.version), rules: RuleSet.parse(r.rules) }));
}

/** Whether a follow-up row `f` met the controlled conditions of its own rule version, as SQL. */
function controlledSql(versions: RuleVersion[], v: Params): string {
  const cases = versions.map((rv) => {
    const conds = rv.rules.controlled.map((c) => {
      if (!OPS.has(c.op) || !(c.measure in MEASURE_COLUMN)) throw new Error(`unsupported condition ${c.measure} ${c.op}`);
      return `${MEASURE_COLUMN[c.measure]} ${c.op} ${v.add(c.value)}::numeric`;
    });
    return `WHEN f.programme_code = ${v.add(rv.programme)} AND f.rule_version = ${v.add(rv.version)} THEN coalesce(${conds.join(' AND ')}, false)`;
  });
  return cases.length ? `CASE ${cases.join(' ')} ELSE false END` : 'false';
}

export interface ComputeResult { kind: PeriodKind; label: string; computedAt: string; computedThrough: string; rows: number; seconds: number }

/**
 * Computes periods into chronic_kpi (replacing what was there): the periods that end at the same instant (this month,
 * quarter and year while they run; a month, quarter and year closing together) in one statement, sharing the scans of
 * residents, contracts, enrolments and follow-ups; each group in its own transaction.
 */
export async function recompute(db: Db, periods?: Period[], now = new Date()): Promise<ComputeResult[]> {
  const groups = new Map<number, Period[]>();
  for (const p of periods ?? livePeriods(now)) {
    const end = periodEnd(p, now).getTime();
    groups.set(end, [...(groups.get(end) ?? []), p]);
  }
  const out: ComputeResult[] = [];
  for (const group of groups.values()) out.push(...(await computeGroup(db, group, now)));
  return out;
}

/** One period (a convenience of recompute). */
export async function computePeriod(db: Db, period: Period, now = new Date()): Promise<ComputeResult> {
  return (await computeGroup(db, [period], now))[0];
}

async function computeGroup(db: Db, periods: Period[], now: Date): Promise<ComputeResult[]> {
  const started = performance.now();
  return db.tx(async (q) => {
    // one computation of a period at a time (two server processes, or the job and a request)
    for (const p of [...periods].sort((a, b) => a.label.localeCompare(b.label))) await q.query('SELECT pg_advisory_xact_lock(7283015, hashtext($1))', [`${p.kind}:${p.label}`]);
    // JIT compilation of this statement's few hundred expressions cost more CPU than it saved (seconds on dongcheng)
    if (db.engine === 'postgres') await q.query("SELECT set_config('work_mem', '128MB', true), set_config('jit', 'off', true)");

    const end = periodEnd(periods[0], now);
    const versions = await ruleVersions(q);
    const current = new Map<string, RuleSet>();
    for (const rv of versions) current.set(rv.programme, rv.rules); // ordered by version: the last is current
    const programmes = Object.keys(PROGRAMMES).filter((p) => current.has(p));
    const minVisits = programmes.map((p) => current.get(p)!.minVisitsPerYear);
    const windows = periods.map((period) => programmes.map((p) => assessmentWindow(period, current.get(p)!.minVisitsPerYear)));
    // the follow-up scan reaches back to the earliest window and one longest interval before each period (the visit
    // that scheduled a follow-up due in it)
    const maxInterval = Math.max(0, ...versions.map((rv) => Math.max(...Object.values(rv.rules.intervalDays))));
    const scanFrom = new Date(Math.min(...windows.flat().map((w) => w.from.getTime()), ...periods.map((p) => p.from.getTime() - maxInterval * 86_400_000)));
    const v = new Params();
    const day = v.add(new Date(end.getTime() - 1).toISOString()); // an instant of the reference day
    const refDay = `(${day}::timestamptz AT TIME ZONE 'Asia/Shanghai')::date`;
    const to = v.add(end);
    const scan = v.add(scanFrom);
    const K = periods.map((_, k) => k);
    const from = K.map((k) => v.add(periods[k].from));
    const minFrom = v.add(new Date(Math.min(...periods.map((p) => p.from.getTime()))));
    const controlled = controlledSql(versions, v);
    const pp = `unnest(${v.add(programmes)}::text[], ${v.add(minVisits)}::int[], ${K.map((k) => `${v.add(windows[k].map((w) => w.from))}::timestamptz[]`).join(', ')})
                AS pp(programme, min_visits, ${K.map((k) => `w_${k}`).join(', ')})`;
    const centreTypes = v.add(CENTRE_TYPES);
    const each = (f: (k: number) => string, sep = ', ') => K.map(f).join(sep);
    const due = (k: number) => `fu.next_due_at >= ${from[k]} AND fu.next_due_at < ${to} AND (e.ended_at IS NULL OR fu.next_due_at < e.ended_at)`;
    const firstDue = (k: number) => `en0.first_due >= ${from[k]} AND en0.first_due < ${to}`;
    const managed = (k: number) => `en0.start_${k} < ${to} AND (en0.ended_at IS NULL OR en0.ended_at >= ${from[k]})`;
    const flag = (p: string, col: string) => `bool_or(en.programme = '${p}' AND en.${col})`;
    const pivot = Object.entries(PROGRAMMES).map(([p, x]) => [
      `${flag(p, 'managed_end')} AS ${x}_end`,
      ...K.map((k) => `${flag(p, `managed_${k}`)} AS ${x}_${k}, ${flag(p, `std_${k}`)} AS ${x}_std_${k}, ${flag(p, `ctl_${k}`)} AS ${x}_ctl_${k}`),
    ].join(', ')).join(', ');
    // what each cell counts: [column, condition on a facts row f]. Residents (all of them) are counted apart from
    // patients (enrolled or holding coupons, a quarter of them): the population's few measures over every resident,
    // the programmes' many over the patients only.
    const PATIENT_KP = new Set<KeyPopulation>(['hypertension', 'diabetes']);
    const kpMeasures = (k: KeyPopulation): [string, string][] => [[`${k}_p`, KEY_POPULATIONS[k]], [`${k}_c`, `${KEY_POPULATIONS[k]} AND f.c`]];
    const popMeasures: [string, string][] = [['population', 'TRUE'], ['contracted', 'f.c'], ...KP.filter((k) => !PATIENT_KP.has(k)).flatMap(kpMeasures)];
    const perPeriod: [string, string][] = K.flatMap((k): [string, string][] => [
      [`htn_managed_${k}`, `f.htn_${k}`], [`htn_standardised_${k}`, `f.htn_std_${k}`], [`htn_controlled_${k}`, `f.htn_ctl_${k}`],
      [`dm_managed_${k}`, `f.dm_${k}`], [`dm_standardised_${k}`, `f.dm_std_${k}`], [`dm_controlled_${k}`, `f.dm_ctl_${k}`],
    ]);
    const patMeasures: [string, string][] = [...KP.filter((k) => PATIENT_KP.has(k)).flatMap(kpMeasures), ...perPeriod];
    const sums = K.flatMap((k) => [`due_${k}`, `on_time_${k}`, `issued_${k}`, `used_${k}`]);
    const measures = [...popMeasures, ...patMeasures];
    const counts = (list: [string, string][]) => list.map(([c, cond]) => `count(*) FILTER (WHERE ${cond})::int AS ${c}`);
    const zeroes = (cols: string[]) => cols.map((c) => `0 AS ${c}`);
    const popCells = [...counts(popMeasures), ...zeroes([...patMeasures.map(([c]) => c), ...sums])].join(', ');
    const patCells = [...zeroes(popMeasures.map(([c]) => c)), ...counts(patMeasures), ...sums.map((c) => `sum(f.${c})::int AS ${c}`)].join(', ');
    const cellGroup = 'f.district_id, f.street_id, f.community_id, f.grid_id, f.team_id, f.centre_id';
    const cellSums = [...measures.map(([c]) => c), ...sums].map((c) => `sum(x.${c})::int AS ${c}`).join(', ');
    const popSums = ['population', ...KP.map((k) => `${k}_p`)].map((c) => `sum(g.${c})::int AS ${c}`).join(', ');
    const popOf = (c: string) => `CASE WHEN u.level IN ('team', 'centre') THEN coalesce(pop.${c}, 0) ELSE coalesce(a.${c}, 0) END`;
    const kpJson = `jsonb_build_object(${KP.map((k) => `'${k}', jsonb_build_object('population', ${popOf(`${k}_p`)}, 'contracted', coalesce(a.${k}_c, 0))`).join(', ')})`;
    const sql = `
    WITH pp AS (SELECT * FROM ${pp}),
    -- visits in the scan, each with the next visit of its enrolment (whether a scheduled follow-up was met in time;
    -- none: the last visit up to the end)
    fu AS (
      SELECT f.enrolment_id, f.visit_at, f.mode, f.next_due_at, ${controlled} AS controlled,
             lead(f.visit_at) OVER (PARTITION BY f.enrolment_id ORDER BY f.visit_at, f.id) AS next_visit
        FROM chronic_follow_up f WHERE f.visit_at >= ${scan} AND f.visit_at < ${to}),
    fe AS (
      SELECT fu.enrolment_id, min(fu.visit_at) AS first_visit, min(fu.visit_at) FILTER (WHERE fu.visit_at > e.started_at) AS first_after_start,
             ${each((k) => `count(*) FILTER (WHERE fu.visit_at >= pp.w_${k} AND fu.mode <> 'phone')::int AS f2f_${k},
             bool_or(fu.controlled) FILTER (WHERE fu.next_visit IS NULL AND fu.visit_at >= pp.w_${k}) AS last_controlled_${k},
             count(*) FILTER (WHERE ${due(k)})::int AS due_${k}, count(*) FILTER (WHERE ${due(k)} AND fu.next_visit <= fu.next_due_at)::int AS on_time_${k}`)}
        FROM fu JOIN chronic_enrolment e ON e.id = fu.enrolment_id JOIN pp ON pp.programme = e.programme_code
       GROUP BY fu.enrolment_id),
    -- enrolments managed in a period; start_k: when management started (the enrolment, or an earlier follow-up loaded
    -- from another system), clipped to period k's window
    en0 AS MATERIALIZED (
      SELECT e.id, e.resident_id, e.programme_code AS programme, e.ended_at, pp.min_visits, fe.first_after_start, ft.due_at AS first_due,
             ${each((k) => `fe.f2f_${k}, fe.last_controlled_${k}, fe.due_${k}, fe.on_time_${k},
             CASE WHEN e.started_at <= pp.w_${k} OR fe.first_visit < pp.w_${k} OR early.x IS NOT NULL THEN pp.w_${k} ELSE least(e.started_at, fe.first_visit) END AS start_${k}`)}
        FROM chronic_enrolment e JOIN pp ON pp.programme = e.programme_code
        LEFT JOIN fe ON fe.enrolment_id = e.id
        -- a visit before the scan, looked up only for enrolments started within it
        LEFT JOIN LATERAL (SELECT 1 AS x FROM chronic_follow_up g WHERE e.started_at > ${scan} AND g.enrolment_id = e.id AND g.visit_at < ${scan} LIMIT 1) early ON TRUE
        -- the first follow-up after enrolment (its task), looked up only for enrolments recent enough to fall due
        LEFT JOIN LATERAL (SELECT t.due_at FROM task t
                            WHERE e.started_at >= ${scan} AND t.institution_id = e.institution_id AND t.source_id = '${TASK_SOURCE}:enrolment|' || e.id
                              AND t.code = '${TASK_CODES.enrolment}' AND t.status NOT IN ('cancelled', 'entered-in-error')) ft ON TRUE
       WHERE e.status NOT IN ('cancelled', 'entered-in-error') AND (e.ended_at IS NULL OR e.ended_at >= ${minFrom})
         AND (e.started_at < ${to} OR fe.first_visit IS NOT NULL)),
    en AS (
      SELECT en0.resident_id, en0.programme, en0.start_0 < ${to} AND (en0.ended_at IS NULL OR en0.ended_at >= ${to}) AS managed_end,
             ${each((k) => `${managed(k)} AS managed_${k},
             ${managed(k)} AND coalesce(en0.f2f_${k}, 0) >= floor(en0.min_visits * greatest(0, extract(epoch FROM least(${to}::timestamptz, coalesce(en0.ended_at, ${to}::timestamptz)) - en0.start_${k}) / 86400) / 365 + 0.5) AS std_${k},
             ${managed(k)} AND coalesce(en0.last_controlled_${k}, false) AS ctl_${k},
             coalesce(en0.due_${k}, 0) + (${firstDue(k)})::int AS due_${k},
             coalesce(en0.on_time_${k}, 0) + (${firstDue(k)} AND en0.first_after_start <= en0.first_due)::int AS on_time_${k}`)}
        FROM en0),
    er AS (SELECT en.resident_id, ${pivot}, ${each((k) => `sum(en.due_${k})::int AS due_${k}, sum(en.on_time_${k})::int AS on_time_${k}`)} FROM en GROUP BY en.resident_id),
    con AS (
      SELECT DISTINCT ON (c.resident_id) c.resident_id, c.team_id FROM contract c
       WHERE c.start_date <= ${refDay} AND c.end_date >= ${refDay}
         AND NOT (c.status IN ('cancelled', 'transferred') AND (c.ended_at AT TIME ZONE 'Asia/Shanghai')::date <= ${refDay})
       ORDER BY c.resident_id, c.id DESC),
    street_centre AS (SELECT DISTINCT ON (i.region_id) i.region_id AS street_id, i.id AS centre_id FROM institution i WHERE i.type = ANY(${centreTypes}::text[]) AND i.active ORDER BY i.region_id, i.id),
    cp AS (
      SELECT l.resident_id, ${each((k) => `coalesce(sum(l.count) FILTER (WHERE l.kind = 'issue' AND l.at >= ${from[k]}), 0)::int AS issued_${k},
             (coalesce(sum(l.count) FILTER (WHERE l.kind = 'redeem' AND l.at >= ${from[k]}), 0) - coalesce(sum(l.count) FILTER (WHERE l.kind = 'void' AND l.at >= ${from[k]}), 0))::int AS used_${k}`)}
        FROM coupon_ledger l WHERE l.at >= ${minFrom} AND l.at < ${to} GROUP BY l.resident_id),
    -- residents: their cell (regions, the team of their contract in force, the centre: the team's, else the
    -- street's) and key populations; once, for the population's counts and the patients'
    f AS MATERIALIZED (
      SELECT r.id, r.grid_id, r.community_id, r.street_id, st.parent_id AS district_id, con.team_id,
             CASE WHEN con.team_id IS NOT NULL THEN tm.institution_id ELSE sc.centre_id END AS centre_id, con.resident_id IS NOT NULL AS c,
             r.birth_date <= (${refDay} - interval '65 years')::date AS elderly,
             r.birth_date > (${refDay} - interval '7 years')::date AS child,
             r.tags && ARRAY['pregnant', 'postpartum']::text[] AS pregnant, 'severe_mental' = ANY(r.tags) AS mental,
             'disability' = ANY(r.tags) AS disability, 'special_family' = ANY(r.tags) AS special
        FROM resident r
        LEFT JOIN region st ON st.id = r.street_id
        LEFT JOIN con ON con.resident_id = r.id LEFT JOIN team tm ON tm.id = con.team_id
        LEFT JOIN street_centre sc ON sc.street_id = r.street_id
       WHERE r.status = 'active'),
    -- patients (and coupon holders): their programme figures, in their cells
    pat AS (
      SELECT coalesce(er.resident_id, cp.resident_id) AS resident_id, ${[
        'htn_end', 'dm_end', ...K.flatMap((k) => [`htn_${k}`, `htn_std_${k}`, `htn_ctl_${k}`, `dm_${k}`, `dm_std_${k}`, `dm_ctl_${k}`, `due_${k}`, `on_time_${k}`]),
      ].map((c) => `er.${c}`).join(', ')}, ${each((k) => `cp.issued_${k}, cp.used_${k}`)}
        FROM er FULL JOIN cp ON cp.resident_id = er.resident_id),
    fp AS (
      SELECT f.district_id, f.street_id, f.community_id, f.grid_id, f.team_id, f.centre_id, f.c,
             coalesce(er.htn_end, false) AS htn_end, coalesce(er.dm_end, false) AS dm_end,
             ${each((k) => `coalesce(er.htn_${k}, false) AS htn_${k}, coalesce(er.htn_std_${k}, false) AS htn_std_${k}, coalesce(er.htn_ctl_${k}, false) AS htn_ctl_${k},
             coalesce(er.dm_${k}, false) AS dm_${k}, coalesce(er.dm_std_${k}, false) AS dm_std_${k}, coalesce(er.dm_ctl_${k}, false) AS dm_ctl_${k},
             coalesce(er.due_${k}, 0) AS due_${k}, coalesce(er.on_time_${k}, 0) AS on_time_${k}, coalesce(er.issued_${k}, 0) AS issued_${k}, coalesce(er.used_${k}, 0) AS used_${k}`)}
        FROM pat er JOIN f ON f.id = er.resident_id),
    -- residents and patients first counted per cell (grid × team × centre: a few thousand), then the cells rolled up
    -- per unit
    cells AS (
      SELECT ${cellGroup}, ${popCells} FROM f GROUP BY ${cellGroup}
      UNION ALL
      SELECT ${cellGroup}, ${patCells} FROM fp f GROUP BY ${cellGroup}),
    a AS (
      SELECT CASE WHEN grouping(x.district_id) = 0 THEN 'district' WHEN grouping(x.street_id) = 0 THEN 'street' WHEN grouping(x.community_id) = 0 THEN 'community'
                  WHEN grouping(x.grid_id) = 0 THEN 'grid' WHEN grouping(x.team_id) = 0 THEN 'team' ELSE 'centre' END AS level,
             coalesce(x.district_id, x.street_id, x.community_id, x.grid_id, x.team_id, x.centre_id) AS unit_id, ${cellSums}
        FROM cells x GROUP BY GROUPING SETS ((x.district_id), (x.street_id), (x.community_id), (x.grid_id), (x.team_id), (x.centre_id))),
    units AS (
      SELECT r.level, r.id AS unit_id, r.parent_id, r.name FROM region r WHERE r.level IN ('district', 'street', 'community', 'grid')
      UNION ALL
      SELECT 'centre', i.id, CASE WHEN g0.level = 'district' THEN g0.id WHEN g1.level = 'district' THEN g1.id WHEN g2.level = 'district' THEN g2.id ELSE g3.id END, i.name
        FROM institution i JOIN region g0 ON g0.id = i.region_id LEFT JOIN region g1 ON g1.id = g0.parent_id LEFT JOIN region g2 ON g2.id = g1.parent_id LEFT JOIN region g3 ON g3.id = g2.parent_id
       WHERE (i.type = ANY(${centreTypes}::text[]) AND i.active) OR i.id IN (SELECT t.institution_id FROM team t WHERE t.kind = 'family_doctor')
      UNION ALL
      SELECT 'team', t.id, t.institution_id, t.name FROM team t WHERE t.kind = 'family_doctor'),
    -- a team's population is its grids', a centre's the grids' of its teams
    grid_pop AS (SELECT * FROM a WHERE a.level = 'grid'),
    pop AS (
      SELECT 'team' AS level, tg.team_id AS unit_id, ${popSums} FROM team_grid tg JOIN grid_pop g ON g.unit_id = tg.grid_id GROUP BY tg.team_id
      UNION ALL
      SELECT 'centre', cg.institution_id, ${popSums}
        FROM (SELECT DISTINCT t.institution_id, tg.grid_id FROM team t JOIN team_grid tg ON tg.team_id = t.id WHERE t.kind = 'family_doctor') cg JOIN grid_pop g ON g.unit_id = cg.grid_id
       GROUP BY cg.institution_id),
    gp AS (SELECT p.id, p.institution_id FROM practitioner p WHERE p.profession = 'gp' AND p.active),
    gp_team AS (SELECT DISTINCT tm.team_id, tm.practitioner_id FROM team_member tm JOIN gp ON gp.id = tm.practitioner_id JOIN team t ON t.id = tm.team_id AND t.kind = 'family_doctor'),
    gp_region AS (
      SELECT gt.practitioner_id, tg.grid_id AS region_id FROM gp_team gt JOIN team_grid tg ON tg.team_id = gt.team_id
      UNION SELECT gp.id, i.region_id FROM gp JOIN institution i ON i.id = gp.institution_id),
    anc AS (
      SELECT r0.id AS region_id, x.id AS ancestor
        FROM region r0 LEFT JOIN region r1 ON r1.id = r0.parent_id LEFT JOIN region r2 ON r2.id = r1.parent_id LEFT JOIN region r3 ON r3.id = r2.parent_id,
             LATERAL (VALUES (r0.id), (r1.id), (r2.id), (r3.id)) x(id) WHERE x.id IS NOT NULL),
    gps AS (
      SELECT g.level, anc.ancestor AS unit_id, count(DISTINCT gr.practitioner_id)::int AS gps
        FROM gp_region gr JOIN anc ON anc.region_id = gr.region_id JOIN region g ON g.id = anc.ancestor GROUP BY g.level, anc.ancestor
      UNION ALL
      SELECT 'team', gt.team_id, count(*)::int FROM gp_team gt GROUP BY gt.team_id
      UNION ALL
      SELECT 'centre', x.centre_id, count(DISTINCT x.pid)::int
        FROM (SELECT coalesce(i.parent_id, i.id) AS centre_id, gp.id AS pid FROM gp JOIN institution i ON i.id = gp.institution_id
              UNION ALL SELECT t.institution_id, gt.practitioner_id FROM gp_team gt JOIN team t ON t.id = gt.team_id) x
       GROUP BY x.centre_id),
    unit_rows AS MATERIALIZED (
      SELECT u.level, u.unit_id, u.parent_id, u.name, ${popOf('population')} AS population, coalesce(a.contracted, 0) AS contracted, ${kpJson} AS key_populations, coalesce(gps.gps, 0) AS gps,
             ${[...perPeriod.map(([c]) => c), ...sums].map((c) => `coalesce(a.${c}, 0) AS ${c}`).join(', ')}
        FROM units u
        LEFT JOIN a ON a.level = u.level AND a.unit_id = u.unit_id
        LEFT JOIN pop ON pop.level = u.level AND pop.unit_id = u.unit_id
        LEFT JOIN gps ON gps.level = u.level AND gps.unit_id = u.unit_id)
    INSERT INTO chronic_kpi (period_kind, period_label, level, unit_id, parent_id, name, population, contracted, key_populations, gps,
                             htn_managed, htn_standardised, htn_controlled, dm_managed, dm_standardised, dm_controlled, follow_ups_due, follow_ups_on_time, coupons_issued, coupons_used)
    ${each((k) => `SELECT ${v.add(periods[k].kind)}, ${v.add(periods[k].label)}, r.level, r.unit_id, r.parent_id, r.name, r.population, r.contracted, r.key_populations, r.gps,
           r.htn_managed_${k}, r.htn_standardised_${k}, r.htn_controlled_${k}, r.dm_managed_${k}, r.dm_standardised_${k}, r.dm_controlled_${k}, r.due_${k}, r.on_time_${k},
           r.issued_${k}, r.used_${k} FROM unit_rows r`, '\n    UNION ALL\n    ')}`;
    for (const p of periods) await q.query('DELETE FROM chronic_kpi WHERE period_kind = $1 AND period_label = $2', [p.kind, p.label]);
    const { rowCount } = await q.query(sql, v.values);
    const seconds = (performance.now() - started) / 1000;
    const out: ComputeResult[] = [];
    for (const [k, period] of periods.entries()) {
      const parameters = {
        windows: programmes.map((p, i) => ({ programme: p, minVisitsPerYear: minVisits[i], windowMonths: windows[k][i].months, windowFrom: windows[k][i].from.toISOString() })),
        computedWith: periods.map((x) => x.label),
      };
      const { rows } = await q.query(
        `INSERT INTO chronic_kpi_period (period_kind, period_label, period_from, period_to, computed_through, computed_at, seconds, parameters)
         VALUES ($1, $2, $3, $4, $5, now(), $6, $7::jsonb)
         ON CONFLICT (period_kind, period_label) DO UPDATE SET computed_through = EXCLUDED.computed_through, computed_at = EXCLUDED.computed_at, seconds = EXCLUDED.seconds, parameters = EXCLUDED.parameters
         RETURNING computed_at`,
        [period.kind, period.label, period.from, period.to, end, seconds.toFixed(3), JSON.stringify(parameters)],
      );
      out.push({ kind: period.kind, label: period.label, computedAt: new Date(rows[0].computed_at).toISOString(), computedThrough: end.toISOString(), rows: rowCount / periods.length, seconds: Math.round(seconds * 1000) / 1000 });
    }
    return out;
  });
}

/** The recompute job: the live periods every `intervalMinutes` (not at start: the seed and first reads compute). */
export function startKpiJob(db: Db, intervalMinutes: number, onError: (err: unknown) => void): PeriodicJob {
  return startPeriodicJob(() => recompute(db), onError, intervalMinutes * 60_000, { runAtStart: false });
}

// ── reading ──

export interface KpiQuery { level: Level; parent?: number; period: PeriodKind; at: string }

type Scope = { all: true } | { all: false; centreId: number } | { all: false; teamId: number; centreId: number | null };

/** District administrators see every unit; a centre's administrator their centre and its teams; a team its own row. */
async function scopeOf(q: Queryable, p: Principal): Promise<Scope> {
  if (hasRole(p, 'district_admin') && p.tokenInstitutionId === null) return { all: true };
  const own = p.tokenInstitutionId ?? p.institutionId;
  if (hasRole(p, 'institution_admin') && own !== null) return { all: false, centreId: own };
  if (hasRole(p, 'family_doctor', 'nurse') && p.teamId !== null) {
    const { rows } = await q.query('SELECT institution_id FROM team WHERE id = $1', [p.teamId]);
    return { all: false, teamId: p.teamId, centreId: rows[0] ? Number(rows[0].institution_id) : null };
  }
  throw new AppError('FORBIDDEN');
}

export function periodOf(kind: PeriodKind, at: string, now = new Date()): Period {
  const period = parsePeriod(kind, at);
  if (!period) throw new AppError('VALIDATION_FAILED', { detail: { zh: `${at} 不是${kind === 'month' ? 'YYYY-MM' : kind === 'quarter' ? 'YYYY-Qn' : 'YYYY'}格式的期间`, en: `${at} is not a ${kind} (${kind === 'month' ? 'YYYY-MM' : kind === 'quarter' ? 'YYYY-Qn' : 'YYYY'})` } }, 'at');
  if (period.from.getTime() > now.getTime()) throw new AppError('VALIDATION_FAILED', { detail: { zh: '期间尚未开始', en: 'the period has not started' } }, 'at');
  return period;
}

const rate = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : null);

interface Counts {
  population: number; contracted: number; keyPopulations: Record<KeyPopulation, { population: number; contracted: number }>; gps: number;
  htn: [number, number, number]; dm: [number, number, number]; due: number; onTime: number; couponsIssued: number; couponsUsed: number;
}

function countsOf(r: Row): Counts {
  return {
    population: r.population, contracted: r.contracted, keyPopulations: r.key_populations, gps: r.gps,
    htn: [r.htn_managed, r.htn_standardised, r.htn_controlled], dm: [r.dm_managed, r.dm_standardised, r.dm_controlled],
    due: r.follow_ups_due, onTime: r.follow_ups_on_time, couponsIssued: r.coupons_issued, couponsUsed: r.coupons_used,
  };
}

function sumCounts(list: Counts[]): Counts {
  const zero: Counts = {
    population: 0, contracted: 0, keyPopulations: Object.fromEntries(KP.map((k) => [k, { population: 0, contracted: 0 }])) as Counts['keyPopulations'], gps: 0,
    htn: [0, 0, 0], dm: [0, 0, 0], due: 0, onTime: 0, couponsIssued: 0, couponsUsed: 0,
  };
  return list.reduce<Counts>((s, c) => ({
    population: s.population + c.population, contracted: s.contracted + c.contracted, gps: s.gps + c.gps,
    keyPopulations: Object.fromEntries(KP.map((k) => [k, { population: s.keyPopulations[k].population + c.keyPopulations[k].population, contracted: s.keyPopulations[k].contracted + c.keyPopulations[k].contracted }])) as Counts['keyPopulations'],
    htn: s.htn.map((x, i) => x + c.htn[i]) as Counts['htn'], dm: s.dm.map((x, i) => x + c.dm[i]) as Counts['dm'],
    due: s.due + c.due, onTime: s.onTime + c.onTime, couponsIssued: s.couponsIssued + c.couponsIssued, couponsUsed: s.couponsUsed + c.couponsUsed,
  }), zero);
}

function figures(c: Counts) {
  const programme = ([managed, standardised, controlled]: [number, number, number]) => ({ managed, standardised, standardisedRate: rate(standardised, managed), controlled, controlRate: rate(controlled, managed) });
  return {
    population: c.population, contracted: c.contracted, coverage: rate(c.contracted, c.population),
    keyPopulations: Object.fromEntries(KP.map((k) => [k, { ...c.keyPopulations[k], coverage: rate(c.keyPopulations[k].contracted, c.keyPopulations[k].population) }])) as Record<KeyPopulation, { population: number; contracted: number; coverage: number | null }>,
    gps: c.gps, gpsPer10k: c.population > 0 ? Math.round((c.gps / c.population) * 10_000 * 100) / 100 : null,
    hypertension: programme(c.htn), diabetes: programme(c.dm),
    followUpsDue: c.due, followUpsOnTime: c.onTime, timeliness: rate(c.onTime, c.due), couponsIssued: c.couponsIssued, couponsUsed: c.couponsUsed,
  };
}
export type KpiFigures = ReturnType<typeof figures>;
export interface KpiRow extends KpiFigures { id: number; name: string; level: Level }
export interface KpiResponse {
  period: { kind: PeriodKind; label: string; from: string; to: string };
  computedAt: string; computedThrough: string; level: Level; parent: number | null;
  rows: KpiRow[]; total: KpiFigures & { name: string | null; level: Level | null };
}

/** The KPIs of one level (under one parent), as the caller may see them; a period never computed is computed first. */
export async function readKpis(db: Db, p: Principal, f: KpiQuery, now = new Date()): Promise<KpiResponse> {
  const scope = await scopeOf(db, p);
  const period = periodOf(f.period, f.at, now);
  if (f.level === 'district' && f.parent !== undefined) throw new AppError('VALIDATION_FAILED', { detail: { zh: '区级没有上级单位', en: 'the district level has no parent' } }, 'parent');
  const v = new Params();
  const where = [`k.level = ${v.add(f.level)}`];
  if (f.parent !== undefined) where.push(`k.parent_id = ${v.add(f.parent)}`);
  // what the caller may see, and whether they may see the parent's own row (the total)
  let parentVisible = scope.all;
  if (!scope.all) {
    if ('teamId' in scope) {
      if (f.level !== 'team' || (f.parent !== undefined && f.parent !== scope.centreId)) throw new AppError('FORBIDDEN');
      where.push(`k.unit_id = ${v.add(scope.teamId)}`);
    } else if (f.level === 'centre') {
      // under any parent, only the centre's own row (the district's total is not theirs)
      where.push(`k.unit_id = ${v.add(scope.centreId)}`);
    } else if (f.level === 'team') {
      if (f.parent !== undefined && f.parent !== scope.centreId) throw new AppError('FORBIDDEN');
      where.push(`k.parent_id = ${v.add(scope.centreId)}`);
      parentVisible = f.parent === scope.centreId;
    } else throw new AppError('FORBIDDEN');
  }
  const parentLevel = PARENT_LEVEL[f.level];
  const parentSql = parentVisible && f.parent !== undefined && parentLevel ? ` OR (k.level = ${v.add(parentLevel)} AND k.unit_id = ${v.add(f.parent)})` : '';
  const sql = `SELECT k.*, pr.computed_at, pr.computed_through FROM chronic_kpi_period pr
                 LEFT JOIN chronic_kpi k ON k.period_kind = pr.period_kind AND k.period_label = pr.period_label AND ((${where.join(' AND ')})${parentSql})
                WHERE pr.period_kind = ${v.add(period.kind)} AND pr.period_label = ${v.add(period.label)}
                ORDER BY k.level = ${v.add(f.level)} DESC, k.unit_id`;
  let { rows } = await db.query(sql, v.values);
  if (!rows.length) {
    await computePeriod(db, period, now);
    ({ rows } = await db.query(sql, v.values));
  }
  const meta = rows[0];
  const mine = rows.filter((r) => r.level === f.level);
  const parentRow = rows.find((r) => r.level !== null && r.level !== f.level);
  const toRow = (r: Row): KpiRow => ({ id: Number(r.unit_id), name: r.name, level: r.level, ...figures(countsOf(r)) });
  const total = parentRow ? { name: parentRow.name as string, level: parentRow.level as Level, ...figures(countsOf(parentRow)) } : { name: null, level: null, ...figures(sumCounts(mine.map(countsOf))) };
  return {
    period: { kind: period.kind, label: period.label, from: period.fromDate, to: period.toDate },
    computedAt: new Date(meta.computed_at).toISOString(), computedThrough: new Date(meta.computed_through).toISOString(),
    level: f.level, parent: f.parent ?? null, rows: mine.map(toRow), total,
  };
}

// ── the workbook ──

const LEVEL_NAMES: Record<Level, [string, string]> = { district: ['区', 'District'], street: ['街道', 'Street'], community: ['社区', 'Community'], grid: ['网格', 'Grid'], centre: ['社区卫生服务中心', 'Centre'], team: ['家庭医生团队', 'Team'] };
const KP_NAMES: Record<KeyPopulation, [string, string]> = {
  elderly: ['65岁及以上老年人', 'Elderly ≥65'], hypertension: ['高血压患者', 'Hypertension'], diabetes: ['2型糖尿病患者', 'Type 2 diabetes'], pregnant: ['孕产妇', 'Pregnant / postpartum'],
  children: ['0-6岁儿童', 'Children 0–6'], mental: ['严重精神障碍患者', 'Severe mental disorder'], disability: ['残疾人', 'Disability'], special: ['计划生育特殊家庭', 'Special families'],
};

type Col = [string, string, 'int' | 'pct' | 'num' | 'text', (r: KpiFigures & { name: string | null }) => unknown];
const COLUMNS: Col[] = [
  ['单位', 'Unit', 'text', (r) => r.name], ['常住人口', 'Population', 'int', (r) => r.population], ['签约人数', 'Contracted', 'int', (r) => r.contracted], ['签约覆盖率', 'Coverage', 'pct', (r) => r.coverage],
  ...KP.flatMap((k): Col[] => [
    [`${KP_NAMES[k][0]}`, `${KP_NAMES[k][1]}`, 'int', (r) => r.keyPopulations[k].population],
    [`${KP_NAMES[k][0]}签约`, `${KP_NAMES[k][1]} contracted`, 'int', (r) => r.keyPopulations[k].contracted],
    [`${KP_NAMES[k][0]}签约率`, `${KP_NAMES[k][1]} coverage`, 'pct', (r) => r.keyPopulations[k].coverage],
  ]),
  ['全科医生数', 'GPs', 'int', (r) => r.gps], ['每万人全科医生数', 'GPs per 10,000', 'num', (r) => r.gpsPer10k],
  ...(['hypertension', 'diabetes'] as const).flatMap((p): Col[] => {
    const zh = p === 'hypertension' ? '高血压' : '糖尿病';
    const en = p === 'hypertension' ? 'Hypertension' : 'Diabetes';
    return [
      [`${zh}管理人数`, `${en} managed`, 'int', (r) => r[p].managed], [`${zh}规范管理人数`, `${en} standardised`, 'int', (r) => r[p].standardised],
      [`${zh}规范管理率`, `${en} standardised rate`, 'pct', (r) => r[p].standardisedRate], [`${zh}控制人数`, `${en} controlled`, 'int', (r) => r[p].controlled],
      [`${zh}控制率`, `${en} control rate`, 'pct', (r) => r[p].controlRate],
    ];
  }),
  ['应随访', 'Follow-ups due', 'int', (r) => r.followUpsDue], ['按时随访', 'On time', 'int', (r) => r.followUpsOnTime], ['随访及时率', 'Timeliness', 'pct', (r) => r.timeliness],
  ['发放用药券', 'Coupons issued', 'int', (r) => r.couponsIssued], ['使用用药券', 'Coupons used', 'int', (r) => r.couponsUsed],
];

export async function kpiWorkbook(k: KpiResponse): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'CareGrid';
  const ws = wb.addWorksheet('家庭医生与慢病指标', { views: [{ state: 'frozen', xSplit: 1, ySplit: 3 }] });
  const [zh, en] = LEVEL_NAMES[k.level];
  ws.addRow([`家庭医生签约与慢病管理指标 Family-doctor and chronic-disease KPIs · ${k.period.label} (${k.period.from} – ${k.period.to}) · ${zh} ${en} · 计算于 computed ${k.computedAt}`]).font = { bold: true, size: 13 };
  ws.addRow(COLUMNS.map((c) => c[0])).font = { bold: true };
  ws.addRow(COLUMNS.map((c) => c[1])).font = { italic: true, color: { argb: 'FF666666' } };
  ws.columns = COLUMNS.map((_, i) => ({ width: i === 0 ? 28 : 13 }));
  const put = (r: KpiFigures & { name: string | null }, bold = false) => {
    const row = ws.addRow(COLUMNS.map((c) => c[3](r)));
    COLUMNS.forEach(([, , t], i) => {
      if (t === 'pct') row.getCell(i + 1).numFmt = '0.0%';
      if (t === 'num') row.getCell(i + 1).numFmt = '0.00';
    });
    if (bold) row.font = { bold: true };
  };
  for (const r of k.rows) put(r);
  put({ ...k.total, name: k.total.name ?? '合计 Total' }, true);
  return Buffer.from(await wb.xlsx.writeBuffer());
}
