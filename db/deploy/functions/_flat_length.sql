-- Deploy agentledger:functions/_flat_length to pg
-- Written by `agentledger db functions` from db/functions/_flat_length.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_flat_length.sql
CREATE OR REPLACE FUNCTION ledger._flat_length(p_values anyarray) RETURNS integer
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
-- The number of elements of a one-dimensional array (NULL for NULL); refuses a nested one (AL021).
BEGIN
    IF array_ndims(p_values) > 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = format('an array of a report has %s dimensions; each must be a flat list', array_ndims(p_values)),
            DETAIL = 'Reports take one element per event in every array.',
            HINT = 'Pass a flat list: ARRAY[value1, value2, ...].';
    END IF;
    RETURN cardinality(p_values);
END
$$;
COMMENT ON FUNCTION ledger._flat_length(anyarray) IS
    'cardinality() of a one-dimensional array; refuses nested arrays (AL021).';
-- end db/functions/_flat_length.sql

COMMIT;
