// A family doctor's worklist for a day (工作清单): the open chronic-disease tasks of the team — follow-ups due that day
// or overdue, new enrolments, danger values from any institution, discharges to follow (including downward referrals'
// follow-ups) — and the team's contracts due for renewal, with the resident's last readings and medications
// pre-filled for the follow-up form. Urgent work first, then overdue, then by due date. Elderly residents due for
// their annual health check are computed from their ages (modules/elderly), not stored as tasks; each task shows how
// far an overdue one has been escalated (modules/chronic/escalation.ts).
import type { Row } from '../../db/engine.ts';
import { residentScopeSql } from '../../platform/access.ts';
import { auditCte } from '../../platform/audit.ts';
import { AppError } from '../../platform/errors.ts';
import { hasRole } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import { ageOn } from '../residents/service.ts';
import { LEAD_EXTENSION, OPEN_TASK_STATUSES, TASK_CODES } from '../chronic/fusion.ts';
import { lastMedications, lastReadings, type Readings } from '../chronic/readings.ts';
import { settings } from '../chronic/programmes.ts';
import type { Ctx } from './contracts.ts';
import { ELDERLY_CHECK_TASK } from '../chronic/escalation.ts';
import { currentCheckRules, dueChecksSql } from '../elderly/checks.ts';
import { districtDate } from '../../platform/local-date.ts';

/** The count of a worklist stops here (as the referral inbox's): `total` is then the cap and `totalCapped` true. */
export const COUNT_CAP = 10_000;

export const WORK_KINDS = ['follow_up', 'enrolment', 'danger', 'discharge', 'renewal', 'elderly_check', 'check_follow_up'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];
const KIND_OF_CODE: Record<string, WorkKind> = { [TASK_CODES.followUp]: 'follow_up', [TASK_CODES.enrolment]: 'enrolment', [TASK_CODES.danger]: 'danger', [TASK_CODES.discharge]: 'discharge', [ELDERLY_CHECK_TASK]: 'check_follow_up' };
const CODE_OF_KIND = Object.fromEntries(Object.entries(KIND_OF_CODE).map(([c, k]) => [k, c])) as Record<WorkKind, string>;

export interface WorklistFilter {
  date?: string;
  teamId?: number;
  gridId?: number;
  programme?: string;
  priority?: 'urgent' | 'routine';
  kind?: WorkKind;
  /** Only tasks escalated to at least this level (1: the team lead, 2: the centre's administrator). */
  escalation?: 1 | 2;
  page: number;
  pageSize: number;
}

/** Beijing midnight starting `date` (YYYY-MM-DD), and the next. */
function dayBounds(date: string): [Date, Date] {
  const start = new Date(`${date}T00:00:00+08:00`);
  return [start, new Date(start.getTime() + 86_400_000)];
}

