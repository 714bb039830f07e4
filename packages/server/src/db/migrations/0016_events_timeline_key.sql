-- Issue 2 (throughput): the timeline's order is the events' primary key, and the separate key
-- on (tenant_id, id) goes.
--
-- Nothing reads an event by its id alone: the timeline, the customer's counts, rule tags and
-- unmerge all go by customer (and time). Every event paid two btree entries, of which one
-- served nothing but uniqueness of ids that are generated unique (ids.ts). The key below is
-- unique because its last column is, and a backward scan of it gives the timeline's order
-- (occurred_at DESC, id DESC) as the old descending index did (docs/benchmarks.md: ~140 WAL
-- bytes less per event).
ALTER TABLE events DROP CONSTRAINT events_pkey;
DROP INDEX events_timeline;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (tenant_id, customer_id, occurred_at, id);
