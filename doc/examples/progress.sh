#!/bin/sh
# A long job that reports its progress, a line at a time: the example of
# a streamed service (waha-service-script streams its stdout to clients
# that ask, e.g. waha-cli -S, or curl with Accept: text/event-stream).
#   progress.sh [STEPS]     one line a second, then "done"
n=${1:-5}
case $n in
''|*[!0-9]*) echo "progress.sh: STEPS is a number" >&2; exit 2 ;;
esac
i=1
while [ "$i" -le "$n" ]; do
	echo "step $i of $n"
	sleep 1
	i=$((i + 1))
done
echo done
