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
  PageQuery,
  User,
  UserQuery,
} from './types.js';
import type {
  Command,
  CommandState,
  CommandType,
  Device,
  DeviceQuery,
  DeviceRegistration,
  IssuedCertificate,
  ManagementServer,
  ManagementServerPatch,
  ManagementServerQuery,
  NewDevice,
  NewIssuedCertificate,
  NewManagementServer,
  TrustList,
  TrustedCertificate,
} from './device-types.js';

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

  // Devices (docs/protocol.md §1). MACs are canonical: upper case with colons.

  /** Registers a device. Throws DEVICE_EXISTS when the MAC is taken, COMPANY_NOT_FOUND. */
  createDevice(input: NewDevice): Promise<Device>;
  getDevice(mac: string): Promise<Device | undefined>;
  /** Removes a device with its certificates and commands; false if there was none. */
  deleteDevice(mac: string): Promise<boolean>;
  /** Devices ordered by id, one page, with the total that match. */
  listDevices(query: DeviceQuery): Promise<Page<Device>>;
  /** Records presence: online or offline, and `lastSeen = at`. Throws DEVICE_NOT_FOUND. */
  setDeviceOnline(mac: string, online: boolean, at: string): Promise<void>;
  /**
   * Records what the device said in its Register, and `lastSeen = at`. Throws
   * DEVICE_NOT_FOUND.
   */
  setDeviceRegistration(mac: string, registration: DeviceRegistration, at: string): Promise<void>;
  /**
   * Marks every device offline (after an MS restart nobody is connected); those that were
   * online get `lastSeen = at`.
   */
  setAllDevicesOffline(at: string): Promise<void>;

  /** Records a certificate the BS issued. Throws DEVICE_NOT_FOUND for an unknown MAC. */
  recordCertificate(cert: NewIssuedCertificate): Promise<IssuedCertificate>;
  getCertificate(serial: string): Promise<IssuedCertificate | undefined>;
  /** The newest certificate issued to the device (by notBefore, then createdAt), or undefined. */
  latestCertificate(mac: string): Promise<IssuedCertificate | undefined>;
  /** Marks a certificate revoked at `at`; false if unknown or already revoked. */
  revokeCertificate(serial: string, at: string): Promise<boolean>;

  /** A trust list in the order it was stored. */
  getTrustList(list: TrustList): Promise<TrustedCertificate[]>;
  /**
   * Replaces a whole trust list in one transaction. Throws TRUST_STORE_INVALID when a
   * fingerprint appears twice; the old list is then left as it was.
   */
  replaceTrustList(list: TrustList, certs: readonly TrustedCertificate[]): Promise<void>;

  /** Queues a command in state Created. Throws DEVICE_NOT_FOUND. */
  createCommand(input: { deviceMac: string; type: CommandType; actor: string }): Promise<Command>;
  getCommand(id: number): Promise<Command | undefined>;
  /** A device's commands, newest first; none for an unknown MAC. */
  listCommands(mac: string, page: PageQuery): Promise<Page<Command>>;
  /** A device's commands in state Created or AwaitingResponse, oldest first. */
  openCommands(mac: string): Promise<Command[]>;
  /**
   * Moves a command to `state`, with an optional result text (undefined keeps the stored one),
   * and returns the updated command. Throws COMMAND_NOT_FOUND.
   */
  setCommandState(id: number, state: CommandState, result?: string | null): Promise<Command>;

  // Definitions of other Management Servers, and which one each device is sent to
  // (ARCHITECTURE §4). A device with none is sent to the co-located MS.

  /**
   * Defines a Management Server, storing its address lower case. Throws
   * MANAGEMENT_SERVER_EXISTS (the existing id in `details.id`) when one with this address and
   * port exists, in any case, and COMPANY_NOT_FOUND.
   *
   * @example
   *   const b = await repo.createManagementServer({
   *     name: 'Server 2', address: 'management.b.example', port: 8883,
   *     companyId: acme.id, caPem, caFingerprint: fingerprint256(root),
   *   });
   */
  createManagementServer(input: NewManagementServer): Promise<ManagementServer>;
  getManagementServer(id: number): Promise<ManagementServer | undefined>;
  /** Definitions ordered by id; the address matches whole and the name in part, any case. */
  listManagementServers(query: ManagementServerQuery): Promise<ManagementServer[]>;
  /**
   * Changes the fields given and returns the definition. Throws MANAGEMENT_SERVER_NOT_FOUND,
   * MANAGEMENT_SERVER_EXISTS, COMPANY_NOT_FOUND.
   */
  updateManagementServer(id: number, patch: ManagementServerPatch): Promise<ManagementServer>;
  /**
   * Removes a definition; false if there was none. Throws MANAGEMENT_SERVER_IN_USE, naming
   * how many, while devices are assigned to it.
   */
  deleteManagementServer(id: number): Promise<boolean>;
  /** How many devices are assigned to the definition. */
  countDevicesAssigned(id: number): Promise<number>;
  /**
   * Sends the device to this definition from its next bootstrap on, or to the co-located MS
   * with null. Throws DEVICE_NOT_FOUND, MANAGEMENT_SERVER_NOT_FOUND.
   */
  setDeviceManagementServer(mac: string, id: number | null): Promise<void>;

  /** Closes the connections. Not available inside a transaction. */
  close(): Promise<void>;
}
