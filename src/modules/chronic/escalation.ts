// Escalation of overdue chronic-disease work (超期督办): an open follow-up, new-enrolment, danger-value, discharge or
// health-check follow-up task that is still open some hours after its due time is escalated to the team's lead GP
// (level 1), and if it is still open a further delay later, to the administrators of the owning centre (level 2). The
// delays are rule data per task code (chronic_escalation_rule) a district administrator edits.
//
// The job is idempotent and safe with concurrent runners: each level of a task is one row of task_escalation (its
// primary key), candidates are locked with FOR UPDATE SKIP LOCKED, and the notifications are sent from the rows the
// insert actually wrote — all in one statement per level, so a runner that loses a race sends nothing.
import type { Db, Queryable } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import type { PeriodicJob } from '../../platform/jobs.ts';
import { startPeriodicJob } from '../../platform/jobs.ts';
import { Params } from '../../platform/sql.ts';
import { OPEN_TASK_STATUSES, TASK_CODES } from './fusion.ts';

export const ELDERLY_CHECK_TASK = 'elderly-check-follow-up';
/** The task codes escalation may apply to (the rows of chronic_escalation_rule). */
export const ESCALATED_CODES = [TASK_CODES.followUp, TASK_CODES.enrolment, TASK_CODES.danger, TASK_CODES.discharge, ELDERLY_CHECK_TASK] as const;
export type EscalatedCode = (typeof ESCALATED_CODES)[number];

export interface EscalationRule { taskCode: EscalatedCode; leadAfterHours: number; adminAfterHours: number; active: boolean; updatedAt: string }

export async function escalationRules(q: Queryable): Promise<EscalationRule[]> {
  const { rows } = await q.query('SELECT task_code, lead_after_hours, admin_after_hours, active, updated_at FROM chronic_escalation_rule ORDER BY task_code');
  return rows.map((r) => ({ taskCode: r.task_code, leadAfterHours: Number(r.lead_after_hours), adminAfterHours: Number(r.admin_after_hours), active: r.active, updatedAt: new Date(r.updated_at).toISOString() }));
}

/** Changes one task code's delays (district administrator). */
export async function setEscalationRule(q: Queryable, code: string, input: { leadAfterHours: number; adminAfterHours: number; active?: boolean }, userId: number): Promise<EscalationRule> {
  if (!(ESCALATED_CODES as readonly string[]).includes(code)) throw Object.assign(new AppError('NOT_FOUND', { noun: 'escalationRule' }), { field: 'taskCode' });
  await q.query(
    `INSERT INTO chronic_escalation_rule (task_code, lead_after_hours, admin_after_hours, active, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (task_code) DO UPDATE SET lead_after_hours = EXCLUDED.lead_after_hours, admin_after_hours = EXCLUDED.admin_after_hours, active = EXCLUDED.active,
        updated_by = EXCLUDED.updated_by, updated_at = now()`,
    [code, input.leadAfterHours, input.adminAfterHours, input.active ?? true, userId],
  );
  return (await escalationRules(q)).find((r) => r.taskCode === code)!;
}

const BATCH = 500;
const LOCAL_TIME = `to_char(t.due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')`;

/**
 * Who hears of a level-1 escalation: the active users who are the lead GP (team_member.role = lead_gp) of the owning
 * team — or, for a contracting lead owned by a centre, of the centre's teams covering the resident's grid.
 */
const LEAD_USERS = `SELECT u.id FROM app_user u JOIN team_member m ON m.practitioner_id = u.practitioner_id AND m.role = 'lead_gp'
   WHERE u.active AND m.team_id IN (
     SELECT e.owner_team_id WHERE e.owner_team_id IS NOT NULL
     UNION ALL
     SELECT tm.id FROM team tm JOIN team_grid tg ON tg.team_id = tm.id
      WHERE e.owner_team_id IS NULL AND tm.institution_id = e.owner_institution_id AND tg.grid_id = (SELECT r.grid_id FROM resident r WHERE r.id = e.resident_id))`;
const ADMIN_USERS = `SELECT u.id FROM app_user u WHERE u.active AND u.institution_id = e.owner_institution_id AND 'institution_admin' = ANY(u.roles)`;

