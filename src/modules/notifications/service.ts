// In-app notifications (站内通知): one row per recipient user, fanned out when sent, so each user reads and clears
// their own. Messages are rendered from the kind and its parameters in the reader's language; parameters never hold
// identity numbers (a resident is named by name only, which the recipient may see through the case itself).
import type { Queryable } from '../../db/engine.ts';
import type { Role } from '../../platform/roles.ts';
import { Params } from '../../platform/sql.ts';

export type Priority = 'normal' | 'high' | 'urgent';

export interface Notice {
  kind: string;
  priority?: Priority;
  referralId?: number | null;
  alertId?: number | null;
  params?: Record<string, string | number | null | { zh: string; en: string }>;
}

const MESSAGES: Record<string, { zh: string; en: string }> = {
  'referral.requested': { zh: '{source}转来{resident}的{urgency}转诊：{reason}', en: '{source} referred {resident} ({urgency}): {reason}' },
  'referral.accepted': { zh: '{target}已接收{resident}的转诊', en: '{target} accepted the referral of {resident}' },
  'referral.scheduled': { zh: '{resident}的转诊已预约：{appointment}', en: 'The referral of {resident} is booked for {appointment}' },
  'referral.rejected': { zh: '{target}拒绝了{resident}的转诊：{note}', en: '{target} rejected the referral of {resident}: {note}' },
  'referral.redirected': { zh: '{target}将{resident}的转诊改转至{redirectedTo}：{note}', en: '{target} redirected the referral of {resident} to {redirectedTo}: {note}' },
  'referral.arrived': { zh: '{resident}已到{target}就诊', en: '{resident} arrived at {target}' },
  'referral.completed': { zh: '{target}已完成{resident}的诊疗', en: '{target} completed the care of {resident}' },
  'referral.closed': { zh: '{target}已回传{resident}的诊疗结果，转诊闭环', en: '{target} returned the result summary of {resident}; the referral is closed' },
  'referral.cancelled': { zh: '{source}取消了{resident}的转诊：{note}', en: '{source} cancelled the referral of {resident}: {note}' },
  'referral.expired': { zh: '{resident}的转诊已过期：{note}', en: 'The referral of {resident} expired: {note}' },
  'referral.discharged': { zh: '{source}下转出院患者{resident}，请于 {due} 前完成随访', en: '{source} discharged {resident} to your care; follow up by {due}' },
  'referral.followed_up': { zh: '{target}已完成{resident}的出院随访', en: '{target} followed up {resident} after discharge' },
  'alert.created': { zh: '新{risk}预警 #{alertId}（{rule}）：{communities}，{syndrome}', en: 'New {risk} alert #{alertId} ({rule}): {syndrome} in {communities}' },
  'alert.escalated': { zh: '预警 #{alertId} 升级为{risk}（{rule}）：{communities}，{syndrome}', en: 'Alert #{alertId} rose to {risk} ({rule}): {syndrome} in {communities}' },
  'alert.assigned': { zh: '{by}将预警 #{alertId}（{risk}，{syndrome}）交由您处理', en: '{by} assigned alert #{alertId} ({risk}, {syndrome}) to you' },
  'referral.overdue': { zh: '{resident}的转诊已超时（{state}，期限 {due}），请督办', en: 'The referral of {resident} is overdue ({state}, due {due}); please see to it' },
  'chronic.overdue_lead': { zh: '超期未完成：{resident} — {task}（应于 {due} 完成），请督促团队处理', en: 'Overdue: {resident} — {task} (due {due}); please see that your team does it' },
  'chronic.overdue_admin': { zh: '超期升级督办：{resident} — {task}（应于 {due} 完成，{team}）仍未完成', en: 'Escalated: {resident} — {task} (due {due}, {team}) is still not done' },
};

export function render(kind: string, params: Record<string, unknown>, locale: 'zh-CN' | 'en'): string {
  const m = MESSAGES[kind];
  if (!m) return kind;
  const template = locale === 'en' ? m.en : m.zh;
  return template.replace(/\{(\w+)\}/g, (_, k) => {
    const v = params[k];
    if (v && typeof v === 'object') return String((v as Record<string, unknown>)[locale === 'en' ? 'en' : 'zh'] ?? '');
    return v === null || v === undefined ? '' : String(v);
  });
}

/** Sends to the active users of an institution who hold one of `roles` (and, when given, belong to `teamId`). */
export async function notifyInstitution(q: Queryable, institutionId: number, roles: Role[], n: Notice, teamId?: number | null): Promise<number> {
  const v = new Params();
  const { rowCount } = await q.query(notifyInstitutionSql(v, institutionId, roles, n, teamId), v.values);
  return rowCount;
}

