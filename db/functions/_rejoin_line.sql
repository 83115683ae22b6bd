CREATE FUNCTION ledger._rejoin_line() RETURNS trigger
LANGUAGE plpgsql AS $$
-- BEFORE UPDATE of an ordered event whose release is undone (an operator re-queues it): it is back
-- in its customer's line but not first yet; the statement's ledger._settle_lines_after_write decides.
BEGIN
    NEW.first_in_line := NULL;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ledger._rejoin_line() IS
    'Trigger: an ordered event whose release is undone re-joins its customer''s line unsettled (first_in_line NULL) until the statement''s settlement.';
