#!/bin/sh
# Streamed replies at the gateway (DESIGN.md 2.7): Server-Sent Events,
# NDJSON and chunked bytes, each showing the first partial before the
# worker sends the next (the worker waits for a file the test makes only
# once curl has written "ready"); early errors keeping their code; a
# failure after the first bytes; SSE keepalives outliving the write
# timeout; the client leaving cancels the request; timeouts.
. "${WAHA_LIB:-$(dirname "$0")/lib.sh}"
. "$(dirname "${WAHA_LIB:-$0}")/lib-cli.sh"
. "$(dirname "${WAHA_LIB:-$0}")/http-lib.sh"
need_pyzmq
setup
plan 38

start_broker broker --heartbeat 200 || exit 1
# sworker NAME MODE [OPTIONS...]: a tests/stream.py worker of service NAME
sworker() {
	_sn=$1
	shift
	start_served "$_sn" "$_sn" "$PYTHON" "$TESTS_SRC/stream.py" worker \
	    "$BROKER" "$_sn" "$@" --log "$SCRATCH/$_sn.events"
}
sworker prog progress --wait-file "$SCRATCH/go" || exit 1
sworker fail fail || exit 1
sworker over over || exit 1
sworker binary binary || exit 1
# -t 300: a stream has no deadline but its own timeout=.
start_gateway gateway -t 300 --body-timeout 300 --stream-keepalive 200 \
    -v || exit 1
wait_for "gateway connected" healthy

SSE="Accept: text/event-stream"
# progress NAME CURL-ARGS...: curl -N into $SCRATCH/NAME.out, in the
# background; "go" is made only once "ready" is there, so the test ends
# only if the first partial reached the client before the worker sent
# the rest.  The body is in $out, curl's exit status in $rc.
progress() {
	_pn=$1
	shift
	rm -f "$SCRATCH/go" "$SCRATCH/$_pn.out"
	: >"$SCRATCH/$_pn.out"
	curl -sS -N -D "$SCRATCH/$_pn.headers" -o "$SCRATCH/$_pn.out" "$@" &
	_cp=$!
	if wait_for "ready in $_pn" grep -q ready "$SCRATCH/$_pn.out"; then
		seen=ready
	else
		seen=nothing
	fi
	grep -q done "$SCRATCH/$_pn.out" && seen="$seen and done"
	touch "$SCRATCH/go"
	wait $_cp
	rc=$?
	out=$(cat "$SCRATCH/$_pn.out")
}
hdr() {
	tr -d '\r' <"$SCRATCH/$1.headers" | sed -n "s/^$2: //Ip" | head -n 1
}

progress sse -H "$SSE" "http://$HTTP/prog"
is "$seen" ready "SSE: the first partial arrives before the worker goes on"
is "$rc $out" "0 event: partial
id: 1
data: ready
data: 

event: partial
id: 2
data: done
data: 

