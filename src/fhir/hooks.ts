// Modules that follow records as they are written (a diagnosis enrols a resident in a chronic-disease programme, a
// danger-value reading creates an urgent task): one list of hooks per resource type, run in the write's transaction by
// every path that stores table-backed records — REST create and update, transaction and batch Bundles, spreadsheet
// imports (through the repository) and the bulk $import (once per batch, with all of the batch's rows). A hook gets
// the stored column values, so it sees what every path stores, whatever the sender's format.
import type { Queryable } from '../db/engine.ts';
import type { AuditContext } from '../platform/audit.ts';
import type { Principal } from '../platform/principal.ts';

export interface WrittenRecord {
  id: number;
  values: Record<string, unknown>;
}

export interface RecordHookContext {
  q: Queryable;
  principal: Principal;
  audit: AuditContext;
  /** 'rest': one record of a REST write, bundle entry or spreadsheet row; 'bulk': a batch of a bulk $import. */
  via: 'rest' | 'bulk';
}

export type RecordsWrittenHook = (records: WrittenRecord[], ctx: RecordHookContext) => Promise<void>;

const hooks = new Map<string, { name: string; fn: RecordsWrittenHook }[]>();

/** Registers `fn` for records of `type` (once per name: a module imported twice registers once). */
export function onRecordsWritten(type: string, name: string, fn: RecordsWrittenHook): void {
  const list = hooks.get(type) ?? [];
  const at = list.findIndex((h) => h.name === name);
  if (at >= 0) list[at] = { name, fn };
  else list.push({ name, fn });
  hooks.set(type, list);
}

/** Runs the hooks of `type`; nothing to do (no hook, no record) costs nothing. */
export async function runRecordHooks(type: string, records: WrittenRecord[], ctx: RecordHookContext): Promise<void> {
  const list = hooks.get(type);
  if (!list || records.length === 0) return;
  for (const h of list) await h.fn(records, ctx);
}
