// Alerts (多点触发预警): fusion's candidates made into alerts, their workflow, the inbox and the detail, the rules'
// versioned edits and the response-time metrics. The rule engine itself is pure (fusion.ts); this file reads its
// inputs, writes its outcome and tells the CDC.
//
// Contents
//   1. access: who may see and act
//   2. the workflow (pure): new → under_review → investigating → closed_true | closed_false
//   3. fusion: fuseRun (after a detection run) and alertForCaseReport (a class A report, at once)
//   4. actions: review, investigate, close, assign, note
//   5. reads: the inbox and the detail (series of every contributing signal, thresholds, history)
//   6. fusion rules: list and versioned edit
//   7. metrics: time to review / investigate / close, true and false alarms
//
// No personal data leaves through here: alerts, signals and series are counts per community; case reports are shown
// by disease, community and times, never by person, and reading them is audited. Webhook payloads carry ids, levels and
// states only.
import type { Queryable, Row } from '../../db/engine.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { hasRole, type Principal } from '../../platform/principal.ts';
import { auditMany, type AuditContext } from '../../platform/audit.ts';
import { addDays } from '../../platform/local-date.ts';
import { Params } from '../../platform/sql.ts';
import { notifyInstitutionType, notifyUser, type Priority } from '../notifications/service.ts';
import { enqueue, type WebhookEvent } from '../webhooks/service.ts';
import { onCaseReport } from './case-reports.ts';
import { epicurvePoints } from './feed-queries.ts';
import { onRunComplete } from './run.ts';
import {
  PARAMS_SCHEMA, RISK_LEVELS, RULE_KINDS, adjacencyOf, extendedArea, extensionMode, fuse, highSignalIds, matchOpenAlert, maxRisk,
  type Adjacency, type AlertCandidate, type CombinedEvidence, type FusionCaseReport, type FusionRule, type FusionSignal, type OpenAlert, type RiskLevel, type RuleKind,
} from './fusion.ts';

// ── 1. access ──

/** Alerts are district-wide surveillance data: the CDC's epidemiologists, investigators and the district admin see them. */
const READERS = ['cdc_epidemiologist', 'investigator', 'district_admin'] as const;
/** Who moves an alert through its workflow and assigns it (investigators read and add notes). */
const ACTORS = ['cdc_epidemiologist', 'district_admin'] as const;

export function assertCanRead(p: Principal) {
  if (!hasRole(p, ...READERS)) throw new AppError('FORBIDDEN');
}

// ── 2. the workflow ──

