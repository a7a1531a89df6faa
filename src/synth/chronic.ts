// Family-doctor contracts and chronic-disease management for the synthetic district: contracts (higher coverage in the
// key populations), hypertension and type 2 diabetes enrolments of most tagged residents, three years of follow-ups
// (about four a year, some patients irregular or lapsed, readings drawn around each patient's own level and classified
// by the programme's current rules), each enrolment's first task and its open next follow-up on the worklist. Loaded
// with COPY a page of residents at a time, secondary indexes built once afterwards. The visits are not written into
// the shared record as encounters and observations (the worklist pre-fills medications from the last visit).
import type { Db } from '../db/engine.ts';
import { copyValue } from '../db/engine.ts';
import { PROGRAMME_SYSTEM } from '../fhir/resources/episode.ts';
import { LEAD_EXTENSION, TASK_CODES, TASK_SOURCE } from '../modules/chronic/fusion.ts';
import { RuleSet, classifyVisit, type Classification } from '../modules/chronic/rules.ts';
import { Rng } from './random.ts';
import { withoutSecondaryIndexes } from './seed.ts';

const DAY = 86_400_000;
const YEAR = 365.25 * DAY;
const PAGE = 50_000;
const MODES = [['clinic', 0.55], ['home', 0.15], ['health_post', 0.12], ['phone', 0.18]] as const;
const DRUGS: Record<string, string[][]> = {
  hypertension: [['氨氯地平片', '5mg qd'], ['缬沙坦胶囊', '80mg qd'], ['硝苯地平控释片', '30mg qd'], ['厄贝沙坦片', '150mg qd'], ['美托洛尔缓释片', '47.5mg qd'], ['吲达帕胺片', '2.5mg qd']],
  diabetes: [['二甲双胍片', '0.5g tid'], ['格列美脲片', '2mg qd'], ['阿卡波糖片', '50mg tid'], ['西格列汀片', '100mg qd']],
};
const DIAGNOSIS: Record<string, string> = { hypertension: 'I10', diabetes: 'E11.9' };

export interface ChronicSeedOptions {
  seed: number;
  now: Date;
  /** share of tagged residents enrolled per programme (dongcheng: about 130,000 hypertension and 50,000 diabetes patients) */
  enrolShare?: { hypertension: number; diabetes: number };
  /** years of follow-up history */
  years?: number;
}

export interface ChronicSeedResult { contracts: number; enrolments: number; followUps: number; tasks: number; seconds: number }

const TABLES = ['contract', 'care_relationship', 'chronic_enrolment', 'chronic_follow_up', 'task'] as const;
const COLUMNS = {
  contract: ['id', 'resident_id', 'team_id', 'institution_id', 'packages', 'status', 'start_date', 'end_date', 'consent_method', 'consent_signed_by', 'consent_at', 'practitioner_id', 'renewals', 'care_relationship_id', 'ended_at', 'created_at'],
  care_relationship: ['resident_id', 'id', 'kind', 'team_id', 'institution_id', 'valid_from', 'valid_to', 'source_ref'],
  chronic_enrolment: ['id', 'resident_id', 'programme_code', 'status', 'source', 'diagnosis_system', 'diagnosis_code', 'institution_id', 'started_at', 'next_task_id', 'next_due_at', 'last_follow_up_at', 'last_classification', 'uncontrolled_streak', 'created_at'],
  chronic_follow_up: ['id', 'resident_id', 'enrolment_id', 'programme_code', 'rule_version', 'visit_at', 'mode', 'institution_id', 'team_id', 'practitioner_id', 'sbp', 'dbp', 'fpg', 'heart_rate', 'adherence', 'medications', 'classification', 'danger', 'reasons', 'referral', 'next_due_at', 'created_at'],
  task: ['id', 'resident_id', 'institution_id', 'source_id', 'status', 'intent', 'priority', 'code', 'description', 'focus_type', 'focus_id', 'owner_institution_id', 'owner_team_id', 'authored_at', 'due_at', 'extra'],
} as const;

