-- 003_change_feed.sql - the change feed of the workers' check caches
-- (store_pg_cache.c). Every statement that changes what a check reads
-- (a token, a user, a membership; a team's deletion reaches members by
-- its cascade) notifies the channel tokencat_auth when it commits. A
-- worker LISTENs on its own connection and drops its whole cache at any
-- notification. PostgreSQL sends one notification per channel and
-- payload per transaction, however many statements fired it.
--
-- Statement triggers: one notification per statement, not per row. The
-- uses, their summaries (use_buckets, use_daily, use_daypath, token_last)
-- and the login failures are not watched: no check caches them.

CREATE FUNCTION tc_feed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('tokencat_auth', TG_TABLE_NAME);
	RETURN NULL;
END;
$$;

CREATE TRIGGER tokens_feed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON tokens FOR EACH STATEMENT EXECUTE FUNCTION tc_feed_notify();
CREATE TRIGGER users_feed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON users FOR EACH STATEMENT EXECUTE FUNCTION tc_feed_notify();
CREATE TRIGGER members_feed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON members FOR EACH STATEMENT EXECUTE FUNCTION tc_feed_notify();
