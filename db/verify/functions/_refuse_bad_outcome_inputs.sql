-- Verify agentledger:functions/_refuse_bad_outcome_inputs on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._refuse_bad_outcome_inputs(text[], jsonb[], integer, text)'::regprocedure;
