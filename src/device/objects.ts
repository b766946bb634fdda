import type { DeviceIdentity } from './identity.js';
import { fromSenml, toSenml, type SenmlRecord } from './senml.js';
import { SERVER, type Instances, type ResourceValue } from './types.js';

/** A CoAP-style response code of the management interface (protocol.md §4). */
export type ResponseCode = '2.04' | '2.05' | '4.00' | '4.01' | '4.04' | '4.05' | '5.00';

/** The answer to a server-initiated operation. */
export interface OperationResponse {
  code: ResponseCode;
  payload?: SenmlRecord[];
}

/** What an Execute asks the agent to do once it has answered. */
export type ExecuteAction = 'bootstrap-trigger' | 'reboot';

/** Values only the running device knows. */
export interface RuntimeValues {
  firmwareVersion: string;
  ipAddresses: string[];
  signalStrength: number;
  now: Date;
}

/** What the objects are built from: the state's instances and the factory identity. */
export interface ObjectSource {
  instances: Instances;
  identity: DeviceIdentity;
  manufacturer: string;
}

/** A resource value, or the instances of a multiple-instance resource. */
type TreeValue = ResourceValue | ResourceValue[];
type ObjectTree = Record<string, Record<string, TreeValue>>;

interface ParsedPath {
  object: number;
  instance?: number;
  resource?: number;
}

// LwM2M Core §E.2 / §E.4: resources that are executed, never read.
const EXECUTABLE: Record<number, number[]> = { 1: [Number(SERVER.bootstrapTrigger)], 3: [4] };
// The Server resources an MS may write, with the check of each value.
const WRITABLE_SERVER: Record<string, (value: ResourceValue) => boolean> = {
  [SERVER.lifetime]: (v) => Number.isInteger(v) && (v as number) >= 1,
  [SERVER.bootstrapOnRegistrationFailure]: (v) => typeof v === 'boolean',
  [SERVER.retryCount]: (v) => Number.isInteger(v) && (v as number) >= 0,
  [SERVER.retryTimer]: (v) => typeof v === 'number' && v >= 0,
  [SERVER.sequenceDelayTimer]: (v) => typeof v === 'number' && v >= 0,
  [SERVER.sequenceRetryCount]: (v) => Number.isInteger(v) && (v as number) >= 1,
};

/**
 * The objects a Management Server may read: Server `/1` from the state, Device `/3/0` and
 * Connectivity Monitoring `/4/0` from the identity and the running device. The Security
 * object `/0` is not among them (LwM2M Core §E.1: not accessible to an LwM2M Server).
 *
 * @example
 *   const tree = objectTree(source, runtime);
 *   tree['/3/0']['2']; // the serial number
 */
export function objectTree(source: ObjectSource, runtime: RuntimeValues): ObjectTree {
  const tree: ObjectTree = {};
  for (const [path, values] of Object.entries(source.instances)) {
    if (path.startsWith('/1/')) tree[path] = { ...values };
  }

  // LwM2M Core §E.4, the Device object.
  tree['/3/0'] = {
    '0': source.manufacturer,
    '1': source.identity.type,
    '2': source.identity.serial,
    '3': runtime.firmwareVersion,
    '13': Math.floor(runtime.now.getTime() / 1000),
    '17': 'gateway',
  };
  // LwM2M Core §E.5, Connectivity Monitoring: 2 Radio Signal Strength (dBm), 4 IP Addresses.
  tree['/4/0'] = { '2': runtime.signalStrength, '4': runtime.ipAddresses };
  return tree;
}

/**
 * Read: the values under an object, instance or resource path as SenML, or 4.04 / 4.05 / 4.01.
 *
 * @example
 *   readPath(tree, '/3/0');
 *   // { code: '2.05', payload: [{ bn: '/3/0/', n: '0', vs: 'Homeport' }, ...] }
 */
export function readPath(tree: ObjectTree, path: string): OperationResponse {
  const parsed = parsePath(path);
  if (!parsed) return { code: '4.00' };
  if (parsed.object === 0) return { code: '4.01' };
  if (parsed.resource !== undefined && isExecutable(parsed)) return { code: '4.05' };

  if (parsed.instance === undefined) {
    const prefix = `/${parsed.object}/`;
    const paths = Object.keys(tree).filter((p) => p.startsWith(prefix));
    if (paths.length === 0) return { code: '4.04' };
    const entries = paths.flatMap((p) => entriesOf(tree[p], `${p.slice(prefix.length)}/`));
    return { code: '2.05', payload: toSenml(prefix, entries) };
  }

  const instancePath = `/${parsed.object}/${parsed.instance}`;
  const values = tree[instancePath];
  if (!values) return { code: '4.04' };
  if (parsed.resource === undefined) {
    return { code: '2.05', payload: toSenml(`${instancePath}/`, entriesOf(values, '')) };
  }

  const id = String(parsed.resource);
  if (!(id in values)) return { code: '4.04' };
  return {
    code: '2.05',
    payload: toSenml(`${instancePath}/`, entriesOf({ [id]: values[id] }, '')),
  };
}