export const ALERT_STATES = ['new', 'under_review', 'investigating', 'closed_true', 'closed_false'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
export const OPEN_STATES: AlertState[] = ['new', 'under_review', 'investigating'];
export const ALERT_ACTIONS = ['review', 'investigate', 'close', 'assign', 'note'] as const;
export type AlertAction = (typeof ALERT_ACTIONS)[number];

export const STATE_LABELS: Record<AlertState, { zh: string; en: string }> = {
  new: { zh: '新预警', en: 'new' }, under_review: { zh: '核实中', en: 'under review' }, investigating: { zh: '调查中', en: 'investigating' },
  closed_true: { zh: '已关闭（真实事件）', en: 'closed as a true alarm' }, closed_false: { zh: '已关闭（误报）', en: 'closed as a false alarm' },
};

const FROM: Record<AlertAction, readonly AlertState[]> = {
  review: ['new'],
  investigate: ['under_review'],
  close: ['under_review', 'investigating'],
  assign: OPEN_STATES,
  note: ALERT_STATES,
};

/** The state `action` leads to from `state`, or null when it may not be taken there. */
export function nextState(state: AlertState, action: AlertAction, outcome?: 'true' | 'false'): AlertState | null {
  if (!FROM[action].includes(state)) return null;
  switch (action) {
    case 'review': return 'under_review';
    case 'investigate': return 'investigating';
    case 'close': return outcome === 'true' ? 'closed_true' : 'closed_false';
    default: return state;
  }
}

/** What the caller may do now (the console shows these as buttons). */
export function allowedActions(state: AlertState, p: Principal): AlertAction[] {
  const actor = hasRole(p, ...ACTORS);
  return ALERT_ACTIONS.filter((a) => FROM[a].includes(state) && (a === 'note' ? hasRole(p, ...READERS) : actor));
}

// ── 3. fusion ──

export interface FuseResult {
  asOf: string;
  candidates: number;
  created: number[];
  extended: number[];
}

/** Fusion runs one at a time (the daily run, an on-demand run and a case report could otherwise race for one key). */
const FUSION_LOCK = 7283006;

async function activeRules(q: Queryable, kinds?: RuleKind[]): Promise<FusionRule[]> {
  const { rows } = await q.query(
    'SELECT id, code, version, kind, params, risk_level FROM fusion_rule WHERE active AND ($1::text[] IS NULL OR kind = ANY($1::text[])) ORDER BY id',
    [kinds ?? null],
  );
  // a stored rule whose parameters no longer parse is left out; the others still run
  return rows.map((r) => ({ id: Number(r.id), code: r.code, version: r.version, kind: r.kind, params: r.params, riskLevel: r.risk_level }))
    .filter((r) => PARAMS_SCHEMA[r.kind as RuleKind]?.safeParse(r.params).success);
}

async function independenceOf(q: Queryable): Promise<Record<string, string>> {
  const { rows } = await q.query('SELECT code, independence FROM surveillance_source');
  return Object.fromEntries(rows.map((r) => [r.code, r.independence]));
}

async function adjacencyAround(q: Queryable, communities: number[]): Promise<Adjacency> {
  const { rows } = await q.query('SELECT region_id, neighbour_id FROM region_adjacency WHERE region_id = ANY($1::bigint[]) OR neighbour_id = ANY($1::bigint[])', [communities]);
  return adjacencyOf(rows.map((r) => [Number(r.region_id), Number(r.neighbour_id)] as const));
}

const CASE_REPORT_SQL = `SELECT cr.id, cr.disease_code, nd.class, nd.managed_as_a, nd.syndrome, cr.region_id,
    ((cr.diagnosed_at AT TIME ZONE 'Asia/Shanghai')::date)::text AS on_date
  FROM case_report cr JOIN notifiable_disease nd ON nd.code = cr.disease_code
 WHERE cr.status <> 'entered-in-error' AND NOT EXISTS (SELECT 1 FROM alert_case_report l WHERE l.case_report_id = cr.id)`;

const caseReportOf = (r: Row): FusionCaseReport => ({
  id: Number(r.id), diseaseCode: r.disease_code, diseaseClass: r.class, managedAsA: r.managed_as_a, syndrome: r.syndrome, community: Number(r.region_id), date: r.on_date,
});

/** Case reports not yet behind an alert are looked at this many days back by the daily run (a safety net for the immediate path). */
const CASE_REPORT_DAYS = 7;

/**
 * Fuses the signals of a detection run (and the previous windowDays of signals) with the active rules: new alerts are
 * created, open alerts of the same syndrome and area extended, the CDC told. Also raises alerts for class A case
 * reports of the last week that have none yet. Runs in the caller's transaction; returns what it did.
 */
export async function fuseRun(q: Queryable, opts: { runId?: number | null; asOf?: string }): Promise<FuseResult> {
  await q.query('SELECT pg_advisory_xact_lock($1)', [FUSION_LOCK]);
  let asOf = opts.asOf;
  if (!asOf && opts.runId) asOf = (await q.query("SELECT as_of::text AS d FROM surveillance_run WHERE id = $1", [opts.runId])).rows[0]?.d;
  if (!asOf) asOf = (await q.query("SELECT ((now() AT TIME ZONE 'Asia/Shanghai')::date)::text AS d")).rows[0].d as string;
  const rules = await activeRules(q);
  const windowDays = Math.max(1, ...rules.filter((r) => r.kind === 'multi_source').map((r) => PARAMS_SCHEMA.multi_source.parse(r.params).windowDays));

  const sig = await q.query(
    `SELECT id, run_id, algorithm, source_code, category_code, syndrome, region_id, region_ids, start_date::text AS start_date, on_date::text AS on_date,
            observed, threshold, statistic, p_value, support
       FROM signal WHERE on_date BETWEEN $1::date - $2::int AND $1::date ORDER BY id`,
    [asOf, windowDays - 1],
  );
  const signals: FusionSignal[] = sig.rows.map((r) => ({
    id: Number(r.id), algorithm: r.algorithm, source: r.source_code, category: r.category_code, syndrome: r.syndrome, community: Number(r.region_id),
    communities: (r.region_ids as unknown[]).map(Number), startDate: r.start_date, date: r.on_date, observed: Number(r.observed),
    threshold: r.threshold === null ? null : Number(r.threshold), statistic: r.statistic === null ? null : Number(r.statistic), pValue: r.p_value === null ? null : Number(r.p_value),
    fresh: opts.runId ? Number(r.run_id) === opts.runId : r.on_date === asOf,
    ...(r.support ? { support: true } : {}),
  }));

  let caseReports: FusionCaseReport[] = [];
  if (rules.some((r) => r.kind === 'case_report_class')) {
    const cr = await q.query(
      `${CASE_REPORT_SQL} AND cr.diagnosed_at >= (($1::date - $2::int)::timestamp AT TIME ZONE 'Asia/Shanghai')
          AND cr.diagnosed_at < (($1::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai') ORDER BY cr.id`,
      [asOf, CASE_REPORT_DAYS - 1],
    );
    caseReports = cr.rows.map(caseReportOf);
  }

  const communities = [...new Set([...signals.flatMap((s) => s.communities!), ...caseReports.map((c) => c.community)])];
  const input = { asOf, signals, caseReports, rules, adjacency: await adjacencyAround(q, communities), independence: await independenceOf(q) };
  const candidates = fuse(input);
  const high = highSignalIds(input);
  if (high.length) await q.query('UPDATE signal SET high = true WHERE id = ANY($1::bigint[]) AND NOT high', [high]);
  const result = await applyCandidates(q, candidates, rules, input.adjacency);
  return { asOf, candidates: candidates.length, ...result };
}

/**
 * A case report was recorded (called in the report's transaction): a class A or managed-as-A disease raises a critical
 * alert at once (or extends the open one for that disease and community). Returns the alert's id, or null.
 */
export async function alertForCaseReport(q: Queryable, caseReportId: number): Promise<number | null> {
  const rules = await activeRules(q, ['case_report_class']);
  if (!rules.length) return null;
  const { rows } = await q.query(`${CASE_REPORT_SQL} AND cr.id = $1`, [caseReportId]);
  if (!rows[0]) return null;
  await q.query('SELECT pg_advisory_xact_lock($1)', [FUSION_LOCK]);
  const report = caseReportOf(rows[0]);
  const candidates = fuse({ asOf: report.date, signals: [], caseReports: [report], rules, adjacency: new Map(), independence: {} });
  const r = await applyCandidates(q, candidates, rules, new Map());
  return r.created[0] ?? r.extended[0] ?? null;
}

/** A withdrawn card (entered-in-error) stays on its alert, which a person closes; the history says so. */
async function noteWithdrawnReport(q: Queryable, caseReportId: number): Promise<void> {
  await q.query(
    `INSERT INTO alert_event (alert_id, action, from_state, to_state, note)
     SELECT a.id, 'note', a.state, a.state, $2 FROM alert_case_report l JOIN alert a ON a.id = l.alert_id
      WHERE l.case_report_id = $1 AND a.state IN ('new', 'under_review', 'investigating')`,
    [caseReportId, `case report ${caseReportId} withdrawn (entered in error) / 报告卡 ${caseReportId} 已作废`],
  );
}

let registered = false;

/**
 * Fusion runs after every detection run (in its own transaction; the run counts the alerts it raised or extended), and
 * every class A (or managed-as-A) case report raises its alert in the report's own transaction. Idempotent: the server
 * and the CLI call it before they run anything.
 */
export function registerAlertHooks(): void {
  if (registered) return;
  registered = true;
  onRunComplete(async ({ db, run }) => {
    const r = await db.tx((q) => fuseRun(q, { runId: run.id, asOf: run.asOf }));
    return { alerts: r.created.length + r.extended.length };
  });
  onCaseReport(async (q, { report, change }) => {
    if (change === 'withdrawn') await noteWithdrawnReport(q, report.id);
    else await alertForCaseReport(q, report.id);
  });
}

async function openAlerts(q: Queryable): Promise<OpenAlert[]> {
  const { rows } = await q.query(
    `SELECT a.id, r.code, a.syndrome, a.region_ids, a.summary->'core' AS core, a.dedupe_key, a.last_date::text AS last_date
       FROM alert a JOIN fusion_rule r ON r.id = a.rule_id WHERE a.state IN ('new', 'under_review', 'investigating') ORDER BY a.id`,
  );
  return rows.map((r) => {
    const communities = (r.region_ids as unknown[]).map(Number);
    // alerts opened before the core was kept extend from their whole area
    const core = Array.isArray(r.core) ? (r.core as unknown[]).map(Number) : communities;
    return { id: Number(r.id), ruleCode: r.code, syndrome: r.syndrome, communities, core, dedupeKey: r.dedupe_key, lastDate: r.last_date };
  });
}

const PRIORITY: Record<RiskLevel, Priority> = { low: 'normal', medium: 'normal', high: 'high', critical: 'urgent' };

async function applyCandidates(q: Queryable, candidates: AlertCandidate[], rules: FusionRule[], adjacency: Adjacency): Promise<{ created: number[]; extended: number[] }> {
  const created: number[] = [];
  const extended: number[] = [];
  if (!candidates.length) return { created, extended };
  const open = await openAlerts(q);
  const ruleOf = new Map(rules.map((r) => [r.code, r]));
  for (const c of candidates) {
    const rule = ruleOf.get(c.ruleCode)!;
    const mode = extensionMode(rule);
    const match = matchOpenAlert(c, open, adjacency, mode);
    if (match) {
      match.communities = extendedArea(match, c, adjacency, mode);
      if (await extendAlert(q, match.id, c, match.communities)) extended.push(match.id);
      if (c.lastDate > match.lastDate) match.lastDate = c.lastDate;
    } else {
      const id = await createAlert(q, c);
      created.push(id);
      open.push({ id, ruleCode: c.ruleCode, syndrome: c.syndrome, communities: c.communities, core: c.communities, dedupeKey: c.dedupeKey, lastDate: c.lastDate });
    }
  }
  return { created, extended };
}

function summaryOf(c: AlertCandidate, prior: Row = {}) {
  const union = (a: unknown, b: string[]) => [...new Set([...((a as string[]) ?? []), ...b])].sort();
  return {
    kind: c.kind, core: (prior.core as number[] | undefined) ?? c.communities, groups: union(prior.groups, c.groups), diseaseCode: c.diseaseCode ?? prior.diseaseCode ?? null,
    signalCount: Number(prior.signalCount ?? 0) + c.signalIds.length, caseReportCount: Number(prior.caseReportCount ?? 0) + c.caseReportIds.length,
    // a rule combining the sources' evidence: the combination of the latest candidate (which signals, their p-values, Fisher's)
    ...(c.evidence ?? prior.evidence ? { evidence: c.evidence ?? prior.evidence } : {}),
  };
}

async function linkEvidence(q: Queryable, alertId: number, c: AlertCandidate): Promise<{ signals: number; reports: number }> {
  const s = c.signalIds.length
    ? await q.query('INSERT INTO alert_signal (alert_id, signal_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING', [alertId, c.signalIds])
    : { rowCount: 0 };
  const r = c.caseReportIds.length
    ? await q.query('INSERT INTO alert_case_report (alert_id, case_report_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING', [alertId, c.caseReportIds])
    : { rowCount: 0 };
  return { signals: s.rowCount, reports: r.rowCount };
}

async function createAlert(q: Queryable, c: AlertCandidate): Promise<number> {
  const { rows } = await q.query(
    `INSERT INTO alert (rule_id, risk_level, syndrome, region_ids, first_date, last_date, source_codes, dedupe_key, case_report_id, summary)
     VALUES ($1, $2, $3, $4::bigint[], $5, $6, $7::text[], $8, $9, $10::jsonb) RETURNING *`,
    [c.ruleId, c.riskLevel, c.syndrome, c.communities, c.firstDate, c.lastDate, c.sources, c.dedupeKey, c.caseReportIds[0] ?? null, JSON.stringify(summaryOf(c))],
  );
  const a = rows[0];
  await linkEvidence(q, Number(a.id), c);
  await q.query("INSERT INTO alert_event (alert_id, action, to_state) VALUES ($1, 'created', 'new')", [a.id]);
  await tellCdc(q, a, 'alert.created', { ruleCode: c.ruleCode, action: 'created' });
  return Number(a.id);
}

/** Adds the candidate's evidence to an open alert; false when it brought nothing new (a rerun of the same day). */
async function extendAlert(q: Queryable, id: number, c: AlertCandidate, area: number[]): Promise<boolean> {
  const { rows } = await q.query("SELECT * FROM alert WHERE id = $1 AND state IN ('new', 'under_review', 'investigating') FOR UPDATE", [id]);
  const a = rows[0];
  if (!a) return false;
  const added = await linkEvidence(q, id, c);
  if (added.signals + added.reports === 0) return false;
  const risk = maxRisk(a.risk_level, c.riskLevel);
  const regionIds = [...new Set([...(a.region_ids as unknown[]).map(Number), ...area])].sort((x, y) => x - y);
  const sources = [...new Set([...a.source_codes, ...c.sources])].sort();
  const summary = summaryOf({ ...c, signalIds: c.signalIds.slice(0, added.signals), caseReportIds: c.caseReportIds.slice(0, added.reports) }, a.summary);
  const upd = await q.query(
    `UPDATE alert SET risk_level = $2, region_ids = $3::bigint[], source_codes = $4::text[], first_date = least(first_date, $5::date), last_date = greatest(last_date, $6::date),
            summary = $7::jsonb, version = version + 1, updated_at = now() WHERE id = $1 RETURNING *`,
    [id, risk, regionIds, sources, c.firstDate, c.lastDate, JSON.stringify(summary)],
  );
  await q.query("INSERT INTO alert_event (alert_id, action, from_state, to_state, note) VALUES ($1, 'extended', $2, $2, $3)",
    [id, a.state, `+${added.signals} signals, +${added.reports} case reports`]);
  const escalated = risk !== a.risk_level;
  await tellCdc(q, upd.rows[0], 'alert.updated', { ruleCode: c.ruleCode, action: 'extended' }, escalated ? 'alert.escalated' : null);
  return true;
}

async function cdcInstitutions(q: Queryable): Promise<number[]> {
  const { rows } = await q.query("SELECT id FROM institution WHERE type = 'cdc' AND active ORDER BY id");
  return rows.map((r) => Number(r.id));
}

/**
 * The CDC's epidemiologists are told in the console (a new alert, or an open one whose risk rose), and the CDC's systems
 * by webhook (every change). The notice names the syndrome, risk and communities; the webhook ids, levels and states.
 */
async function tellCdc(q: Queryable, a: Row, event: WebhookEvent, extra: { ruleCode?: string; action: string }, notice: string | null = event === 'alert.created' ? 'alert.created' : null) {
  if (notice) {
    const names = await q.query("SELECT string_agg(name, '、' ORDER BY id) AS zh, string_agg(coalesce(name_en, name), ', ' ORDER BY id) AS en FROM region WHERE id = ANY($1::bigint[])", [a.region_ids]);
    const rule = (await q.query('SELECT name, name_en FROM fusion_rule WHERE id = $1', [a.rule_id])).rows[0];
    const params = {
      rule: { zh: rule.name, en: rule.name_en }, risk: RISK_LABELS[a.risk_level as RiskLevel], syndrome: SYNDROME_LABELS[a.syndrome] ?? { zh: a.syndrome, en: a.syndrome },
      communities: { zh: names.rows[0].zh ?? '', en: names.rows[0].en ?? '' }, alertId: Number(a.id),
    };
    await notifyInstitutionType(q, 'cdc', ['cdc_epidemiologist'], { kind: notice, priority: PRIORITY[a.risk_level as RiskLevel], alertId: Number(a.id), params });
  }
  await enqueue(q, await cdcInstitutions(q), event, { alert: webhookView(a, extra) });
}

function webhookView(a: Row, extra: { ruleCode?: string; action: string }) {
  return {
    id: Number(a.id), action: extra.action, state: a.state, riskLevel: a.risk_level, syndrome: a.syndrome, ruleId: Number(a.rule_id), ruleCode: extra.ruleCode ?? null,
    regionIds: (a.region_ids as unknown[]).map(Number), firstDate: a.first_date, lastDate: a.last_date, version: a.version,
  };
}

export const RISK_LABELS: Record<RiskLevel, { zh: string; en: string }> = {
  low: { zh: '低风险', en: 'low risk' }, medium: { zh: '中风险', en: 'medium risk' }, high: { zh: '高风险', en: 'high risk' }, critical: { zh: '极高风险', en: 'critical risk' },
};
export const SYNDROME_LABELS: Record<string, { zh: string; en: string }> = {
  respiratory: { zh: '呼吸道症候群', en: 'respiratory syndrome' }, gastrointestinal: { zh: '胃肠道症候群', en: 'gastrointestinal syndrome' },
  fever: { zh: '发热症候群', en: 'fever syndrome' }, rash: { zh: '发疹症候群', en: 'rash syndrome' }, other: { zh: '其他症候群', en: 'other syndromes' },
};

// ── 4. actions ──

export interface ActInput {
  action: AlertAction;
  /** the version the caller saw: an alert changed meanwhile is refused (STALE_VERSION); not needed for a note */
  version?: number;
  note?: string | null;
  /** close: true alarm or false alarm */
  outcome?: 'true' | 'false';
  /** assign (and optionally review / investigate): the user who takes the alert */
  assigneeId?: number | null;
}

/** What each action needs besides the version. */
const REQUIRES: Partial<Record<AlertAction, (i: ActInput) => string | null>> = {
  investigate: (i) => (i.note?.trim() ? null : 'note'),
  close: (i) => (!i.outcome ? 'outcome' : !i.note?.trim() ? 'note' : null),
  assign: (i) => (i.assigneeId ? null : 'assigneeId'),
  note: (i) => (i.note?.trim() ? null : 'note'),
};

async function assertAssignable(q: Queryable, userId: number) {
  const { rows } = await q.query("SELECT 1 FROM app_user WHERE id = $1 AND active AND roles && ARRAY['cdc_epidemiologist', 'investigator']::text[]", [userId]);
  if (!rows[0]) throw new AppError('VALIDATION_FAILED', { detail: 'an active CDC epidemiologist or investigator' }, 'assigneeId');
}

/**
 * Takes `action` on alert `id`. Illegal moves get INVALID_STATE naming the state; a stale version STALE_VERSION. Each
 * change is an alert_event and an alert.updated webhook; a note adds to the history without changing the alert.
 */
export async function act(q: Queryable, p: Principal, id: number, input: ActInput): Promise<AlertView> {
  assertCanRead(p);
  const { rows } = await q.query('SELECT * FROM alert WHERE id = $1 FOR UPDATE', [id]);
  const a = rows[0];
  if (!a) throw notFound('alert');
  if (input.action !== 'note' && !hasRole(p, ...ACTORS)) throw new AppError('FORBIDDEN');
  if (input.action !== 'note') {
    if (input.version === undefined) throw new AppError('VALIDATION_FAILED', { detail: 'version is required' }, 'version');
    if (input.version !== a.version) throw new AppError('STALE_VERSION', {}, 'version');
  }
  const from = a.state as AlertState;
  const to = nextState(from, input.action, input.outcome);
  if (!to) {
    const label = STATE_LABELS[from];
    throw new AppError('INVALID_STATE', { detail: { zh: `预警当前为「${label.zh}」，不能执行 ${input.action}`, en: `an alert that is ${label.en} cannot take ${input.action}` } }, 'action');
  }
  const missing = REQUIRES[input.action]?.(input);
  if (missing) throw new AppError('VALIDATION_FAILED', { detail: `${missing} is required to ${input.action}` }, missing);
  if (input.assigneeId) await assertAssignable(q, input.assigneeId);
  const note = input.note?.trim() || null;

  if (input.action !== 'note') {
    const set: string[] = ['state = $2', 'version = version + 1', 'updated_at = now()'];
    const values: unknown[] = [id, to];
    const assignee = input.assigneeId ?? (input.action === 'review' && !a.assignee_id ? p.userId : null);
    if (assignee) set.push(`assignee_id = $${values.push(assignee)}`);
    if (input.action === 'review') set.push('reviewed_at = now()');
    if (input.action === 'investigate') set.push('investigating_at = now()', 'reviewed_at = coalesce(reviewed_at, now())');
    if (input.action === 'close') set.push('closed_at = now()');
    await q.query(`UPDATE alert SET ${set.join(', ')} WHERE id = $1`, values);
  }
  const action = input.action === 'close' ? `close_${input.outcome}` : input.action;
  await q.query('INSERT INTO alert_event (alert_id, user_id, action, from_state, to_state, note) VALUES ($1, $2, $3, $4, $5, $6)', [id, p.userId, action, from, to, note]);
  const now = (await q.query('SELECT a.*, r.code AS rule_code FROM alert a JOIN fusion_rule r ON r.id = a.rule_id WHERE a.id = $1', [id])).rows[0];
  if (input.action === 'assign' && input.assigneeId !== p.userId) {
    await notifyUser(q, input.assigneeId!, { kind: 'alert.assigned', priority: PRIORITY[now.risk_level as RiskLevel], alertId: id, params: { alertId: id, by: p.displayName, risk: RISK_LABELS[now.risk_level as RiskLevel], syndrome: SYNDROME_LABELS[now.syndrome] ?? now.syndrome } });
  }
  await enqueue(q, await cdcInstitutions(q), 'alert.updated', { alert: webhookView(now, { ruleCode: now.rule_code, action }) });
  return (await listAlerts(q, p, { id, page: 1, pageSize: 1 })).items[0];
}

// ── 5. reads ──

export interface AlertView {
  id: number;
  version: number;
  state: AlertState;
  riskLevel: RiskLevel;
  syndrome: string;
  rule: { id: number; code: string; version: number; kind: RuleKind; name: string; nameEn: string };
  communities: { id: number; name: string; nameEn: string | null }[];
  firstDate: string;
  lastDate: string;
  sources: string[];
  signalCount: number;
  caseReportCount: number;
  diseaseCode: string | null;
  assignee: { id: number; name: string } | null;
  createdAt: string;
  updatedAt: string;
  reviewedAt: string | null;
  investigatingAt: string | null;
  closedAt: string | null;
  actions: AlertAction[];
}

export interface AlertFilter {
  id?: number;
  state?: AlertState[];
  risk?: RiskLevel[];
  syndrome?: string;
  regionId?: number;
  ruleCode?: string;
  assigneeId?: number;
  from?: string;
  to?: string;
  sort?: 'risk' | 'newest';
  page: number;
  pageSize: number;
}

const RISK_ORDER = "CASE a.risk_level WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END";
const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);

