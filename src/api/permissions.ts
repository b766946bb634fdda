import type { Repository } from '../store/index.js';

/**
 * Permission names, as operators know them from the system Homeport replaces. A permission is
 * held per company and applies to that company and every company below it. SysAdmin is a user
 * flag that holds all of them everywhere.
 */
export const PERMISSIONS = [
  'ViewUsers',
  'CreateUser',
  'EditUser',
  'DeleteUser',
  'ViewCompany',
  'CreateCompany',
  'EditCompany',
  'DeleteCompany',
  'ViewDevice',
  'CreateDevice',
  'ClaimDevice',
  'EditDevice',
  'DeleteDevice',
  'ViewDMServer',
  'AdmDMServer',
  'ChangeDeviceDMServer',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export function isPermission(name: string): name is Permission {
  return (PERMISSIONS as readonly string[]).includes(name);
}

/**
 * What one authenticated user may do, resolved once per request from the store: the
 * permissions held in each company, inherited down the company tree.
 *
 * @example
 *   const access = await AccessContext.load(repo, userId);
 *   if (!access.has('ViewCompany', companyId)) throw forbidden('ViewCompany', companyId);
 */
export class AccessContext {
  private constructor(
    readonly userId: number,
    readonly email: string,
    readonly isSysAdmin: boolean,
    private readonly byCompany: Map<number, Set<Permission>>,
  ) {}

  static async load(repo: Repository, userId: number): Promise<AccessContext | undefined> {
    const user = await repo.getUser(userId);
    if (!user) return undefined;

    const byCompany = new Map<number, Set<Permission>>();
    if (!user.isSysAdmin) {
      for (const membership of await repo.getMemberships(userId)) {
        const held = membership.permissions.filter(isPermission);
        for (const companyId of await repo.companyDescendants(membership.companyId)) {
          const set = byCompany.get(companyId) ?? new Set<Permission>();
          held.forEach((p) => set.add(p));
          byCompany.set(companyId, set);
        }
      }
    }
    return new AccessContext(user.id, user.email, user.isSysAdmin, byCompany);
  }

  /** True if the user holds `permission` in `companyId` (directly or through a parent). */
  has(permission: Permission, companyId: number): boolean {
    return this.isSysAdmin || (this.byCompany.get(companyId)?.has(permission) ?? false);
  }

  /** True if the user holds `permission` in at least one company. */
  hasAnywhere(permission: Permission): boolean {
    if (this.isSysAdmin) return true;
    for (const set of this.byCompany.values()) if (set.has(permission)) return true;
    return false;
  }

  /** The companies where the user holds `permission`; `'all'` for a SysAdmin. */
  companiesWith(permission: Permission): number[] | 'all' {
    if (this.isSysAdmin) return 'all';
    return [...this.byCompany.entries()].filter(([, set]) => set.has(permission)).map(([id]) => id);
  }
}
