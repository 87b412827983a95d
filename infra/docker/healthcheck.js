// Docker HEALTHCHECK for every Steward image: GET /healthz on the service's
// own port. Kubernetes does not use this (it probes /healthz and /readyz
// itself); it exists for `docker run` and docker-compose.
'use strict';

// Mirrors each service's PORT default so the check works when PORT is unset.
const DEFAULT_PORTS = {
  gateway: 8080,
  ledger: 8081,
  scheduler: 8082,
  executor: 8083,
  collector: 8084,
  transformer: 8085,
  alerter: 8086,
  'cost-tracker': 8087,
};

const port = process.env.PORT || DEFAULT_PORTS[process.env.SERVICE];
if (!port) {
  console.error(`healthcheck: no PORT and no default for SERVICE=${process.env.SERVICE}`);
  process.exit(1);
}

fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2500) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  (err) => {
    console.error(`healthcheck: ${err.message}`);
    process.exit(1);
  },
);
