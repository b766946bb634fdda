import type { ApiClient } from '../cli/api-client.js';
import type { Logger } from '../log.js';

/**
 * One deployment the move tool can talk to: a server profile with its authenticated client.
 * `ca` is the PEM the profile pins for the API (the deployment's server root), when it has one.
 */
export interface MoveServer {
  name: string;
  client: ApiClient;
  ca?: string | undefined;
}

/** The steps of one device's move, in order (ARCHITECTURE §4). */
export const MOVE_STEPS = [
  'resolve',
  'home',
  'permissions',
  'identity',
  'trust',
  'definition',
  'assign',
  'trigger',
  'verify',
] as const;

export type StepName = (typeof MOVE_STEPS)[number];

/** Where a device's move stands, for progress displays. */
export type MoveState = 'planning' | 'moving' | 'waiting' | 'arrived' | 'failed' | 'skipped';

/** How a device's move ended. `skipped`: nothing to do, a dry run, or stopped on purpose. */
export type MoveStatus = 'arrived' | 'failed' | 'skipped';

export interface MoveOptions {
  /** Every deployment the operator has a profile for; Server 0 is looked for among them. */
  servers: readonly MoveServer[];
  /** Devices by MAC address (any spelling) or alias. */
  devices: readonly string[];
  /** The destination, Server 2. */
  to: string;
  /** Server 1; default: the server where the device is registered and online. */
  from?: string | undefined;
  /** Server 0; default: the server whose Bootstrap Server URL the device reported. */
  home?: string | undefined;
  /** Devices moved at the same time (API work; waiting for arrival does not count). Default 8. */
  concurrency?: number | undefined;
  /** How long to wait for each device on the destination after its trigger. Default 120 s. */
  timeoutMs?: number | undefined;
  /** How often the destination is asked whether a device arrived. Default 1 s. */
  pollIntervalMs?: number | undefined;
  /** On a timeout, assign the device back on Server 0 and trigger it again. */
  rollback?: boolean | undefined;
  /** Make no change: record every call that would be made (reads still run, to plan). */
  dryRun?: boolean | undefined;
  /** Stop every device after this step (for drills and tests of an interrupted move). */
  stopAfter?: StepName | undefined;
  logger?: Logger | undefined;
  /** Called when a device changes state; `device` is as given, `mac` once known. */
  onState?: ((device: string, state: MoveState, mac: string | null) => void) | undefined;
  /** Called once per device when its outcome is settled (in the order they settle). */
  onResult?: ((result: DeviceResult) => void) | undefined;
  /** Called for every API call made, or recorded in a dry run. */
  onCall?: ((call: ApiCall) => void) | undefined;
}

/** An API call the move made (or, in a dry run, would make). */
export interface ApiCall {
  server: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** What the body says, in a few words (never a whole certificate bundle). */
  summary?: string;
  /** False for a change recorded in a dry run and not sent. */
  sent: boolean;
}

/** The outcome of one device's move; also the `--json` line of `homeport move`. */
export interface DeviceResult {
  /** The device as given (MAC or alias). */
  device: string;
  mac: string | null;
  from: string | null;
  to: string;
  home: string | null;
  status: MoveStatus;
  /** From the device's first change (or its planning, if it never got that far) to its outcome. */
  seconds: number;
  /** The step that failed, or the last one done for a skipped device. */
  step?: StepName;
  error?: string;
  code?: string;
  /** Why it was skipped, or what happened besides (a rollback, where the device is now). */
  note?: string;
}

export interface MoveReport {
  devices: DeviceResult[];
  arrived: number;
  failed: number;
  skipped: number;
  seconds: number;
  dryRun: boolean;
}

/** `GET /api/management/devices/{mac}`, the fields the move reads. */
export interface DeviceDetail {
  alias: string;
  serial_number: string;
  mac_address: string;
  imei: string | null;
  order_code: string | null;
  device_type: { name: string } | null;
  company: { id: number; name: string } | null;
  is_online: boolean;
  last_seen: string | null;
  certificate: { serial: string; not_before?: string; not_after: string; issuer: string } | null;
  bootstrap_server_uri: string | null;
  /** The MS this deployment's BS sends the device to (id 0, co_located: its own). */
  management_server?: { id: number; co_located?: boolean } | null;
}
