/**
 * The records the store keeps, as the rest of Homeport sees them: camelCase, ids as numbers,
 * booleans as booleans and timestamps as ISO-8601 strings in UTC.
 */

/** One page of a listing plus the number of records that match the whole query. */
export interface Page<T> {
  items: T[];
  total: number;
}

/** Which page to read: `page` counts from 1, `pageSize` is between 1 and 1000. */
export interface PageQuery {
  page: number;
  pageSize: number;
}

export interface Company {
  id: number;
  name: string;
  contactName: string | null;
  parentId: number | null;
  createdAt: string;
}

export interface NewCompany {
  name: string;
  contactName?: string | null | undefined;
  parentId?: number | null | undefined;
}

export interface CompanyQuery extends PageQuery {
  /** Substring of the name, compared without regard to case. */
  name?: string | undefined;
  /** Only these companies; an empty list matches nothing. */
  ids?: readonly number[] | undefined;
}

/** A user account. The password hash is never part of it: see `Repository.getCredentials`. */
export interface User {
  id: number;
  email: string;
  firstName: string;
  lastName: string;
  isSysAdmin: boolean;
  createdAt: string;
}

export interface NewUser {
  email: string;
  firstName: string;
  lastName: string;
  passwordHash: string;
  isSysAdmin: boolean;
}

export interface Credentials {
  userId: number;
  passwordHash: string;
}

export interface UserQuery extends PageQuery {
  /** The whole e-mail address, compared without regard to case. */
  email?: string | undefined;
  /** Substring of the e-mail address, first name or last name, compared without regard to case. */
  search?: string | undefined;
  /** Users with a membership in at least one of these companies; an empty list matches nothing. */
  companyIds?: readonly number[] | undefined;
}

/** A user's permissions in one company. */
export interface Membership {
  companyId: number;
  companyName: string;
  permissions: string[];
}

export interface MembershipGrant {
  companyId: number;
  permissions: readonly string[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  detail: Record<string, unknown> | null;
}

export interface NewAuditEntry {
  actor: string;
  action: string;
  subject: string;
  detail?: Record<string, unknown> | undefined;
}

export interface AuditQuery {
  /** Only entries about this subject. */
  subject?: string | undefined;
  /** How many of the newest entries to return, 1 to 1000. */
  limit: number;
}
