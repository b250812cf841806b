#!/bin/sh
# The init system files: SysV scripts parse and have no bashisms, the
# systemd units verify cleanly against the built daemons and keep their
# hardening, and the broker's SysV script really starts, reports and stops
# the built broker (as CI does it, with paths redirected into the scratch
# directory).
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
setup

initdir="$WAHA_SRCDIR/init"
for s in "$initdir"/*.init; do
	n=$(basename "$s")
	ok "$n: sh -n" sh -n "$s"
	if command -v checkbashisms >/dev/null 2>&1; then
		ok "$n: checkbashisms" checkbashisms "$s"
	fi
	is "$(sed -n 's/^# Provides: *//p' "$s")" "${n%.init}" \
	    "$n: Provides is the script's name"
	ok "$n: sources init-functions" grep -q '^\. /lib/lsb/init-functions' "$s"
	ok "$n: never ENABLED=" sh -c "! grep -q ENABLED= '$s'"
done

# Each defaults file documents every option of its daemon (but those
# the init system sets itself, and --help and --version).
for d in waha-broker waha-proxy-balance waha-proxy-http waha-service-script; do
	[ -x "$WAHA_BINDIR/$d" ] || continue
	for o in $("$WAHA_BINDIR/$d" --help | grep -Eo -- '--[a-z][a-z0-9-]*' |
	    sort -u); do
		case $o in
		--help|--version|--syslog|--endpoint-file|--name) continue ;;
		esac
		ok "$d.default documents $o" \
		    grep -q -- "$o" "$initdir/$d.default"
	done
done

# Units, with ExecStart pointed at this build.
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$SCRATCH/units"
	for u in "$WAHA_BUILDDIR"/init/*.service; do
		sed -e "s|^ExecStart=[^ ]*/sbin/|ExecStart=$WAHA_BINDIR/|" "$u" \
		    >"$SCRATCH/units/$(basename "$u")"
	done
	for u in "$SCRATCH"/units/*.service; do
		n=$(basename "$u")
		exe=$(sed -n 's|^ExecStart=\([^ ]*\).*|\1|p' "$u")
		if [ "$exe" != /bin/true ] && [ ! -x "$exe" ]; then
			diag "$n: $exe is not built here"
			continue
		fi
		out=$(cd "$SCRATCH/units" && systemd-analyze verify --man=no \
		    "./$n" 2>&1)
		is "$out" "" "$n: systemd-analyze verify says nothing"
		if [ "$exe" != /bin/true ]; then
			ok "$n: exposure 2.5 or less" \
			    sh -c "cd '$SCRATCH/units' && systemd-analyze security \
			    --offline=yes --threshold=25 --man=no './$n' >/dev/null 2>&1"
			ok "$n: runs as _waha" grep -q '^User=_waha$' "$u"
			ok "$n: has Documentation=" grep -q '^Documentation=man:' "$u"
		fi
	done
else
	diag "no systemd-analyze: units not verified"
fi

# The broker's SysV script against the built broker.
if [ -r /lib/lsb/init-functions ] && command -v start-stop-daemon >/dev/null; then
	mkdir "$SCRATCH/default" "$SCRATCH/run"
	echo "WAHA_BROKER_OPTS=\"-u tcp://127.0.0.1:* --endpoint-file $SCRATCH/ep\"" \
	    >"$SCRATCH/default/waha-broker"
	sed -e "s|^DAEMON=.*|DAEMON=$WAHA_BINDIR/waha-broker|" \
	    -e "s|^RUNDIR=.*|RUNDIR=$SCRATCH/run|" \
	    -e "s|^DAEMON_USER=.*|DAEMON_USER=$(id -un)|" \
	    -e "s|/etc/default/|$SCRATCH/default/|g" \
	    "$initdir/waha-broker.init" >"$SCRATCH/rc"
	sh "$SCRATCH/rc" start >/dev/null 2>&1
	is "$?" 0 "init script: start exits 0"
	wait_for "the broker's endpoint" test -s "$SCRATCH/ep"
	BROKER=$(cat "$SCRATCH/ep")
	ok "the broker it started answers" cli -n mmi.services
	sh "$SCRATCH/rc" status >/dev/null 2>&1
	is "$?" 0 "init script: status exits 0 while it runs"
	ok "the pid file names the broker" \
	    grep -q waha-broker "/proc/$(cat "$SCRATCH/run/waha-broker.pid")/cmdline"
	sh "$SCRATCH/rc" start >/dev/null 2>&1
	is "$?" 0 "init script: a second start exits 0"
	sh "$SCRATCH/rc" stop >/dev/null 2>&1
	is "$?" 0 "init script: stop exits 0"
	sh "$SCRATCH/rc" status >/dev/null 2>&1
	is "$?" 3 "init script: status exits 3 once stopped"
	cli -t 500 -n mmi.services >/dev/null 2>&1
	is "$?" 2 "the broker is gone: waha-cli cannot connect (exit 2)"
	sh "$SCRATCH/rc" stop >/dev/null 2>&1
	is "$?" 0 "init script: a second stop exits 0"
	sh "$SCRATCH/rc" bogus >/dev/null 2>&1
	is "$?" 3 "init script: an unknown action exits 3"
else
	diag "no init-functions or start-stop-daemon: SysV script not run"
fi
echo "1..$_tap_n"
