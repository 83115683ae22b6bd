-- Deploy agentledger:functions/_refuse_foreign_lease to pg
-- Written by `agentledger db functions` from db/functions/_refuse_foreign_lease.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_refuse_foreign_lease.sql
CREATE OR REPLACE FUNCTION ledger._refuse_foreign_lease(
    p_event ledger.events, p_lease_token uuid, p_actor text, p_now timestamptz)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
-- The fence of api.transition_event, which people and simple clients use on events workers also
-- hold. A presented token must be the current one. Without a token, a live lease stops everyone
-- but its named owner, and a fenced lease (taken through the worker protocol) stops even that owner:
-- a restarted worker that kept its name must not act under the lease of its previous life.
BEGIN
    IF p_lease_token IS NOT NULL THEN
        IF p_event.lease_token IS DISTINCT FROM p_lease_token THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL009',
                MESSAGE = format('event %s: the lease token presented is not its current lease', p_event.id),
                DETAIL = CASE WHEN p_event.lease_token IS NULL THEN 'The event holds no lease now.'
                              ELSE format('It is held by %s until %s.', p_event.lease_owner, p_event.lease_expires_at) END,
                HINT = 'The lease ended (it expired and was rescued, or was reported); read the event again before acting.';
        END IF;
    ELSIF p_event.lease_token IS NOT NULL AND p_event.lease_expires_at > p_now
          AND (p_event.lease_fenced OR p_event.lease_owner IS DISTINCT FROM p_actor) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL009',
            MESSAGE = format('event %s is held by %s until %s', p_event.id, p_event.lease_owner, p_event.lease_expires_at),
            DETAIL = CASE WHEN p_event.lease_fenced THEN 'A worker claimed it; only that lease''s token acts on it.'
                          ELSE 'Another actor claimed it.' END,
            HINT = 'Pass the lease token, or act once the lease has ended (api.rescue_expired_leases frees expired leases).';
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._refuse_foreign_lease(ledger.events, uuid, text, timestamptz) IS
    'Refuses (AL009) a transition on an event under a live lease the caller does not hold: a wrong token, or no token when the lease is fenced or named for someone else.';
-- end db/functions/_refuse_foreign_lease.sql

COMMIT;
