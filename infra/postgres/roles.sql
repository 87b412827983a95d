-- Steward's database roles, for a deployment. Run as a superuser (or a role
-- with CREATEROLE) connected to the Steward database (default privileges are
-- per database), before the first `pnpm db:migrate`:
--
--   psql "$ADMIN_URL/steward" -v ON_ERROR_STOP=1 \
--        -v service_password="$STEWARD_SERVICE_PASSWORD" \
--        -v readonly_password="$STEWARD_READONLY_PASSWORD" \
--        -f infra/postgres/roles.sql
--
-- Idempotent. The migration (libs/event-store) creates the same two roles
-- NOLOGIN when they are missing, so dev and test databases work without this
-- file, and it grants the table rights:
--   steward_service   SELECT + INSERT on events (never UPDATE, DELETE or
--                     TRUNCATE: the log is append-only), USAGE on its
--                     sequence, all rights on inbox and checkpoints, CREATE
--                     on schema public for the projection tables it owns,
--                     CREATE on the database (granted below) for the
--                     rebuild_<service> shadow schemas of projection rebuilds.
--   steward_readonly  SELECT on events, inbox, checkpoints (incident
--                     responders, dashboards, ad-hoc queries).
-- Migrations run as the database owner, which is neither of these.

SELECT format('CREATE ROLE steward_service LOGIN PASSWORD %L', :'service_password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'steward_service') \gexec
SELECT format('CREATE ROLE steward_readonly LOGIN PASSWORD %L', :'readonly_password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'steward_readonly') \gexec

-- Roles a migration created first are NOLOGIN: give them their login here.
SELECT format('ALTER ROLE steward_service LOGIN PASSWORD %L', :'service_password') \gexec
SELECT format('ALTER ROLE steward_readonly LOGIN PASSWORD %L', :'readonly_password') \gexec

-- `steward replay start --rebuild SERVICE` folds into a shadow schema rebuild_<service> it creates and drops.
SELECT format('GRANT CREATE ON DATABASE %I TO steward_service', current_database()) \gexec

ALTER ROLE steward_service NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE steward_readonly NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- Commit-safe readers (the relay, projections) cannot pass the oldest open
-- write transaction on the whole cluster; a service connection left idle in
-- a transaction would stall them all, so Postgres ends it instead.
ALTER ROLE steward_service SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE steward_service SET lock_timeout = '10s';
ALTER ROLE steward_readonly SET default_transaction_read_only = on;
ALTER ROLE steward_readonly SET statement_timeout = '30s';

-- Tables a service creates later (its projections) are readable by the
-- read-only role without another grant.
ALTER DEFAULT PRIVILEGES FOR ROLE steward_service IN SCHEMA public
  GRANT SELECT ON TABLES TO steward_readonly;
