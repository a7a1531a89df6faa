// The referral state machine (双向转诊闭环). Pure: which action leads from which state to which, which side may take
// it, and how each state shows in FHIR. The service (cases.ts) applies it; nothing else decides a transition.
//
//   requested ─accept→ accepted ─schedule→ scheduled ─arrive→ arrived ─complete→ completed ─return-summary→ closed
//       │  └─(accept with a booked slot)──────────↗          │                       └─(complete with the summary)─↗
//       ├─reject→ rejected     ├─redirect→ redirected (a new case goes to the other institution)
//       ├─cancel→ cancelled    └─expire→ expired (deadline job; a scheduled case whose patient never came: no-show)
//   downward: requested ─accept→ accepted ─follow-up→ closed (the community team's follow-up closes the loop)

export const STATES = ['requested', 'accepted', 'rejected', 'redirected', 'scheduled', 'arrived', 'completed', 'closed', 'cancelled', 'expired'] as const;
export type ReferralState = (typeof STATES)[number];
export const OPEN_STATES: ReferralState[] = ['requested', 'accepted', 'scheduled', 'arrived', 'completed'];
export const URGENCIES = ['routine', 'urgent', 'green_channel'] as const;
export type Urgency = (typeof URGENCIES)[number];
export type Direction = 'up' | 'down';

export const ACTIONS = ['accept', 'reject', 'redirect', 'schedule', 'arrive', 'complete', 'return-summary', 'cancel', 'no-show', 'follow-up', 'expire'] as const;
export type Action = (typeof ACTIONS)[number];
/** The actions a person takes (expiry is the deadline job's). */
export type UserAction = Exclude<Action, 'expire'>;

/** Who takes an action: the sending side, the receiving side, or the deadline job. */
export type Side = 'source' | 'target' | 'system';

interface Transition {
  from: readonly ReferralState[];
  to: ReferralState;
  side: readonly Side[];
  directions: readonly Direction[];
}

const BOTH: Direction[] = ['up', 'down'];

export const TRANSITIONS: Record<Action, Transition> = {
  accept: { from: ['requested'], to: 'accepted', side: ['target'], directions: BOTH },
  reject: { from: ['requested'], to: 'rejected', side: ['target'], directions: ['up'] },
  redirect: { from: ['requested', 'accepted'], to: 'redirected', side: ['target'], directions: ['up'] },
  // the desk books (or moves) the appointment; the referring doctor may book while the case waits for the desk
  schedule: { from: ['requested', 'accepted', 'scheduled'], to: 'scheduled', side: ['target', 'source'], directions: ['up'] },
  arrive: { from: ['accepted', 'scheduled'], to: 'arrived', side: ['target'], directions: ['up'] },
  complete: { from: ['arrived'], to: 'completed', side: ['target'], directions: ['up'] },
  'return-summary': { from: ['completed'], to: 'closed', side: ['target'], directions: ['up'] },
  cancel: { from: ['requested', 'accepted', 'scheduled'], to: 'cancelled', side: ['source'], directions: BOTH },
  'no-show': { from: ['scheduled'], to: 'expired', side: ['target', 'system'], directions: ['up'] },
  'follow-up': { from: ['requested', 'accepted'], to: 'closed', side: ['target'], directions: ['down'] },
  expire: { from: ['requested', 'accepted', 'scheduled'], to: 'expired', side: ['system'], directions: BOTH },
};

export type Verdict = { ok: true; to: ReferralState } | { ok: false; reason: 'state' | 'side' | 'direction' };

/**
 * Where `action` leads from `state`, or why it may not be taken. A case that the referring doctor booked while it
 * waited stays `requested` until the desk accepts it, and then goes straight to `scheduled`.
 */
export function next(state: ReferralState, action: Action, side: Side, direction: Direction, opts: { hasAppointment?: boolean } = {}): Verdict {
  const t = TRANSITIONS[action];
  if (!t.directions.includes(direction)) return { ok: false, reason: 'direction' };
  if (!t.from.includes(state)) return { ok: false, reason: 'state' };
  if (!t.side.includes(side)) return { ok: false, reason: 'side' };
  if (action === 'accept' && opts.hasAppointment) return { ok: true, to: 'scheduled' };
  if (action === 'schedule' && state === 'requested') return { ok: true, to: 'requested' };
  return { ok: true, to: t.to };
}

