// Work and booking: Task (work items for an institution or a team), Schedule and Slot (specialist clinics and the
// places they open, some reserved for primary care), Appointment (a resident booked into a slot, usually on a
// referral's ServiceRequest). Schedules and slots carry no personal data; tasks and appointments are scoped like
// every record of a resident.
import type { Row } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import { EXT, SYSTEM, array, bool, clean, code, codeable, concept, dateTime, extensionsOf, extraOf, identifierKey, instant, invalid, object, parseReference, ref, required, str, type Json, type ParsedReference } from '../datatypes.ts';
import { dateParam, referenceParam, specialParam, stringParam, tokenParam, or } from '../search.ts';
import type { ResourceKind, SearchParam, WriteContext } from '../types.ts';
import { CLINICAL_WRITERS, head, identifierParam, owningInstitution, personIncludes, personParams } from './common.ts';
import { DEFAULT_RELEASE_HOURS, RESERVATION_IN_FORCE_SQL, bookSlot, reservationInForce } from './booking.ts';

/** Who runs clinics and opens their places: the institution's administrators, referral desks and specialists. */
const SCHEDULERS = ['district_admin', 'institution_admin', 'referral_desk', 'specialist'] as const;

/** Every type the facade serves: what a Task may be about. */
const FOCUS_TYPES = ['Patient', 'Organization', 'Location', 'Practitioner', 'PractitionerRole', 'CareTeam', 'Encounter', 'Condition', 'Observation', 'DiagnosticReport', 'MedicationRequest', 'AllergyIntolerance', 'Immunization', 'ServiceRequest', 'Task', 'Schedule', 'Slot', 'Appointment', 'DocumentReference', 'EpisodeOfCare'];

// ── Task ──

const TASK_STATUSES = ['draft', 'requested', 'received', 'accepted', 'rejected', 'ready', 'cancelled', 'in-progress', 'on-hold', 'failed', 'completed', 'entered-in-error'] as const;
const TASK_INTENTS = ['unknown', 'proposal', 'plan', 'order', 'original-order', 'reflex-order', 'filler-order', 'instance-order', 'option'] as const;
const PRIORITIES = ['routine', 'urgent', 'asap', 'stat'] as const;
// FHIR's own task codes (http://hl7.org/fhir/CodeSystem/task-code); other codes are CareGrid's work kinds
const FHIR_TASK_CODE_SYSTEM = 'http://hl7.org/fhir/CodeSystem/task-code';
const FHIR_TASK_CODES = ['approve', 'fulfill', 'abort', 'replace', 'change', 'suspend', 'resume'];
const TASK_MODELLED = ['identifier', 'status', 'intent', 'priority', 'code', 'description', 'focus', 'for', 'owner', 'requester', 'authoredOn', 'executionPeriod'];

/** The requesting institution: unchanged on an update that names it again (the owner may be the one writing). */
async function taskRequester(ctx: WriteContext, named: ParsedReference | null, existing: Row | null): Promise<number> {
  if (existing && (!named || (named.type === 'Organization' && named.id === Number(existing.institution_id)))) return Number(existing.institution_id);
  return owningInstitution(ctx, named, 'Task.requester', existing);
}

type TaskWriteHook = (values: Record<string, unknown>, ctx: WriteContext, existing: Row | null) => Promise<void>;
const taskWriteHooks: TaskWriteHook[] = [];
/** Lets a module own some tasks (a referral's Task follows its case): hooks run before every Task write. */
export function registerTaskWriteHook(hook: TaskWriteHook): void {
  if (!taskWriteHooks.includes(hook)) taskWriteHooks.push(hook);
}

type AppointmentWriteHook = (id: number, values: Record<string, unknown>, ctx: WriteContext) => Promise<void>;
const appointmentWriteHooks: AppointmentWriteHook[] = [];
/** Lets a module follow appointments (booking one for a referral's ServiceRequest schedules the case): hooks run after every REST Appointment write. */
export function registerAppointmentWriteHook(hook: AppointmentWriteHook): void {
  if (!appointmentWriteHooks.includes(hook)) appointmentWriteHooks.push(hook);
}

