"""
test_invitations.py - a team owner's add of someone not yet a member is an
invitation (API.md 8): 202 with the same answer whether or not the e-mail
has an account; the invitee gets nothing of the team until accepting;
declining, withdrawing, renewing, also with `tokencat invitation`; an
un-narrowed admin still adds at once;
an expired invitation cannot be accepted (its record is rewritten with
mdb_dump and mdb_load, lmdb-utils, while the workers are stopped).
"""

import re
import shutil
import subprocess
import time

import harness
from harness import (ADMIN, ALICE, BOB, MSG_API_TOKEN, PASSWORDS,
                     InstanceTestCase, parse_time)

CAROL = "carol@example.com"
CAROL_PW = "carol-password-0004"
MDB_DUMP = shutil.which("mdb_dump")
MDB_LOAD = shutil.which("mdb_load")
INVITATION_FIELDS = {"team_id", "team_name", "email", "role", "invited_by",
                     "invited_at", "expires_at", "status"}
NOT_SCOPED = "Your session is not scoped to this team"
NO_INVITATION = "Invitation not found"
DAYS_30 = 30 * 86400


class Invitations(InstanceTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inst.add_user(CAROL, CAROL_PW)

    # -- helpers

    def team(self, name, owner=ALICE):
        return self.inst.cli("team", "add", name, "--owner", owner).stdout.strip()

    def session(self, email):
        if email == CAROL:
            return self.login(CAROL, CAROL_PW)
        return self.login(email)

    def invite(self, team, email, who=ALICE, role=None):
        body = {"email": email}
        if role is not None:
            body["role"] = role
        return self.req("POST", "/teams/%s/members" % team, body=body,
                        token=self.session(who))

    def mine(self, who):
        st, _, out = self.req("GET", "/teams/invitations", token=self.session(who))
        self.assertEqual(st, 200, out)
        return out

    def pending(self, team, who=ALICE):
        st, _, out = self.req("GET", "/teams/%s/invitations" % team,
                              token=self.session(who))
        self.assertEqual(st, 200, out)
        return out

    def answer(self, team, verb, who):
        return self.req("POST", "/teams/invitations/%s/%s" % (team, verb),
                        token=self.session(who))

    def members(self, team):
        st, _, out = self.req("GET", "/teams/%s/members" % team,
                              token=self.session(ALICE))
        self.assertEqual(st, 200, out)
        return sorted(m["email"] for m in out)

    # -- the answer says nothing about accounts

    def test_unknown_and_known_emails_get_the_same_answer(self):
        tid = self.team("Same")
        known = self.invite(tid, BOB)
        unknown = self.invite(tid, "nobody-here@example.com")
        for (st, h, body), email in ((known, BOB), (unknown, "nobody-here@example.com")):
            self.assertEqual(st, 202, body)
            self.assertStdHeaders(h)
            self.assertEqual(set(body), INVITATION_FIELDS)
            self.assertEqual((body["team_id"], body["team_name"], body["email"],
                              body["role"], body["invited_by"], body["status"]),
                             (tid, "Same", email, "member", ALICE, "pending"))
            self.assertEqual(parse_time(body["expires_at"]) -
                             parse_time(body["invited_at"]), DAYS_30)
        self.assertEqual(sorted(known[1].keys()), sorted(unknown[1].keys()),
                         "the same headers")
        strip = ("email", "invited_at", "expires_at")
        self.assertEqual({k: v for k, v in known[2].items() if k not in strip},
                         {k: v for k, v in unknown[2].items() if k not in strip})
        # mixed case is the same address; the team's owners see both alike
        st, _, out = self.invite(tid, "NoBody-Here@Example.com")
        self.assertEqual((st, out["email"]), (202, "nobody-here@example.com"))
        listed = self.pending(tid)
        self.assertEqual(sorted(i["email"] for i in listed),
                         sorted([BOB, "nobody-here@example.com"]))
        self.assertEqual({frozenset(i) for i in listed}, {frozenset(INVITATION_FIELDS)})
        self.assertEqual(self.members(tid), [ALICE], "nobody joined")

    def test_renewing_replaces_the_pending_invitation(self):
        tid = self.team("Renew")
        self.assertEqual(self.invite(tid, CAROL)[0], 202)
        st, _, out = self.invite(tid, CAROL, role="owner")
        self.assertEqual((st, out["role"]), (202, "owner"))
        mine = [i for i in self.mine(CAROL) if i["team_id"] == tid]
        self.assertEqual([i["role"] for i in mine], ["owner"])
        st, _, team = self.answer(tid, "accept", CAROL)
        self.assertEqual((st, team["role"]), (200, "owner"), team)

    # -- consent

    def test_the_invitee_gets_nothing_until_accepting(self):
        tid = self.team("Vault")
        alice = self.session(ALICE)
        st, _, made = self.req("POST", "/tokens/teams/" + tid, token=alice,
                               body={"name": "vault-secret", "expires_in_days": 5})
        self.assertEqual(st, 201, made)
        vault_token = made["token"]["id"]
        self.assertEqual(self.invite(tid, BOB)[0], 202)
        bob = self.session(BOB)

        def bob_sees_the_team():
            seen = []
            for path in ("/teams/" + tid, "/teams/%s/members" % tid,
                         "/tokens/teams/" + tid):
                seen.append(self.req("GET", path, token=bob)[0])
            st, _, lst = self.req("GET", "/tokens?limit=1000", token=bob)
            seen.append(vault_token in [t["id"] for t in lst["tokens"]])
            st, _, me = self.req("GET", "/auth/me", token=bob)
            seen.append(tid in [t["id"] for t in me["teams"]])
            st, _, teams = self.req("GET", "/teams", token=bob)
            seen.append(tid in [t["id"] for t in teams])
            return seen

        self.assertEqual(bob_sees_the_team(), [403, 403, 403, False, False, False])
        st, _, out = self.req("POST", "/tokens/teams/" + tid, token=bob,
                              body={"name": "bob-in-vault", "expires_in_days": 5})
        self.assertEqual(st, 400, "not a member: no team token")
        self.assertEqual(self.members(tid), [ALICE])
        # the invitee sees the invitation, with the team's name
        mine = [i for i in self.mine(BOB) if i["team_id"] == tid]
        self.assertEqual(len(mine), 1, mine)
        self.assertEqual((mine[0]["team_name"], mine[0]["role"], mine[0]["invited_by"],
                          mine[0]["email"], mine[0]["status"]),
                         ("Vault", "member", ALICE, BOB, "pending"))
        self.assertEqual(set(mine[0]), INVITATION_FIELDS)
        self.assertNotIn(tid, [i["team_id"] for i in self.mine(CAROL)],
                         "nobody else sees it")
        # accepting makes the membership
        st, h, team = self.answer(tid, "accept", BOB)
        self.assertEqual(st, 200, team)
        self.assertStdHeaders(h)
        self.assertEqual((team["id"], team["role"], team["member_count"]),
                         (tid, "member", 2))
        self.assertEqual(bob_sees_the_team(), [200, 200, 200, True, True, True])
        self.assertEqual(self.members(tid), sorted([ALICE, BOB]))
        self.assertNotIn(tid, [i["team_id"] for i in self.mine(BOB)])
        self.assertEqual(self.pending(tid), [])
        self.assertDetail(self.answer(tid, "accept", BOB), 404, NO_INVITATION)

    def test_decline(self):
        tid = self.team("Declined")
        self.assertEqual(self.invite(tid, CAROL)[0], 202)
        st, h, out = self.answer(tid, "decline", CAROL)
        self.assertEqual((st, out), (204, None))
        self.assertNotIn(tid, [i["team_id"] for i in self.mine(CAROL)])
        self.assertEqual(self.pending(tid), [])
        self.assertEqual(self.members(tid), [ALICE])
        self.assertDetail(self.answer(tid, "accept", CAROL), 404, NO_INVITATION)
        self.assertDetail(self.answer(tid, "decline", CAROL), 404, NO_INVITATION)
        # another user cannot answer for the invitee
        self.assertEqual(self.invite(tid, CAROL)[0], 202)
        self.assertDetail(self.answer(tid, "accept", BOB), 404, NO_INVITATION)
        self.assertDetail(self.answer(tid, "decline", BOB), 404, NO_INVITATION)
        self.assertEqual([i["email"] for i in self.pending(tid)], [CAROL])

    def test_withdraw(self):
        tid = self.team("Withdrawn")
        self.inst.cli("team", "member", "add", tid, CAROL)      # a plain member
        self.assertEqual(self.invite(tid, BOB)[0], 202)
        path = "/teams/%s/invitations/%s" % (tid, "Bob@Example.com")
        self.assertEqual(self.req("DELETE", path, token=self.session(CAROL))[0], 403,
                         "a member does not withdraw")
        self.assertEqual(self.req("GET", "/teams/%s/invitations" % tid,
                                  token=self.session(CAROL))[0], 403,
                         "nor list the invitations")
        st, _, out = self.req("DELETE", path, token=self.session(ALICE))
        self.assertEqual((st, out), (204, None))
        self.assertEqual(self.pending(tid), [])
        self.assertNotIn(tid, [i["team_id"] for i in self.mine(BOB)])
        self.assertDetail(self.answer(tid, "accept", BOB), 404, NO_INVITATION)
        self.assertDetail(self.req("DELETE", path, token=self.session(ALICE)),
                          404, NO_INVITATION)
        self.assertNotIn(BOB, self.members(tid))

    # -- who may do what

    def test_an_unnarrowed_admin_adds_at_once(self):
        tid = self.team("Direct")
        admin = self.session(ADMIN)
        st, _, out = self.req("POST", "/teams/%s/members" % tid, token=admin,
                              body={"email": BOB})
        self.assertEqual((st, out), (201, {"email": BOB, "role": "member"}))
        self.assertIn(BOB, self.members(tid))
        self.assertNotIn(tid, [i["team_id"] for i in self.mine(BOB)],
                         "no invitation: the membership is there")
        # an admin narrowed to the team is a team owner there: it invites
        st, _, sess = self.req("POST", "/auth/login", body={
            "email": ADMIN, "password": PASSWORDS[ADMIN], "teams": [tid]})
        self.assertEqual(st, 200, sess)
        self.inst.cli("team", "member", "add", tid, ADMIN, "--role", "owner")
        st, _, out = self.req("POST", "/teams/%s/members" % tid,
                              token=sess["access_token"], body={"email": CAROL})
        self.assertEqual((st, out["status"]), (202, "pending"))
        self.assertNotIn(CAROL, self.members(tid))

    def test_a_team_owner_changes_a_members_role_directly(self):
        tid = self.team("Roles")
        self.inst.cli("team", "member", "add", tid, BOB)
        st, _, out = self.invite(tid, BOB, role="owner")
        self.assertEqual((st, out), (200, {"email": BOB, "role": "owner"}))

    def test_routes_need_a_session_and_the_right_caller(self):
        tid = self.team("Guarded")
        self.assertEqual(self.invite(tid, CAROL)[0], 202)
        st, out = self.inst.create_token(self.session(CAROL), "carols-api")
        self.assertEqual(st, 201, out)
        raw = out["access_token"]
        for method, path in (("GET", "/teams/invitations"),
                             ("POST", "/teams/invitations/%s/accept" % tid),
                             ("POST", "/teams/invitations/%s/decline" % tid),
                             ("GET", "/teams/%s/invitations" % tid),
                             ("DELETE", "/teams/%s/invitations/%s" % (tid, CAROL))):
            self.assert401(self.req(method, path), invalid_token=False)
            self.assertDetail(self.req(method, path, token=raw), 403, MSG_API_TOKEN)
        bob = self.session(BOB)
        self.assertEqual(self.req("GET", "/teams/%s/invitations" % tid, token=bob)[0],
                         403, "a stranger does not list a team's invitations")
        st, _, out = self.req("POST", "/teams/%s/members" % tid, token=bob,
                              body={"email": BOB})
        self.assertEqual(st, 403, "nor invites, himself included")
        for team in ("f" * 32, "not-a-team"):
            self.assertDetail(self.answer(team, "accept", CAROL), 404, NO_INVITATION)
        self.assertEqual(self.req("GET", "/teams/%s/invitations" % ("f" * 32),
                                  token=self.session(ALICE))[0], 404)
        st, _, out = self.invite(tid, "not an e-mail")
        self.assertEqual(st, 422, out)
        self.assertTrue(out["detail"].startswith("email:"), out)
        self.assertEqual(self.req("POST", "/teams/invitations", token=bob)[0], 405)

    def test_a_narrowed_session_answers_only_within_its_teams(self):
        tid = self.team("Elsewhere")
        self.assertEqual(self.invite(tid, BOB)[0], 202)
        st, _, sess = self.req("POST", "/auth/login", body={
            "email": BOB, "password": PASSWORDS[BOB], "teams": []})
        self.assertEqual(st, 200, sess)
        public = sess["access_token"]
        st, _, out = self.req("GET", "/teams/invitations", token=public)
        self.assertEqual((st, out), (200, []))
        for verb in ("accept", "decline"):
            self.assertDetail(self.req("POST", "/teams/invitations/%s/%s" % (tid, verb),
                                       token=public), 403, NOT_SCOPED)
        self.assertIn(tid, [i["team_id"] for i in self.mine(BOB)], "still pending")

    # -- the command line

    def test_the_command_line_answers_for_the_invitee(self):
        tid = self.team("By Hand")
        self.assertEqual(self.invite(tid, CAROL, role="owner")[0], 202)
        self.assertEqual(self.invite(tid, "no-account@example.com")[0], 202)
        out = self.inst.cli("invitation", "list", "Carol@Example.com").stdout
        rows = [l.split("\t") for l in out.splitlines() if l.startswith(tid)]
        self.assertEqual(len(rows), 1, out)
        self.assertEqual(rows[0][:3] + rows[0][4:], [tid, "owner", ALICE, "By Hand"])
        parse_time(rows[0][3])
        out = self.inst.cli("invitation", "list", "no-account@example.com").stdout
        self.assertIn(tid, out, "an address without an account has its invitations")
        # decline, then accept a new one; each answer once
        self.inst.cli("invitation", "decline", tid, "no-account@example.com")
        p = self.inst.cli("invitation", "decline", tid, "no-account@example.com",
                          check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no pending invitation", p.stderr)
        self.assertNotIn(CAROL, self.members(tid))
        p = self.inst.cli("invitation", "accept", tid, CAROL)
        self.assertIn("as owner", p.stdout)
        self.assertIn(CAROL, self.members(tid))
        st, _, team = self.req("GET", "/teams/" + tid, token=self.session(CAROL))
        self.assertEqual((st, team["role"]), (200, "owner"))
        self.assertEqual(self.inst.cli("invitation", "accept", tid, CAROL,
                                       check=False).returncode, 1)
        self.assertEqual(self.inst.cli("invitation", "list", CAROL).stdout.count(tid), 0)
        # an unknown user, a bad address, a missing word
        self.assertEqual(self.inst.cli("invitation", "accept", tid, "ghost@example.com",
                                       check=False).returncode, 1)
        self.assertEqual(self.inst.cli("invitation", "list", "not-an-address",
                                       check=False).returncode, 1)
        p = self.inst.cli("invitation", "accept", tid, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage:", p.stderr)
        # the audit trail names the command line
        st, _, audit = self.req("GET", "/tokens/admin/audit?limit=1000",
                                token=self.session(ADMIN))
        acts = {(e["action"], e["actor"]) for e in audit["events"]
                if tid in e["detail"]}
        self.assertLessEqual({("team.invite", ALICE),
                              ("team.invite.decline", "tokencat(1)"),
                              ("team.invite.accept", "tokencat(1)")}, acts)

    # -- expiry

    def test_an_expired_invitation_cannot_be_accepted(self):
        if not harness.ON_PG and (MDB_DUMP is None or MDB_LOAD is None):
            self.skipTest("mdb_dump/mdb_load not found (apt-get install lmdb-utils)")
        tid = self.team("Expiring")
        self.assertEqual(self.invite(tid, CAROL)[0], 202)
        self.assertEqual(self.invite(tid, BOB)[0], 202)
        self.inst.stop()
        try:
            past = int((time.time() - 60) * 1000)
            if harness.ON_PG:
                # the same change in PostgreSQL: one row per invitation
                self.assertEqual(self.inst.psql(
                    "UPDATE invitations SET expires_at = %d WHERE team_id = "
                    "'%s' AND email = '%s' RETURNING 1" % (past, tid, CAROL)
                ).split(), ["1"])
            else:
                for db in ("invites", "invite_email"):
                    self.assertEqual(rewrite_expiry(self.inst.db, db, CAROL,
                                                    past), 1)
        finally:
            self.inst.start()
        self.assertNotIn(tid, [i["team_id"] for i in self.mine(CAROL)])
        self.assertEqual([i["email"] for i in self.pending(tid)], [BOB],
                         "the other invitation is still pending")
        self.assertDetail(self.answer(tid, "accept", CAROL), 404, NO_INVITATION)
        self.assertDetail(self.answer(tid, "decline", CAROL), 404, NO_INVITATION)
        self.assertNotIn(CAROL, self.members(tid))
        # a new invitation replaces it (and purges the expired record)
        self.assertEqual(self.invite(tid, CAROL)[0], 202)
        self.assertEqual(self.answer(tid, "accept", CAROL)[0], 200)
        self.assertIn(CAROL, self.members(tid))


def rewrite_expiry(db, name, email, at_ms):
    """Set expires_at of the invitation records of email in database name
    of the LMDB environment db to at_ms: mdb_dump -p, edit, mdb_load.
    Returns the number of records changed."""
    dump = subprocess.run([MDB_DUMP, "-p", "-s", name, db], capture_output=True,
                          text=True, timeout=30, check=True).stdout
    out, changed, in_data = [], 0, False
    for line in dump.splitlines():
        if line == "HEADER=END":
            in_data = True
        elif line == "DATA=END":
            in_data = False
        elif in_data and ('"email":"%s"' % email) in line:
            line, n = re.subn(r'"expires_at":\d+', '"expires_at":%d' % at_ms, line)
            changed += n
        out.append(line)
    subprocess.run([MDB_LOAD, "-s", name, db], input="\n".join(out) + "\n",
                   capture_output=True, text=True, timeout=30, check=True)
    return changed