/**
 * Write: checks a write of Server resources (1 Lifetime, 16 to 20) and returns the instances to
 * persist, or the error code. The value is a scalar for a resource path, and a map of resource
 * ids or a SenML pack for an instance path.
 *
 * @example
 *   const result = planWrite(state.instances, '/1/0/1', 600);
 *   if (result.code === '2.04') await store.saveInstances(result.instances);
 */
export function planWrite(
  instances: Instances,
  path: string,
  value: unknown,
): { code: ResponseCode; instances?: Instances; changed?: string[] } {
  const parsed = parsePath(path);
  if (!parsed || parsed.instance === undefined) return { code: parsed ? '4.05' : '4.00' };
  if (parsed.object === 0) return { code: '4.01' };

  const instancePath = `/${parsed.object}/${parsed.instance}`;
  const existing = instances[instancePath];
  if (parsed.object !== 1)
    return { code: parsed.object === 3 || parsed.object === 4 ? '4.05' : '4.04' };
  if (!existing) return { code: '4.04' };

  const values = writeValues(instancePath, parsed.resource, value);
  if (!values) return { code: '4.00' };
  for (const [id, v] of Object.entries(values)) {
    const check = WRITABLE_SERVER[id];
    if (!check) return { code: '4.05' };
    if (!check(v)) return { code: '4.00' };
  }

  const next = structuredClone(instances);
  next[instancePath] = { ...existing, ...values };
  return {
    code: '2.04',
    instances: next,
    changed: Object.keys(values).map((id) => `${instancePath}/${id}`),
  };
}

/**
 * Execute: `/1/<i>/9` (Bootstrap-Request Trigger) and `/3/0/4` (Reboot) are executable.
 *
 * @example
 *   executePath(tree, '/1/0/9'); // { code: '2.04', action: 'bootstrap-trigger' }
 */
export function executePath(
  tree: ObjectTree,
  path: string,
): { code: ResponseCode; action?: ExecuteAction } {
  const parsed = parsePath(path);
  if (!parsed) return { code: '4.00' };
  if (parsed.object === 0) return { code: '4.01' };
  if (parsed.instance === undefined || parsed.resource === undefined) return { code: '4.05' };
  if (!tree[`/${parsed.object}/${parsed.instance}`]) return { code: '4.04' };
  if (!isExecutable(parsed)) return { code: '4.05' };
  return { code: '2.04', action: parsed.object === 1 ? 'bootstrap-trigger' : 'reboot' };
}

/**
 * Parses `/o`, `/o/i` or `/o/i/r`.
 *
 * @example
 *   parsePath('/3/0/4'); // { object: 3, instance: 0, resource: 4 }
 */
export function parsePath(path: unknown): ParsedPath | undefined {
  if (typeof path !== 'string') return undefined;
  const match = /^\/(\d{1,5})(?:\/(\d{1,5})(?:\/(\d{1,5}))?)?$/.exec(path);
  if (!match) return undefined;
  return {
    object: Number(match[1]),
    ...(match[2] !== undefined && { instance: Number(match[2]) }),
    ...(match[3] !== undefined && { resource: Number(match[3]) }),
  };
}

function isExecutable(path: ParsedPath): boolean {
  return (EXECUTABLE[path.object] ?? []).includes(path.resource ?? -1);
}

function entriesOf(values: Record<string, TreeValue>, prefix: string): [string, ResourceValue][] {
  return Object.entries(values).flatMap(([id, value]): [string, ResourceValue][] =>
    // LwM2M Core §7.4.5: a multiple-instance resource is named by resource/instance.
    Array.isArray(value)
      ? value.map((v, i) => [`${prefix}${id}/${i}`, v])
      : [[`${prefix}${id}`, value]],
  );
}

function writeValues(
  instancePath: string,
  resource: number | undefined,
  value: unknown,
): Record<string, ResourceValue> | undefined {
  if (resource !== undefined) return isScalar(value) ? { [String(resource)]: value } : undefined;

  if (Array.isArray(value)) {
    const entries = fromSenml(value);
    const prefix = `${instancePath}/`;
    if (!entries || entries.some(([name]) => !name.startsWith(prefix))) return undefined;
    return Object.fromEntries(entries.map(([name, v]) => [name.slice(prefix.length), v]));
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.every(([, v]) => isScalar(v))
    ? (Object.fromEntries(entries) as Record<string, ResourceValue>)
    : undefined;
}

function isScalar(value: unknown): value is ResourceValue {
  return typeof value === 'string' || typeof value === 'boolean' || Number.isFinite(value);
}