/** Sends to the active users holding one of `roles` in the active institutions of a type (e.g. the district's CDC). */
export async function notifyInstitutionType(q: Queryable, institutionType: string, roles: Role[], n: Notice): Promise<number> {
  const { rowCount } = await q.query(
    `INSERT INTO notification (user_id, kind, priority, referral_id, alert_id, params)
     SELECT u.id, $3, $4, $5, $6, $7::jsonb FROM app_user u JOIN institution i ON i.id = u.institution_id
      WHERE i.type = $1 AND i.active AND u.roles && $2::text[] AND u.active`,
    [institutionType, roles, n.kind, n.priority ?? 'normal', n.referralId ?? null, n.alertId ?? null, JSON.stringify(n.params ?? {})],
  );
  return rowCount;
}

/**
 * notifyInstitution as SQL text, for a caller that folds it into a larger statement (a data-modifying CTE). `when`
 * is a condition the insert also needs, e.g. `EXISTS (SELECT 1 FROM gate)`.
 */
export function notifyInstitutionSql(v: Params, institutionId: number, roles: Role[], n: Notice, teamId?: number | null, when = 'TRUE'): string {
  const team = v.add(teamId ?? null);
  return `INSERT INTO notification (user_id, kind, priority, referral_id, alert_id, params)
     SELECT u.id, ${v.add(n.kind)}, ${v.add(n.priority ?? 'normal')}, ${v.add(n.referralId ?? null)}::bigint, ${v.add(n.alertId ?? null)}::bigint, ${v.add(JSON.stringify(n.params ?? {}))}::jsonb FROM app_user u
      WHERE u.institution_id = ${v.add(institutionId)} AND u.roles && ${v.add(roles)}::text[] AND u.active
        AND (${team}::bigint IS NULL OR u.team_id = ${team} OR NOT ('family_doctor' = ANY(u.roles) OR 'nurse' = ANY(u.roles))) AND ${when}`;
}

export async function notifyUser(q: Queryable, userId: number, n: Notice): Promise<void> {
  const v = new Params();
  await q.query(notifyUserSql(v, userId, n), v.values);
}

/** notifyUser as SQL text (see notifyInstitutionSql): nothing is sent to an inactive account. */
export function notifyUserSql(v: Params, userId: number, n: Notice, when = 'TRUE'): string {
  return `INSERT INTO notification (user_id, kind, priority, referral_id, alert_id, params)
     SELECT u.id, ${v.add(n.kind)}, ${v.add(n.priority ?? 'normal')}, ${v.add(n.referralId ?? null)}::bigint, ${v.add(n.alertId ?? null)}::bigint, ${v.add(JSON.stringify(n.params ?? {}))}::jsonb
       FROM app_user u WHERE u.id = ${v.add(userId)} AND u.active AND ${when}`;
}

export interface NotificationView {
  id: number;
  kind: string;
  priority: Priority;
  referralId: number | null;
  alertId: number | null;
  message: string;
  createdAt: string;
  readAt: string | null;
}

export async function listNotifications(q: Queryable, userId: number, opts: { unread?: boolean; page: number; pageSize: number; locale: 'zh-CN' | 'en' }) {
  const where = `user_id = $1${opts.unread ? ' AND read_at IS NULL' : ''}`;
  const { rows } = await q.query(
    `SELECT id, kind, priority, referral_id, alert_id, params, created_at, read_at FROM notification WHERE ${where} ORDER BY id DESC LIMIT $2 OFFSET $3`,
    [userId, opts.pageSize, (opts.page - 1) * opts.pageSize],
  );
  const counts = await q.query<{ total: number; unread: number }>(
    `SELECT (SELECT count(*)::int FROM notification WHERE ${where}) AS total, (SELECT count(*)::int FROM notification WHERE user_id = $1 AND read_at IS NULL) AS unread`,
    [userId],
  );
  const items: NotificationView[] = rows.map((r) => ({
    id: Number(r.id), kind: r.kind, priority: r.priority, referralId: r.referral_id === null ? null : Number(r.referral_id), alertId: r.alert_id === null ? null : Number(r.alert_id),
    message: render(r.kind, r.params ?? {}, opts.locale), createdAt: new Date(r.created_at).toISOString(), readAt: r.read_at ? new Date(r.read_at).toISOString() : null,
  }));
  return { items, total: counts.rows[0].total, unread: counts.rows[0].unread, page: opts.page, pageSize: opts.pageSize };
}

/** Marks the user's own notifications read (the given ids, or all); returns how many changed. */
export async function markRead(q: Queryable, userId: number, ids: number[] | 'all'): Promise<number> {
  const { rowCount } = ids === 'all'
    ? await q.query('UPDATE notification SET read_at = now() WHERE user_id = $1 AND read_at IS NULL', [userId])
    : await q.query('UPDATE notification SET read_at = now() WHERE user_id = $1 AND read_at IS NULL AND id = ANY($2::bigint[])', [userId, ids]);
  return rowCount;
}
