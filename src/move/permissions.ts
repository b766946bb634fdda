import { HomeportError } from '../errors.js';
import type { Access } from './access.js';
import type { MoveServer } from './types.js';

/** The three roles of a move (ARCHITECTURE §4). */
export type Role = 'Server 0' | 'Server 1' | 'Server 2';

/**
 * One thing the move's user must be allowed on one server: any of `permissions` in `company`
 * (`'anywhere'`: in at least one company), or SysAdmin when `permissions` is empty.
 */
export interface Need {
  server: MoveServer;
  role: Role;
  permissions: readonly string[];
  company: { id: number; name: string } | null | 'anywhere';
  /** What the permission is for, as "to …". */
  why: string;
  /** Resolves true when the need turns out not to arise (asked only if it is not met). */
  unless?: () => Promise<boolean>;
}

/** True if `access` satisfies `need`. */
export function satisfies(access: Access, need: Need): boolean {
  if (need.permissions.length === 0) return access.isSysAdmin;
  if (need.company === 'anywhere') return need.permissions.some((p) => access.holdsAnywhere(p));
  const companyId = need.company?.id ?? null;
  return need.permissions.some((p) => access.holds(p, companyId));
}

/**
 * The error for an unmet need: which permission, on which server and in which company, what
 * for, and that nothing was changed.
 */
export function permissionMissing(mac: string, access: Access, need: Need): HomeportError {
  const who = `${access.me.email} on ${need.server.name} (${need.role})`;
  const what =
    need.permissions.length === 0
      ? 'is not a SysAdmin there'
      : `does not hold ${need.permissions.join(' or ')} ${where(need.company)}`;
  return new HomeportError(
    'MOVE_PERMISSION_MISSING',
    `Cannot move ${mac}: ${who} ${what}, which is needed ${need.why}. Nothing was changed; ` +
      'grant it (PUT /api/users/{id}/companies) or move with a user who holds it.',
  );
}

function where(company: Need['company']): string {
  if (company === 'anywhere') return 'in any company';
  if (company === null) return 'for a device of no company (only a SysAdmin acts on those)';
  return `in company ${company.id} (${company.name})`;
}

/**
 * The company to register the device in on the destination: one where the user holds
 * CreateDevice and whose name is the device's company's on Server 1; else none for a SysAdmin
 * (the device stays unclaimed until claimed there); else the first company with CreateDevice.
 */
export function identityCompany(
  access: Access,
  sourceCompany: string | undefined,
): { id: number; name: string } | null {
  const creators = access.companiesWith('CreateDevice');
  const sameName = creators.find((c) => c.name === sourceCompany);
  if (sameName) return sameName;
  if (access.isSysAdmin) return null;
  return creators[0] ?? null;
}

/**
 * The company the definition on Server 0 belongs to: the device's company there if the user
 * may administer definitions in it, else the first where the user holds AdmDMServer; none for a
 * SysAdmin when the device has no company.
 */
export function definitionCompany(
  access: Access,
  deviceCompany: { id: number; name: string } | null,
): { id: number; name: string } | null {
  if (deviceCompany && access.holds('AdmDMServer', deviceCompany.id)) return deviceCompany;
  if (access.isSysAdmin) return null;
  return access.companiesWith('AdmDMServer')[0] ?? null;
}
