import type { NewDevice, Repository, TrustedCertificate } from '../../src/store/index.js';

/** A device to register: the MAC as given, the rest made up from it. */
export function newDevice(mac: string, extra: Partial<NewDevice> = {}): NewDevice {
  return { mac, alias: `Router ${mac.slice(-5)}`, serialNumber: `SN-${mac.slice(-2)}`, ...extra };
}

/** Registers the devices in order and returns them. */
export async function seedDevices(repo: Repository, ...inputs: NewDevice[]) {
  const devices = [];
  for (const input of inputs) devices.push(await repo.createDevice(input));
  return devices;
}

/** A trust-list entry; the PEM is a placeholder, the store does not parse it. */
export function trusted(name: string, fingerprint: string): TrustedCertificate {
  return {
    fingerprint,
    pem: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`,
    subject: `CN=${name}`,
  };
}
