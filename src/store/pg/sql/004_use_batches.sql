-- 004_use_batches.sql - the uses of one token in a batch, written by one
-- call instead of one tc_use_put per use: the rows in one INSERT, then
-- what they add to the aggregates once per day, path and bucket. The
-- result is the one tc_use_put gives use after use (the same counts, the
-- same first 100 paths of a day, "(other)" for the rest), at a fraction
-- of the statements: a batch of 64 uses of a token was 64 calls of about
-- 12 statements each. tc_use_put, which tc_use_admit calls for its one
-- use, becomes a batch of one, so that the aggregates are kept one way.
--
-- Takes the token's usage lock itself; a batch calls it for its tokens in
-- id order (store_pg_usage.c), so that two batches never wait in a cycle.
-- The arrays are the uses in the order they were recorded.

CREATE FUNCTION tc_use_put_many(p_token text, p_pid integer, p_at bigint[],
    p_at_us bigint[], p_blocked boolean[], p_status integer[], p_us bigint[],
    p_method bytea[], p_path bytea[], p_addr bytea[], p_agent bytea[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v_w bigint[] := '{1000,60000,900000}';
	v_span bigint[] := '{60000,3600000,86400000}';
	v_other bytea := '\x286f7468657229'::bytea;       -- "(other)"
	v_np integer;
	v_last bigint;
	d record;
	p record;
	i integer;
BEGIN
	PERFORM tc_use_lock(p_token);
	INSERT INTO uses SELECT p_token, u.at_us, p_pid, u.blocked, u.status,
	    u.us, u.method, u.path, u.addr, u.agent
	    FROM unnest(p_at_us, p_blocked, p_status, p_us, p_method, p_path,
	    p_addr, p_agent) AS u(at_us, blocked, status, us, method, path,
	    addr, agent);
	FOR d IN SELECT (u.at / 86400000)::integer AS day, count(*) AS total,
	    count(*) FILTER (WHERE NOT u.blocked) AS allowed,
	    count(*) FILTER (WHERE u.blocked) AS blocked, sum(u.us) AS sum_us
	    FROM unnest(p_at, p_blocked, p_us) AS u(at, blocked, us)
	    GROUP BY 1 ORDER BY 1
	LOOP
		INSERT INTO use_daily VALUES (p_token, d.day, 0, 0, 0, 0, 0)
		    ON CONFLICT DO NOTHING;
		SELECT npaths INTO v_np FROM use_daily
		    WHERE token_id = p_token AND day = d.day FOR UPDATE;
		-- the day's paths in the order of their first use, as one by one
		FOR p IN SELECT u.path, count(*) AS n, min(u.k) AS first
		    FROM unnest(p_at, p_path) WITH ORDINALITY AS u(at, path, k)
		    WHERE (u.at / 86400000)::integer = d.day
		    GROUP BY u.path ORDER BY first
		LOOP
			UPDATE use_daypath SET n = n + p.n WHERE token_id = p_token
			    AND day = d.day AND path = p.path;
			CONTINUE WHEN FOUND;
			IF v_np >= 100 THEN
				UPDATE use_daypath SET n = n + p.n
				    WHERE token_id = p_token AND day = d.day
				    AND path = v_other;
				IF NOT FOUND THEN
					INSERT INTO use_daypath VALUES (p_token,
					    d.day, v_other, p.n);
					v_np := v_np + 1;
				END IF;
			ELSE
				INSERT INTO use_daypath VALUES (p_token, d.day,
				    p.path, p.n);
				v_np := v_np + 1;
			END IF;
		END LOOP;
		UPDATE use_daily SET total = total + d.total,
		    allowed = allowed + d.allowed, blocked = blocked + d.blocked,
		    sum_us = sum_us + d.sum_us, npaths = v_np
		    WHERE token_id = p_token AND day = d.day;
	END LOOP;
	-- allowed uses only: the buckets, then those out of their window for
	-- good, and last_used
	SELECT max(u.at) INTO v_last FROM unnest(p_at, p_blocked) AS u(at, blocked)
	    WHERE NOT u.blocked;
	IF v_last IS NULL THEN
		RETURN;
	END IF;
	FOR i IN 1..3 LOOP
		INSERT INTO use_buckets SELECT p_token, i - 1,
		    u.at / v_w[i] * v_w[i], count(*)
		    FROM unnest(p_at, p_blocked) AS u(at, blocked)
		    WHERE NOT u.blocked GROUP BY 3 ORDER BY 3
		    ON CONFLICT (token_id, level, start_ms)
		    DO UPDATE SET n = use_buckets.n + EXCLUDED.n;
		DELETE FROM use_buckets WHERE token_id = p_token
		    AND level = i - 1 AND start_ms < v_last - v_w[i] - v_span[i];
	END LOOP;
	INSERT INTO token_last VALUES (p_token, v_last)
	    ON CONFLICT (token_id) DO UPDATE
	    SET last_used = greatest(token_last.last_used, EXCLUDED.last_used);
END $$;

-- One use (tc_use_admit's) is a batch of one: one way to add to the
-- aggregates. The token's lock, taken again here, is already held.
CREATE OR REPLACE FUNCTION tc_use_put(p_token text, p_at bigint,
    p_at_us bigint, p_pid integer, p_blocked boolean, p_status integer,
    p_us bigint, p_method bytea, p_path bytea, p_addr bytea, p_agent bytea)
RETURNS void LANGUAGE sql AS $$
	SELECT tc_use_put_many(p_token, p_pid, ARRAY[p_at], ARRAY[p_at_us],
	    ARRAY[p_blocked], ARRAY[p_status], ARRAY[p_us], ARRAY[p_method],
	    ARRAY[p_path], ARRAY[p_addr], ARRAY[p_agent]);
$$;