event: final
id: 3
data: {\"status\":200,\"fields\":[\"end\\n\"]}" \
    "SSE: each partial an event, lines as data lines, then the final"
is "$(hdr sse Content-Type) $(hdr sse Cache-Control) $(hdr sse X-Accel-Buffering)" \
    "text/event-stream no-cache no" "SSE: its headers"
is "$(hdr sse Transfer-Encoding)" chunked "SSE: a chunked body"

progress nd "http://$HTTP/prog?stream=1"
is "$seen" ready "NDJSON: the first partial arrives before the worker goes on"
is "$rc $out" '0 {"partial":["ready\n"]}
{"partial":["done\n"]}
{"status":200,"fields":["end\n"]}' "NDJSON: a line per partial, then the status"
is "$(hdr nd Content-Type)" application/x-ndjson "NDJSON: its type"

progress plain "http://$HTTP/prog?stream=1&type=plain"
is "$seen" ready "plain: the first bytes arrive before the worker goes on"
is "$rc $out" "0 ready
done
end" "plain: the bytes as they are, the final's fields last"
is "$(hdr plain Content-Type) $(hdr plain Transfer-Encoding)" \
    "text/plain chunked" "plain: chunked text/plain"
like "$(grep '^request' "$SCRATCH/prog.events" | sort -u)" '^request stream=1$' \
    "the broker was asked to stream, without a deadline despite -t 300"

# Past -t and --body-timeout while silent: keepalive comments, no cut.
rm -f "$SCRATCH/go"
curl -sS -N -H "$SSE" -o "$SCRATCH/ka.out" "http://$HTTP/prog" &
cp=$!
wait_for "ready" grep -q ready "$SCRATCH/ka.out"
ok "a silent SSE stream gets keepalive comments" \
    wait_for "two keepalives" sh -c \
    "[ \$(grep -c '^: keepalive' '$SCRATCH/ka.out') -ge 2 ]"
touch "$SCRATCH/go"
wait $cp
is "$?:$(grep '^data: {' "$SCRATCH/ka.out")" \
    '0:data: {"status":200,"fields":["end\n"]}' \
    "and it lives past -t and --body-timeout to its end"

# Early errors keep their code, in every form.
hreq '/nosuch?stream=1'
is "$code $body" '404 {"error":"no such service","status":404}' \
    "NDJSON to an unknown service: 404"
hreq '/nosuch' -H "$SSE"
is "$code" 404 "SSE to an unknown service: 404"
hreq '/nosuch?stream=1&type=plain'
is "$code $body" "404 404 no such service" "plain to an unknown service: 404"
hreq '/over?stream=1&type=plain'
is "$code $body" "500 500 the worker sent 1 bytes over its credit" \
    "a worker over its credit before any byte: 500 as the status"
hreq '/over' -H "$SSE"
is "$code" 500 "the same with SSE"

# A failure after the first bytes.
hreq '/fail' -H "$SSE"
is "$code $(grep '^data: {' "$SCRATCH/body")" \
    '200 data: {"error":"broke","status":500}' \
    "SSE: a failure after a partial is the final event's status"
hreq '/fail?stream=1'
is "$code $body" '200 {"partial":["partly\n"]}
{"error":"broke","status":500}' "NDJSON: the last line has the status"
curl -sS -N -o "$SCRATCH/cut.out" "http://$HTTP/fail?stream=1&type=plain" \
    2>"$SCRATCH/cut.err"
rc=$?
is "$rc $(cat "$SCRATCH/cut.out")" "18 partly" \
    "plain: the bytes, and no last chunk: curl fails (18, partial file)"
ok "and the gateway logs it" grep -q \
    'stream /fail?stream=1&type=plain failed after .*500 broke' \
    "$SCRATCH/gateway.log"

# Bytes that are not text for SSE: a UTF-8 sequence cut between two
# partials is put back together; the rest goes as base64.
hreq '/binary' -H "$SSE"
is "$(grep -v '^id:' "$SCRATCH/body")" "event: partial
data: caf

event: partial
data: é
data: 

event: partial-base64
data: /w0K

event: final
data: {\"status\":200,\"fields\":[\"end\"]}" \
    "SSE: UTF-8 cut in two is mended, bytes with CR or not UTF-8 are base64"
hreq '/binary?stream=1'
is "$body" '{"partial":[{"base64":"Y2Fmww=="}]}
{"partial":[{"base64":"qQo="}]}
{"partial":[{"base64":"/w0K"}]}
{"status":200,"fields":["end"]}' \
    "NDJSON: fields that are not UTF-8 are {\"base64\": ...}"

# timeout= is a deadline for the whole stream.
rm -f "$SCRATCH/go"
hreq '/prog?stream=1&timeout=500'
is "$code $body" '200 {"partial":["ready\n"]}
{"error":"its deadline of 500 ms passed while it ran","status":504}' \
    "timeout= ends a stream with 504 in its last line"

# The client leaves mid-stream: the worker is told within 2 s.
: >"$SCRATCH/prog.events"
rm -f "$SCRATCH/go"
curl -sS -N -o "$SCRATCH/gone.out" "http://$HTTP/prog?stream=1&type=plain" &
cp=$!
wait_for "ready" grep -q ready "$SCRATCH/gone.out"
kill -KILL $cp
wait $cp 2>/dev/null
WAIT_LIMIT=2 wait_for "the CANCEL" grep -q '^cancel' "$SCRATCH/prog.events"
is "$(grep -c '^cancel' "$SCRATCH/prog.events")" 1 \
    "a client killed mid-stream: its worker gets CANCEL within 2 s"
: >"$SCRATCH/prog.events"
curl -sS -N -H "$SSE" -o "$SCRATCH/gone-sse.out" "http://$HTTP/prog" &
cp=$!
wait_for "ready" grep -q ready "$SCRATCH/gone-sse.out"
kill -KILL $cp
wait $cp 2>/dev/null
WAIT_LIMIT=2 wait_for "the CANCEL" grep -q '^cancel' "$SCRATCH/prog.events"
is "$(grep -c '^cancel' "$SCRATCH/prog.events")" 1 "the same with SSE"
ok "the gateway counts them gone" wait_for "the count" sh -c \
    "curl -s http://$HTTP/metrics | grep -qx 'waha_http_clients_gone_total 2'"

# Parameters.
hreq '/prog?stream=2'
is "$code $body" '400 {"error":"stream must be 0 or 1","status":400}' \
    "stream=2: 400"
hreq '/prog?stream=1&callback=f'
is "$code" 400 "jsonp does not stream: 400"
hreq '/prog' -H "$SSE" -H "Last-Event-ID: 3"
is "$code" 204 "an EventSource reconnecting (Last-Event-ID) gets 204"
hreq '/prog?stream=0'
is "$code $body" '200 ["plain"]' "stream=0: one reply, as before"
hreq '/prog'
is "$code $body" '200 ["plain"]' "without stream: one reply, as before"
hreq '/binary?stream=1&type=plain' --http1.0
is "$code $(od -An -tx1 "$SCRATCH/body" | tr -d ' \n')" \
    "200 636166c3a90aff0d0a656e64" \
    "HTTP/1.0: the bytes, ended by the connection's close"

m=$(curl -s "http://$HTTP/metrics")
is "$(echo "$m" | sed -n 's/^waha_http_streams //p')" 0 \
    "/metrics: no stream is left open"
like "$(echo "$m" | sed -n 's/^waha_http_streams_total //p')" '^1[0-9]$' \
    "/metrics: the streams begun"
is "$(echo "$m" | sed -n 's/^waha_http_streams_cut_total //p')" 1 \
    "/metrics: the plain stream cut by its failure"
is "$(echo "$m" | sed -n 's/^waha_http_in_flight //p')" 1 \
    "nothing is left in flight but /metrics"