export async function worklist(c: Ctx, f: WorklistFilter) {
  const p = c.principal;
  const s = await settings(c.q);
  const date = f.date ?? districtDate();
  const [dayStart, dayEnd] = dayBounds(date);
  if (Number.isNaN(dayStart.getTime())) throw new AppError('VALIDATION_FAILED', { detail: 'date' }, 'date');
  const v = new Params();
  // whose work: a team member's team (and the centre's contracting leads in the team's grids), a centre's teams, all.
  // Parameters are added where they are used: a part left out of the query adds none. `leadTasks`: the centre's open
  // contracting-lead tasks (no team; task_lead_open_idx) and the residents' grids they are kept to (the team's).
  let taskOwner: () => string;
  let leadTasks: { owner: () => string; grids: () => string } | null = null;
  let contractOwner: () => string;
  let leadGrids: (() => string) | null;
  // whether the lead parts' grid predicate implies the caller's resident scope (a team member's scope holds the
  // team's grids), so their rows need no scope check of their own
  let leadsInScope = false;
  const own = p.tokenInstitutionId ?? p.institutionId;
  if (hasRole(p, 'district_admin')) {
    taskOwner = () => (f.teamId ? `t.owner_team_id = ${v.add(f.teamId)}` : 'TRUE');
    contractOwner = () => (f.teamId ? `c.team_id = ${v.add(f.teamId)}` : 'TRUE');
    leadGrids = f.teamId ? null : () => 'TRUE';
  } else if (hasRole(p, 'family_doctor', 'nurse') && p.teamId) {
    if (f.teamId && f.teamId !== p.teamId) throw new AppError('FORBIDDEN');
    const teamId = p.teamId;
    const teamGrids = () => `r.grid_id IN (SELECT tg.grid_id FROM team_grid tg WHERE tg.team_id = ${v.add(teamId)})`;
    taskOwner = () => `t.owner_team_id = ${v.add(teamId)}`;
    if (own) leadTasks = { owner: () => `t.owner_team_id IS NULL AND t.owner_institution_id = ${v.add(own)}::bigint`, grids: teamGrids };
    contractOwner = () => `c.team_id = ${v.add(teamId)}`;
    leadGrids = teamGrids;
    leadsInScope = p.scope.all || p.scope.teamIds.includes(teamId);
  } else if (hasRole(p, 'institution_admin') && own) {
    taskOwner = () => `t.owner_institution_id = ${v.add(own)}${f.teamId ? ` AND t.owner_team_id = ${v.add(f.teamId)}` : ''}`;
    contractOwner = () => `c.institution_id = ${v.add(own)}${f.teamId ? ` AND c.team_id = ${v.add(f.teamId)}` : ''}`;
    leadGrids = f.teamId ? null : () => `r.grid_id IN (SELECT tg.grid_id FROM team_grid tg JOIN team tm ON tm.id = tg.team_id WHERE tm.institution_id = ${v.add(own)})`;
  } else throw new AppError('FORBIDDEN');
  const filterSql = (scoped: boolean) => () => {
    const parts = scoped ? ['TRUE'] : [residentScopeSql(p, v, 'r')];
    if (f.gridId) parts.push(`r.grid_id = ${v.add(f.gridId)}`);
    if (f.programme) parts.push(`EXISTS (SELECT 1 FROM chronic_enrolment e WHERE e.resident_id = r.id AND e.status = 'active' AND e.programme_code = ${v.add(f.programme)})`);
    return parts.join(' AND ');
  };
  const residentFilter = filterSql(false);
  const leadFilter = filterSql(leadsInScope);
  const codes = f.kind ? (CODE_OF_KIND[f.kind] ? [CODE_OF_KIND[f.kind]] : []) : Object.keys(KIND_OF_CODE);
  const parts: string[] = [];
  const ctes: string[] = [];
  // scheduled follow-ups appear from their due day; new enrolments, danger values and discharges at once
  if (codes.length) {
    const taskWhere = () => `t.code = ANY(${v.add(codes)}::text[]) AND t.status = ANY(${v.add(OPEN_TASK_STATUSES)}::text[])
       AND (t.code <> '${TASK_CODES.followUp}' OR t.due_at < ${v.add(dayEnd)}::timestamptz)
       ${f.priority ? `AND (t.priority IN ('urgent', 'asap', 'stat')) = ${f.priority === 'urgent' ? 'TRUE' : 'FALSE'}` : ''}
       ${f.escalation ? `AND EXISTS (SELECT 1 FROM task_escalation te WHERE te.task_id = t.id AND te.level >= ${v.add(f.escalation)}::int)` : ''}`;
    const tasks = (from: string, where: string) => `SELECT 'task' AS src, t.id, t.code, t.priority, t.status, t.due_at, t.description, t.resident_id, t.institution_id AS source_institution_id,
        t.focus_type, t.focus_id, t.owner_team_id, t.extra, NULL::date AS end_date, NULL::bigint AS contract_id
      FROM ${from} t JOIN resident r ON r.id = t.resident_id WHERE ${where}`;
    parts.push(tasks('task', `${taskWhere()} AND ${taskOwner()} AND ${residentFilter()}`));
    // the centre's lead tasks first, then their residents' grids: the planner would rather walk every resident of the
    // team's grids and probe each one's tasks (several times the pages read)
    if (leadTasks) {
      ctes.push(`lead_task AS MATERIALIZED (SELECT t.* FROM task t WHERE ${taskWhere()} AND ${leadTasks.owner()})`);
      parts.push(tasks('lead_task', `${leadTasks.grids()} AND ${leadFilter()}`));
    }
  }
  if ((!f.kind || f.kind === 'elderly_check') && f.priority !== 'urgent' && !f.escalation) {
    const { rules } = await currentCheckRules(c.q);
    parts.push(dueChecksSql(v, { day: date, ageFrom: rules.ageFrom, contracted: contractOwner, leads: leadGrids, residentFilter, leadFilter }));
  }
  if ((!f.kind || f.kind === 'renewal') && f.priority !== 'urgent' && !f.escalation) {
    const day = `(${v.add(dayStart)}::timestamptz AT TIME ZONE 'Asia/Shanghai')::date`;
    parts.push(`SELECT 'contract' AS src, NULL::bigint AS id, 'contract-renewal' AS code, 'routine' AS priority, c.status, (c.end_date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' AS due_at,
        NULL::text AS description, c.resident_id, c.institution_id AS source_institution_id, 'Contract' AS focus_type, c.id AS focus_id, c.team_id AS owner_team_id,
        NULL::jsonb AS extra, c.end_date, c.id AS contract_id
      FROM contract c JOIN resident r ON r.id = c.resident_id
     WHERE c.status = 'active' AND c.end_date >= ${day} AND c.end_date < ${day} + ${v.add(s.renewalNoticeDays)}::int
       AND ${contractOwner()} AND ${residentFilter()}`);
  }
  if (!parts.length) return { date, items: [], total: 0, totalCapped: false, page: f.page, pageSize: f.pageSize };
  const startP = v.add(dayStart);
  // the resident last: the elderly due for their check have neither a task nor a contract id, so pages stay disjoint
  const order = `(w.priority IN ('urgent', 'asap', 'stat')) DESC, (w.due_at < ${startP}::timestamptz) DESC, w.due_at NULLS LAST, w.id NULLS LAST, w.contract_id, w.resident_id`;
  // Each part is driven by an owner index (the team's tasks, the centre's lead tasks, the team's contracts, the
  // residents of the team's grids by age) and checks its rows' residents by primary key: the planner, seeing the
  // resident scope's OR, would rather scan every resident of the district (a merge join in resident order) — so hash
  // and merge joins are off for this transaction, and so are JIT (compiling the union's expressions cost more than
  // running it) and parallel workers (a few thousand rows: starting workers costs more than it saves, and the cores
  // serve other requests). One statement: the union once (materialised), the page from it with the names joined for
  // its rows only, the count (capped, as the referral inbox's), and the audit of the residents shown.
  await c.q.query("SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)");
  const { rows } = await c.q.query(
    `WITH ${ctes.map((x) => `${x},\n`).join('')} w AS MATERIALIZED (${parts.join('\n UNION ALL \n')}),
     page AS (
       SELECT w.*, rr.name, rr.sex, rr.birth_date, rr.grid_id, g.name AS grid_name, i.name AS source_name, tm.name AS team_name,
              (SELECT array_agg(e.programme_code ORDER BY e.programme_code) FROM chronic_enrolment e WHERE e.resident_id = w.resident_id AND e.status = 'active') AS programmes,
              esc.level AS escalation_level, esc.escalated_at,
              (SELECT sum(CASE cl.kind WHEN 'redeem' THEN -cl.count ELSE cl.count END) FROM coupon_ledger cl WHERE cl.resident_id = w.resident_id AND cl.year = ${v.add(Number(date.slice(0, 4)))}::int) AS coupon_balance
         FROM (SELECT * FROM w ORDER BY ${order} LIMIT ${v.add(f.pageSize)} OFFSET ${v.add((f.page - 1) * f.pageSize)}) w
         JOIN resident rr ON rr.id = w.resident_id LEFT JOIN region g ON g.id = rr.grid_id
         LEFT JOIN LATERAL (SELECT te.level, te.escalated_at FROM task_escalation te WHERE w.src = 'task' AND te.task_id = w.id ORDER BY te.level DESC LIMIT 1) esc ON TRUE
         LEFT JOIN institution i ON i.id = w.source_institution_id LEFT JOIN team tm ON tm.id = w.owner_team_id),
     shown AS (SELECT DISTINCT resident_id AS id FROM page),
     au AS (${auditCte(v, c.audit, 'list', 'shown', 'Worklist')})
     SELECT n.total_n, w.* FROM (SELECT count(*)::int AS total_n FROM (SELECT 1 FROM w LIMIT ${COUNT_CAP + 1}) x) n
       LEFT JOIN page w ON TRUE
      ORDER BY ${order}`,
    v.values,
  );
  const n = Number(rows[0].total_n);
  const page = rows.filter((r) => r.src !== null);
  const residentIds = [...new Set(page.map((r) => Number(r.resident_id)))];
  const [readings, meds] = await Promise.all([lastReadings(c.q, residentIds), lastMedications(c.q, residentIds)]);
  return {
    date,
    items: page.map((r) => item(r, dayStart, readings.get(Number(r.resident_id)) ?? null, meds.get(Number(r.resident_id)) ?? [])),
    total: Math.min(n, COUNT_CAP), totalCapped: n > COUNT_CAP, page: f.page, pageSize: f.pageSize,
  };
}

