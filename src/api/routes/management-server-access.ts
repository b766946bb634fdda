/**
 * Who may read and change Management Server definitions: ViewDMServer or AdmDMServer in the
 * definition's company to read, AdmDMServer to change; a definition of no company is a SysAdmin's.
 */
import type { FastifyRequest } from 'fastify';
import { HomeportError } from '../../errors.js';
import type { ManagementServer, Repository } from '../../store/index.js';
import { accessOf, permissionNotHeld } from '../auth/authenticate.js';
import type { AccessContext, Permission } from '../permissions.js';

/** Who may read a definition: either permission in its company. */
export const READERS: readonly Permission[] = ['ViewDMServer', 'AdmDMServer'];
/** Who may change one. */
export const ADMINS: readonly Permission[] = ['AdmDMServer'];

/** The definition with this id, or 404 MANAGEMENT_SERVER_NOT_FOUND. */
export async function findDefinition(repo: Repository, id: number): Promise<ManagementServer> {
  const server = await repo.getManagementServer(id);
  if (server) return server;
  throw new HomeportError(
    'MANAGEMENT_SERVER_NOT_FOUND',
    `Management server ${id} is not defined here; GET /api/bootstrap lists the definitions.`,
  );
}

export function requireReaderAnywhere(request: FastifyRequest): AccessContext {
  const access = accessOf(request);
  if (READERS.some((p) => access.hasAnywhere(p))) return access;
  throw new HomeportError(
    'PERMISSION_NOT_HELD',
    'This needs the ViewDMServer or AdmDMServer permission in some company, which your user ' +
      'does not hold.',
  );
}

/** The companies whose definitions the caller may read; 'all' for a SysAdmin. */
export function visibleCompanies(access: AccessContext): number[] | 'all' {
  const ids = new Set<number>();
  for (const permission of READERS) {
    const companies = access.companiesWith(permission);
    if (companies === 'all') return 'all';
    companies.forEach((id) => ids.add(id));
  }
  return [...ids];
}

/** Throws 403 unless the caller holds one of `permissions` in the definition's company. */
export function requireOnDefinition(
  request: FastifyRequest,
  server: ManagementServer,
  permissions: readonly Permission[],
): AccessContext {
  const access = accessOf(request);
  const companyId = server.companyId;
  if (companyId === null) {
    if (access.isSysAdmin) return access;
    throw new HomeportError(
      'PERMISSION_NOT_HELD',
      `Management server ${server.id} belongs to no company, so only a SysAdmin may act on it.`,
    );
  }
  if (permissions.some((p) => access.has(p, companyId))) return access;
  const where = `company ${companyId}, which management server ${server.id} belongs to`;
  if (permissions.length === 1 && permissions[0]) throw permissionNotHeld(permissions[0], where);
  throw new HomeportError(
    'PERMISSION_NOT_HELD',
    `This needs the ${permissions.join(' or ')} permission in ${where}, which your user does ` +
      'not hold.',
  );
}

/** A definition of `companyId` may be made by AdmDMServer there; of none, by a SysAdmin. */
export async function requireAdministers(
  repo: Repository,
  request: FastifyRequest,
  companyId: number | null,
): Promise<AccessContext> {
  const access = accessOf(request);
  if (companyId === null) {
    if (access.isSysAdmin) return access;
    throw new HomeportError(
      'PERMISSION_NOT_HELD',
      'Only a SysAdmin defines a management server outside companies: set company_id to a ' +
        'company where you hold AdmDMServer.',
    );
  }
  if (!(await repo.getCompany(companyId))) {
    throw new HomeportError(
      'COMPANY_NOT_FOUND',
      `Company ${companyId} (company_id) does not exist.`,
    );
  }
  if (!access.has('AdmDMServer', companyId)) {
    throw permissionNotHeld('AdmDMServer', `company ${companyId}`);
  }
  return access;
}
