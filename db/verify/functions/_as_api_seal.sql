-- Verify agentledger:functions/_as_api_seal on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._as_api_seal(ledger.audit_seals)'::regprocedure;
