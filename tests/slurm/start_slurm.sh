#!/usr/bin/env bash
# A one-node SLURM on this computer, for tests/test_slurm.py: munged, slurmctld and slurmd, each with
# its own files under one folder (default /tmp/petrilab-slurm), so a real SLURM set up on the machine
# (/etc/slurm, /run/munge) is neither read nor changed.
#
#   tests/slurm/start_slurm.sh [FOLDER]     prints SLURM_CONF=FOLDER/slurm.conf on its last line
#   tests/slurm/stop_slurm.sh [FOLDER]      stops them again
#
# Idempotent: daemons already running from FOLDER are kept; only missing ones are started. Needs root
# (the daemons run as root: SlurmUser=root, SlurmdUser=root) and Debian's slurm-wlm and munge packages.
set -euo pipefail

dir=${1:-${PETRILAB_SLURM_DIR:-/tmp/petrilab-slurm}}
mkdir -p "$dir"/state "$dir"/spool "$dir"/log
dir=$(cd "$dir" && pwd)
conf="$dir/slurm.conf"
socket="$dir/munge.socket"

for program in munged mungekey slurmctld slurmd scontrol sinfo; do
    command -v "$program" >/dev/null || { echo "start_slurm: $program is not installed (apt-get install slurm-wlm munge)" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "start_slurm: must run as root" >&2; exit 3; }

running() {  # running PIDFILE: the process the file names is alive (a zombie is not)
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}

# munge: its own key and socket (slurm.conf points at the socket with AuthInfo)
if [ ! -s "$dir/munge.key" ]; then
    mungekey --create --keyfile="$dir/munge.key" --force
    chmod 0400 "$dir/munge.key"
fi
if ! running "$dir/munged.pid"; then
    munged --force --key-file="$dir/munge.key" --socket="$socket" --pid-file="$dir/munged.pid" \
        --log-file="$dir/log/munged.log" --seed-file="$dir/munged.seed"
fi

# slurm.conf: one node named as this computer, 2 CPUs, its real memory; no cgroups (containers often
# have none), no accounting database. Rewritten only when no controller runs, so a running one keeps it.
node=$(hostname -s)
memory=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
if [ ! -s "$conf" ] || ! running "$dir/slurmctld.pid"; then
    cat >"$conf" <<EOF
# Written by tests/slurm/start_slurm.sh: a one-node test cluster for PetriLab's tests.
ClusterName=petrilab-test
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdTimeout=60
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
fi
export SLURM_CONF="$conf"

if ! running "$dir/slurmctld.pid"; then
    slurmctld -f "$conf"
fi
if ! running "$dir/slurmd.pid"; then
    slurmd -f "$conf"
fi

# Ready when the controller answers and the node accepts jobs (at most about 30 s).
for _ in $(seq 1 60); do
    state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
    case "$state" in
        idle*|mixed*|allocated*|completing*) echo "SLURM_CONF=$conf"; exit 0 ;;
        down*|drain*) scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
done
echo "start_slurm: SLURM did not become ready (node state: '${state:-no answer}'); see $dir/log" >&2
exit 4
