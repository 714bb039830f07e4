-- Name search without blocking HOT updates of customers.
--
-- customers_name indexed an expression over `traits`, so PostgreSQL counted every change of
-- `traits` as a change of an indexed column: each profile update of the inbox worker (traits
-- merged in, last seen advanced) wrote a new entry into all four indexes of the table instead
-- of a heap-only (HOT) update. The index did not even serve the prefix search: a LIKE 'x%' needs
-- text_pattern_ops (or the C collation) to use a btree.
--
-- The lower-cased name is now a stored generated column with its own text_pattern_ops index:
-- an update that leaves the name alone leaves every indexed column alone, and `search_name
-- LIKE 'li%'` reads only the matching names.
DROP INDEX customers_name;
ALTER TABLE customers ADD COLUMN search_name text GENERATED ALWAYS AS (lower(traits->>'name')) STORED;
CREATE INDEX customers_search_name ON customers (tenant_id, search_name text_pattern_ops) WHERE merged_into IS NULL;