function item(r: Row, dayStart: Date, readings: Readings | null, medications: { name: string; dose: string | null }[]) {
  const kind: WorkKind = r.src === 'contract' ? 'renewal' : r.src === 'elderly' ? 'elderly_check' : KIND_OF_CODE[r.code];
  const due = r.due_at ? new Date(r.due_at) : null;
  const lead = Array.isArray(r.extra?.extension) && r.extra.extension.some((x: { url?: string }) => x.url === LEAD_EXTENSION);
  return {
    kind, taskId: r.src === 'task' ? Number(r.id) : null, contractId: r.contract_id === null ? null : Number(r.contract_id),
    priority: (r.priority ?? 'routine') as string, status: r.status as string, dueAt: due ? due.toISOString() : null, overdue: !!due && due < dayStart,
    description: r.description ?? null, focus: r.focus_type && r.focus_id ? `${r.focus_type}/${r.focus_id}` : null,
    programmes: (r.programmes ?? []) as string[], contractingLead: lead,
    team: r.owner_team_id ? { id: Number(r.owner_team_id), name: r.team_name as string } : null,
    source: r.source_institution_id ? { institutionId: Number(r.source_institution_id), institutionName: r.source_name as string } : null,
    contractEndDate: r.end_date ?? null,
    escalationLevel: r.escalation_level === null || r.escalation_level === undefined ? 0 : Number(r.escalation_level),
    escalatedAt: r.escalated_at ? new Date(r.escalated_at).toISOString() : null,
    resident: { id: Number(r.resident_id), name: r.name as string, sex: r.sex as string, age: ageOn(r.birth_date), gridId: r.grid_id === null ? null : Number(r.grid_id), gridName: r.grid_name ?? null },
    lastReadings: readings, medications, couponBalance: r.coupon_balance === null ? null : Number(r.coupon_balance),
  };
}
