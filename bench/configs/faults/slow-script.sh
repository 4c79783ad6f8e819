#!/bin/sh
# bench/faults.sh: a PostInstallScript that takes a few seconds (a window to interrupt it in),
# with a child process running inside the image the whole time.
set -e
sleep 4
echo "slow script done"
