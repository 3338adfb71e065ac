#!/usr/bin/env bash
# npm start: install what is missing, build, start the demo (three real servers, an agent with a virtual
# service on 127.0.0.1:8080, light traffic) and keep it running until Ctrl-C.
source "$(dirname "$0")/lib.sh"
npm_ensure
build
exec node scripts/demo.mjs "$@"
