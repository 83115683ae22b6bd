CREATE OR REPLACE FUNCTION ledger._retry_delay(p_attempts integer) RETURNS interval
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
-- Exponential back-off after the p_attempts-th attempt failed: base, 2 x base, 4 x base, ... capped.
-- Computed in seconds and capped before it becomes an interval, so no setting can overflow it.
RETURN (SELECT make_interval(secs => least(extract(epoch FROM s.retry_base_delay)
                                           * power(2::numeric, least(greatest(p_attempts - 1, 0), 60)),
                                           extract(epoch FROM s.retry_max_delay))::double precision)
          FROM ledger.settings s);
COMMENT ON FUNCTION ledger._retry_delay(integer) IS
    'Back-off before the next try after attempt p_attempts failed: retry_base_delay * 2^(p_attempts - 1), at most retry_max_delay.';
