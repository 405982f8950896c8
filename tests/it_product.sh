#!/usr/bin/env bash
# it_product.sh: an agent given --product installs only releases of that product: a release
# of another product pushed to its channel is rejected (state "rejected", nothing installed,
# the message names both products); an agent without --product takes any product.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$1"

fc_start_broker "$FC_TMP/broker"
fc_keygen
mkdir -p "$FC_TMP/src"
echo web >"$FC_TMP/src/app"
fc_cli release push "$FC_TMP/src" --channel stable --version 1.0 --product web \
  --key "$FC_TMP/keys/signing.key" >/dev/null

rc=0; fc_agent_run db --product db || rc=$?
[ "$rc" != 0 ] || fc_fail "an agent for product db installed a release of product web"
grep -q "manifest is for product 'web', not 'db'" "$FC_TMP/db.log" ||
  fc_fail "no clear message: $(cat "$FC_TMP/db.log")"
[ "$(fc_json_field "$FC_TMP/db.json" state)" = rejected ] || fc_fail "state: $(cat "$FC_TMP/db.json")"
[ ! -e "$FC_TMP/db/install/current" ] || fc_fail "something was installed"
fc_pass "--product db refuses a release of product web: $(grep -m1 product "$FC_TMP/db.log")"

fc_agent_run web --product web || fc_fail "--product web: $(cat "$FC_TMP/web.log")"
[ "$(cat "$FC_TMP/web/install/current/app")" = web ] || fc_fail "--product web did not install"
fc_agent_run any || fc_fail "no --product: $(cat "$FC_TMP/any.log")"
[ "$(cat "$FC_TMP/any/install/current/app")" = web ] || fc_fail "no --product did not install"
fc_pass "--product web and an agent without --product install it"

rc=0; fc_agent_run bad --product 'no/such' || rc=$?
[ "$rc" != 0 ] && grep -q "\-\-product 'no/such' is not a valid name" "$FC_TMP/bad.log" ||
  fc_fail "a bad --product name: rc $rc, $(cat "$FC_TMP/bad.log")"
fc_pass "a bad --product name is refused at start"
