import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface ConnectNatsOptions {
  /** Milliseconds between reconnect attempts. */
  reconnectTimeWaitMs?: number;
  timeoutMs?: number;
  /**
   * Skip the async stack capture nats.js makes for every request (each
   * JetStream publish is one). Worth it on a hot publish path like the relay:
   * building those Error objects was a fifth of its CPU. Errors still carry
   * their message, just not the caller's stack.
   */
  noAsyncTraces?: boolean;
}

/**
 * One connection per process role. A service must survive a NATS restart, so
 * reconnects never give up; readiness reports the outage instead.
 */
export function connectNats(url: string, name: string, options: ConnectNatsOptions = {}): Promise<NatsConnection> {
  return connect({
    servers: url.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectTimeWaitMs ?? 1_000,
    timeout: options.timeoutMs ?? 5_000,
    noAsyncTraces: options.noAsyncTraces ?? false,
  });
}

/**
 * For /readyz: one round trip to the server. `isClosed()` alone stays false
 * through an outage, because the connection keeps reconnecting; `rtt()`
 * rejects at once while disconnected.
 */
export async function natsReachable(nc: NatsConnection): Promise<boolean> {
  await nc.rtt();
  return true;
}
