"""
test_apache_userdir.py - shared hosting: etc/apache2/tokencat-userdir.conf
on top of Debian's own userdir.conf and fcgid.conf, with a user's
~/public_html/tokencat/ holding etc/apache2/userdir/htaccess (as
.htaccess) and the starter script etc/apache2/userdir/tokencat.fcgi.
Run twice: with mod_fcgid (FastCGI workers started by Apache), and with
mod_cgid only (tokencat.fcgi answering each request as plain CGI).

The user is "alice" without a system account: Debian's "UserDir
public_html" (which looks the user up) becomes "UserDir <tmp>/home/*/
public_html" (which does not), and /home becomes <tmp>/home in every file.
"""

import os
import shutil
import unittest

from servers import (ADMIN, ALICE, APACHE2, CI, ETC, ServerChecks,
                     give_to_www)
from test_apache import BASE_MODULES, ApacheInstance

DEBIAN_MODS = "/etc/apache2/mods-available"
BIG = 200 * 1024        # over tokencat's 64 KiB and mod_fcgid's 128 KiB default


def debian_file(inst, name, replacements):
    """Copy Debian's mods-available/<name> into the instance's conf/ with
    replacements (exact text, each required). Returns the copy's path."""
    with open(os.path.join(DEBIAN_MODS, name)) as f:
        text = f.read()
    for old, new in replacements:
        if old not in text:
            raise AssertionError("Debian's %s no longer contains %r" % (name, old))
        text = text.replace(old, new)
    dest = os.path.join(inst.confdir, "debian-" + name)
    with open(dest, "w") as f:
        f.write(text)
    return dest


class UserdirInstance(ApacheInstance):
    API = "/~alice/tokencat/tokencat.fcgi"
    MODULES = BASE_MODULES + ("userdir", "fcgid")

    def apache_body(self):
        home = os.path.join(self.dir, "home")
        site = os.path.join(home, "alice", "public_html", "tokencat")
        os.makedirs(site, exist_ok=True)
        shutil.copyfile(os.path.join(ETC, "apache2", "userdir", "htaccess"),
                        os.path.join(site, ".htaccess"))
        self.render("apache2/userdir/tokencat.fcgi", [
            ("/home/alice/tokencat/tokencat.conf", self.conf_path),
        ], name="tokencat.fcgi")
        shutil.move(os.path.join(self.confdir, "tokencat.fcgi"),
                    os.path.join(site, "tokencat.fcgi"))
        os.chmod(os.path.join(site, "tokencat.fcgi"), 0o755)
        give_to_www(home)
        userdir = debian_file(self, "userdir.conf", [
            ("UserDir public_html", "UserDir %s/*/public_html" % home),
            ("<Directory /home/*/public_html>",
             "<Directory %s/*/public_html>" % home)])
        ours = self.render("apache2/tokencat-userdir.conf", [
            ("<Directory /home/*/public_html>",
             "<Directory %s/*/public_html>" % home)])
        return self.module_settings() + \
            "Include %s\nInclude %s\n" % (userdir, ours)

    def module_settings(self):
        fcgid = debian_file(self, "fcgid.conf", [])
        return ("FcgidIPCDir %(run)s/fcgid\n"
                "FcgidProcessTableFile %(run)s/fcgid-shm\n"
                "Include %(fcgid)s\n" % {"run": self.run, "fcgid": fcgid})


class CgiUserdirInstance(UserdirInstance):
    MODULES = BASE_MODULES + ("userdir", "cgid")

    def module_settings(self):
        return "ScriptSock %s/cgisock\n" % self.run


class UserdirChecks(ServerChecks):
    PROGRAMS = {"apache2": APACHE2}
    PROTECTED = None

    @classmethod
    def setUpClass(cls):
        for f in ("userdir.conf", "fcgid.conf"):
            if not os.path.exists(os.path.join(DEBIAN_MODS, f)):
                why = "Debian's %s/%s is missing" % (DEBIAN_MODS, f)
                if CI:
                    raise AssertionError(why)
                raise unittest.SkipTest(why)
        super().setUpClass()

    def test_api_token_allowed_and_refused(self):
        tid, tok = self.files_token("hosted", perms=("tools.read",))
        st, _, me = self.req("GET", "/auth/me", token=tok)
        self.assertEqual(st, 200, me)
        self.assertEqual((me["user"]["email"], me["auth_method"]),
                         (ADMIN, "api_token"))
        st, h, out = self.req("GET", "/auth/me", token="not.a.token")
        self.assertEqual(st, 401, out)
        self.assertEqual(h.get("WWW-Authenticate"),
                         'Bearer realm="tokencat", error="invalid_token"')
        self.assertEqual(self.req("GET", "/auth/me")[0], 401)

    def test_put_patch_delete_pass_debians_require_method(self):
        sess = self.inst.login(ALICE)
        st, out = self.inst.create_token(sess, "to-revoke")
        self.assertEqual(st, 201, out)
        tid = out["token"]["id"]
        st, _, got = self.req("PUT", "/tokens/" + tid, body={"description": "x"},
                              token=sess)
        self.assertEqual((st, got["description"]), (200, "x"))
        self.assertEqual(self.req("DELETE", "/tokens/" + tid, token=sess)[0], 204)
        admin = self.inst.login(ADMIN)
        st, _, out = self.req("PATCH", "/admin/users/" + ALICE,
                              body={"full_name": "Alice Hosted"}, token=admin)
        self.assertEqual(st, 200, out)

    def test_path_info(self):
        self.assertEqual(self.req("GET", "/v1/health")[0], 200)
        self.assertEqual(self.req("GET", "/nowhere")[0], 404)

    def test_a_large_body_gets_tokencats_413(self):
        """A body over FcgidMaxRequestLen's default (128 KiB) still
        reaches tokencat, which answers 413 itself."""
        sess = self.inst.login(ALICE)
        st, _, out = self.req("POST", "/tokens", raw=b"{" + b" " * BIG + b"}",
                              token=sess, headers={"Content-Type": "application/json"})
        self.assertEqual(st, 413, out)
        self.assertEqual(out, {"detail": "Request body too large"})

    def test_other_files_are_not_programs(self):
        st, _, _ = self.req("GET", "/.htaccess", prefix="/~alice/tokencat")
        self.assertEqual(st, 403)


class ApacheFcgidUserdir(UserdirChecks, unittest.TestCase):
    INSTANCE = UserdirInstance

    def test_fcgid_keeps_at_most_four_workers(self):
        self.test_more_clients_at_once_than_workers()
        pids = self.inst.worker_pids()
        self.assertTrue(1 <= len(pids) <= 4, pids)


class ApacheCgiUserdir(UserdirChecks, unittest.TestCase):
    INSTANCE = CgiUserdirInstance

    def test_no_worker_stays(self):
        self.assertEqual(self.req("GET", "/health")[0], 200)
        self.assertEqual(self.inst.worker_pids(), [],
                         "as CGI, tokencat.fcgi exits after each request")
