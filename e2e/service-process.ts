// The e2e specs start services as processes through @steward/testing.
export { freePort, ServiceProcess } from '@steward/testing';
