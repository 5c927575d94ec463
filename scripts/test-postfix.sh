#!/usr/bin/env bash
# A private Postfix instance for the milter end-to-end tests, on loopback only:
#   SMTP  127.0.0.1:10025 (the test's client talks to it)
#   milter inet:127.0.0.1:11932 (the test starts `spamward serve --milter 127.0.0.1:11932`)
#   every message for @spamward.test is delivered to the Maildir /var/tmp/spamward-postfix/mail/
#   SMTP  127.0.0.1:10026 without the milter, XCLIENT/XFORWARD allowed from 127.0.0.0/8: the
#         backend of the SMTP edge tests (`spamward edge --backend 127.0.0.1:10026`)
# The milter's default action is tempfail: when Spamward is down, Postfix answers 4xx and the
# client must retry; nothing is delivered unscanned.
#
# usage: scripts/test-postfix.sh start|stop|status
set -euo pipefail
base=/var/tmp/spamward-postfix
conf=$base/conf

start() {
  command -v postfix >/dev/null || { echo "postfix is not installed"; exit 1; }
  stop >/dev/null 2>&1 || true
  rm -rf "$base"
  mkdir -p "$conf" "$base/queue" "$base/data" "$base/mail"
  chown nobody:nogroup "$base/mail"
  chown postfix "$base/data"
  # master.cf: Debian's, with smtpd on 127.0.0.1:10025 and no chroot (the queue is elsewhere).
  sed -e 's/^smtp \( *\)inet.*/127.0.0.1:10025 inet n - n - - smtpd/' /etc/postfix/master.cf > "$conf/master.cf"
  # The edge's backend: the same delivery, no milter (the edge has scanned already).
  cat >> "$conf/master.cf" <<MCF
127.0.0.1:10026 inet n - n - - smtpd
  -o smtpd_milters=
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
MCF
  cat > "$conf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $base/queue
data_directory = $base/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.spamward.test
mydomain = spamward.test
myorigin = spamward.test
mydestination = localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
smtpd_banner = \$myhostname ESMTP
smtputf8_enable = no
biff = no
maillog_file = $base/maillog
virtual_mailbox_domains = spamward.test
virtual_mailbox_base = $base/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 1
smtpd_milters = inet:127.0.0.1:11932
smtpd_authorized_xclient_hosts = 127.0.0.0/8
non_smtpd_milters =
milter_protocol = 6
milter_default_action = tempfail
milter_connect_timeout = 3s
milter_command_timeout = 10s
milter_content_timeout = 30s
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
message_size_limit = 52428800
virtual_mailbox_limit = 0
CF
  postfix -c "$conf" check
  postfix -c "$conf" start
  for _ in $(seq 1 50); do
    (exec 3<>/dev/tcp/127.0.0.1/10025) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/10026) 2>/dev/null &&
      { echo "postfix listening on 127.0.0.1:10025 and 127.0.0.1:10026"; return 0; }
    sleep 0.2
  done
  echo "postfix did not start"; cat "$base/maillog" 2>/dev/null | tail -20; exit 1
}

stop() {
  [ -d "$conf" ] && postfix -c "$conf" stop 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) postfix -c "$conf" status ;;
  *) echo "usage: $0 start|stop|status"; exit 64 ;;
esac
