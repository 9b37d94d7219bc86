"""
test_authority.py - authority is checked at use (issue 11, items 2, 7, 8):
a token may do only what both its own permissions and its owner's current
effective permissions allow (a demoted admin's "*" token shrinks with its
owner, at the enforcement point, for introspection and at rotation), an
admin cannot hand a non-admin more than the non-admin may hold, usage
limits are exact under concurrent uses, and a login lockout lets exactly
login_max_failures guesses through however many arrive at once.
"""

import functools
import time

import harness
from harness import ALICE, BOB, InstanceTestCase, Instance, started

RULES = ["* /admin admin.all", "GET /tools/ tools.read",
         "POST /teams/ teams.manage"]
BOSS = "boss@example.com"
BOSS_PW = "boss-password-0001"
NO_GRANT = "Cannot grant permission '%s' - not in your effective permissions."


def concurrently(n, fn):
    """fn(i) in n threads released together; the results in order."""
    return harness.concurrently([functools.partial(fn, i) for i in range(n)])


class DemotedOwner(InstanceTestCase):
    CONF = {"rule": RULES}

    def setUp(self):
        # a fresh admin per test, promoted again whatever happened
        self.email = "boss-%d@example.com" % (int(time.time() * 1e6) % 10**9)
        self.inst.add_user(self.email, BOSS_PW, admin=True)
        self.s = self.login(self.email, BOSS_PW)
        st, out = self.inst.create_token(self.s, "star", scope={
            "permissions": ["*"]})
        self.assertEqual(st, 201, out)
        self.star, self.star_id = out["access_token"], out["token"]["id"]

    def check(self, tok, uri, method="GET"):
        return self.req("GET", "/auth/check", token=tok, headers={
            "X-Original-URI": uri, "X-Original-Method": method})

    def demote(self):
        self.inst.cli("user", "set", self.email, "--no-admin")

    def test_the_enforcement_point_follows_the_owner(self):
        self.assertEqual(self.check(self.star, "/admin/users")[0], 200)
        self.demote()
        st, _, out = self.check(self.star, "/admin/users")
        self.assertEqual(st, 403, out)
        self.assertEqual(out["detail"],
                         "Token owner no longer holds permission 'admin.all'")
        # what the owner still holds, the token still does
        self.assertEqual(self.check(self.star, "/tools/x")[0], 200)
        self.inst.cli("user", "set", self.email, "--admin")
        self.assertEqual(self.check(self.star, "/admin/users")[0], 200)

    def test_introspection_follows_the_owner(self):
        s = self.login(ALICE)
        victim = self.inst.create_token(s, "victim-%s" % self.email)[1]
        body = {"token": victim["access_token"]}
        st, _, out = self.req("POST", "/auth/introspect", body, token=self.star)
        self.assertEqual((st, out.get("active")), (200, True), out)
        self.demote()
        st, _, out = self.req("POST", "/auth/introspect", body, token=self.star)
        self.assertEqual(st, 403, out)
        self.assertNotIn("active", out)

    def test_rotation_rechecks_containment(self):
        self.demote()
        s = self.login(self.email, BOSS_PW)
        st, _, out = self.req("POST", "/tokens/%s/rotate" % self.star_id,
                              token=s)
        self.assertEqual(st, 400, out)
        self.assertEqual(out["detail"], NO_GRANT % "*")
        # nothing changed: the old token is not revoked, no new one exists
        st, _, got = self.req("GET", "/tokens/" + self.star_id, token=s)
        self.assertEqual((st, got["is_revoked"]), (200, False))
        self.assertEqual(self.req("GET", "/tokens", token=s)[2]["total"], 1)

    def test_a_narrowed_admin_session_cannot_rotate_a_star_token(self):
        team = self.inst.cli("team", "add", "T-%s" % self.email, "--owner",
                             self.email).stdout.strip()
        st, _, login = self.req("POST", "/auth/login", {
            "email": self.email, "password": BOSS_PW, "teams": [team]})
        self.assertEqual(st, 200, login)
        st, _, out = self.req("POST", "/tokens/%s/rotate" % self.star_id,
                              token=login["access_token"])
        self.assertEqual((st, out["detail"]), (400, NO_GRANT % "*"))


