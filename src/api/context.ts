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

/** What the API routes need from the deployment around them. */
export interface ApiContext {
  repo: Repository;
  tokens: TokenService;
  throttle: LoginThrottle;
  info: () => DeploymentInfo;
}
