import type { ColumnType, Generated, Kysely } from 'kysely';

/**
 * The tables as the drivers return them. Integers that PostgreSQL keeps as bigint (ids,
 * counts) arrive there as strings, so every integer column is read as `DbInt` and converted
 * with `toInt`. Booleans are integers 0/1, timestamps ISO-8601 text, JSON is text.
 */
export type DbInt = number | string | bigint;

type Id = Generated<DbInt>;
type Ref = ColumnType<DbInt, number, number>;
type NullableRef = ColumnType<DbInt | null, number | null, number | null>;

export interface MetaTable {
  key: string;
  value: string;
}

export interface CompanyTable {
  id: Id;
  name: string;
  contact_name: string | null;
  parent_id: ColumnType<DbInt | null, number | null, number | null>;
  created_at: string;
}

export interface UserTable {
  id: Id;
  email: string;
  first_name: string;
  last_name: string;
  password_hash: string;
  is_sysadmin: ColumnType<DbInt, number, number>;
  created_at: string;
}

export interface UserCompanyTable {
  user_id: Ref;
  company_id: Ref;
  permissions: string;
}

export interface AuditLogTable {
  id: Id;
  at: string;
  actor: string;
  action: string;
  subject: string;
  detail: string | null;
}

export interface DeviceTable {
  id: Id;
  mac: string;
  alias: string;
  serial_number: string;
  imei: string | null;
  order_code: string | null;
  device_type: string | null;
  company_id: NullableRef;
  created_at: string;
  is_online: ColumnType<DbInt, number | undefined, number>;
  last_seen: string | null;
  bootstrap_server_uri: string | null;
  management_server_id: NullableRef;
}

export interface CertificateTable {
  serial: string;
  device_id: Ref;
  issuer: string;
  not_before: string;
  not_after: string;
  created_at: string;
  revoked_at: string | null;
}

export interface TrustListTable {
  list: string;
  position: ColumnType<DbInt, number, number>;
  fingerprint: string;
  pem: string;
  subject: string;
}

export interface CommandTable {
  id: Id;
  device_id: Ref;
  type: string;
  state: string;
  actor: string;
  result: string | null;
  created_at: string;
  updated_at: string;
}

export interface ManagementServerTable {
  id: Id;
  name: string;
  address: string;
  port: ColumnType<DbInt, number, number>;
  company_id: NullableRef;
  ca_pem: string;
  ca_fingerprint: string;
  on_failure: ColumnType<string, string | undefined, string>;
  created_at: string;
}

export interface Database {
  meta: MetaTable;
  companies: CompanyTable;
  users: UserTable;
  user_companies: UserCompanyTable;
  audit_log: AuditLogTable;
  devices: DeviceTable;
  certificates: CertificateTable;
  trust_lists: TrustListTable;
  commands: CommandTable;
  management_servers: ManagementServerTable;
}

/** A connection or an open transaction: `Transaction<Database>` is a `Kysely<Database>`. */
export type Db = Kysely<Database>;

/** The SQL dialects the store speaks. */
export type SqlDialect = 'sqlite' | 'postgres';
