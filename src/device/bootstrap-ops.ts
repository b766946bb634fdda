import type { Logger } from '../log.js';
import {
  SECURITY,
  SERVER,
  type BootstrapOperation,
  type InstanceValues,
  type Instances,
  type ResourceValue,
} from './types.js';

/** An operation the device did not apply, and why. */
export interface IgnoredOperation {
  index: number;
  operation: unknown;
  reason: string;
}

/** The outcome of applying a Bootstrap-Request answer. */
export interface AppliedOperations {
  instances: Instances;
  ignored: IgnoredOperation[];
  /** Whether a Bootstrap-Finish was among the operations. */
  finished: boolean;
}

/** The MS account: its Security and Server instances and their paths. */
export interface ManagementAccount {
  securityPath: string;
  security: InstanceValues;
  serverPath: string;
  server: InstanceValues;
}

// Homeport's Bootstrap Server configures the Security and Server objects, nothing else.
const BOOTSTRAP_OBJECTS = new Set([0, 1]);

/**
 * Applies Bootstrap-Delete and Bootstrap-Write operations in order, up to Bootstrap-Finish, to
 * a copy of the instances. The bootstrap-server account (the `/0` instance whose resource 1 is
 * true, `/0/0`) is never deleted nor written, and no operation may create another one: such
 * operations are logged and ignored (LwM2M Core §6.1.7.4, protocol.md §2). A delete of `/` or
 * `/0` removes everything else and keeps that account (LwM2M Core §5.2.7.5).
 *
 * @example
 *   const { instances, ignored } = applyBootstrapOperations(current, answer.operations, log);
 */
export function applyBootstrapOperations(
  current: Instances,
  operations: readonly unknown[],
  log: Logger,
): AppliedOperations {
  const instances = structuredClone(current);
  const protectedPaths = new Set(bootstrapAccountPaths(instances));
  const ignored: IgnoredOperation[] = [];
  let finished = false;

  operations.forEach((operation, index) => {
    const reason = finished
      ? 'it comes after Bootstrap-Finish'
      : applyOne(instances, operation, protectedPaths);
    if (reason === 'finish') {
      finished = true;
      return;
    }
    if (reason === undefined) return;

    ignored.push({ index, operation, reason });
    log.warn({ index, op: describe(operation), reason }, 'ignored a bootstrap operation');
  });
  return { instances, ignored, finished };
}

/**
 * The paths of the bootstrap-server accounts: `/0` instances whose resource 1 is true.
 *
 * @example
 *   bootstrapAccountPaths(state.instances); // ['/0/0']
 */
export function bootstrapAccountPaths(instances: Instances): string[] {
  return Object.keys(instances).filter(
    (path) => path.startsWith('/0/') && instances[path][SECURITY.bootstrapServer] === true,
  );
}

/**
 * Finds the MS account: a `/0` instance that is not a bootstrap account and has a Server URI,
 * with the `/1` instance of the same Short Server ID (or the only `/1` instance).
 *
 * @example
 *   managementAccount(state.instances)?.security['0']; // 'mqtts://127.0.0.1:8883'
 */
export function managementAccount(instances: Instances): ManagementAccount | undefined {
  const securityPath = Object.keys(instances).find(
    (path) =>
      path.startsWith('/0/') &&
      instances[path][SECURITY.bootstrapServer] !== true &&
      typeof instances[path][SECURITY.serverUri] === 'string',
  );
  if (!securityPath) return undefined;

  const security = instances[securityPath];
  const servers = Object.keys(instances).filter((path) => path.startsWith('/1/'));
  const serverPath =
    servers.find(
      (path) => instances[path][SERVER.shortServerId] === security[SECURITY.shortServerId],
    ) ?? (servers.length === 1 ? servers[0] : undefined);
  if (!serverPath) return undefined;
  return { securityPath, security, serverPath, server: instances[serverPath] };
}

