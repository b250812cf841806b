#!/bin/sh
# A persistent program in shell for waha-service-script --persistent: one
# request a line on stdin (a JSON array of fields), one reply a line on
# stdout.  Its argument (after -- on the service's command line) picks:
#   echo   the request line is itself a valid reply: the same fields back
#   upper  the fields in upper case, by jq(1) for each request
# read -r keeps the line as it is; JSON has escaped every newline and NUL
# of the fields, so a line is always one whole request.
#
#   waha-service-script --persistent -n text.echo \
#       -s doc/examples/persistent.sh -- echo
mode=${1:-echo}
while IFS= read -r line; do
	case $mode in
	echo)
		printf '%s\n' "$line"
		;;
	upper)
		printf '%s\n' "$line" | jq -c \
		    'map(if type == "string" then ascii_upcase else . end)' ||
		    echo '{"status": 500, "reason": "jq failed"}'
		;;
	*)
		echo '{"status": 400, "reason": "unknown mode"}'
		;;
	esac
done
