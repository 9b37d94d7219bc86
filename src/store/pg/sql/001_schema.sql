-- 001_schema.sql - the catalog and its usage in PostgreSQL (tokencat's
-- second store). Applied once, in one transaction, by `tokencat init`
-- (store_pg_migrate); schema_version is created and written by the runner.
--
-- Times are bigint ms since the epoch, as in the LMDB store. Keys and
-- anything listed in order are COLLATE "C": byte order, as LMDB's keys,
-- whatever the database's locale.

CREATE TABLE meta (
	key	text COLLATE "C" PRIMARY KEY,
	value	text NOT NULL
);

CREATE TABLE users (
	id		text COLLATE "C" PRIMARY KEY,
	email		text COLLATE "C" NOT NULL UNIQUE,	-- lowercase
	full_name	text NOT NULL,
	pwhash		text NOT NULL,
	is_admin	boolean NOT NULL,
	is_active	boolean NOT NULL,
	created_at	bigint NOT NULL
);

CREATE TABLE teams (
	id		text COLLATE "C" PRIMARY KEY,
	name		text COLLATE "C" NOT NULL,
	name_key	text COLLATE "C" NOT NULL UNIQUE,	-- ASCII-lowercased name
	created_at	bigint NOT NULL
);

CREATE TABLE members (
	team_id		text COLLATE "C" NOT NULL REFERENCES teams ON DELETE CASCADE,
	user_id		text COLLATE "C" NOT NULL REFERENCES users ON DELETE CASCADE,
	role		integer NOT NULL CHECK (role IN (1, 2)),
	joined_at	bigint NOT NULL,
	PRIMARY KEY (team_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id, team_id);

-- scope and tags are the JSON text as written: read back byte for byte.
CREATE TABLE tokens (
	id			text COLLATE "C" PRIMARY KEY,
	jti			text COLLATE "C" NOT NULL UNIQUE,
	hash			text NOT NULL,
	owner_id		text COLLATE "C" NOT NULL,
	owner_email		text NOT NULL,
	team_id			text COLLATE "C" NOT NULL,	-- '' = none
	name			text NOT NULL CHECK (octet_length(name) < 1024),
	description		text,
	created_by		text NOT NULL,
	created_at		bigint NOT NULL,
	expires_at		bigint NOT NULL,		-- 0 = never
	is_active		boolean NOT NULL,
	is_revoked		boolean NOT NULL,
	revoked_at		bigint NOT NULL,
	revoked_by		text,
	revocation_reason	text,
	scope			text NOT NULL,
	tags			text NOT NULL
);
-- The name of a held token (active, not revoked) is unique per owner and
-- team, on every host at once: the index decides between racing creates.
CREATE UNIQUE INDEX tokens_held_name ON tokens (owner_id, team_id, name)
	WHERE is_active AND NOT is_revoked;
CREATE INDEX tokens_by_created ON tokens (created_at DESC, id);
CREATE INDEX tokens_by_owner ON tokens (owner_id, created_at DESC, id);
CREATE INDEX tokens_by_team ON tokens (team_id, created_at DESC, id)
	WHERE team_id <> '';

CREATE TABLE jti_revoked (
	jti	text COLLATE "C" PRIMARY KEY,
	exp_ms	bigint NOT NULL
);

CREATE TABLE login_failures (
	email	text COLLATE "C" PRIMARY KEY,		-- lowercase
	count	bigint NOT NULL,
	last_ms	bigint NOT NULL
);

CREATE TABLE audit (
	seq		bigserial PRIMARY KEY,
	at		bigint NOT NULL,
	actor		text NOT NULL,
	action		text NOT NULL,
	token_id	text NOT NULL,
	target_user	text NOT NULL,
	detail		text NOT NULL
);
CREATE INDEX audit_newest ON audit (at DESC, seq DESC);

-- --- usage: written in batches without a durable flush ---
-- Request fields are bytea: whatever bytes a client sent are kept.
CREATE TABLE uses (
	token_id	text COLLATE "C" NOT NULL,
	at_us		bigint NOT NULL,
	pid		integer NOT NULL,
	blocked		boolean NOT NULL,
	status		integer NOT NULL,
	us		bigint NOT NULL,
	method		bytea NOT NULL,
	path		bytea NOT NULL,
	addr		bytea NOT NULL,
	agent		bytea NOT NULL
);
CREATE INDEX uses_by_token ON uses (token_id, at_us);

-- allowed uses per bucket: level 0 is 1 s wide, 1 is 60 s, 2 is 900 s
CREATE TABLE use_buckets (
	token_id	text COLLATE "C" NOT NULL,
	level		smallint NOT NULL,
	start_ms	bigint NOT NULL,
	n		bigint NOT NULL,
	PRIMARY KEY (token_id, level, start_ms)
);

CREATE TABLE use_daily (
	token_id	text COLLATE "C" NOT NULL,
	day		integer NOT NULL,		-- days since the epoch
	total		bigint NOT NULL,
	allowed		bigint NOT NULL,
	blocked		bigint NOT NULL,
	sum_us		bigint NOT NULL,
	npaths		integer NOT NULL,
	PRIMARY KEY (token_id, day)
);

CREATE TABLE use_daypath (
	token_id	text COLLATE "C" NOT NULL,
	day		integer NOT NULL,
	path		bytea NOT NULL,
	n		bigint NOT NULL,
	PRIMARY KEY (token_id, day, path)
);

CREATE TABLE token_last (
	token_id	text COLLATE "C" PRIMARY KEY,
	last_used	bigint NOT NULL
);

-- One use and what it adds to the aggregates. The caller holds the
-- token's usage lock (tc_use_lock), which orders the day's path count.
CREATE FUNCTION tc_use_put(p_token text, p_at bigint, p_at_us bigint,
    p_pid integer, p_blocked boolean, p_status integer, p_us bigint,
    p_method bytea, p_path bytea, p_addr bytea, p_agent bytea)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v_day integer := (p_at / 86400000)::integer;
	v_np integer;
	v_w bigint[] := '{1000,60000,900000}';
	v_span bigint[] := '{60000,3600000,86400000}';
	i integer;
BEGIN
	INSERT INTO uses VALUES (p_token, p_at_us, p_pid, p_blocked, p_status,
	    p_us, p_method, p_path, p_addr, p_agent);
	INSERT INTO use_daily VALUES (p_token, v_day, 0, 0, 0, 0, 0)
	    ON CONFLICT DO NOTHING;
	SELECT npaths INTO v_np FROM use_daily
	    WHERE token_id = p_token AND day = v_day FOR UPDATE;
	-- at most 100 paths a day; the rest count as "(other)"
	UPDATE use_daypath SET n = n + 1
	    WHERE token_id = p_token AND day = v_day AND path = p_path;
	IF NOT FOUND THEN
		IF v_np >= 100 THEN
			UPDATE use_daypath SET n = n + 1 WHERE token_id = p_token
			    AND day = v_day AND path = '\x286f7468657229'::bytea;
			IF NOT FOUND THEN
				INSERT INTO use_daypath VALUES (p_token, v_day,
				    '\x286f7468657229'::bytea, 1);
				v_np := v_np + 1;
			END IF;
		ELSE
			INSERT INTO use_daypath VALUES (p_token, v_day, p_path, 1);
			v_np := v_np + 1;
		END IF;
	END IF;
	UPDATE use_daily SET total = total + 1,
	    allowed = allowed + CASE WHEN p_blocked THEN 0 ELSE 1 END,
	    blocked = blocked + CASE WHEN p_blocked THEN 1 ELSE 0 END,
	    sum_us = sum_us + p_us, npaths = v_np
	    WHERE token_id = p_token AND day = v_day;
	IF p_blocked THEN
		RETURN;
	END IF;
	FOR i IN 1..3 LOOP
		INSERT INTO use_buckets VALUES (p_token, i - 1,
		    p_at / v_w[i] * v_w[i], 1)
		    ON CONFLICT (token_id, level, start_ms)
		    DO UPDATE SET n = use_buckets.n + 1;
		-- buckets that have left their window for good
		DELETE FROM use_buckets WHERE token_id = p_token
		    AND level = i - 1 AND start_ms < p_at - v_w[i] - v_span[i];
	END LOOP;
	INSERT INTO token_last VALUES (p_token, p_at)
	    ON CONFLICT (token_id) DO UPDATE
	    SET last_used = greatest(token_last.last_used, EXCLUDED.last_used);
END $$;

-- The lock that orders every write of a token's uses, on every host.
CREATE FUNCTION tc_use_lock(p_token text) RETURNS void LANGUAGE sql AS $$
	SELECT pg_advisory_xact_lock(29795, hashtext(p_token));
$$;

-- store_use_admit in one round trip: under the token's lock, count the
-- windows at the database's clock (one clock for every host) and, when
-- each is below its cap (0 = not counted), record the use.
CREATE FUNCTION tc_use_admit(p_token text, p_cap0 bigint, p_cap1 bigint,
    p_cap2 bigint, p_pid integer, p_status integer, p_us bigint,
    p_method bytea, p_path bytea, p_addr bytea, p_agent bytea,
    OUT admitted boolean, OUT now_ms bigint,
    OUT c0 bigint, OUT c1 bigint, OUT c2 bigint,
    OUT o0 bigint, OUT o1 bigint, OUT o2 bigint)
LANGUAGE plpgsql AS $$
DECLARE
	v_w bigint[] := '{1000,60000,900000}';
	v_span bigint[] := '{60000,3600000,86400000}';
	v_cap bigint[] := ARRAY[p_cap0, p_cap1, p_cap2];
	v_c bigint[] := '{0,0,0}';
	v_o bigint[] := '{0,0,0}';
	v_us bigint;
	v_sum bigint;
	v_old bigint;
	i integer;
BEGIN
	PERFORM tc_use_lock(p_token);
	v_us := floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
	now_ms := v_us / 1000;
	admitted := true;
	FOR i IN 1..3 LOOP
		CONTINUE WHEN v_cap[i] <= 0;
		SELECT coalesce(sum(n), 0), coalesce(min(start_ms), 0)
		    INTO v_sum, v_old FROM use_buckets
		    WHERE token_id = p_token AND level = i - 1 AND n > 0
		    AND start_ms >= (now_ms - v_span[i]) / v_w[i] * v_w[i];
		v_c[i] := least(v_sum, v_cap[i]);
		IF v_sum > 0 THEN
			v_o[i] := v_old;
		END IF;
		IF v_sum >= v_cap[i] THEN
			admitted := false;
		END IF;
	END LOOP;
	IF admitted THEN
		PERFORM tc_use_put(p_token, now_ms, v_us, p_pid, false,
		    p_status, p_us, p_method, p_path, p_addr, p_agent);
		FOR i IN 1..3 LOOP
			CONTINUE WHEN v_cap[i] <= 0;
			v_c[i] := v_c[i] + 1;
			IF v_o[i] = 0 THEN
				v_o[i] := now_ms / v_w[i] * v_w[i];
			END IF;
		END LOOP;
	END IF;
	c0 := v_c[1]; c1 := v_c[2]; c2 := v_c[3];
	o0 := v_o[1]; o1 := v_o[2]; o2 := v_o[3];
END $$;

-- store_login_attempt: the lock check and the count in one step, the
-- row locked so that concurrent guesses are counted one after another.
CREATE FUNCTION tc_login_attempt(p_email text, p_now bigint, p_window bigint,
    p_max bigint, OUT o_count bigint, OUT o_last bigint, OUT o_locked boolean)
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO login_failures VALUES (p_email, 0, 0) ON CONFLICT DO NOTHING;
	SELECT count, last_ms INTO o_count, o_last FROM login_failures
	    WHERE email = p_email FOR UPDATE;
	IF o_count >= p_max AND p_now - o_last < p_window THEN
		o_locked := true;
		RETURN;
	END IF;
	o_locked := false;
	IF o_count > 0 AND p_now - o_last >= p_window THEN
		o_count := 0;
	END IF;
	o_count := least(o_count + 1, 4294967295);
	o_last := p_now;
	UPDATE login_failures SET count = o_count, last_ms = o_last
	    WHERE email = p_email;
END $$;