export const taskKind: ResourceKind = {
  type: 'Task',
  table: 'task',
  from: 'task t',
  select: 't.*',
  residentColumn: 'resident_id',
  order: 't.authored_at DESC, t.id DESC',
  dateColumn: 'authored_at',
  writers: CLINICAL_WRITERS,
  include: {
    ...personIncludes('Task'),
    'Task:owner': { target: 'Organization', column: 'owner_institution_id' }, 'Task:requester': { target: 'Organization', column: 'institution_id' },
  },
  toFhir(row: Row): Json {
    return clean({
      ...head('Task', row),
      status: row.status,
      intent: row.intent,
      priority: row.priority ?? undefined,
      code: row.code ? concept(FHIR_TASK_CODES.includes(row.code) ? FHIR_TASK_CODE_SYSTEM : SYSTEM.taskType, row.code) : undefined,
      description: row.description ?? undefined,
      focus: row.focus_type ? ref(row.focus_type, row.focus_id) : undefined,
      for: ref('Patient', row.resident_id),
      authoredOn: instant(row.authored_at),
      requester: ref('Organization', row.institution_id),
      owner: ref('CareTeam', row.owner_team_id) ?? ref('Organization', row.owner_institution_id),
      executionPeriod: row.due_at ? { end: instant(row.due_at) } : undefined,
      ...(row.extra ?? {}),
    });
  },
  search: {
    ...personParams(),
    status: tokenParam('t.status'),
    intent: tokenParam('t.intent'),
    priority: tokenParam('t.priority'),
    code: tokenParam('t.code'),
    'authored-on': dateParam('t.authored_at'),
    period: dateParam('t.due_at', 'instant', 'when it is due (executionPeriod.end)'),
    owner: specialParam('reference', (values, _m, params) => or(values.map((v) => {
      const m = /(?:^|\/)(?:(Organization|CareTeam)\/)?(\d{1,15})$/.exec(v);
      if (!m) return 'FALSE';
      if (m[1] === 'CareTeam') return `t.owner_team_id = ${params.add(Number(m[2]))}`;
      if (m[1] === 'Organization') return `t.owner_institution_id = ${params.add(Number(m[2]))}`;
      const p = params.add(Number(m[2]));
      return `(t.owner_institution_id = ${p} OR t.owner_team_id = ${p})`;
    })), 'the Organization or CareTeam that does the work'),
    requester: referenceParam('t.institution_id', ['Organization']),
    focus: specialParam('reference', (values, _m, params) => or(values.map((v) => {
      const m = /(?:^|\/)([A-Z][A-Za-z]+)\/(\d{1,15})$/.exec(v);
      return m ? `(t.focus_type = ${params.add(m[1])} AND t.focus_id = ${params.add(Number(m[2]))})` : 'FALSE';
    })), 'what the task is about (Type/id)'),
  },
  async beforeWrite(values, ctx, existing) {
    for (const hook of taskWriteHooks) await hook(values, ctx, existing);
  },
  // the institution that owns the work updates the task's status (FHIR workflow: the owner moves a Task on)
  coWriters: (existing) => (existing.owner_institution_id ? [Number(existing.owner_institution_id)] : []),
  async toRow(r: Json, ctx, existing) {
    const c = codeable(r.code, 'Task.code');
    const focus = parseReference(r.focus, 'Task.focus', FOCUS_TYPES);
    if (focus?.placeholder && !focus.type) throw new AppError('FHIR_REQUIRED', { path: 'Task.focus.type' }, 'Task.focus.type');
    const focusId = await ctx.resolve(focus, 'Task.focus');
    const owner = parseReference(r.owner, 'Task.owner', ['Organization', 'CareTeam']);
    const ownerId = await ctx.resolve(owner, 'Task.owner');
    const period = object(r.executionPeriod, 'Task.executionPeriod');
    const authored = dateTime(r.authoredOn, 'Task.authoredOn') ?? existing?.authored_at ?? new Date();
    const due = dateTime(period?.end, 'Task.executionPeriod.end');
    const start = dateTime(period?.start, 'Task.executionPeriod.start');
    if (start && due && due < start) throw invalid('Task.executionPeriod.end', 'is before the start');
    const extra = extraOf(r, TASK_MODELLED) ?? {};
    if (start) extra.executionPeriod = { start: period!.start };
    return {
      resident_id: await ctx.resolve(parseReference(r.for, 'Task.for', ['Patient']), 'Task.for'),
      institution_id: await taskRequester(ctx, parseReference(r.requester, 'Task.requester', ['Organization']), existing),
      source_id: identifierKey(r.identifier, 'Task.identifier'),
      status: required(code(r.status, TASK_STATUSES, 'Task.status'), 'Task.status'),
      intent: required(code(r.intent, TASK_INTENTS, 'Task.intent'), 'Task.intent'),
      priority: code(r.priority, PRIORITIES, 'Task.priority'),
      code: c?.code ?? null,
      description: str(r.description, 'Task.description', 4000),
      focus_type: focus?.type ?? null,
      focus_id: focusId,
      owner_institution_id: owner?.type === 'Organization' ? ownerId : null,
      owner_team_id: owner?.type === 'CareTeam' ? ownerId : null,
      authored_at: authored,
      due_at: due,
      extra: Object.keys(extra).length ? extra : null,
    };
  },
};

