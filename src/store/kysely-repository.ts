import { appendAudit, listAudit } from './audit.js';
import {
  getCertificate,
  latestCertificate,
  recordCertificate,
  revokeCertificate,
} from './certificates.js';
import {
  createCommand,
  getCommand,
  listCommands,
  openCommands,
  setCommandState,
  type NewCommand,
} from './commands.js';
import {
  companyAncestors,
  companyDescendants,
  createCompany,
  getCompany,
  listCompanies,
} from './companies.js';
import {
  createDevice,
  deleteDevice,
  getDevice,
  listDevices,
  setAllDevicesOffline,
  setDeviceOnline,
  setDeviceRegistration,
} from './devices.js';
import {
  countDevicesAssigned,
  createManagementServer,
  deleteManagementServer,
  getManagementServer,
  listManagementServers,
  setDeviceManagementServer,
  updateManagementServer,
} from './management-servers.js';
import { getMemberships, setMemberships } from './memberships.js';
import type { Repository } from './repository.js';
import type { Db } from './schema.js';
import { getTrustList, replaceTrustList } from './trust-lists.js';
import {
  countUsers,
  createUser,
  getCredentials,
  getUser,
  getUserByEmail,
  listUsers,
  setPasswordHash,
} from './users.js';
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
 * The `Repository` over Kysely, for SQLite and PostgreSQL alike. Built on a `Kysely`
 * instance it opens a transaction per multi-statement write; built on a `Transaction` it
 * runs everything, nested `transaction` calls included, inside that one.
 *
 * @example
 *   const repo = new KyselyRepository(db);
 *   await repo.transaction(async (tx) => tx.createCompany({ name: 'Acme' }));
 */
export class KyselyRepository implements Repository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  transaction<T>(fn: (repo: Repository) => Promise<T>): Promise<T> {
    return this.#atomically((trx) => fn(trx === this.#db ? this : new KyselyRepository(trx)));
  }

  /** Runs `fn` in the current transaction, or in a new one. */
  #atomically<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.#db.isTransaction) return fn(this.#db);
    return this.#db.transaction().execute(fn);
  }

  async getMeta(key: string): Promise<string | undefined> {
    const row = await this.#db
      .selectFrom('meta')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#db
      .insertInto('meta')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  createCompany(input: NewCompany): Promise<Company> {
    return this.#atomically((db) => createCompany(db, input));
  }

  getCompany(id: number): Promise<Company | undefined> {
    return getCompany(this.#db, id);
  }

  listCompanies(query: CompanyQuery): Promise<Page<Company>> {
    return listCompanies(this.#db, query);
  }

  companyAncestors(id: number): Promise<number[]> {
    return companyAncestors(this.#db, id);
  }

  companyDescendants(id: number): Promise<number[]> {
    return companyDescendants(this.#db, id);
  }

  createUser(input: NewUser): Promise<User> {
    return this.#atomically((db) => createUser(db, input));
  }

  getUser(id: number): Promise<User | undefined> {
    return getUser(this.#db, id);
  }

  getUserByEmail(email: string): Promise<User | undefined> {
    return getUserByEmail(this.#db, email);
  }

  getCredentials(email: string): Promise<Credentials | undefined> {
    return getCredentials(this.#db, email);
  }

  setPasswordHash(userId: number, passwordHash: string): Promise<void> {
    return setPasswordHash(this.#db, userId, passwordHash);
  }

  countUsers(): Promise<number> {
    return countUsers(this.#db);
  }

  listUsers(query: UserQuery): Promise<Page<User>> {
    return listUsers(this.#db, query);
  }

  getMemberships(userId: number): Promise<Membership[]> {
    return getMemberships(this.#db, userId);
  }

  setMemberships(userId: number, grants: readonly MembershipGrant[]): Promise<Membership[]> {
    return this.#atomically((db) => setMemberships(db, userId, grants));
  }

  appendAudit(entry: NewAuditEntry): Promise<AuditEntry> {
    return appendAudit(this.#db, entry);
  }

  listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    return listAudit(this.#db, query);
  }

  createDevice(input: NewDevice): Promise<Device> {
    return this.#atomically((db) => createDevice(db, input));
  }

  getDevice(mac: string): Promise<Device | undefined> {
    return getDevice(this.#db, mac);
  }

  deleteDevice(mac: string): Promise<boolean> {
    return deleteDevice(this.#db, mac);
  }

  listDevices(query: DeviceQuery): Promise<Page<Device>> {
    return listDevices(this.#db, query);
  }

  setDeviceOnline(mac: string, online: boolean, at: string): Promise<void> {
    return setDeviceOnline(this.#db, mac, online, at);
  }

  setDeviceRegistration(mac: string, registration: DeviceRegistration, at: string): Promise<void> {
    return setDeviceRegistration(this.#db, mac, registration, at);
  }

  setAllDevicesOffline(at: string): Promise<void> {
    return setAllDevicesOffline(this.#db, at);
  }

  recordCertificate(cert: NewIssuedCertificate): Promise<IssuedCertificate> {
    return this.#atomically((db) => recordCertificate(db, cert));
  }

  getCertificate(serial: string): Promise<IssuedCertificate | undefined> {
    return getCertificate(this.#db, serial);
  }

  latestCertificate(mac: string): Promise<IssuedCertificate | undefined> {
    return latestCertificate(this.#db, mac);
  }

  revokeCertificate(serial: string, at: string): Promise<boolean> {
    return revokeCertificate(this.#db, serial, at);
  }

  getTrustList(list: TrustList): Promise<TrustedCertificate[]> {
    return getTrustList(this.#db, list);
  }

  replaceTrustList(list: TrustList, certs: readonly TrustedCertificate[]): Promise<void> {
    return this.#atomically((db) => replaceTrustList(db, list, certs));
  }

  createCommand(input: NewCommand): Promise<Command> {
    return this.#atomically((db) => createCommand(db, input));
  }

  getCommand(id: number): Promise<Command | undefined> {
    return getCommand(this.#db, id);
  }

  listCommands(mac: string, page: PageQuery): Promise<Page<Command>> {
    return listCommands(this.#db, mac, page);
  }

  openCommands(mac: string): Promise<Command[]> {
    return openCommands(this.#db, mac);
  }

  setCommandState(id: number, state: CommandState, result?: string | null): Promise<Command> {
    return this.#atomically((db) => setCommandState(db, id, state, result));
  }

  createManagementServer(input: NewManagementServer): Promise<ManagementServer> {
    return this.#atomically((db) => createManagementServer(db, input));
  }

  getManagementServer(id: number): Promise<ManagementServer | undefined> {
    return getManagementServer(this.#db, id);
  }

  listManagementServers(query: ManagementServerQuery): Promise<ManagementServer[]> {
    return listManagementServers(this.#db, query);
  }

  updateManagementServer(id: number, patch: ManagementServerPatch): Promise<ManagementServer> {
    return this.#atomically((db) => updateManagementServer(db, id, patch));
  }

  deleteManagementServer(id: number): Promise<boolean> {
    return this.#atomically((db) => deleteManagementServer(db, id));
  }

  countDevicesAssigned(id: number): Promise<number> {
    return countDevicesAssigned(this.#db, id);
  }

  setDeviceManagementServer(mac: string, id: number | null): Promise<void> {
    return this.#atomically((db) => setDeviceManagementServer(db, mac, id));
  }

  async close(): Promise<void> {
    if (this.#db.isTransaction) {
      throw new Error('Cannot close the store from inside a transaction: close the outer one.');
    }
    await this.#db.destroy();
  }
}