class Delegation(InstanceTestCase):
    CONF = {"rule": RULES}

    def test_containment_is_the_owner_to_be_s(self):
        admin = self.login("admin@example.com")
        for perms in (["*"], ["admin.all"], ["tools.read", "admin.all"],
                      ["teams.manage"]):
            st, out = self.inst.create_token(admin, "for-alice",
                                             user_email=ALICE,
                                             scope={"permissions": perms})
            self.assertEqual(st, 400, (perms, out))
            self.assertTrue(out["detail"].startswith("Cannot grant permission"),
                            out)
        st, out = self.inst.create_token(admin, "for-alice", user_email=ALICE,
                                         scope={"permissions": ["tools.read"]})
        self.assertEqual(st, 201, out)
        self.assertEqual(out["token"]["user_email"], ALICE)
        # an admin owner-to-be may be given what an admin holds
        self.inst.add_user(BOSS, BOSS_PW, admin=True)
        st, out = self.inst.create_token(admin, "for-boss", user_email=BOSS,
                                         scope={"permissions": ["*"]})
        self.assertEqual(st, 201, out)
        # in a team, the owner-to-be's role there counts, not the admin's
        team = self.inst.cli("team", "add", "Deleg", "--owner", BOB
                             ).stdout.strip()
        self.inst.cli("team", "member", "add", team, ALICE)
        st, out = self.inst.create_token(admin, "team-manage", user_email=ALICE,
                                         team_id=team, scope={
                                             "permissions": ["teams.manage"]})
        self.assertEqual((st, out["detail"]), (400, NO_GRANT % "teams.manage"))
        st, out = self.inst.create_token(admin, "team-manage", user_email=BOB,
                                         team_id=team, scope={
                                             "permissions": ["teams.manage"]})
        self.assertEqual(st, 201, out)


class ExactUnderConcurrency(InstanceTestCase):
    """20 concurrent uses of a token against 4 workers, 10 bursts per
    limit: exactly the limit is allowed every time (the review saw 6 and
    11 for limits of 5 and 10 in 2 of 20 bursts)."""

    WORKERS = 4
    BURSTS = 10

    @classmethod
    def setUpClass(cls):
        cls.inst = started(Instance(cls.__name__, workers=cls.WORKERS))

    def check(self, tok):
        return self.req("GET", "/auth/check", token=tok, headers={
            "X-Original-URI": "/x", "X-Original-Method": "GET"})[0]

    def test_limits_are_exact(self):
        s = self.login(ALICE)
        for limit in (1, 5, 10):
            for burst in range(self.BURSTS):
                st, out = self.inst.create_token(
                    s, "exact-%d-%d" % (limit, burst),
                    scope={"usage_limits": {"requests_per_minute": limit}})
                self.assertEqual(st, 201, out)
                tok = out["access_token"]
                codes = concurrently(20, lambda i: self.check(tok))
                self.assertEqual((codes.count(200), codes.count(429)),
                                 (limit, 20 - limit), (limit, burst, codes))

    def test_hour_and_day_limits_too(self):
        s = self.login(ALICE)
        for key in ("requests_per_hour", "requests_per_day"):
            st, out = self.inst.create_token(s, "exact-" + key, scope={
                "usage_limits": {key: 7}})
            tok = out["access_token"]
            codes = concurrently(20, lambda i: self.check(tok))
            self.assertEqual(codes.count(200), 7, (key, codes))


class ExactLockout(InstanceTestCase):
    """64 wrong passwords at once: exactly login_max_failures (3 here) are
    checked, every other answer is 429, and so is the right password."""

    WORKERS = 4

    @classmethod
    def setUpClass(cls):
        cls.inst = started(Instance(cls.__name__, workers=cls.WORKERS))

    def test_64_concurrent_guesses(self):
        email, pw = "guessed@example.com", "guessed-password-1"
        self.inst.add_user(email, pw)
        res = concurrently(64, lambda i: self.req(
            "POST", "/auth/login", {"email": email, "password": "no-%d" % i}))
        codes = sorted(r[0] for r in res)
        self.assertEqual((codes.count(401), codes.count(429)), (3, 61), codes)
        st, h, out = self.req("POST", "/auth/login",
                              {"email": email, "password": pw})
        self.assertEqual(st, 429, out)
        self.assertTrue(h.get("Retry-After", "").isdigit())

    def test_unknown_emails_too(self):
        res = concurrently(32, lambda i: self.req(
            "POST", "/auth/login", {"email": "nobody@example.com",
                                    "password": "no-%d" % i}))
        codes = sorted(r[0] for r in res)
        self.assertEqual((codes.count(401), codes.count(429)), (3, 29), codes)
