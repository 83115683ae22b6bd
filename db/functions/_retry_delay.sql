CREATE FUNCTION ledger._retry_delay(p_attempts integer) RETURNS interval
LANGUAGE sql STABLE
-- Exponential back-off after the p_attempts-th attempt failed: base, 2 x base, 4 x base, ... capped.
-- The exponent is capped before multiplying, so a large attempt count cannot overflow the interval.
RETURN (SELECT least(s.retry_base_delay * power(2, least(greatest(p_attempts - 1, 0), 30)),
                     s.retry_max_delay)
          FROM ledger.settings s);
COMMENT ON FUNCTION ledger._retry_delay(integer) IS
    'Back-off before the next try after attempt p_attempts failed: retry_base_delay * 2^(p_attempts - 1), at most retry_max_delay.';
