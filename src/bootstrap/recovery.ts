import type { Device, ManagementServer, Repository } from '../store/index.js';
import type { BootstrapContext } from './context.js';
import { managementServerUri, sameServerUri } from './management-target.js';

/** Why a device sends a Bootstrap-Request (docs/protocol.md §3.1). */
export const BOOTSTRAP_REASONS = [
  'initial',
  'triggered',
  'registration-failure',
  'expiring',
] as const;
export type BootstrapReason = (typeof BOOTSTRAP_REASONS)[number];

/**
 * Handles a device that came back because it could not register with its MS (LwM2M Core §E.2
 * resource 16, docs/protocol.md §3.1), before the BS computes its answer. When `failedServer`
 * is the MS of the definition the device is assigned to, that definition's `on_failure`
 * decides: `home` clears the assignment, so that this answer sends the device to the
 * co-located MS (audit `device.recovered`); `retry` keeps it (audit
 * `device.registration-failure`, as for any other failure). Everything happens in one
 * transaction. Returns the device as the answer must see it.
 *
 * @example
 *   const current = await recordFailure(ctx, device, 'registration-failure', 'mqtts://b:8883');
 *   const target = await ctx.managementTargetFor(current);
 */
export async function recordFailure(
  ctx: BootstrapContext,
  device: Device,
  reason: BootstrapReason,
  failedServer: string | undefined,
): Promise<Device> {
  if (reason !== 'registration-failure') return device;

  const outcome = await ctx.repo.transaction((tx) => recover(tx, device, failedServer));
  const { current, assigned, recovered } = outcome;
  ctx.logger.info(
    { mac: device.mac, failedServer, managementServerId: assigned?.id, recovered },
    recovered
      ? 'device came back from a management server it could not reach; sending it home'
      : 'device came back: its MS could not be reached',
  );
  return current;
}

interface Outcome {
  current: Device;
  assigned: ManagementServer | undefined;
  recovered: boolean;
}

async function recover(
  tx: Repository,
  device: Device,
  failedServer: string | undefined,
): Promise<Outcome> {
  const current = (await tx.getDevice(device.mac)) ?? device;
  const assigned =
    current.managementServerId === null
      ? undefined
      : await tx.getManagementServer(current.managementServerId);
  const failedAssigned =
    assigned !== undefined &&
    failedServer !== undefined &&
    sameServerUri(failedServer, managementServerUri(assigned.address, assigned.port));
  const base = {
    actor: `device:${device.mac}`,
    subject: `device:${device.mac}`,
  };

  if (failedAssigned && assigned.onFailure === 'home') {
    await tx.setDeviceManagementServer(device.mac, null);
    await tx.appendAudit({
      ...base,
      action: 'device.recovered',
      detail: {
        failedServer,
        managementServerId: assigned.id,
        name: assigned.name,
        onFailure: assigned.onFailure,
      },
    });
    return { current: { ...current, managementServerId: null }, assigned, recovered: true };
  }

  await tx.appendAudit({
    ...base,
    action: 'device.registration-failure',
    detail: {
      failedServer: failedServer ?? null,
      ...(assigned && { managementServerId: assigned.id, kept: true }),
    },
  });
  return { current, assigned, recovered: false };
}