const line = (values: unknown[]) => values.map(copyValue).join('\t') + '\n';
const dateOf = (t: number) => new Date(t + 8 * 3600_000).toISOString().slice(0, 10); // Beijing date

function gauss(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

export async function seedChronic(db: Db, opts: ChronicSeedOptions): Promise<ChronicSeedResult> {
  const started = performance.now();
  const now = opts.now.getTime();
  const years = opts.years ?? 3;
  const enrolShare = opts.enrolShare ?? { hypertension: 0.83, diabetes: 0.87 };
  const rng = new Rng(opts.seed, 0xc4c0);
  const { rows: teamRows } = await db.query(
    `SELECT tg.grid_id, t.id AS team_id, t.institution_id, (SELECT tm.practitioner_id FROM team_member tm WHERE tm.team_id = t.id AND tm.role = 'lead_gp' ORDER BY tm.practitioner_id LIMIT 1) AS gp
       FROM team_grid tg JOIN team t ON t.id = tg.team_id WHERE t.kind = 'family_doctor' ORDER BY tg.grid_id, t.id`,
  );
  const teamOfGrid = new Map<number, { team: number; inst: number; gp: number | null }>();
  for (const r of teamRows) if (!teamOfGrid.has(Number(r.grid_id))) teamOfGrid.set(Number(r.grid_id), { team: Number(r.team_id), inst: Number(r.institution_id), gp: r.gp === null ? null : Number(r.gp) });
  const { rows: centreRows } = await db.query("SELECT DISTINCT ON (region_id) region_id, id FROM institution WHERE type IN ('community_health_centre', 'township_health_centre') AND active ORDER BY region_id, id");
  const centreOfStreet = new Map(centreRows.map((r) => [Number(r.region_id), Number(r.id)]));
  const { rows: ruleRows } = await db.query(
    `SELECT DISTINCT ON (rs.programme_code) rs.programme_code, rs.version, rs.rules, p.name FROM chronic_rule_set rs JOIN chronic_programme p ON p.code = rs.programme_code
      WHERE rs.programme_code IN ('hypertension', 'diabetes') ORDER BY rs.programme_code, rs.version DESC`,
  );
  const programmes = new Map(ruleRows.map((r) => [r.programme_code as string, { version: Number(r.version), rules: RuleSet.parse(r.rules), name: r.name as string }]));
  const { rows: maxRows } = await db.query(
    `SELECT (SELECT coalesce(max(id), 0) FROM contract) AS contract, (SELECT coalesce(max(id), 0) FROM care_relationship) AS care_relationship,
            (SELECT coalesce(max(id), 0) FROM chronic_enrolment) AS chronic_enrolment, (SELECT coalesce(max(id), 0) FROM chronic_follow_up) AS chronic_follow_up,
            (SELECT coalesce(max(id), 0) FROM task) AS task`,
  );
  const next = Object.fromEntries(TABLES.map((t) => [t, Number(maxRows[0][t])])) as Record<(typeof TABLES)[number], number>;
  const counts = { contracts: 0, enrolments: 0, followUps: 0, tasks: 0 };
  const historyFrom = now - years * YEAR;
  const refAge = (birth: string, t: number) => (t - Date.parse(birth + 'T00:00:00+08:00')) / YEAR;

  await withoutSecondaryIndexes(db, [...TABLES], async () => {
    for (let after = 0; ;) {
      const { rows } = await db.query<{ id: number; grid_id: number | null; street_id: number | null; birth_date: string; tags: string[] }>(
        "SELECT id, grid_id, street_id, birth_date, tags FROM resident WHERE id > $1 AND status = 'active' ORDER BY id LIMIT $2", [after, PAGE],
      );
      if (!rows.length) break;
      after = Number(rows[rows.length - 1].id);
      const out: Record<(typeof TABLES)[number], string[]> = { contract: [], care_relationship: [], chronic_enrolment: [], chronic_follow_up: [], task: [] };
      for (const r of rows) {
        const rid = Number(r.id);
        const owner = r.grid_id === null ? undefined : teamOfGrid.get(Number(r.grid_id));
        const centre = (r.street_id !== null && centreOfStreet.get(Number(r.street_id))) || owner?.inst || null;
        const age = refAge(r.birth_date, now);
        const enrolled = (['hypertension', 'diabetes'] as const).filter((p) => r.tags.includes(p) && rng.chance(enrolShare[p]));
        // ── contract: coverage highest among the key populations (the policy's priority groups) ──
        let p = 0.22;
        if (r.tags.includes('special_family')) p = 0.9;
        else if (r.tags.includes('severe_mental')) p = 0.85;
        else if (enrolled.length) p = 0.8;
        else if (age >= 65) p = 0.75;
        else if (r.tags.includes('disability')) p = 0.7;
        else if (r.tags.includes('pregnant') || r.tags.includes('postpartum')) p = 0.65;
        else if (age < 7) p = 0.6;
        let activeTeam: typeof owner | null = null;
        if (owner && rng.chance(p)) {
          const signed = now - rng.next() * 4 * YEAR - DAY;
          const start = dateOf(signed);
          const termsToToday = Math.ceil((now - signed) / YEAR);
          const lapsed = termsToToday > 1 && rng.chance(0.08);
          const terms = lapsed ? termsToToday - 1 : Math.max(1, termsToToday);
          const endT = Date.parse(start + 'T00:00:00+08:00') + terms * YEAR - DAY;
          const end = dateOf(endT);
          const id = ++next.contract;
          const cr = ++next.care_relationship;
          const packages = ['basic', ...(enrolled.length ? ['chronic'] : []), ...(age >= 65 && rng.chance(0.4) ? ['elderly'] : [])];
          out.contract.push(line([id, rid, owner.team, owner.inst, packages, lapsed ? 'expired' : 'active', start, end, rng.chance(0.7) ? 'written' : 'electronic', age < 18 ? 'guardian' : 'self',
            new Date(signed), owner.gp, terms - 1, cr, lapsed ? new Date(endT + DAY) : null, new Date(signed)]));
          out.care_relationship.push(line([rid, cr, 'contract', owner.team, owner.inst, start, end, `contract:${id}`]));
          counts.contracts++;
          if (!lapsed) activeTeam = owner;
        }
        // ── enrolments and their follow-ups ──
        for (const code of enrolled) {
          const prog = programmes.get(code)!;
          const eid = ++next.chronic_enrolment;
          const startedAt = rng.chance(0.55) ? now - (3 + rng.next() * 7) * YEAR : now - rng.next() * years * YEAR;
          const institution = centre ?? owner?.inst;
          if (!institution) continue;
          const enrolTask = ++next.task;
          const extra = (team: unknown) => JSON.stringify({
            reasonCode: { coding: [{ system: PROGRAMME_SYSTEM, version: String(prog.version), code, display: prog.name }] },
            ...(team ? {} : { extension: [{ url: LEAD_EXTENSION, valueBoolean: true }] }),
          });
          // the patient's own level and habits: most regular, some irregular, a few stop coming
          const habit = rng.next();
          const lapseAt = habit > 0.92 ? historyFrom + rng.next() * (now - historyFrom) : Infinity;
          const level = code === 'hypertension' ? { sbp: 137 + 9 * gauss(rng), dbp: 85 + 5 * gauss(rng) } : { fpg: Math.exp(Math.log(6.9) + 0.17 * gauss(rng)) };
          const meds = JSON.stringify(Array.from({ length: rng.int(1, 2) }, () => rng.pick(DRUGS[code])).filter((d, i, a) => a.indexOf(d) === i).map(([name, dose]) => ({ name, dose })));
          const adherence = habit < 0.7 ? 'regular' : 'intermittent';
          let t = Math.max(startedAt + rng.int(3, 20) * DAY, historyFrom + rng.next() * 90 * DAY);
          let streak = 0;
          let last: { id: number; at: number; due: number; cls: Classification; urgent: boolean } | null = null;
          while (t < now - DAY && t < lapseAt) {
            const m = level.fpg !== undefined
              ? { fpg: Math.round(Math.max(3.5, level.fpg + 0.8 * gauss(rng)) * 10) / 10 }
              : { sbp: Math.round(level.sbp! + 8 * gauss(rng)), dbp: Math.round(level.dbp! + 5 * gauss(rng)) };
            const measures = m.fpg !== undefined ? { fpg: m.fpg, glucose: m.fpg } : m;
            const result = classifyVisit(prog.rules, { measures, symptoms: [], adverseReaction: rng.chance(0.01), newComplication: rng.chance(0.005), uncontrolledStreak: streak });
            streak = result.uncontrolledStreak;
            const due = t + result.nextInDays * DAY;
            const fid = ++next.chronic_follow_up;
            const mode = rng.weighted([0.55, 0.7, 0.82, 1]);
            const visitAt = new Date(Math.floor(t / 60_000) * 60_000);
            out.chronic_follow_up.push(line([fid, rid, eid, code, prog.version, visitAt, MODES[mode][0], activeTeam?.inst ?? institution, activeTeam?.team ?? null, activeTeam?.gp ?? null,
              m.sbp ?? null, m.dbp ?? null, m.fpg ?? null, rng.int(60, 92), adherence, meds, result.classification, result.danger, JSON.stringify(result.reasons), result.referral, new Date(due), visitAt]));
            counts.followUps++;
            last = { id: fid, at: t, due, cls: result.classification, urgent: result.danger || result.referral !== null };
            // the next visit: regular patients by the due day, irregular ones weeks later; after an uncontrolled visit
            // (due in 2 weeks) about 40% come back in time, the others at their usual rhythm
            const recall = result.nextInDays < 30 && rng.chance(0.4);
            const gapDays = recall ? result.nextInDays - rng.int(0, 4) : habit < 0.7 ? rng.int(78, 90) : rng.int(85, 150);
            t += Math.max(7, gapDays) * DAY;
          }
          const firstDue = startedAt + prog.rules.intervalDays.enrolment * DAY;
          out.task.push(line([enrolTask, rid, institution, `${TASK_SOURCE}:enrolment|${eid}`, last ? 'completed' : 'requested', 'order', 'routine', TASK_CODES.enrolment,
            `${prog.name}：新纳入管理，首次随访`, 'EpisodeOfCare', eid, activeTeam?.inst ?? institution, activeTeam?.team ?? null, new Date(startedAt), new Date(firstDue), extra(activeTeam)]));
          counts.tasks++;
          let nextTask = last ? null : enrolTask;
          if (last) {
            nextTask = ++next.task;
            out.task.push(line([nextTask, rid, institution, `urn:caregrid:chronic:follow-up|${last.id}`, 'requested', 'order', last.urgent ? 'urgent' : 'routine', TASK_CODES.followUp,
              `${prog.name}随访`, 'EpisodeOfCare', eid, activeTeam?.inst ?? institution, activeTeam?.team ?? null, new Date(last.at), new Date(last.due), extra(activeTeam)]));
            counts.tasks++;
          }
          out.chronic_enrolment.push(line([eid, rid, code, 'active', 'diagnosis', 'http://hl7.org/fhir/sid/icd-10', DIAGNOSIS[code], institution, new Date(startedAt), nextTask,
            new Date(last ? last.due : firstDue), last ? new Date(last.at) : null, last?.cls ?? null, streak, new Date(startedAt)]));
          counts.enrolments++;
        }
      }
      for (const table of TABLES) if (out[table].length) await db.copyFrom(table, COLUMNS[table], [out[table].join('')]);
    }
  });
  for (const t of TABLES) await db.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM ${t}), false)`);
  return { ...counts, seconds: (performance.now() - started) / 1000 };
}
