/**
 * The device's view of the LwM2M object model (docs/protocol.md §2) and of the Bootstrap
 * interface (§3), shared by its state, its bootstrap client and its management session.
 */

/** A single resource value: LwM2M String, Integer, Float, Boolean or Time. */
export type ResourceValue = string | number | boolean;

/** An object instance: resource id (as a string, like JSON keys) → value. */
export type InstanceValues = Record<string, ResourceValue>;

/** Object instances by path (`/0/0`, `/0/1`, `/1/0`). */
export type Instances = Record<string, InstanceValues>;

/** Why a device sends a Bootstrap-Request (protocol.md §3.1). */
export type BootstrapReason = 'initial' | 'triggered' | 'registration-failure' | 'expiring';

/** One operation of a Bootstrap-Request answer, as the BS sends it. */
export type BootstrapOperation =
  { op: 'delete'; path: string } | { op: 'write'; path: string; value: unknown } | { op: 'finish' };

/** The answer to a Bootstrap-Request (protocol.md §3.1). */
export interface BootstrapAnswer {
  operations: BootstrapOperation[];
  est: { path: string; reenroll: boolean };
}

/** Where a device agent is in its life. */
export type AgentState =
  'idle' | 'bootstrapping' | 'enrolling' | 'connecting' | 'online' | 'backing-off' | 'stopped';

/** Security object resources (LwM2M Core §E.1). */
export const SECURITY = {
  serverUri: '0',
  bootstrapServer: '1',
  securityMode: '2',
  serverPublicKey: '5',
  shortServerId: '10',
  clientHoldOffTime: '11',
} as const;

/** Server object resources (LwM2M Core §E.2). */
export const SERVER = {
  shortServerId: '0',
  lifetime: '1',
  bootstrapTrigger: '9',
  bootstrapOnRegistrationFailure: '16',
  retryCount: '17',
  retryTimer: '18',
  sequenceDelayTimer: '19',
  sequenceRetryCount: '20',
} as const;

/** LwM2M Core §E.1 resource 2: Certificate mode, and Certificate mode with EST. */
export const SECURITY_MODE_CERTIFICATE = 2;
export const SECURITY_MODE_EST = 4;
