import { isApiError } from '../cli/api-client.js';
import type { MoveCalls } from './calls.js';
import type { MoveServer } from './types.js';

/** `GET /api/users/me`. */
export interface Me {
  id: number;
  email: string;
  is_sysadmin: boolean;
  companies: { company: { id: number; name: string }; permissions: string[] }[];
}

interface CompanyItem {
  id: number;
  name: string;
  parent: { id: number } | null;
}

/** Companies read for the parent links; a tree larger than this is checked leniently. */
const COMPANY_PAGE = 1000;

/**
 * What the move's user may do on one server, read from `GET /api/users/me` (the server's own
 * answer, not a token decoded without checking it). A permission held in a company also holds
 * in the companies below it; the tree comes from `GET /api/companies` when the user may list
 * companies, and otherwise a permission held in some company counts as possibly inherited (the
 * server still has the last word).
 *
 * @example
 *   const access = await readAccess(calls, server1);
 *   access.holds('EditDevice', device.company?.id ?? null);
 */
export class Access {
  constructor(
    readonly server: string,
    readonly me: Me,
    /** company id → parent id; undefined when the tree could not be read. */
    private readonly parents: Map<number, number | null> | undefined,
  ) {}

  get isSysAdmin(): boolean {
    return this.me.is_sysadmin;
  }

  /** True if the user holds `permission` in `companyId` (null: a device of no company). */
  holds(permission: string, companyId: number | null): boolean {
    if (this.isSysAdmin) return true;
    if (companyId === null) return false;
    const held = this.companiesWith(permission).map((c) => c.id);
    let id: number | null = companyId;
    while (id !== null) {
      if (held.includes(id)) return true;
      const parent: number | null | undefined = this.parents?.get(id);
      // A company whose parent we cannot see may inherit from it: let the server decide.
      if (parent === undefined) return held.length > 0;
      id = parent;
    }
    return false;
  }

  /** True if the user holds `permission` in at least one company. */
  holdsAnywhere(permission: string): boolean {
    return this.isSysAdmin || this.companiesWith(permission).length > 0;
  }

  /** The companies of the user's memberships that grant `permission`, by id. */
  companiesWith(permission: string): { id: number; name: string }[] {
    return this.me.companies
      .filter((m) => m.permissions.includes(permission))
      .map((m) => m.company)
      .sort((a, b) => a.id - b.id);
  }
}

/** Reads who the user is on `server`, and the company tree if the user may see it. */
export async function readAccess(calls: MoveCalls, server: MoveServer): Promise<Access> {
  const { data: me } = await calls.read<Me>(server, '/api/users/me');
  if (me.is_sysadmin) return new Access(server.name, me, new Map());
  return new Access(server.name, me, await readParents(calls, server));
}

async function readParents(calls: MoveCalls, server: MoveServer) {
  try {
    const reply = await calls.read<CompanyItem[]>(
      server,
      `/api/companies?page=1&pageSize=${COMPANY_PAGE}`,
    );
    const total = (reply.body as { total_items?: number }).total_items ?? 0;
    if (total > reply.data.length) return undefined;
    return new Map(reply.data.map((c) => [c.id, c.parent?.id ?? null]));
  } catch (err) {
    if (isApiError(err) && err.status === 403) return undefined;
    throw err;
  }
}
