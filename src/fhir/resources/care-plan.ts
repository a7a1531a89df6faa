// Contract and CarePlan: read-only views of the family-doctor module's contracts (家庭医生签约, the team itself is the
// CareTeam) and of the chronic-disease enrolments as care plans (one per enrolment: the programme, its period, and as
// activities the open follow-up Task and the next due date). Both are made through the REST API and the diagnoses
// every institution records, never written as FHIR. Personal data: scoped by the resident and audited on every read.
//
// Contract: https://hl7.org/fhir/R4/contract.html · CarePlan: https://hl7.org/fhir/R4/careplan.html
import type { Row } from '../../db/engine.ts';
import { clean, instant, ref, type Json } from '../datatypes.ts';
import { dateParam, referenceParam, tokenParam } from '../search.ts';
import type { ResourceKind } from '../types.ts';
import { ENROLMENT_SELECT, PROGRAMME_SYSTEM } from './episode.ts';
import { personIncludes } from './common.ts';
import { districtDate, DISTRICT_TODAY_SQL } from '../../platform/local-date.ts';

export const CONTRACT_TYPE_SYSTEM = 'https://caregrid.dev/fhir/CodeSystem/contract-type';
export const SERVICE_PACKAGE_SYSTEM = 'https://caregrid.dev/fhir/CodeSystem/service-package';
export const CONSENT_METHOD_SYSTEM = 'https://caregrid.dev/fhir/CodeSystem/consent-method';
const SIGNER_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/contractsignertypecodes';
const SIGNATURE_TYPE_SYSTEM = 'urn:iso-astm:E1762-95:2013';

// ── Contract ──

/** FHIR contract-status of a contract row: in force → executed, cancelled (解约) → revoked, ended otherwise → terminated. */
const CONTRACT_STATUS_SQL = `(CASE WHEN t.status = 'active' AND t.end_date >= ${DISTRICT_TODAY_SQL} THEN 'executed' WHEN t.status = 'cancelled' THEN 'revoked' ELSE 'terminated' END)`;
function contractStatus(row: Row): string {
  const today = districtDate();
  if (row.status === 'active') return row.end_date >= today ? 'executed' : 'terminated';
  return row.status === 'cancelled' ? 'revoked' : 'terminated';
}

const SIGNER_OF: Record<string, { code: string; display: string; label: string }> = {
  self: { code: 'PAT', display: 'Patient', label: '本人' },
  guardian: { code: 'GUARD', display: 'Guardian', label: '监护人' },
  agent: { code: 'AGNT', display: 'Agent', label: '委托人' },
};

export const contractKind: ResourceKind = {
  type: 'Contract',
  table: 'contract',
  from: 'contract t',
  select: `t.*, (SELECT tm.name FROM team tm WHERE tm.id = t.team_id) AS team_name`,
  residentColumn: 'resident_id',
  order: 't.start_date DESC, t.id DESC',
  dateColumn: 'consent_at',
  writers: [],
  include: { ...personIncludes('Contract'), 'Contract:authority': { target: 'Organization', column: 'institution_id' } },
  toFhir(row: Row): Json {
    const signer = SIGNER_OF[row.consent_signed_by as string] ?? SIGNER_OF.self;
    const patient = ref('Patient', row.resident_id)!;
    const party = row.consent_signed_by === 'self' ? patient : { display: signer.label };
    const signature = (who: Json, when: unknown) => [{
      type: [{ system: SIGNATURE_TYPE_SYSTEM, code: '1.2.840.10065.1.12.1.7', display: 'Consent Signature' }, { system: CONSENT_METHOD_SYSTEM, code: row.consent_method }],
      when: instant(when as Date), who,
    }];
    return clean({
      resourceType: 'Contract',
      id: String(row.id),
      meta: { versionId: String(row.version), lastUpdated: instant(row.updated_at) },
      status: contractStatus(row),
      issued: instant(row.created_at),
      applies: { start: row.start_date, end: row.end_date },
      subject: [patient],
      authority: [ref('Organization', row.institution_id)],
      title: '家庭医生签约服务协议',
      type: { coding: [{ system: CONTRACT_TYPE_SYSTEM, code: 'family-doctor', display: '家庭医生签约服务' }] },
      subType: (row.packages as string[]).map((p) => ({ coding: [{ system: SERVICE_PACKAGE_SYSTEM, code: p }] })),
      // the resident's consent (知情同意) and, when recorded, the team member who signed
      signer: [
        { type: { system: SIGNER_TYPE_SYSTEM, code: signer.code, display: signer.display }, party, signature: signature(party, row.consent_at) },
        ...(row.practitioner_id ? [{
          type: { system: SIGNER_TYPE_SYSTEM, code: 'HPROV', display: 'Healthcare Provider' }, party: ref('Practitioner', row.practitioner_id),
          signature: signature(ref('Practitioner', row.practitioner_id)!, row.created_at),
        }] : []),
      ],
      // the team the resident is signed with, and the contract this one continues after a change of team
      supportingInfo: [ref('CareTeam', row.team_id, row.team_name ?? null), ref('Contract', row.previous_contract_id)].filter(Boolean),
    });
  },
  search: {
    patient: referenceParam('t.resident_id', ['Patient'], 'the resident'),
    subject: referenceParam('t.resident_id', ['Patient'], 'the resident'),
    status: tokenParam(CONTRACT_STATUS_SQL, null, 'http://hl7.org/fhir/contract-status', 'executed (in force), revoked (cancelled), terminated (expired or moved to another team)'),
    authority: referenceParam('t.institution_id', ['Organization'], 'the team’s institution'),
    issued: dateParam('t.created_at', 'instant', 'when the contract was signed'),
  },
};