/** The actions `side` may take on a case now (the console shows these as buttons). */
export function allowedActions(state: ReferralState, side: Side, direction: Direction): UserAction[] {
  return ACTIONS.filter((a): a is UserAction => a !== 'expire' && next(state, a, side, direction).ok);
}

// ── FHIR mirror ──

/** Task.status for each state; the state itself is Task.businessStatus. */
export const TASK_STATUS: Record<ReferralState, string> = {
  requested: 'requested', accepted: 'accepted', rejected: 'rejected', redirected: 'rejected', scheduled: 'ready',
  arrived: 'in-progress', completed: 'completed', closed: 'completed', cancelled: 'cancelled', expired: 'failed',
};

/** ServiceRequest.status for each state: the order is active while the case is open. */
export function serviceRequestStatus(state: ReferralState): 'active' | 'completed' | 'revoked' {
  if (state === 'completed' || state === 'closed') return 'completed';
  return OPEN_STATES.includes(state) ? 'active' : 'revoked';
}

/** The action a FHIR client asks for by writing Task.status (null: that status cannot be written). */
export function actionForTaskStatus(current: ReferralState, status: string, direction: Direction): Action | null {
  switch (status) {
    case 'accepted': return 'accept';
    case 'rejected': return 'reject';
    case 'in-progress': return 'arrive';
    case 'completed': return direction === 'down' ? 'follow-up' : current === 'completed' ? 'return-summary' : 'complete';
    case 'cancelled': return 'cancel';
    default: return null;
  }
}

/** FHIR Task/ServiceRequest priority of an urgency (green channel is `stat`). */
export const PRIORITY: Record<Urgency, string> = { routine: 'routine', urgent: 'urgent', green_channel: 'stat' };

export const STATE_LABELS: Record<ReferralState, { zh: string; en: string }> = {
  requested: { zh: '待接收', en: 'Requested' }, accepted: { zh: '已接收', en: 'Accepted' }, rejected: { zh: '已拒绝', en: 'Rejected' },
  redirected: { zh: '已改转', en: 'Redirected' }, scheduled: { zh: '已预约', en: 'Scheduled' }, arrived: { zh: '已到诊', en: 'Arrived' },
  completed: { zh: '诊疗完成', en: 'Completed' }, closed: { zh: '已闭环', en: 'Closed' }, cancelled: { zh: '已取消', en: 'Cancelled' }, expired: { zh: '已过期', en: 'Expired' },
};

// ── the API's shape of a case (the console imports these types, so this module imports nothing) ──

export interface ReferralView {
  id: number;
  version: number;
  direction: Direction;
  urgency: Urgency;
  state: ReferralState;
  stateReason: string | null;
  resident: { id: number; name: string; sex: string; birthDate: string; idNumberMasked: string | null };
  source: { institutionId: number; institutionName: string; practitionerId: number | null; practitionerName: string | null };
  target: { institutionId: number; institutionName: string; department: string | null; teamId: number | null; teamName: string | null };
  reason: string;
  diagnosis: { code: string; display: string | null } | null;
  summary: string | null;
  attachments: { type: string; id: number }[];
  medications: { name: string; dose?: string | null }[] | null;
  followUpPlan: string | null;
  appointment: { id: number; slotId: number | null; start: string | null; status: string } | null;
  serviceRequestId: number;
  taskId: number;
  redirectedFrom: number | null;
  redirectedTo: number | null;
  dueAt: string | null;
  expiresAt: string | null;
  overdue: boolean;
  escalatedAt: string | null;
  requestedAt: string;
  respondedAt: string | null;
  scheduledAt: string | null;
  arrivedAt: string | null;
  completedAt: string | null;
  closedAt: string | null;
  endedAt: string | null;
  resultSummary: string | null;
  resultDocumentId: number | null;
  followUpDueAt: string | null;
  followedUpAt: string | null;
  followUpNote: string | null;
  /** what the caller may do now (the console shows one button per action) */
  side: Side | null;
  actions: UserAction[];
}

export interface ReferralEventView {
  action: string;
  fromState: ReferralState | null;
  toState: ReferralState;
  at: string;
  note: string | null;
  user: string | null;
}

export interface ReferralDetail extends ReferralView {
  events: ReferralEventView[];
}
