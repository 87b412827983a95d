/** One running instance of a Steward service, as the presence bucket reports it. */
export interface ServiceInstance {
  service: string;
  instance: string;
  lastSeen: string;
  capabilities: string[];
  startedAt?: string;
  version?: string;
}

/**
 * Which services run. Backed by @steward/messaging's PresenceDirectory (a
 * KV heartbeat); an interface so the gateway depends on the question, not on
 * the bucket.
 */
export interface ServiceDirectory {
  isRunning(service: string): Promise<boolean>;
  list(): Promise<ServiceInstance[]>;
}

export const SERVICE_DIRECTORY = Symbol('SERVICE_DIRECTORY');