/** Applies one operation; returns why it was ignored, 'finish', or undefined when applied. */
function applyOne(
  instances: Instances,
  operation: unknown,
  protectedPaths: ReadonlySet<string>,
): string | undefined {
  if (!isOperation(operation)) return 'it is not a delete, write or finish operation';
  if (operation.op === 'finish') return 'finish';

  const path = parsePath(operation.path);
  if (!path) return `its path ${JSON.stringify(operation.path)} is not /, /o, /o/i or /o/i/r`;
  if (path.object !== undefined && !BOOTSTRAP_OBJECTS.has(path.object)) {
    return `object /${path.object} is not configured by bootstrap`;
  }

  const instancePath = path.instance === undefined ? undefined : `/${path.object}/${path.instance}`;
  if (instancePath && protectedPaths.has(instancePath)) {
    return `${instancePath} is the bootstrap-server account, which bootstrap never changes`;
  }

  if (operation.op === 'delete') return deletePath(instances, path, protectedPaths);
  return writePath(instances, path, operation.value);
}

function deletePath(
  instances: Instances,
  path: ParsedPath,
  protectedPaths: ReadonlySet<string>,
): string | undefined {
  if (path.resource !== undefined) return 'Bootstrap-Delete applies to objects and instances only';

  const prefix = path.object === undefined ? '/' : `/${path.object}/`;
  const target = path.instance === undefined ? undefined : `${prefix}${path.instance}`;
  for (const existing of Object.keys(instances)) {
    const inScope = target ? existing === target : existing.startsWith(prefix);
    if (inScope && !protectedPaths.has(existing)) delete instances[existing];
  }
  return undefined;
}

function writePath(instances: Instances, path: ParsedPath, value: unknown): string | undefined {
  if (path.object === undefined || path.instance === undefined) {
    return 'Bootstrap-Write in Homeport targets an instance or a resource';
  }

  const instancePath = `/${path.object}/${path.instance}`;
  const values =
    path.resource === undefined ? resourceMap(value) : resourceMap({ [path.resource]: value });
  if (!values) return 'its value is not a map of resource ids to strings, numbers or booleans';

  const merged = { ...instances[instancePath], ...values };
  if (path.object === 0 && merged[SECURITY.bootstrapServer] === true) {
    return `it would make ${instancePath} a second bootstrap-server account`;
  }
  instances[instancePath] = merged;
  return undefined;
}

interface ParsedPath {
  object?: number;
  instance?: number;
  resource?: number;
}

function parsePath(text: unknown): ParsedPath | undefined {
  if (typeof text !== 'string') return undefined;
  if (text === '/') return {};
  const match = /^\/(\d{1,5})(?:\/(\d{1,5})(?:\/(\d{1,5}))?)?$/.exec(text);
  if (!match) return undefined;

  const [, object, instance, resource] = match;
  return {
    object: Number(object),
    ...(instance !== undefined && { instance: Number(instance) }),
    ...(resource !== undefined && { resource: Number(resource) }),
  };
}

function resourceMap(value: unknown): InstanceValues | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value as Record<string, unknown>);
  const valid = entries.every(([id, v]) => /^\d{1,5}$/.test(id) && isResourceValue(v));
  return valid ? (Object.fromEntries(entries) as InstanceValues) : undefined;
}

function isResourceValue(value: unknown): value is ResourceValue {
  return typeof value === 'string' || typeof value === 'boolean' || Number.isFinite(value);
}

function isOperation(value: unknown): value is BootstrapOperation {
  if (typeof value !== 'object' || value === null) return false;
  const op = (value as { op?: unknown }).op;
  return op === 'finish' || op === 'delete' || op === 'write';
}

function describe(operation: unknown): unknown {
  if (typeof operation !== 'object' || operation === null) return operation;
  // Never log the written values: they hold trust anchors (whole PEM bundles).
  const { op, path } = operation as { op?: unknown; path?: unknown };
  return { op, path };
}
