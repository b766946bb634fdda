import type { Selectable } from 'kysely';

import { HomeportError } from '../errors.js';
import type { AuditLogTable, Db } from './schema.js';
import { checkLimit, nowIso, toInt } from './sql-helpers.js';
import type { AuditEntry, AuditQuery, NewAuditEntry } from './types.js';

export async function appendAudit(db: Db, entry: NewAuditEntry): Promise<AuditEntry> {
  const row = await db
    .insertInto('audit_log')
    .values({
      at: nowIso(),
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toAuditEntry(row);
}

export async function listAudit(db: Db, query: AuditQuery): Promise<AuditEntry[]> {
  checkLimit('list the audit log', 'limit', query.limit);

  let entries = db.selectFrom('audit_log').selectAll();
  if (query.subject !== undefined) entries = entries.where('subject', '=', query.subject);
  const rows = await entries.orderBy('id', 'desc').limit(query.limit).execute();
  return rows.map(toAuditEntry);
}

function toAuditEntry(row: Selectable<AuditLogTable>): AuditEntry {
  const id = toInt(row.id);
  return {
    id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    detail: row.detail === null ? null : parseDetail(row.detail, id),
  };
}

function parseDetail(text: string, id: number): Record<string, unknown> {
  const value: unknown = JSON.parse(text);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  throw new HomeportError(
    'INTERNAL',
    `Cannot read audit entry ${id}: its stored detail is not a JSON object.`,
  );
}
