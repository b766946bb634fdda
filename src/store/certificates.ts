import { HomeportError } from '../errors.js';
import { deviceNotFound, requireDeviceId } from './devices.js';
import type { Db } from './schema.js';
import { isForeignKeyViolation, isUniqueViolation, nowIso } from './sql-helpers.js';
import type { IssuedCertificate, NewIssuedCertificate } from './device-types.js';

/** Records a certificate the BS issued; `db` must be a transaction. */
export async function recordCertificate(
  db: Db,
  cert: NewIssuedCertificate,
): Promise<IssuedCertificate> {
  const operation = `Cannot record certificate ${cert.serial}`;
  const deviceId = await requireDeviceId(db, operation, cert.deviceMac);
  const row = {
    serial: cert.serial,
    device_id: deviceId,
    issuer: cert.issuer,
    not_before: cert.notBefore,
    not_after: cert.notAfter,
    created_at: nowIso(),
    revoked_at: null,
  };

  try {
    await db.insertInto('certificates').values(row).execute();
  } catch (err) {
    throw mapInsertError(err, operation, cert.deviceMac);
  }
  return {
    serial: cert.serial,
    deviceMac: cert.deviceMac,
    issuer: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    createdAt: row.created_at,
    revokedAt: null,
  };
}

function mapInsertError(err: unknown, operation: string, mac: string): unknown {
  // The device was deleted by a concurrent writer after the lookup.
  if (isForeignKeyViolation(err)) return deviceNotFound(operation, mac, err);
  if (!isUniqueViolation(err)) return err;
  // Serials are random and 20 bytes long (RFC 5280 §4.1.2.2): a repeat is the issuer's fault.
  return new HomeportError('INTERNAL', `${operation}: that serial is already recorded.`, {
    cause: err,
  });
}

/** The certificate columns with the owner's MAC, as an IssuedCertificate. */
function certificates(db: Db) {
  return db
    .selectFrom('certificates as c')
    .innerJoin('devices as d', 'd.id', 'c.device_id')
    .select([
      'c.serial as serial',
      'd.mac as deviceMac',
      'c.issuer as issuer',
      'c.not_before as notBefore',
      'c.not_after as notAfter',
      'c.created_at as createdAt',
      'c.revoked_at as revokedAt',
    ]);
}

export async function getCertificate(
  db: Db,
  serial: string,
): Promise<IssuedCertificate | undefined> {
  return certificates(db).where('c.serial', '=', serial).executeTakeFirst();
}

/** The device's newest certificate: latest notBefore, then latest createdAt. */
export async function latestCertificate(
  db: Db,
  mac: string,
): Promise<IssuedCertificate | undefined> {
  return certificates(db)
    .where('d.mac', '=', mac)
    .orderBy('c.not_before', 'desc')
    .orderBy('c.created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Sets revokedAt once; false when the serial is unknown or the certificate already revoked. */
export async function revokeCertificate(db: Db, serial: string, at: string): Promise<boolean> {
  const { numUpdatedRows } = await db
    .updateTable('certificates')
    .set({ revoked_at: at })
    .where('serial', '=', serial)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return numUpdatedRows > 0n;
}
