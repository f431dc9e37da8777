-- The app's role may only add and read audit entries (ledger/privileges.py): the retention chore removes the
-- expired ones through this function, which runs as its owner and can remove nothing younger than the retention.
CREATE OR REPLACE FUNCTION forget_audit_entries_past_retention() RETURNS BIGINT
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH gone AS (DELETE FROM public.audit_log WHERE at < NOW() - INTERVAL '1 year' RETURNING 1)
    SELECT count(*) FROM gone
$$;
REVOKE ALL ON FUNCTION forget_audit_entries_past_retention() FROM PUBLIC;
