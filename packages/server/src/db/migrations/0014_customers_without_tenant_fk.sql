-- Issue 2 (throughput): customers no longer reference tenants with a foreign key. The check ran
-- once for every new customer (a trigger query that also locks the tenant's row FOR KEY SHARE,
-- shared by every concurrent ingest transaction, so the row's lockers became a MultiXact), and
-- dropping it gained ~7% ingest throughput on PostgreSQL (docs/benchmarks.md). Customers are only
-- ever written by the server for the tenant of the authenticated caller, tenants are never
-- deleted (no route or command deletes one), and the other tables written per message (inbox,
-- events, identities) never had this key.
ALTER TABLE customers DROP CONSTRAINT IF EXISTS customers_tenant_id_fkey;
