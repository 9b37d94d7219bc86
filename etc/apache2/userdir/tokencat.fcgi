#!/bin/sh
# tokencat.fcgi - the starter script for shared hosting: copy it to
# ~/public_html/tokencat/tokencat.fcgi (mode 0755) next to the .htaccess of
# etc/apache2/userdir/htaccess. mod_fcgid (or mod_cgid) runs it; it names
# the configuration and becomes the worker (exec keeps the FastCGI socket
# on standard input, or the CGI request in the environment and stdin).
#
# Keep the configuration and the database out of public_html, e.g.
#   mkdir -p /home/alice/tokencat
#   printf 'database = /home/alice/tokencat/db\n' >/home/alice/tokencat/tokencat.conf
#   tokencat -c /home/alice/tokencat/tokencat.conf init
# and give the database to the user the scripts run as (www-data without
# suEXEC; see etc/apache2/tokencat-userdir.conf). Replace alice by your
# user name and the program's path by where tokencat.fcgi is installed
# (a copy in your home works too).
#
# tests/servers/test_apache_userdir.py runs this script with both paths
# replaced.

# The configuration (mod_fcgid does not pass the server's environment,
# and a .htaccess cannot set a program's environment).
TOKENCAT_CONFIG=/home/alice/tokencat/tokencat.conf
export TOKENCAT_CONFIG
exec /usr/local/sbin/tokencat.fcgi
