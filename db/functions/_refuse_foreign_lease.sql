CREATE OR REPLACE FUNCTION ledger._refuse_foreign_lease(p_event ledger.events, p_lease_token uuid, p_principal text)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
-- The fence of api.transition_event, the rule the worker protocol's reports follow too: only the
-- principal holding an event's lease reports on it, and a lease taken through the worker protocol
-- (fenced) also needs its token: a restarted worker of the same principal must not act under the
-- lease of its previous life. An event in processing, or decided with its action pending, that
-- holds no lease must be claimed first.
BEGIN
    IF p_lease_token IS NOT NULL AND p_lease_token IS DISTINCT FROM p_event.lease_token THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL009',
            MESSAGE = format('event %s: the lease token presented is not its current lease', p_event.id),
            DETAIL = CASE WHEN p_event.lease_token IS NULL THEN 'The event holds no lease now.'
                          ELSE format('It is held by %s until %s.', p_event.lease_owner, p_event.lease_expires_at) END,
            HINT = 'The lease ended (it expired and was rescued, or was reported); read the event again before acting.';
    ELSIF p_event.status NOT IN ('processing', 'approved', 'rejected') THEN
        RETURN;  -- a claim or an operator step: no lease to hold
    ELSIF p_event.lease_token IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL009',
            MESSAGE = format('event %s holds no lease: claim it before reporting on it', p_event.id),
            DETAIL = 'Only the principal holding an event''s lease reports its outcome.',
            HINT = 'Claim its action (api.claim_actions, POST /actions/claim), then report with the lease token.';
    ELSIF p_event.lease_owner IS DISTINCT FROM p_principal THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL009',
            MESSAGE = format('event %s is held by %s until %s', p_event.id, p_event.lease_owner, p_event.lease_expires_at),
            DETAIL = format('%s does not hold its lease; only the holder reports on it.', p_principal),
            HINT = 'Act once the lease has ended (api.rescue_expired_leases frees expired leases) and you have claimed it.';
    ELSIF p_lease_token IS NULL AND p_event.lease_fenced THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL009',
            MESSAGE = format('event %s: its lease was taken through the worker protocol; pass its lease token', p_event.id),
            DETAIL = format('It is held by %s until %s.', p_event.lease_owner, p_event.lease_expires_at),
            HINT = 'Pass the token of the lease you hold; read the event again if the lease may have ended.';
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._refuse_foreign_lease(ledger.events, uuid, text) IS
    'Refuses (AL009) a presented token that is not the event''s current lease, and a transition of an event in processing, approved or rejected unless p_principal holds its lease, with its token when the lease is fenced.';
