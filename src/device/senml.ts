import type { ResourceValue } from './types.js';

/** A SenML record (RFC 8428 §4): base name, name, and one value field by type. */
export interface SenmlRecord {
  bn?: string;
  n?: string;
  v?: number;
  vs?: string;
  vb?: boolean;
}

/**
 * Encodes resource values as a SenML JSON pack (RFC 8428 §5): the base name on the first
 * record, each record's name relative to it, `v` for numbers, `vs` for strings and `vb` for
 * booleans (RFC 8428 §4.2).
 *
 * @example
 *   toSenml('/3/0/', [['0', 'Homeport'], ['9', 87]]);
 *   // [{ bn: '/3/0/', n: '0', vs: 'Homeport' }, { n: '9', v: 87 }]
 */
export function toSenml(
  baseName: string,
  entries: readonly (readonly [string, ResourceValue])[],
): SenmlRecord[] {
  return entries.map(([name, value], index) => ({
    ...(index === 0 && { bn: baseName }),
    n: name,
    ...senmlValue(value),
  }));
}

/**
 * Decodes a SenML pack into full names and values, resolving base names (RFC 8428 §4.5.1).
 * Returns undefined when a record has no usable name or value.
 *
 * @example
 *   fromSenml([{ bn: '/1/0/', n: '1', v: 600 }]); // [['/1/0/1', 600]]
 */
export function fromSenml(records: unknown): [string, ResourceValue][] | undefined {
  if (!Array.isArray(records)) return undefined;
  let baseName = '';
  const entries: [string, ResourceValue][] = [];

  for (const record of records as Record<string, unknown>[]) {
    if (typeof record !== 'object' || record === null) return undefined;
    if (typeof record.bn === 'string') baseName = record.bn;
    const name = `${baseName}${typeof record.n === 'string' ? record.n : ''}`;
    const value = record.v ?? record.vs ?? record.vb;
    const usable =
      typeof value === 'string' || typeof value === 'boolean' || Number.isFinite(value);
    if (name === '' || !usable) return undefined;
    entries.push([name, value as ResourceValue]);
  }
  return entries;
}

function senmlValue(value: ResourceValue): Pick<SenmlRecord, 'v' | 'vs' | 'vb'> {
  if (typeof value === 'number') return { v: value };
  if (typeof value === 'boolean') return { vb: value };
  return { vs: value };
}