// ── Schedule ──

const SCHEDULE_MODELLED = ['identifier', 'active', 'actor', 'serviceType', 'planningHorizon', 'comment', 'extension'];

async function scheduleInstitution(ctx: WriteContext, org: ParsedReference | null, practitionerId: number | null, existing: Row | null): Promise<number> {
  if (org || existing || !practitionerId) return owningInstitution(ctx, org, 'Schedule.actor', existing);
  // a practitioner's clinic belongs to the institution the practitioner works for
  const { rows } = await ctx.q.query('SELECT institution_id FROM practitioner WHERE id = $1', [practitionerId]);
  return ctx.recordingInstitution({ type: 'Organization', id: rows[0].institution_id }, 'Schedule.actor');
}

export const scheduleKind: ResourceKind = {
  type: 'Schedule',
  table: 'schedule',
  from: 'schedule t',
  select: 't.*, (SELECT i.region_id FROM institution i WHERE i.id = t.institution_id) AS institution_region_id',
  residentColumn: null,
  order: 't.planning_start DESC NULLS LAST, t.id DESC',
  dateColumn: 'planning_start',
  writers: SCHEDULERS,
  include: { 'Schedule:actor': { target: 'Practitioner', column: 'practitioner_id' } },
  toFhir(row: Row): Json {
    const { extension: otherExtensions, ...extra } = (row.extra ?? {}) as Json;
    return clean({
      ...head('Schedule', row),
      // R4 Schedule.actor cannot name an Organization: the institution runs the clinic (extension), and a clinic
      // without a named practitioner is shown at the institution's place (its region)
      extension: [{ url: EXT.organization, valueReference: ref('Organization', row.institution_id) }, ...(otherExtensions ?? [])],
      active: row.active,
      serviceType: row.department ? [{ text: row.department }] : undefined,
      actor: [row.practitioner_id ? ref('Practitioner', row.practitioner_id) : ref('Location', row.institution_region_id)],
      planningHorizon: row.planning_start || row.planning_end ? clean({ start: instant(row.planning_start), end: instant(row.planning_end) }) : undefined,
      comment: row.comment ?? undefined,
      ...extra,
    });
  },
  search: {
    identifier: identifierParam,
    active: specialParam('token', (values, _m, params) => or(values.map((v) => (v === 'true' || v === 'false' ? `t.active = ${params.add(v === 'true')}` : 'FALSE'))), 'true or false'),
    actor: specialParam('reference', (values, _m, params) => or(values.map((v) => {
      const m = /(?:^|\/)(?:(Practitioner|PractitionerRole|Organization)\/)?(\d{1,15})$/.exec(v);
      if (!m) return 'FALSE';
      const p = params.add(Number(m[2]));
      if (m[1] === 'Organization') return `t.institution_id = ${p}`;
      if (m[1]) return `t.practitioner_id = ${p}`;
      return `(t.practitioner_id = ${p} OR t.institution_id = ${p})`;
    })), 'the Practitioner whose clinic it is, or the Organization that runs it'),
    organization: referenceParam('t.institution_id', ['Organization'], 'the institution that runs the clinic'),
    date: dateParam('t.planning_start', 'instant', 'start of the planning horizon'),
    'service-type': stringParam(['t.department'], 'department (its text; prefix)'),
  },
  async toRow(r: Json, ctx, existing) {
    const actors = array(r.actor, 'Schedule.actor');
    if (!actors.length) throw new AppError('FHIR_REQUIRED', { path: 'Schedule.actor' }, 'Schedule.actor');
    const orgs = extensionsOf(r, EXT.organization, 'Schedule');
    let org: ParsedReference | null = orgs.length ? parseReference(required(orgs[0].ext.valueReference, `${orgs[0].path}.valueReference`), `${orgs[0].path}.valueReference`, ['Organization']) : null;
    let practitionerId: number | null = null;
    for (const [i, a] of actors.entries()) {
      // an Organization is accepted here too (clients that predate the extension), a Location is the rendered place
      const p = parseReference(a, `Schedule.actor[${i}]`, ['Practitioner', 'PractitionerRole', 'Organization', 'Location'])!;
      if (p.type === 'Organization') org ??= p;
      else if (p.type !== 'Location') practitionerId ??= await ctx.resolve(p, `Schedule.actor[${i}]`);
    }
    const serviceTypes = array(r.serviceType, 'Schedule.serviceType');
    const horizon = object(r.planningHorizon, 'Schedule.planningHorizon');
    const start = dateTime(horizon?.start, 'Schedule.planningHorizon.start');
    const end = dateTime(horizon?.end, 'Schedule.planningHorizon.end');
    if (start && end && end < start) throw invalid('Schedule.planningHorizon.end', 'is before the start');
    const otherExtensions = array(r.extension, 'Schedule.extension').filter((e) => e?.url !== EXT.organization);
    const extra = extraOf(r, SCHEDULE_MODELLED) ?? {};
    if (otherExtensions.length) extra.extension = otherExtensions;
    return {
      institution_id: await scheduleInstitution(ctx, org, practitionerId, existing),
      source_id: identifierKey(r.identifier, 'Schedule.identifier'),
      practitioner_id: practitionerId,
      department: serviceTypes.length ? codeable(serviceTypes[0], 'Schedule.serviceType[0]')?.display ?? null : null,
      active: bool(r.active, 'Schedule.active') ?? true,
      planning_start: start,
      planning_end: end,
      comment: str(r.comment, 'Schedule.comment', 1000),
      extra: Object.keys(extra).length ? extra : null,
    };
  },
};

