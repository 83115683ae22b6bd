-- api.list_seals pages through the seals in id order: what a sealer copies to its witness.
BEGIN;
SELECT plan(6);

-- The session's login acts for a principal of its own.
SELECT api.create_principal('dba', 'human', session_user);

SELECT api.submit_event('cust-a', 'loan_application', '{}');
SELECT api.seal_audit('ops');
SELECT api.submit_event('cust-b', 'loan_application', '{}');
SELECT api.seal_audit('ops');
SELECT api.submit_event('cust-c', 'loan_application', '{}');
SELECT api.seal_audit('ops');

SELECT results_eq(
    $$SELECT id, first_seq, last_seq, row_count, prev_digest, digest FROM api.list_seals()$$,
    $$SELECT s.id, s.first_seq, s.last_seq, s.row_count, encode(s.prev_digest, 'hex'), encode(s.digest, 'hex')
        FROM ledger.audit_seals s ORDER BY s.id$$,
    'every seal, oldest first, digests in hex');
SELECT results_eq(
    $$SELECT id FROM api.list_seals((SELECT min(id) FROM ledger.audit_seals), 1)$$,
    $$SELECT id FROM ledger.audit_seals ORDER BY id OFFSET 1 LIMIT 1$$,
    'a page starts after the id given and holds at most the limit');
SELECT is_empty($$SELECT * FROM api.list_seals((SELECT max(id) FROM ledger.audit_seals))$$,
                'nothing after the latest seal');
SELECT is((SELECT digest FROM api.list_seals() ORDER BY id DESC LIMIT 1), (api.latest_seal()).digest,
          'the last one listed is the latest seal');
SELECT throws_ok($$SELECT * FROM api.list_seals(0, 1001)$$, 'AL019', 'limit 1001 is out of range',
                 'more than 1000 seals at a time is refused');
SELECT throws_ok($$SELECT * FROM api.list_seals(NULL)$$, 'AL019', 'after_id NULL is out of range',
                 'a missing after_id is refused');

SELECT * FROM finish();
ROLLBACK;