/** One level for a batch of tasks: lock the candidates, record the level once, notify from what was recorded. */
async function escalateLevel(db: Db, level: 1 | 2, now: Date): Promise<{ escalated: number; notified: number }> {
  const v = new Params();
  const at = v.add(now);
  const open = v.add(OPEN_TASK_STATUSES);
  const candidates = level === 1
    ? `SELECT t.id, t.resident_id, t.code, t.due_at, t.owner_institution_id, t.owner_team_id, t.description, x.lead_after_hours AS after_hours
         FROM task t JOIN chronic_escalation_rule x ON x.task_code = t.code AND x.active
        WHERE t.code = ANY(${v.add(ESCALATED_CODES)}::text[]) AND t.status = ANY(${open}::text[])
          AND t.due_at <= ${at}::timestamptz - make_interval(hours => x.lead_after_hours)
          AND NOT EXISTS (SELECT 1 FROM task_escalation te WHERE te.task_id = t.id AND te.level = 1)
        ORDER BY t.due_at LIMIT ${BATCH} FOR UPDATE OF t SKIP LOCKED`
    : `SELECT t.id, t.resident_id, t.code, t.due_at, t.owner_institution_id, t.owner_team_id, t.description, x.admin_after_hours AS after_hours
         FROM task_escalation l1 JOIN task t ON t.id = l1.task_id JOIN chronic_escalation_rule x ON x.task_code = t.code AND x.active
        WHERE l1.level = 1 AND l1.escalated_at <= ${at}::timestamptz - make_interval(hours => x.admin_after_hours) AND t.status = ANY(${open}::text[])
          AND NOT EXISTS (SELECT 1 FROM task_escalation te WHERE te.task_id = t.id AND te.level = 2)
        ORDER BY l1.escalated_at LIMIT ${BATCH} FOR UPDATE OF t SKIP LOCKED`;
  const kind = v.add(level === 1 ? 'chronic.overdue_lead' : 'chronic.overdue_admin');
  const priority = v.add(level === 1 ? 'high' : 'urgent');
  const { rows } = await db.tx((q) => q.query<{ escalated: number; notified: number }>(
    `WITH c AS (${candidates}),
     e AS (
       INSERT INTO task_escalation (task_id, level, resident_id, task_code, due_at, after_hours, owner_institution_id, owner_team_id, escalated_at)
       SELECT id, ${level}, resident_id, code, due_at, after_hours, owner_institution_id, owner_team_id, ${at} FROM c
       ON CONFLICT (task_id, level) DO NOTHING
       RETURNING task_id, resident_id, owner_institution_id, owner_team_id),
     n AS (
       INSERT INTO notification (user_id, kind, priority, params)
       SELECT DISTINCT ON (e.task_id, u.id) u.id, ${kind}, ${priority},
              jsonb_build_object('taskId', t.id, 'resident', (SELECT r.name FROM resident r WHERE r.id = t.resident_id), 'task', t.description,
                                 'due', ${LOCAL_TIME}, 'team', (SELECT tm.name FROM team tm WHERE tm.id = t.owner_team_id), 'level', ${level})
         FROM e JOIN c t ON t.id = e.task_id
         CROSS JOIN LATERAL (${level === 1 ? LEAD_USERS : ADMIN_USERS}) u
       RETURNING id)
     SELECT (SELECT count(*)::int FROM e) AS escalated, (SELECT count(*)::int FROM n) AS notified`,
    v.values,
  ));
  return rows[0];
}

/**
 * Escalates what is overdue at `now`: level 1 first, then level 2 (a task reaches level 2 only a full
 * admin_after_hours after its level 1, however late the job ran). Batches until nothing is left.
 */
export async function runEscalations(db: Db, now = new Date()): Promise<{ lead: number; admin: number; notified: number }> {
  const out = { lead: 0, admin: 0, notified: 0 };
  for (const level of [1, 2] as const) {
    for (;;) {
      const r = await escalateLevel(db, level, now);
      if (level === 1) out.lead += r.escalated;
      else out.admin += r.escalated;
      out.notified += r.notified;
      if (r.escalated < BATCH) break;
    }
  }
  return out;
}

/** Runs the escalation job every `intervalMs` (and once at once). */
export function startEscalationJob(db: Db, onError: (err: unknown) => void, intervalMs = 300_000): PeriodicJob {
  return startPeriodicJob(() => runEscalations(db), onError, intervalMs);
}