// ── Slot ──

const SLOT_STATUSES = ['busy', 'free', 'busy-unavailable', 'busy-tentative', 'entered-in-error'] as const;
const RESERVATIONS = ['primary_care'] as const;
const SLOT_MODELLED = ['identifier', 'schedule', 'status', 'start', 'end', 'comment', 'extension'];

/** `reserved-for=primary_care`: slots whose reservation is still in force (released ones are general slots). */
const reservedForParam: SearchParam = (() => {
  const token = tokenParam('t.reserved_for', null, null, 'primary_care: kept for referrals from primary care (reservations still in force)');
  return { ...token, build: (...args: Parameters<SearchParam['build']>) => `(${token.build(...args)} AND ${RESERVATION_IN_FORCE_SQL})` };
})();

export const slotKind: ResourceKind = {
  type: 'Slot',
  table: 'slot',
  from: 'slot t',
  select: 't.*',
  residentColumn: null,
  order: 't.start_at, t.id',
  dateColumn: 'start_at',
  writers: SCHEDULERS,
  include: { 'Slot:schedule': { target: 'Schedule', column: 'schedule_id' } },
  toFhir(row: Row): Json {
    const { extension: otherExtensions, ...extra } = (row.extra ?? {}) as Json;
    return clean({
      ...head('Slot', row),
      // places a specialist clinic keeps for referrals from primary care (分级诊疗: 预留号源), until they are released
      extension: [...(reservationInForce(row) ? [{ url: EXT.reservedFor, valueCode: row.reserved_for }] : []), ...(otherExtensions ?? [])],
      schedule: ref('Schedule', row.schedule_id),
      status: row.status,
      start: instant(row.start_at),
      end: instant(row.end_at),
      comment: row.comment ?? undefined,
      ...extra,
    });
  },
  search: {
    identifier: identifierParam,
    schedule: referenceParam('t.schedule_id', ['Schedule']),
    status: tokenParam('t.status'),
    start: dateParam('t.start_at'),
    'reserved-for': reservedForParam,
  },
  async toRow(r: Json, ctx, existing) {
    const scheduleId = (await ctx.resolve(parseReference(required(r.schedule, 'Slot.schedule'), 'Slot.schedule', ['Schedule']), 'Slot.schedule'))!;
    const start = required(dateTime(r.start, 'Slot.start'), 'Slot.start');
    const end = required(dateTime(r.end, 'Slot.end'), 'Slot.end');
    if (end <= start) throw invalid('Slot.end', 'must be after the start');
    const reserved = extensionsOf(r, EXT.reservedFor, 'Slot');
    const otherExtensions = array(r.extension, 'Slot.extension').filter((e) => e?.url !== EXT.reservedFor);
    const extra = extraOf(r, SLOT_MODELLED) ?? {};
    if (otherExtensions.length) extra.extension = otherExtensions;
    // a slot belongs to its schedule's institution, and only that institution opens places in it
    const { rows } = await ctx.q.query('SELECT institution_id, release_hours FROM schedule WHERE id = $1', [scheduleId]);
    const reservedFor = reserved.length ? code(reserved[0].ext.valueCode, RESERVATIONS, `${reserved[0].path}.valueCode`) : null;
    // a released reservation is no longer rendered; writing the slot back keeps what it was reserved for (KPIs)
    const keptReservation = !reservedFor && existing?.reserved_for && !reservationInForce(existing) ? existing.reserved_for : null;
    return {
      schedule_id: scheduleId,
      institution_id: await ctx.recordingInstitution({ type: 'Organization', id: rows[0].institution_id }, 'Slot.schedule'),
      source_id: identifierKey(r.identifier, 'Slot.identifier'),
      status: required(code(r.status, SLOT_STATUSES, 'Slot.status'), 'Slot.status'),
      start_at: start,
      end_at: end,
      reserved_for: reservedFor ?? keptReservation,
      // the reservation lapses its schedule's release hours before the start (default 48)
      release_at: reservedFor || keptReservation ? (keptReservation ? existing!.release_at : new Date(start.getTime() - (rows[0].release_hours ?? DEFAULT_RELEASE_HOURS) * 3600_000)) : null,
      comment: str(r.comment, 'Slot.comment', 1000),
      extra: Object.keys(extra).length ? extra : null,
    };
  },
};