// ── CarePlan ──

const CARE_PLAN_STATUS: Record<string, string> = { active: 'active', finished: 'completed', cancelled: 'revoked', 'entered-in-error': 'entered-in-error' };
const CARE_PLAN_STATUS_SQL = `(CASE t.status WHEN 'finished' THEN 'completed' WHEN 'cancelled' THEN 'revoked' ELSE t.status END)`;
export const TASK_TYPE_SYSTEM = 'https://caregrid.dev/fhir/CodeSystem/task-type';

export const carePlanKind: ResourceKind = {
  type: 'CarePlan',
  table: 'chronic_enrolment',
  from: 'chronic_enrolment t',
  // the team is the resident's contracted team now; the open task and the visits a year the programme's rules ask for
  select: `${ENROLMENT_SELECT},
    (SELECT jsonb_build_object('status', tk.status, 'code', tk.code, 'description', tk.description, 'priority', tk.priority) FROM task tk WHERE tk.id = t.next_task_id) AS next_task,
    (SELECT (rs.rules->>'minVisitsPerYear')::int FROM chronic_rule_set rs WHERE rs.programme_code = t.programme_code ORDER BY rs.version DESC LIMIT 1) AS visits_per_year`,
  residentColumn: 'resident_id',
  order: 't.started_at DESC, t.id DESC',
  dateColumn: 'started_at',
  writers: [],
  include: { ...personIncludes('CarePlan'), 'CarePlan:condition': { target: 'Condition', column: 'condition_id' } },
  toFhir(row: Row): Json {
    const task = row.next_task as { status: string; code: string; description: string | null } | null;
    const open = row.status === 'active' && !!row.next_task_id && !!task && !['completed', 'cancelled', 'failed', 'rejected', 'entered-in-error'].includes(task.status);
    const activity: Json[] = [];
    if (open) {
      activity.push({ reference: ref('Task', row.next_task_id, task!.description) });
      activity.push({
        detail: clean({
          kind: 'Task',
          code: { coding: [{ system: TASK_TYPE_SYSTEM, code: task!.code }] },
          status: 'scheduled',
          scheduledTiming: clean({
            event: row.next_due_at ? [instant(row.next_due_at)] : undefined,
            repeat: row.visits_per_year ? { frequency: Number(row.visits_per_year), period: 1, periodUnit: 'a' } : undefined,
          }),
          description: `${row.programme_name ?? row.programme_code}随访`,
        }),
      });
    }
    return clean({
      resourceType: 'CarePlan',
      id: String(row.id),
      meta: { versionId: String(row.version), lastUpdated: instant(row.updated_at) },
      status: CARE_PLAN_STATUS[row.status as string] ?? 'unknown',
      intent: 'plan',
      category: [{ coding: [{ system: PROGRAMME_SYSTEM, code: row.programme_code, ...(row.programme_name ? { display: row.programme_name } : {}) }] }],
      title: row.programme_name ?? undefined,
      subject: ref('Patient', row.resident_id),
      period: clean({ start: instant(row.started_at), end: instant(row.ended_at) }),
      created: instant(row.started_at),
      author: row.team_id ? ref('CareTeam', row.team_id) : ref('Organization', row.institution_id),
      careTeam: row.team_id ? [ref('CareTeam', row.team_id)] : undefined,
      addresses: row.condition_id ? [ref('Condition', row.condition_id)] : undefined,
      supportingInfo: [ref('EpisodeOfCare', row.id)],
      activity,
    });
  },
  search: {
    patient: referenceParam('t.resident_id', ['Patient'], 'the resident'),
    subject: referenceParam('t.resident_id', ['Patient'], 'the resident'),
    status: tokenParam(CARE_PLAN_STATUS_SQL, null, 'http://hl7.org/fhir/request-status', 'active, completed (finished), revoked (cancelled), entered-in-error'),
    category: tokenParam('t.programme_code', null, PROGRAMME_SYSTEM, 'the programme (hypertension, diabetes)'),
    condition: referenceParam('t.condition_id', ['Condition'], 'the diagnosis the plan addresses'),
    date: dateParam('t.started_at', 'instant', 'start of the plan'),
    'activity-date': dateParam('t.next_due_at', 'instant', 'when the next follow-up is due'),
  },
};
