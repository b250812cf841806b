#!/usr/bin/env python3
# A persistent program for waha-service-script --persistent: it reads one
# request a line on stdin, a JSON array of fields, and writes one reply a
# line on stdout.  Its first argument (after -- on the service's command
# line) picks what it does with the fields:
#   echo     the fields as they came
#   reverse  each field reversed, in reverse order
#   upper    each field in upper case
#   pid      the pid of this copy, then WAHA_COPY, then the fields
# A field that is not UTF-8 comes as {"base64": "..."}; it is passed back
# that way, untouched.  Anything else is answered with a failure object.
#
#   waha-service-script --persistent -c 2 -n text.reverse \
#       -s doc/examples/persistent.py -- reverse
import json
import os
import sys

def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "echo"
    for line in sys.stdin:
        fields = json.loads(line)
        if what == "echo":
            reply = fields
        elif what == "reverse":
            reply = [f if isinstance(f, dict) else f[::-1]
                     for f in reversed(fields)]
        elif what == "upper":
            reply = [f if isinstance(f, dict) else f.upper()
                     for f in fields]
        elif what == "pid":
            reply = [str(os.getpid()), os.environ.get("WAHA_COPY", "")]
            reply += fields
        else:
            reply = {"status": 400, "reason": "unknown mode " + what}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()

if __name__ == "__main__":
    main()
