// What a FHIR resource type is to the facade: a view over one of CareGrid's tables, its search parameters and its
// mapping in both directions. The repository (repository.ts) does everything else generically.
import type { Queryable, Row } from '../db/engine.ts';
import type { Keys } from '../platform/crypto.ts';
import type { Principal } from '../platform/principal.ts';
import type { AuditContext } from '../platform/audit.ts';
import type { Params } from '../platform/sql.ts';
import type { Json, ParsedReference } from './datatypes.ts';

export interface SearchParam {
  type: 'token' | 'string' | 'date' | 'reference' | 'number' | 'uri' | 'special';
  description?: string;
  /** SQL predicate for one repetition of the parameter (its comma-separated values are ORed by the builder). */
  build(values: string[], modifier: string | null, params: Params, ctx: SearchContext): string;
}

export interface SearchContext {
  q: Queryable;
  keys: Keys;
  principal: Principal;
}

export interface IncludeDef {
  /** The resource type the reference points to. */
  target: string;
  /** Column of the row (alias t) holding the target id. */
  column: string;
}

export interface WriteContext {
  q: Queryable;
  keys: Keys;
  principal: Principal;
  audit: AuditContext;
  /** Resolves a reference to a local id: checks it exists (a Patient also that it is reachable). */
  resolve(ref: ParsedReference | null, path: string): Promise<number | null>;
  /** The institution a record is written for: the one named (checked against the caller) or the caller's own. */
  recordingInstitution(named: ParsedReference | null, path: string): Promise<number>;
}

export interface WriteResult {
  id: number;
  created: boolean;
  residentId: number | null;
}

export interface ResourceKind {
  type: string;
  /** Table behind the view, aliased `t` in `from`. */
  table: string;
  /** FROM clause, aliased t; joins only for computed display columns. */
  from: string;
  /** SELECT list (alias t). */
  select: string;
  /** Personal data: scoped by the resident (`residentColumn` of t) and audited on every read. */
  residentColumn: string | null;
  /** For a kind without personal data that is still not everyone's to read: the caller's rows (SQL on alias t). */
  rowScope?(p: Principal, params: Params): string;
  /** Whether the resident behind a row is `t` itself (Patient) rather than joined through `residentColumn`. */
  isResident?: boolean;
  toFhir(row: Row): Json;
  search: Record<string, SearchParam>;
  include?: Record<string, IncludeDef>;
  /** Default sort for searches (SQL on alias t). */
  order?: string;
  /** Column holding the clinically relevant time, for `_sort=date` and $everything. */
  dateColumn?: string;
  /** Roles (any) that may create or update. */
  writers: readonly string[];
  /** Creation: table-backed kinds return column values; custom kinds (Patient, registry) write themselves. */
  toRow?(resource: Json, ctx: WriteContext, existing: Row | null): Promise<Record<string, unknown>>;
  create?(resource: Json, ctx: WriteContext): Promise<WriteResult>;
  update?(id: number, resource: Json, ctx: WriteContext, existing: Row): Promise<WriteResult>;
  /**
   * Runs in the write's transaction before a table-backed create or update is stored (REST and bundles, not bulk
   * import): a place to lock and claim what the row takes, e.g. the slot an appointment books. `existing` is the row
   * an update replaces (null on create).
   */
  beforeWrite?(values: Record<string, unknown>, ctx: WriteContext, existing: Row | null): Promise<void>;
  /** Institutions besides the owning one that may update a stored row (a Task's owner updates its status). */
  coWriters?(existing: Row): number[];
  /** Runs in the write's transaction after a table-backed create or update (instead of the default care relationship). */
  afterWrite?(id: number, values: Record<string, unknown>, ctx: WriteContext): Promise<void>;
  /** Runs in the write's transaction after a REST create or update, besides afterWrite or the default care relationship. */
  onWritten?(id: number, values: Record<string, unknown>, ctx: WriteContext): Promise<void>;
}
