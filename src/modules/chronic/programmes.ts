// Programmes and their versioned rule sets (chronic_programme, chronic_rule_set), and the module's settings. The
// current versions are cached for a few seconds: every diagnosis and reading written anywhere consults them, and a
// district administrator's change reaches other server processes within the cache's lifetime.
import type { Queryable } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import { RuleSet } from './rules.ts';

export interface Programme {
  code: string;
  name: string;
  nameEn: string | null;
  icd10Prefixes: string[];
  active: boolean;
  version: number;
  rules: RuleSet;
}

/** The FHIR code system of programme codes (EpisodeOfCare.type, Task.reasonCode). */
export { PROGRAMME_SYSTEM } from '../../fhir/resources/episode.ts';

const TTL_MS = 5_000;
let cached: { at: number; list: Programme[] } | null = null;

export function invalidateProgrammes() {
  cached = null;
}

/** Every programme with its current rule set. */
export async function currentProgrammes(q: Queryable): Promise<Programme[]> {
  if (cached && Date.now() - cached.at < TTL_MS) return cached.list;
  const { rows } = await q.query(
    `SELECT p.code, p.name, p.name_en, p.icd10_prefixes, p.active, rs.version, rs.rules
       FROM chronic_programme p
       JOIN LATERAL (SELECT version, rules FROM chronic_rule_set WHERE programme_code = p.code ORDER BY version DESC LIMIT 1) rs ON TRUE
      ORDER BY p.code`,
  );
  const list = rows.map((r) => ({
    code: r.code, name: r.name, nameEn: r.name_en, icd10Prefixes: r.icd10_prefixes, active: r.active, version: Number(r.version),
    rules: RuleSet.parse(r.rules),
  }));
  cached = { at: Date.now(), list };
  return list;
}

export async function programmeOf(q: Queryable, code: string, field = 'programme'): Promise<Programme> {
  const p = (await currentProgrammes(q)).find((x) => x.code === code);
  if (!p) throw Object.assign(new AppError('NOT_FOUND', { noun: 'programme' }), { field });
  return p;
}

/** One version of a programme's rules (what an earlier evaluation used). */
export async function ruleVersions(q: Queryable, code: string) {
  await programmeOf(q, code);
  const { rows } = await q.query(
    `SELECT rs.version, rs.rules, rs.note, rs.created_at, u.username AS created_by
       FROM chronic_rule_set rs LEFT JOIN app_user u ON u.id = rs.created_by WHERE rs.programme_code = $1 ORDER BY rs.version DESC`,
    [code],
  );
  return rows.map((r) => ({ version: Number(r.version), rules: r.rules, note: r.note, createdAt: new Date(r.created_at).toISOString(), createdBy: r.created_by ?? null }));
}

/** A new version of a programme's rules (the district administrator's); the previous versions stay as they were. */
export async function setRules(q: Queryable, code: string, rules: unknown, note: string | null, userId: number) {
  const parsed = RuleSet.safeParse(rules);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('VALIDATION_FAILED', { detail: `${issue.path.join('.') || 'rules'}: ${issue.message}` }, ['rules', ...issue.path].join('.'));
  }
  for (const m of parsed.data.requiredMeasures) {
    if (!parsed.data.controlled.some((c) => c.measure === m)) throw new AppError('VALIDATION_FAILED', { detail: `requiredMeasures: ${m} has no controlled condition` }, 'rules.requiredMeasures');
  }
  const { rows: prog } = await q.query('SELECT code FROM chronic_programme WHERE code = $1 FOR UPDATE', [code]);
  if (!prog[0]) throw Object.assign(new AppError('NOT_FOUND', { noun: 'programme' }), { field: 'code' });
  const { rows } = await q.query(
    `INSERT INTO chronic_rule_set (programme_code, version, rules, note, created_by)
     SELECT $1, coalesce(max(version), 0) + 1, $2::jsonb, $3, $4 FROM chronic_rule_set WHERE programme_code = $1 RETURNING version`,
    [code, JSON.stringify(parsed.data), note, userId],
  );
  invalidateProgrammes();
  return Number(rows[0].version);
}

// ── settings (the foundation's setting table) ──

export interface Settings {
  renewalNoticeDays: number;
  contractTermMonths: number;
  dischargeFollowUpDays: number;
  newEnrolmentDays: number;
  recentDays: number;
}

const DEFAULTS: Record<string, [keyof Settings, number]> = {
  'family_doctor.renewal_notice_days': ['renewalNoticeDays', 30],
  'family_doctor.contract_term_months': ['contractTermMonths', 12],
  'chronic.discharge_follow_up_days': ['dischargeFollowUpDays', 7],
  'chronic.new_enrolment_days': ['newEnrolmentDays', 14],
  'chronic.recent_days': ['recentDays', 30],
};
let settingsCache: { at: number; s: Settings } | null = null;

export async function settings(q: Queryable): Promise<Settings> {
  if (settingsCache && Date.now() - settingsCache.at < TTL_MS) return settingsCache.s;
  const s = Object.fromEntries(Object.values(DEFAULTS)) as unknown as Settings;
  const { rows } = await q.query('SELECT key, value FROM setting WHERE key = ANY($1::text[])', [Object.keys(DEFAULTS)]);
  for (const r of rows) {
    const n = Number(r.value);
    if (Number.isFinite(n) && n > 0) s[DEFAULTS[r.key][0]] = n;
  }
  settingsCache = { at: Date.now(), s };
  return s;
}