function viewOf(r: Row, p: Principal): AlertView {
  return {
    id: Number(r.id), version: r.version, state: r.state, riskLevel: r.risk_level, syndrome: r.syndrome,
    rule: { id: Number(r.rule_id), code: r.rule_code, version: r.rule_version, kind: r.rule_kind, name: r.rule_name, nameEn: r.rule_name_en },
    communities: (r.communities ?? []).map((c: Row) => ({ id: Number(c.id), name: c.name, nameEn: c.nameEn ?? null })),
    firstDate: r.first_date, lastDate: r.last_date, sources: r.source_codes, signalCount: r.signal_count, caseReportCount: r.case_report_count,
    diseaseCode: r.summary?.diseaseCode ?? null, assignee: r.assignee_id ? { id: Number(r.assignee_id), name: r.assignee_name } : null,
    createdAt: iso(r.created_at)!, updatedAt: iso(r.updated_at)!, reviewedAt: iso(r.reviewed_at), investigatingAt: iso(r.investigating_at), closedAt: iso(r.closed_at),
    actions: allowedActions(r.state, p),
  };
}

/** The inbox: filtered, highest risk then latest evidence first (or newest first), paged. */
export async function listAlerts(q: Queryable, p: Principal, f: AlertFilter): Promise<{ items: AlertView[]; total: number; page: number; pageSize: number }> {
  assertCanRead(p);
  const params = new Params();
  const where: string[] = [];
  if (f.id) where.push(`a.id = ${params.add(f.id)}`);
  if (f.state?.length) where.push(`a.state = ANY(${params.add(f.state)}::text[])`);
  if (f.risk?.length) where.push(`a.risk_level = ANY(${params.add(f.risk)}::text[])`);
  if (f.syndrome) where.push(`a.syndrome = ${params.add(f.syndrome)}`);
  if (f.ruleCode) where.push(`r.code = ${params.add(f.ruleCode)}`);
  if (f.assigneeId) where.push(`a.assignee_id = ${params.add(f.assigneeId)}`);
  if (f.from) where.push(`a.last_date >= ${params.add(f.from)}::date`);
  if (f.to) where.push(`a.first_date <= ${params.add(f.to)}::date`);
  if (f.regionId) {
    // a community, or a street (its communities), or the district (everything)
    const rid = params.add(f.regionId);
    where.push(`EXISTS (SELECT 1 FROM region c LEFT JOIN region s ON s.id = c.parent_id WHERE c.id = ANY(a.region_ids) AND (c.id = ${rid} OR c.parent_id = ${rid} OR s.parent_id = ${rid}))`);
  }
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const order = f.sort === 'newest' ? 'a.created_at DESC, a.id DESC' : `${RISK_ORDER} DESC, a.last_date DESC, a.id DESC`;
  const base = params.values.length;
  const { rows } = await q.query(
    `SELECT a.*, r.code AS rule_code, r.version AS rule_version, r.kind AS rule_kind,
            r.name AS rule_name, r.name_en AS rule_name_en, u.display_name AS assignee_name,
            (SELECT count(*)::int FROM alert_signal s WHERE s.alert_id = a.id) AS signal_count,
            (SELECT count(*)::int FROM alert_case_report c WHERE c.alert_id = a.id) AS case_report_count,
            (SELECT json_agg(json_build_object('id', g.id, 'name', g.name, 'nameEn', g.name_en) ORDER BY g.id) FROM region g WHERE g.id = ANY(a.region_ids)) AS communities
       FROM alert a JOIN fusion_rule r ON r.id = a.rule_id LEFT JOIN app_user u ON u.id = a.assignee_id
       ${clause} ORDER BY ${order} LIMIT $${base + 1} OFFSET $${base + 2}`,
    [...params.values, f.pageSize, (f.page - 1) * f.pageSize],
  );
  const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM alert a JOIN fusion_rule r ON r.id = a.rule_id ${clause}`, params.values);
  return { items: rows.map((r) => viewOf(r, p)), total: total.rows[0].n, page: f.page, pageSize: f.pageSize };
}

export interface SeriesPoint { date: string; value: number }
export interface SignalView {
  id: number;
  algorithm: string;
  source: { code: string; name: string; nameEn: string };
  category: { code: string; name: string; nameEn: string };
  syndrome: string;
  communityId: number;
  communityIds: number[];
  startDate: string;
  date: string;
  observed: number;
  expected: number | null;
  threshold: number | null;
  statistic: number | null;
  pValue: number | null;
  high: boolean;
  /** a sub-threshold score that supported the alert (a multi_source rule with supportP), not an alarm */
  support: boolean;
  /** the series (summed over the signal's communities) over the 8 weeks up to the signal, daily or weekly */
  series: { frequency: 'daily' | 'weekly'; points: SeriesPoint[]; alarms: { date: string; algorithm: string; observed: number; threshold: number | null }[] };
}

export interface AlertDetail extends AlertView {
  rule: AlertView['rule'] & { params: unknown; riskLevel: RiskLevel };
  /** a rule combining the sources' evidence (multi_source with maxCombinedP or minDays): the latest combination, else null */
  evidence: CombinedEvidence | null;
  signals: SignalView[];
  caseReports: { id: number; disease: { code: string; name: string; nameEn: string; class: string; managedAsA: boolean }; communityId: number; caseClass: string; diagnosedAt: string; reportedAt: string; late: boolean }[];
  events: { id: number; action: string; fromState: string | null; toState: string | null; at: string; note: string | null; user: { id: number; name: string } | null }[];
}

/** Weeks of series shown with each contributing signal. */
const SERIES_WEEKS = 8;

/**
 * A series' daily values summed over the communities, read as the epicurve reads them (feed-queries.ts): the feeds,
 * or for the run's `case_report` series (category = disease code) the cards by day of diagnosis in Beijing, as the run
 * counts them.
 */
async function dailySeries(q: Queryable, source: string, category: string, communities: number[], from: string, to: string): Promise<Map<string, number>> {
  const rows = await epicurvePoints(q, { from, to, by: 'category', sourceCodes: [source], regionIds: communities, caseReports: source === 'case_report' });
  const row = rows.find((r) => r.key === category);
  return new Map(row?.d.map((d, k) => [addDays(from, Number(d)), Number(row.v[k])]));
}

async function seriesOf(q: Queryable, s: Row): Promise<SignalView['series']> {
  const communities = (s.region_ids as unknown[]).map(Number);
  const weekly = s.algorithm === 'farringtonFlexible' || (s.algorithm !== 'stscan' && s.start_date !== s.on_date);
  const first = weekly ? addDays(s.start_date, -7 * (SERIES_WEEKS - 1)) : addDays(s.on_date, -(7 * SERIES_WEEKS - 1));
  const last = weekly ? addDays(s.start_date, 6) : s.on_date;
  const daily = await dailySeries(q, s.source_code, s.category_code, communities, first, last);
  const points: SeriesPoint[] = [];
  if (weekly) {
    for (let w = 0; w < SERIES_WEEKS; w++) {
      const start = addDays(first, 7 * w);
      let v = 0;
      for (let d = 0; d < 7; d++) v += daily.get(addDays(start, d)) ?? 0;
      points.push({ date: start, value: v });
    }
  } else {
    for (let d = first; d <= last; d = addDays(d, 1)) points.push({ date: d, value: daily.get(d) ?? 0 });
  }
  const alarms = await q.query(
    `SELECT on_date::text AS date, algorithm, observed, threshold FROM signal
      WHERE source_code = $1 AND category_code = $2 AND region_id = $3 AND on_date BETWEEN $4::date AND $5::date AND NOT support ORDER BY on_date, algorithm`,
    [s.source_code, s.category_code, s.region_id, first, last],
  );
  return {
    frequency: weekly ? 'weekly' : 'daily', points,
    alarms: alarms.rows.map((r) => ({ date: r.date, algorithm: r.algorithm, observed: Number(r.observed), threshold: r.threshold === null ? null : Number(r.threshold) })),
  };
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export async function getAlert(q: Queryable, p: Principal, id: number, audit: AuditContext): Promise<AlertDetail> {
  const view = (await listAlerts(q, p, { id, page: 1, pageSize: 1 })).items[0];
  if (!view) throw notFound('alert');
  const rule = (await q.query('SELECT params, risk_level FROM fusion_rule WHERE id = $1', [view.rule.id])).rows[0];
  const evidence = ((await q.query("SELECT summary->'evidence' AS evidence FROM alert WHERE id = $1", [id])).rows[0]?.evidence ?? null) as CombinedEvidence | null;
  const sig = await q.query(
    `SELECT s.*, src.name AS source_name, src.name_en AS source_name_en,
            cat.name AS category_name, cat.name_en AS category_name_en
       FROM alert_signal l JOIN signal s ON s.id = l.signal_id
       LEFT JOIN surveillance_source src ON src.code = s.source_code
       LEFT JOIN surveillance_category cat ON cat.source_code = s.source_code AND cat.code = s.category_code
      WHERE l.alert_id = $1 ORDER BY s.on_date, s.source_code, s.category_code, s.region_id, s.algorithm`,
    [id],
  );
  const signals: SignalView[] = [];
  for (const s of sig.rows) {
    signals.push({
      id: Number(s.id), algorithm: s.algorithm, source: { code: s.source_code, name: s.source_name ?? s.source_code, nameEn: s.source_name_en ?? s.source_code },
      category: { code: s.category_code, name: s.category_name ?? s.category_code, nameEn: s.category_name_en ?? s.category_code }, syndrome: s.syndrome,
      communityId: Number(s.region_id), communityIds: (s.region_ids as unknown[]).map(Number), startDate: s.start_date, date: s.on_date,
      observed: Number(s.observed), expected: num(s.expected), threshold: num(s.threshold), statistic: num(s.statistic), pValue: num(s.p_value), high: s.high, support: s.support,
      series: await seriesOf(q, s),
    });
  }
  const cr = await q.query(
    `SELECT cr.id, cr.resident_id, cr.disease_code, nd.name, nd.name_en, nd.class, nd.managed_as_a, cr.region_id, cr.case_class, cr.diagnosed_at, cr.reported_at, cr.late
       FROM alert_case_report l JOIN case_report cr ON cr.id = l.case_report_id JOIN notifiable_disease nd ON nd.code = cr.disease_code
      WHERE l.alert_id = $1 ORDER BY cr.diagnosed_at, cr.id`,
    [id],
  );
  // a case report is one person's diagnosis: shown without identity, and its reading audited
  await auditMany(q, audit, cr.rows.map((r) => ({ action: 'read', resourceType: 'CaseReport', resourceId: Number(r.id), residentId: num(r.resident_id), purpose: audit.purpose ?? 'alert review' })));
  const ev = await q.query(
    'SELECT e.id, e.action, e.from_state, e.to_state, e.at, e.note, e.user_id, u.display_name FROM alert_event e LEFT JOIN app_user u ON u.id = e.user_id WHERE e.alert_id = $1 ORDER BY e.id',
    [id],
  );
  return {
    ...view, rule: { ...view.rule, params: rule.params, riskLevel: rule.risk_level }, evidence, signals,
    caseReports: cr.rows.map((r) => ({
      id: Number(r.id), disease: { code: r.disease_code, name: r.name, nameEn: r.name_en, class: r.class, managedAsA: r.managed_as_a }, communityId: Number(r.region_id),
      caseClass: r.case_class, diagnosedAt: iso(r.diagnosed_at)!, reportedAt: iso(r.reported_at)!, late: r.late,
    })),
    events: ev.rows.map((e) => ({
      id: Number(e.id), action: e.action, fromState: e.from_state, toState: e.to_state, at: iso(e.at)!, note: e.note,
      user: e.user_id ? { id: Number(e.user_id), name: e.display_name } : null,
    })),
  };
}

// ── 6. fusion rules ──

export interface RuleView {
  id: number;
  code: string;
  version: number;
  name: string;
  nameEn: string;
  kind: RuleKind;
  params: unknown;
  riskLevel: RiskLevel;
  active: boolean;
  createdAt: string;
  createdBy: string | null;
}

const ruleView = (r: Row): RuleView => ({
  id: Number(r.id), code: r.code, version: r.version, name: r.name, nameEn: r.name_en, kind: r.kind, params: r.params, riskLevel: r.risk_level,
  active: r.active, createdAt: iso(r.created_at)!, createdBy: r.created_by_name ?? null,
});

const RULE_SQL = 'SELECT f.*, u.display_name AS created_by_name FROM fusion_rule f LEFT JOIN app_user u ON u.id = f.created_by';

/** Each rule's latest version (active or switched off), or with `history` every version. */
export async function listRules(q: Queryable, p: Principal, opts: { history?: boolean } = {}): Promise<RuleView[]> {
  assertCanRead(p);
  const { rows } = await q.query(
    opts.history
      ? `${RULE_SQL} ORDER BY f.code, f.version DESC`
      : `${RULE_SQL} WHERE f.version = (SELECT max(version) FROM fusion_rule x WHERE x.code = f.code) ORDER BY f.id`,
  );
  return rows.map(ruleView);
}

export interface RuleInput {
  /** the version the admin edited (STALE_VERSION when another edit came first); omitted for a new code */
  version?: number;
  kind?: RuleKind;
  name?: string;
  nameEn?: string;
  params: unknown;
  riskLevel: RiskLevel;
  active?: boolean;
}

/**
 * A district admin edits a rule: a new row with version + 1 (the old one deactivated), so every alert keeps naming the
 * exact rule it came from. A new code creates version 1 (kind and names required). Parameters are checked per kind.
 */
export async function putRule(q: Queryable, p: Principal, code: string, input: RuleInput): Promise<RuleView> {
  if (!hasRole(p, 'district_admin') || p.tokenInstitutionId !== null) throw new AppError('FORBIDDEN');
  const { rows } = await q.query('SELECT * FROM fusion_rule WHERE code = $1 ORDER BY version DESC LIMIT 1 FOR UPDATE', [code]);
  const cur = rows[0];
  if (cur && input.version === undefined) throw new AppError('VALIDATION_FAILED', { detail: 'version is required' }, 'version');
  if (cur && input.version !== cur.version) throw new AppError('STALE_VERSION', {}, 'version');
  if (!cur && input.version !== undefined) throw notFound('fusionRule');
  const kind = input.kind ?? cur?.kind;
  if (!kind || !(RULE_KINDS as readonly string[]).includes(kind)) throw new AppError('VALIDATION_FAILED', { detail: `kind is one of ${RULE_KINDS.join(', ')}` }, 'kind');
  if (cur && kind !== cur.kind) throw new AppError('VALIDATION_FAILED', { detail: `a rule keeps its kind (${cur.kind}); use a new code` }, 'kind');
  const name = input.name ?? cur?.name;
  const nameEn = input.nameEn ?? cur?.name_en;
  if (!name) throw new AppError('VALIDATION_FAILED', { detail: 'name is required' }, 'name');
  if (!nameEn) throw new AppError('VALIDATION_FAILED', { detail: 'nameEn is required' }, 'nameEn');
  if (!(RISK_LEVELS as readonly string[]).includes(input.riskLevel)) throw new AppError('VALIDATION_FAILED', { detail: `riskLevel is one of ${RISK_LEVELS.join(', ')}` }, 'riskLevel');
  const parsed = PARAMS_SCHEMA[kind as RuleKind].safeParse(input.params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys[0] : issue.path.join('.');
    throw new AppError('VALIDATION_FAILED', { detail: `${key}: ${issue.message}` }, `params.${key}`);
  }
  if (cur) await q.query('UPDATE fusion_rule SET active = false WHERE code = $1 AND active', [code]);
  const ins = await q.query(
    'INSERT INTO fusion_rule (code, version, name, name_en, kind, params, risk_level, active, created_by) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9) RETURNING id',
    [code, (cur?.version ?? 0) + 1, name, nameEn, kind, JSON.stringify(parsed.data), input.riskLevel, input.active ?? true, p.userId],
  );
  return ruleView((await q.query(`${RULE_SQL} WHERE f.id = $1`, [ins.rows[0].id])).rows[0]);
}

// ── 7. metrics ──

export interface AlertMetrics {
  closed: number;
  closedTrue: number;
  closedFalse: number;
  /** share of closed alerts that were true alarms (positive predictive value), null when none closed */
  truePositiveRate: number | null;
  /** hours from creation, median and mean over the closed alerts that passed through the step */
  hoursToReview: { median: number | null; mean: number | null };
  hoursToInvestigate: { median: number | null; mean: number | null };
  hoursToClose: { median: number | null; mean: number | null };
  byRule: { ruleCode: string; closed: number; closedTrue: number; closedFalse: number }[];
}

function stats(xs: number[]): { median: number | null; mean: number | null } {
  if (!xs.length) return { median: null, mean: null };
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const round = (v: number) => Math.round(v * 100) / 100;
  return { median: round(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2), mean: round(s.reduce((a, b) => a + b, 0) / s.length) };
}

/**
 * Response to alerts for the detection-quality work (and the console): for the alerts closed in [from, to] (local
 * dates, both optional), how many were true and false alarms, and the hours from creation to review, to investigation
 * and to closing.
 */
export async function alertMetrics(q: Queryable, opts: { from?: string; to?: string; ruleCode?: string } = {}): Promise<AlertMetrics> {
  const { rows } = await q.query(
    `SELECT a.state, r.code, extract(epoch FROM a.reviewed_at - a.created_at)::float8 / 3600 AS review,
            extract(epoch FROM a.investigating_at - a.created_at)::float8 / 3600 AS investigate, extract(epoch FROM a.closed_at - a.created_at)::float8 / 3600 AS close
       FROM alert a JOIN fusion_rule r ON r.id = a.rule_id
      WHERE a.state IN ('closed_true', 'closed_false')
        AND ($1::date IS NULL OR a.closed_at >= ($1::date)::timestamp AT TIME ZONE 'Asia/Shanghai')
        AND ($2::date IS NULL OR a.closed_at < ($2::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
        AND ($3::text IS NULL OR r.code = $3)`,
    [opts.from ?? null, opts.to ?? null, opts.ruleCode ?? null],
  );
  const pick = (k: string) => rows.map((r) => r[k]).filter((v): v is number => v !== null).map(Number);
  const closedTrue = rows.filter((r) => r.state === 'closed_true').length;
  const byRule = new Map<string, { ruleCode: string; closed: number; closedTrue: number; closedFalse: number }>();
  for (const r of rows) {
    const b = byRule.get(r.code) ?? { ruleCode: r.code, closed: 0, closedTrue: 0, closedFalse: 0 };
    b.closed++;
    if (r.state === 'closed_true') b.closedTrue++;
    else b.closedFalse++;
    byRule.set(r.code, b);
  }
  return {
    closed: rows.length, closedTrue, closedFalse: rows.length - closedTrue, truePositiveRate: rows.length ? closedTrue / rows.length : null,
    hoursToReview: stats(pick('review')), hoursToInvestigate: stats(pick('investigate')), hoursToClose: stats(pick('close')),
    byRule: [...byRule.values()].sort((a, b) => a.ruleCode.localeCompare(b.ruleCode)),
  };
}
