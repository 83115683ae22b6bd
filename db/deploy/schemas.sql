-- Deploy agentledger:schemas to pg
-- Two schemas: "ledger" holds the data and is private; "api" holds only the functions clients call.
-- Client roles get USAGE on api and EXECUTE on named functions, nothing else.
BEGIN;

CREATE SCHEMA ledger AUTHORIZATION agentledger_owner;
COMMENT ON SCHEMA ledger IS
    'agentledger private data: events, the audit trail, seals, lifecycle rules and settings. Clients never touch it directly.';

CREATE SCHEMA api AUTHORIZATION agentledger_owner;
COMMENT ON SCHEMA api IS
    'agentledger client interface: the functions the API, workers and auditors may call.';

REVOKE ALL ON SCHEMA ledger FROM PUBLIC;
REVOKE ALL ON SCHEMA api FROM PUBLIC;
GRANT USAGE ON SCHEMA api TO agentledger_api, agentledger_worker, agentledger_auditor;
GRANT USAGE ON SCHEMA ledger TO agentledger_auditor;

-- Every function the owner creates starts closed; each is opened to named roles where it is defined.
ALTER DEFAULT PRIVILEGES FOR ROLE agentledger_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

COMMIT;
