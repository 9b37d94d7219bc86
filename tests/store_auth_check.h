/*
 * store_auth_check.h - the test of store_token_auth (what a check reads:
 * the token of a jti, its owner and the owner's team role), run on LMDB
 * by test_store.c and on PostgreSQL by test_store_pg.c. Include it after
 * the test file's st, mkuser, mkteam and mktoken. drop (NULL: none) ends
 * the store's connection to its server between reads, to show that the
 * read survives a new connection.
 */
#ifndef TC_STORE_AUTH_CHECK_H
#define TC_STORE_AUTH_CHECK_H

static void
token_auth_check(void (*drop)(void))
{
	struct user a, b;
	struct team tm;
	struct token t1, t2;
	struct token_auth ta;
	int created;

	mkuser(&a, "a@example.com", 0);
	mkuser(&b, "b@example.com", 0);
	mkteam(&tm, "team", a.id);
	cr_assert_eq(store_member_set(st, tm.id, b.id, ROLE_MEMBER, &created,
	    NULL), STORE_OK);
	mktoken(&t1, &a, NULL, "own", 5, 0);
	mktoken(&t2, &b, tm.id, "team", 6, 0);
	cr_assert_eq(store_token_add(st, &t1, NULL), STORE_OK);
	cr_assert_eq(store_token_add(st, &t2, NULL), STORE_OK);

	cr_assert_eq(store_token_auth(st, t1.jti, &ta), STORE_OK);
	cr_expect_str_eq(ta.tok.id, t1.id);
	cr_expect_str_eq(ta.tok.hash, t1.hash);
	cr_expect_eq(ta.have_owner, 1);
	cr_expect_str_eq(ta.owner.email, "a@example.com");
	cr_expect_eq(ta.owner.is_active, 1);
	cr_expect_eq(ta.team_role, ROLE_NONE, "no team, no role");
	token_free(&ta.tok);

	cr_assert_eq(store_token_auth(st, t2.jti, &ta), STORE_OK);
	cr_expect_str_eq(ta.tok.team_id, tm.id);
	cr_expect_str_eq(ta.owner.id, b.id);
	cr_expect_eq(ta.team_role, ROLE_MEMBER);
	token_free(&ta.tok);

	/* the owner leaves the team: the token's record stays, the role goes */
	cr_assert_eq(store_member_del(st, tm.id, b.id, NULL), STORE_OK);
	cr_assert_eq(store_token_auth(st, t2.jti, &ta), STORE_OK);
	cr_expect_eq(ta.have_owner, 1);
	cr_expect_eq(ta.team_role, ROLE_NONE);
	token_free(&ta.tok);

	if (drop != NULL) {
		/* on a new connection (twice over) the read works again */
		drop();
		cr_assert_eq(store_token_auth(st, t1.jti, &ta), STORE_OK);
		cr_expect_str_eq(ta.tok.id, t1.id);
		token_free(&ta.tok);
		drop();
		cr_assert_eq(store_token_auth(st, t2.jti, &ta), STORE_OK);
		cr_expect_str_eq(ta.tok.id, t2.id);
		token_free(&ta.tok);
	}

	cr_expect_eq(store_token_auth(st, "no-such-jti", &ta), STORE_NOTFOUND);
	cr_expect_eq(store_token_auth(st, "", &ta), STORE_NOTFOUND);
	token_free(&t1);
	token_free(&t2);
}

#endif
