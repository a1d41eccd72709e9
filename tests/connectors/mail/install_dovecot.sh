#!/usr/bin/env bash
# Installs Debian's dovecot-imapd for the IMAP tests (tests/connectors/mail/conftest.py starts a
# private instance on a loopback port; the system service is never started).
set -euo pipefail

if command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

# A container's policy-rc.d keeps the package from starting the system-wide daemon.
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]
