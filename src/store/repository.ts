import type {
  AuditEntry,
  AuditQuery,
  Company,
  CompanyQuery,
  Credentials,
  Membership,
  MembershipGrant,
  NewAuditEntry,
  NewCompany,
  NewUser,
  Page,
  User,
  UserQuery,
} from './types.js';

/**
 * Everything Homeport keeps in its database, behind one interface that SQLite and
 * PostgreSQL serve alike. Every write that takes more than one statement runs in a
 * transaction; listings check their paging arguments and throw RangeError when they are out
 * of range.
 *
 * @example
 *   const repo = await openStore(undefined, { dataDir: '/var/lib/homeport' });
 *   const acme = await repo.createCompany({ name: 'Acme' });
 *   const { items, total } = await repo.listCompanies({ name: 'ac', page: 1, pageSize: 50 });
 *   await repo.close();
 */
export interface Repository {
  /**
   * Runs `fn` in one transaction: it commits when `fn` resolves and rolls back when it
   * throws. Use only the repository passed to `fn` inside it. Called on that repository,
   * `transaction` runs `fn` in the same transaction.
   *
   * @example
   *   const user = await repo.transaction(async (tx) => {
   *     const created = await tx.createUser(input);
   *     await tx.setMemberships(created.id, [{ companyId: 1, permissions: ['ViewUsers'] }]);
   *     return created;
   *   });
   */
  transaction<T>(fn: (repo: Repository) => Promise<T>): Promise<T>;

  /** The value stored under `key`, or undefined. */
  getMeta(key: string): Promise<string | undefined>;
  /** Stores `value` under `key`, replacing any earlier value. */
  setMeta(key: string, value: string): Promise<void>;

  /**
   * Creates a company. Throws COMPANY_EXISTS when the name is taken and COMPANY_NOT_FOUND
   * when `parentId` names no company.
   *
   * @example
   *   const branch = await repo.createCompany({ name: 'Acme North', parentId: acme.id });
   */
  createCompany(input: NewCompany): Promise<Company>;
  /** The company, or undefined. */
  getCompany(id: number): Promise<Company | undefined>;
  /** Companies ordered by id, one page of them, with the total that match. */
  listCompanies(query: CompanyQuery): Promise<Page<Company>>;
  /** The company's id, then its parent's, up to the top. Throws COMPANY_NOT_FOUND. */
  companyAncestors(id: number): Promise<number[]>;
  /**
   * The company's id and those of every company below it, level by level. Throws
   * COMPANY_NOT_FOUND.
   */
  companyDescendants(id: number): Promise<number[]>;

  /**
   * Creates a user, storing the e-mail address lowercased. Throws USER_EXISTS when the
   * address is taken, in any case.
   */
  createUser(input: NewUser): Promise<User>;
  /** The user, or undefined. */
  getUser(id: number): Promise<User | undefined>;
  /** The user with this e-mail address, in any case, or undefined. */
  getUserByEmail(email: string): Promise<User | undefined>;
  /** The password hash for a login, or undefined when no user has this address. */
  getCredentials(email: string): Promise<Credentials | undefined>;
  /** Replaces a user's password hash. Throws USER_NOT_FOUND. */
  setPasswordHash(userId: number, passwordHash: string): Promise<void>;
  countUsers(): Promise<number>;
  /** Users ordered by id, one page of them, with the total that match. */
  listUsers(query: UserQuery): Promise<Page<User>>;

  /** The user's memberships ordered by company id; empty for an unknown user. */
  getMemberships(userId: number): Promise<Membership[]>;
  /**
   * Replaces the user's whole list of memberships at once and returns the new list. Throws
   * USER_NOT_FOUND, COMPANY_NOT_FOUND naming the first unknown company, or VALIDATION when a
   * company appears twice; the old list is then left as it was.
   *
   * @example
   *   await repo.setMemberships(user.id, [{ companyId: acme.id, permissions: ['ViewUsers'] }]);
   */
  setMemberships(userId: number, grants: readonly MembershipGrant[]): Promise<Membership[]>;

  /** Records who did what to which subject, timestamped now. */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  /** The newest `limit` entries, newest first, optionally only those about `subject`. */
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;

  /** Closes the connections. Not available inside a transaction. */
  close(): Promise<void>;
}
