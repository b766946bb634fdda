import type { Repository } from '../store/index.js';
import type { LoginThrottle } from './auth/throttle.js';
import type { TokenService } from './auth/tokens.js';

export type ServiceName = 'api' | 'bootstrap' | 'management' | 'content';

/** Where a deployment's services can be reached, as `GET /api/info` tells clients. */
export interface DeploymentInfo {
  name: string;
  services: Record<ServiceName, { host: string; port: number; url: string }>;
  serverRootFingerprint: string;
}

/**
 * What the running services offer the API: changes made through the API take effect at once
 * without a restart.
 */
export interface LiveServices {
  /** New MS handshakes use these CAs (PEM) at once; connections they no longer trust are closed. */
  applyManagementTrust(pems: readonly string[]): Promise<void>;
  /** The BS accepts factory certificates from these manufacturer CAs (PEM) at once. */
  applyManufacturers(pems: readonly string[]): Promise<void>;
  /** The MS delivers the device's open commands now if it is connected. */
  commandsQueued(mac: string): void;
  /** The MS drops the device's sessions: its certificate was revoked or it was deleted. */
  disconnectDevice(mac: string): void;
}

/** What the API routes need from the deployment around them. */
export interface ApiContext {
  repo: Repository;
  tokens: TokenService;
  throttle: LoginThrottle;
  info: () => DeploymentInfo;
  live: LiveServices;
  /** SHA-256 (lowercase hex) of this deployment's own device root CA. */
  deviceRootFingerprint: string;
}
