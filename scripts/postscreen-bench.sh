#!/usr/bin/env bash
# A second private Postfix with postscreen in front, for comparing the SMTP edge with postscreen
# on the same machine (not used by the tests; needs root and Postfix):
#   postscreen 127.0.0.1:10027 (greet wait 1 s, pregreet drop, access list deny 127.1.160.0/19 drop,
#   pipelining test enforce, no DNS lists), passing clients to an smtpd that delivers to the Maildir
#   /var/tmp/spamward-postscreen/mail/inbox;
#   and a plain smtpd on 127.0.0.1:10028 (XCLIENT/XFORWARD allowed from 127.0.0.0/8) in the same
#   instance: the SMTP edge's backend, so that the edge and postscreen hand their clients to the
#   same Postfix (same smtpd, cleanup, queue and delivery) in a comparison.
# The Postfix settings that only slow a loopback benchmark down are changed for both
# (BENCH_TUNING=0 keeps Postfix's defaults):
#   in_flow_delay = 0            (default 1s: smtpd waits when mail arrives faster than it is
#                                 delivered, which caps the accept rate at the delivery rate)
#   smtpd_peername_lookup = no   (no reverse lookup of 127.x client addresses)
#   default_process_limit = 400  (smtpd processes; the relay phase uses up to this many at once)
#
# usage: scripts/postscreen-bench.sh start|stop
#        then: spamward-edge-sim run --target 127.0.0.1:10027 --maildir /var/tmp/spamward-postscreen/mail/inbox ...
#        and:  spamward-edge-sim run --backend 127.0.0.1:10028 --maildir /var/tmp/spamward-postscreen/mail/inbox ...
set -euo pipefail
base=/var/tmp/spamward-postscreen
conf=$base/conf

start() {
  command -v postfix >/dev/null || { echo "postfix is not installed"; exit 1; }
  stop >/dev/null 2>&1 || true
  rm -rf "$base"
  mkdir -p "$conf" "$base/queue" "$base/data" "$base/mail"
  chown nobody:nogroup "$base/mail"
  chown postfix "$base/data"
  sed -e 's/^smtp \( *\)inet.*/#&/' /etc/postfix/master.cf > "$conf/master.cf"
  cat >> "$conf/master.cf" <<MCF
127.0.0.1:10027 inet n - n - 1 postscreen
smtpd     pass  -       -       n       -       -       smtpd
dnsblog   unix  -       -       n       -       0       dnsblog
127.0.0.1:10028 inet n - n - - smtpd
  -o smtpd_authorized_xclient_hosts=127.0.0.0/8
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
MCF
  printf '127.1.160.0/19 reject\n' > "$conf/postscreen_access.cidr"
  cat > "$conf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $base/queue
data_directory = $base/data
mail_owner = postfix
setgid_group = postdrop
myhostname = ps.spamward.test
mydomain = spamward.test
myorigin = spamward.test
mydestination = localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
smtputf8_enable = no
biff = no
maillog_file = $base/maillog
virtual_mailbox_domains = spamward.test
virtual_mailbox_base = $base/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 1
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_limit = 0
postscreen_access_list = cidr:$conf/postscreen_access.cidr
postscreen_blacklist_action = drop
postscreen_greet_wait = 1s
postscreen_greet_action = drop
postscreen_pipelining_enable = yes
postscreen_pipelining_action = enforce
postscreen_dnsbl_sites =
postscreen_cache_map = btree:\$data_directory/postscreen_cache
postscreen_client_connection_count_limit = 1000
postscreen_pre_queue_limit = 20000
postscreen_post_queue_limit = 1000
CF
  if [ "${BENCH_TUNING:-1}" != 0 ]; then
    printf 'default_process_limit = 400\nin_flow_delay = 0\nsmtpd_peername_lookup = no\n' >> "$conf/main.cf"
  else
    printf 'default_process_limit = 200\n' >> "$conf/main.cf"
  fi
  postfix -c "$conf" check
  postfix -c "$conf" start
  for _ in $(seq 1 50); do
    (exec 3<>/dev/tcp/127.0.0.1/10027) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/10028) 2>/dev/null &&
      { echo "postscreen listening on 127.0.0.1:10027, the edge's backend smtpd on 127.0.0.1:10028"; return 0; }
    sleep 0.2
  done
  echo "postscreen did not start"; tail -20 "$base/maillog" 2>/dev/null; exit 1
}

stop() {
  [ -d "$conf" ] && postfix -c "$conf" stop 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop"; exit 64 ;;
esac
