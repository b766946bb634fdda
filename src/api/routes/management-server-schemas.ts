/**
 * How Management Server definitions look in API answers (wadmp notes §4.4), as JSON Schemas
 * for the OpenAPI document and as the functions that build them. The co-located MS, where the
 * BS sends every device that is assigned nowhere else, is shown as the definition with id 0.
 */
import {
  ON_FAILURE_POLICIES,
  type Device,
  type ManagementServer,
  type Repository,
} from '../../store/index.js';
import type { DeploymentInfo } from '../context.js';
import { parseAddress } from '../management-anchor.js';

/** The id under which the co-located MS is listed; no stored definition has it. */
export const CO_LOCATED_ID = 0;

export const CO_LOCATED_NOTE =
  'The co-located Management Server (the one of this deployment, where devices go unless ' +
  'assigned elsewhere) is listed as the definition with id 0 and co_located true; it cannot ' +
  'be changed or deleted.';

/** One definition as every route answers it. */
export const managementServerSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer', description: '0 is the co-located Management Server' },
    name: { type: 'string' },
    address: { type: 'string', description: 'IP address or host name, lower case' },
    port: { type: 'integer' },
    company_id: { type: ['integer', 'null'] },
    ca_fingerprint: {
      type: 'string',
      description: 'SHA-256 of the trust anchor given to devices (DER), lowercase hex',
    },
    on_failure: {
      type: 'string',
      enum: [...ON_FAILURE_POLICIES],
      description:
        'When a device comes back to the BS unable to register with this MS: home = send it to ' +
        'the co-located MS from then on, retry = keep sending it here',
    },
    co_located: { type: 'boolean' },
  },
} as const;

/** The body of `POST /api/bootstrap` and `PUT /api/bootstrap/{id}`. */
export interface DefinitionBody {
  name: string;
  address: string;
  port: number;
  company_id?: number | null;
  ca?: string;
  on_failure?: 'home' | 'retry';
}

export const definitionBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'address', 'port'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
    address: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description:
        'IP address or host name that devices connect to and that the MS certificate names',
    },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    company_id: {
      type: ['integer', 'null'],
      minimum: 1,
      description: 'The company that administers it; without one, only a SysAdmin may',
    },
    ca: {
      type: 'string',
      maxLength: 100_000,
      description:
        "PEM of the MS's trust anchor: one self-signed certificate. Without it the server takes " +
        'the root of the chain the MS presents, and answers its fingerprint for you to check',
    },
    on_failure: { type: 'string', enum: [...ON_FAILURE_POLICIES], default: 'home' },
  },
} as const;

/** A stored definition as the API shows it; the anchor itself is shown by fingerprint. */
export function presentDefinition(server: ManagementServer) {
  return {
    id: server.id,
    name: server.name,
    address: server.address,
    port: server.port,
    company_id: server.companyId,
    ca_fingerprint: server.caFingerprint,
    on_failure: server.onFailure,
    co_located: false,
  };
}

/**
 * The co-located MS as a definition: this deployment's name and MS, its server root as the
 * anchor. A device that fails there is sent there again, hence `retry`.
 */
export function presentCoLocated(info: DeploymentInfo) {
  const { host, port } = info.services.management;
  return {
    id: CO_LOCATED_ID,
    name: info.name,
    address: storedForm(host),
    port,
    company_id: null,
    ca_fingerprint: info.serverRootFingerprint,
    on_failure: 'retry' as const,
    co_located: true,
  };
}

/**
 * The definition the BS sends the device to, as the API shows it: the co-located one when the
 * device is assigned nowhere else (or to a definition that has gone, which the BS treats so).
 */
export async function presentAssigned(repo: Repository, device: Device, info: DeploymentInfo) {
  if (device.managementServerId === null) return presentCoLocated(info);
  const server = await repo.getManagementServer(device.managementServerId);
  return server ? presentDefinition(server) : presentCoLocated(info);
}

/** The deployment's host in the form definitions store addresses, so that the two compare. */
function storedForm(host: string): string {
  try {
    return parseAddress(host, 'the deployment host');
  } catch {
    return host.toLowerCase();
  }
}