// ── Appointment ──

const APPOINTMENT_STATUSES = ['proposed', 'pending', 'booked', 'arrived', 'fulfilled', 'cancelled', 'noshow', 'entered-in-error', 'checked-in', 'waitlist'] as const;
const PARTICIPATION_STATUSES = ['accepted', 'declined', 'tentative', 'needs-action'] as const;
const APPOINTMENT_MODELLED = ['identifier', 'status', 'participant', 'slot', 'basedOn', 'start', 'end', 'description'];

export const appointmentKind: ResourceKind = {
  type: 'Appointment',
  table: 'appointment',
  from: 'appointment t',
  select: 't.*',
  residentColumn: 'resident_id',
  order: 't.start_at DESC NULLS LAST, t.id DESC',
  dateColumn: 'start_at',
  writers: CLINICAL_WRITERS,
  include: {
    'Appointment:patient': { target: 'Patient', column: 'resident_id' }, 'Appointment:actor': { target: 'Patient', column: 'resident_id' },
    'Appointment:slot': { target: 'Slot', column: 'slot_id' }, 'Appointment:based-on': { target: 'ServiceRequest', column: 'service_request_id' },
  },
  toFhir(row: Row): Json {
    const { participant: others, patientParticipation, ...extra } = (row.extra ?? {}) as Json;
    return clean({
      ...head('Appointment', row),
      status: row.status,
      description: row.description ?? undefined,
      start: instant(row.start_at),
      end: instant(row.end_at),
      slot: row.slot_id ? [ref('Slot', row.slot_id)] : undefined,
      basedOn: row.service_request_id ? [ref('ServiceRequest', row.service_request_id)] : undefined,
      participant: [{ actor: ref('Patient', row.resident_id), status: patientParticipation ?? 'accepted' }, ...(others ?? [])],
      ...extra,
    });
  },
  search: {
    patient: referenceParam('t.resident_id', ['Patient'], 'the resident'),
    actor: referenceParam('t.resident_id', ['Patient'], 'the resident (other participants are not indexed)'),
    identifier: identifierParam,
    status: tokenParam('t.status'),
    date: dateParam('t.start_at'),
    slot: referenceParam('t.slot_id', ['Slot']),
    'based-on': referenceParam('t.service_request_id', ['ServiceRequest']),
  },
  async toRow(r: Json, ctx, existing) {
    const status = required(code(r.status, APPOINTMENT_STATUSES, 'Appointment.status'), 'Appointment.status');
    const participants = array(r.participant, 'Appointment.participant');
    if (!participants.length) throw new AppError('FHIR_REQUIRED', { path: 'Appointment.participant' }, 'Appointment.participant');
    let residentId: number | null = null;
    let patientParticipation: string | null = null;
    const others: Json[] = [];
    for (const [i, raw] of participants.entries()) {
      const path = `Appointment.participant[${i}]`;
      const p = object(raw, path)!;
      const pStatus = code(p.status, PARTICIPATION_STATUSES, `${path}.status`);
      const actor = parseReference(p.actor, `${path}.actor`, ['Patient', 'Practitioner', 'PractitionerRole', 'Location']);
      if (actor?.placeholder && !actor.type) throw new AppError('FHIR_REQUIRED', { path: `${path}.actor.type` }, `${path}.actor.type`);
      if (!actor && p.type === undefined) throw new AppError('FHIR_REQUIRED', { path: `${path}.actor` }, `${path}.actor`);
      const id = await ctx.resolve(actor, `${path}.actor`);
      if (actor?.type === 'Patient' && residentId === null) {
        residentId = id;
        patientParticipation = pStatus;
      } else others.push(clean({ ...p, actor: actor ? { ...p.actor, reference: `${actor.type}/${id}` } : undefined, status: pStatus ?? 'accepted' }));
    }
    if (residentId === null) throw new AppError('FHIR_REQUIRED', { path: 'Appointment.participant.actor' }, 'Appointment.participant');
    const slots = array(r.slot, 'Appointment.slot');
    const slotId = slots.length ? await ctx.resolve(parseReference(slots[0], 'Appointment.slot[0]', ['Slot']), 'Appointment.slot[0]') : null;
    const basedOn = array(r.basedOn, 'Appointment.basedOn');
    let start = dateTime(r.start, 'Appointment.start');
    let end = dateTime(r.end, 'Appointment.end');
    if (!start && !end && slotId) {
      // booked into a slot: the appointment takes the slot's time
      const { rows } = await ctx.q.query('SELECT start_at, end_at FROM slot WHERE id = $1', [slotId]);
      start = rows[0].start_at;
      end = rows[0].end_at;
    }
    // app-2: start and end come together; app-3: only proposed, cancelled and waitlisted appointments may lack them
    if (!!start !== !!end) throw new AppError('FHIR_REQUIRED', { path: start ? 'Appointment.end' : 'Appointment.start' }, start ? 'Appointment.end' : 'Appointment.start');
    if (!start && !['proposed', 'cancelled', 'waitlist'].includes(status)) throw new AppError('FHIR_REQUIRED', { path: 'Appointment.start' }, 'Appointment.start');
    if (start && end && end < start) throw invalid('Appointment.end', 'is before the start');
    const extra = extraOf(r, APPOINTMENT_MODELLED) ?? {};
    if (others.length) extra.participant = others;
    if (patientParticipation) extra.patientParticipation = patientParticipation;
    return {
      resident_id: residentId,
      institution_id: await owningInstitution(ctx, null, 'Appointment', existing),
      source_id: identifierKey(r.identifier, 'Appointment.identifier'),
      slot_id: slotId,
      service_request_id: basedOn.length ? await ctx.resolve(parseReference(basedOn[0], 'Appointment.basedOn[0]', ['ServiceRequest']), 'Appointment.basedOn[0]') : null,
      status,
      start_at: start,
      end_at: end,
      description: str(r.description, 'Appointment.description', 1000),
      extra: Object.keys(extra).length ? extra : null,
    };
  },
  // booking: lock the slot, refuse one that is taken or reserved, mark it busy; a cancellation frees it (booking.ts)
  beforeWrite: bookSlot,
  async onWritten(id, values, ctx) {
    for (const hook of appointmentWriteHooks) await hook(id, values, ctx);
  },
};
