#!/usr/bin/env bash
# Stops the test SLURM that start_slurm.sh started from FOLDER (default /tmp/petrilab-slurm): slurmd,
# slurmctld, munged, each by the process id in its own pid file. Its files stay (state, logs).
set -uo pipefail
dir=${1:-${PETRILAB_SLURM_DIR:-/tmp/petrilab-slurm}}
for daemon in slurmd slurmctld munged; do
    pid=$(cat "$dir/$daemon.pid" 2>/dev/null) || continue
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" && echo "stopped $daemon"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
done
