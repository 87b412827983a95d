// The e2e specs start services as processes through @steward/testing.
export { freePort, ServiceProcess } from '@steward/testing';

export interface JsonReply {
  status: number;
  body: any;
}

/** JSON over HTTP to a service process on 127.0.0.1: a bearer token when given, a JSON body when given. */
export async function httpJson(port: number, path: string, init: { token?: string | undefined; method?: string; body?: unknown } = {}): Promise<JsonReply> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.token && { authorization: `Bearer ${init.token}` }), ...(init.body !== undefined && { 'content-type': 'application/json' }) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The gateway's operator API (`/api/v1`) as one token. */
export function gatewayApi(token: string): (port: number, path: string, init?: { method?: string; body?: unknown }) => Promise<JsonReply> {
  return (port, path, init = {}) => httpJson(port, `/api/v1${path}`, { token, ...init });
}
