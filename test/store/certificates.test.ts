import { describe, expect, it } from 'vitest';

import type { NewIssuedCertificate } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';
import { newDevice, trusted } from './device-fixtures.js';

const MAC = '00:0A:14:81:22:33';

function issued(serial: string, notBefore: string, mac = MAC): NewIssuedCertificate {
  return {
    serial,
    deviceMac: mac,
    issuer: 'CN=Homeport Device CA, O=Homeport',
    notBefore,
    notAfter: '2026-03-01T00:00:00.000Z',
  };
}

describe.each(backends)('issued certificates on $name', (backend) => {
  const store = useStore(backend);

  it('a certificate for a device that does not exist is refused with DEVICE_NOT_FOUND', async () => {
    const recording = store.repo.recordCertificate(issued('7f01', '2025-03-01T00:00:00.000Z'));

    await expect(recording).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND', status: 404 });
    await expect(recording).rejects.toThrow(MAC);
    expect(await store.repo.getCertificate('7f01')).toBeUndefined();
  });

  it('a recorded certificate is read back by serial with the MAC of its device', async () => {
    await store.repo.createDevice(newDevice(MAC));

    const recorded = await store.repo.recordCertificate(issued('7f01', '2025-03-01T00:00:00.000Z'));

    expect(recorded).toEqual({
      ...issued('7f01', '2025-03-01T00:00:00.000Z'),
      createdAt: recorded.createdAt,
      revokedAt: null,
    });
    expect(recorded.createdAt).toMatch(/Z$/);
    expect(await store.repo.getCertificate('7f01')).toEqual(recorded);
    expect(await store.repo.getCertificate('7f02')).toBeUndefined();
  });

  it('the latest certificate is the one valid from the latest time, whatever the order of issue', async () => {
    const other = '00:0A:14:81:22:34';
    await store.repo.createDevice(newDevice(MAC));
    await store.repo.createDevice(newDevice(other));
    await store.repo.recordCertificate(issued('01', '2025-03-01T00:00:00.000Z'));
    await store.repo.recordCertificate(issued('03', '2025-05-01T00:00:00.000Z'));
    await store.repo.recordCertificate(issued('02', '2025-04-01T00:00:00.000Z'));
    await store.repo.recordCertificate(issued('04', '2025-06-01T00:00:00.000Z', other));

    expect(await store.repo.latestCertificate(MAC)).toMatchObject({ serial: '03' });
    expect(await store.repo.latestCertificate(other)).toMatchObject({ serial: '04' });
    expect(await store.repo.latestCertificate('00:0A:14:81:22:35')).toBeUndefined();
  });

  it('of two certificates valid from the same time, the one recorded later is the latest', async () => {
    await store.repo.createDevice(newDevice(MAC));
    await store.repo.recordCertificate(issued('aa', '2025-03-01T00:00:00.000Z'));
    // createdAt has millisecond resolution: make sure the second one is stamped later.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.repo.recordCertificate(issued('0b', '2025-03-01T00:00:00.000Z'));

    expect(await store.repo.latestCertificate(MAC)).toMatchObject({ serial: '0b' });
  });

  it('a certificate is revoked once: revoking it again or an unknown serial returns false', async () => {
    await store.repo.createDevice(newDevice(MAC));
    await store.repo.recordCertificate(issued('7f01', '2025-03-01T00:00:00.000Z'));
    const at = '2025-03-02T08:00:00.000Z';

    expect(await store.repo.revokeCertificate('7f01', at)).toBe(true);
    expect(await store.repo.revokeCertificate('7f01', '2025-03-03T08:00:00.000Z')).toBe(false);
    expect(await store.repo.revokeCertificate('7f02', at)).toBe(false);
    expect(await store.repo.getCertificate('7f01')).toMatchObject({ revokedAt: at });
    expect(await store.repo.latestCertificate(MAC)).toMatchObject({ revokedAt: at });
  });
});

describe.each(backends)('trust lists on $name', (backend) => {
  const store = useStore(backend);

  it('a trust list comes back in the order it was given, apart from the other list', async () => {
    const certs = [trusted('Zeta Root', 'ff01'), trusted('Alpha Root', '0001'), trusted('M', 'aa')];

    await store.repo.replaceTrustList('manufacturers', certs);
    await store.repo.replaceTrustList('management', [trusted('MS Root', '0001')]);

    expect(await store.repo.getTrustList('manufacturers')).toEqual(certs);
    expect(await store.repo.getTrustList('management')).toEqual([trusted('MS Root', '0001')]);
  });

  it('a replacement drops what the list held before, and an empty one empties it', async () => {
    await store.repo.replaceTrustList('management', [trusted('Old', '01'), trusted('Kept', '02')]);

    await store.repo.replaceTrustList('management', [trusted('Kept', '02'), trusted('New', '03')]);
    expect(await store.repo.getTrustList('management')).toEqual([
      trusted('Kept', '02'),
      trusted('New', '03'),
    ]);

    await store.repo.replaceTrustList('management', []);
    expect(await store.repo.getTrustList('management')).toEqual([]);
  });

  it('a list with a fingerprint twice is refused with TRUST_STORE_INVALID and the old list stays', async () => {
    const old = [trusted('Old Root', '01')];
    await store.repo.replaceTrustList('manufacturers', old);

    const replacing = store.repo.replaceTrustList('manufacturers', [
      trusted('New Root', '02'),
      trusted('New Root again', '02'),
    ]);

    await expect(replacing).rejects.toMatchObject({ code: 'TRUST_STORE_INVALID', status: 400 });
    await expect(replacing).rejects.toThrow(/02.*listed twice/);
    expect(await store.repo.getTrustList('manufacturers')).toEqual(old);
  });

  it('a replacement inside a transaction that fails later is rolled back', async () => {
    const old = [trusted('Old Root', '01')];
    await store.repo.replaceTrustList('management', old);

    const attempt = store.repo.transaction(async (tx) => {
      await tx.replaceTrustList('management', [trusted('New Root', '02')]);
      expect(await tx.getTrustList('management')).toEqual([trusted('New Root', '02')]);
      throw new Error('publishing the new trust store failed');
    });

    await expect(attempt).rejects.toThrow('publishing the new trust store failed');
    expect(await store.repo.getTrustList('management')).toEqual(old);
  });
});
