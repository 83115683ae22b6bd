CREATE OR REPLACE FUNCTION ledger._is_customer_id(p_value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
-- The rule for a customer id, stated once: the domain ledger.customer_id, the CHECK on
-- ledger.events and the check of a submitted event all call it.
RETURN p_value <> '' AND char_length(p_value) <= 64 AND p_value !~ '[[:cntrl:]]';
COMMENT ON FUNCTION ledger._is_customer_id(text) IS
    'Is p_value a customer id: 1-64 characters without control characters? (NULL for NULL.)';
