#!/usr/bin/env bash
# A real one-node Slurm on loopback for tests/cluster/ (Debian's packages; run as root):
#   tests/cluster/start_slurm.sh          install slurmctld/slurmd/munge if missing, configure, start, wait
#   tests/cluster/start_slurm.sh stop     stop the daemons this script started (nothing else)
# Idempotent: when a controller already answers `scontrol ping` it does nothing. State, logs and the
# pids of what it started live in $SLURM_TEST_DIR (default /tmp/torch-lessons-slurm).
# It writes /etc/slurm/slurm.conf only when there is none or the one there is its own (marked below),
# so a real cluster's config is never replaced.
set -euo pipefail

STATE_DIR="${SLURM_TEST_DIR:-/tmp/torch-lessons-slurm}"
CONF=/etc/slurm/slurm.conf
MARK="# written by torch-lessons tests/cluster/start_slurm.sh"
WAIT_S="${SLURM_START_TIMEOUT_S:-30}"

say() { echo "start_slurm: $*"; }

alive() {  # alive <pid>: running and not a zombie waiting to be reaped
    local state
    state="$(ps -o stat= -p "$1" 2>/dev/null)" && [[ "$state" != Z* ]]
}

running() {  # running <program name>: some live process of that name
    ps -C "$1" -o stat= 2>/dev/null | grep -qv '^Z'
}

stop() {
    local name pid waited
    for name in slurmd slurmctld munged; do
        [[ -f "$STATE_DIR/$name.started" ]] || continue
        pid="$(cat "$STATE_DIR/$name.started")"
        if alive "$pid"; then
            kill "$pid"
            waited=0
            while alive "$pid" && ((waited < 20)); do  # slurmctld saves its state first
                sleep 0.5
                waited=$((waited + 1))
            done
            say "stopped $name (pid $pid)"
        fi
        rm -f "$STATE_DIR/$name.started"
    done
}

controller_answers() {
    timeout 5 scontrol ping 2>/dev/null | grep -q "is UP"
}

node_ready() {  # the node registered and takes jobs (idle, mixed or allocated)
    timeout 5 sinfo --noheader --responding --states=idle,mixed,allocated --format=%N 2>/dev/null | grep -q .
}

wait_for() {  # wait_for <what> <check>: bounded by $WAIT_S seconds
    local what="$1" check="$2" waited=0
    until "$check"; do
        if ((waited >= WAIT_S)); then
            say "no $what after ${WAIT_S}s; logs in $STATE_DIR" >&2
            tail -n 5 "$STATE_DIR"/*.log >&2 || true
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

install_packages() {
    if command -v sbatch >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
        command -v munged >/dev/null; then
        return
    fi
    if [[ $EUID -ne 0 ]]; then
        say "Slurm is not installed and this is not root: apt-get install slurmctld slurmd slurm-client munge" >&2
        exit 1
    fi
    say "installing Debian's slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
}

write_config() {
    if [[ -f "$CONF" ]] && ! grep -qF "$MARK" "$CONF"; then
        say "$CONF was not written by this script; starting the daemons with it as it is"
        return
    fi
    local host node
    host="$(hostname -s)"
    # e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
    node="$(slurmd -C | head -n 1)"
    mkdir -p /etc/slurm "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd"
    # OverSubscribe=FORCE:4 lets up to 4 jobs share a core, as processes on a workstation do, so the
    # tests' jobs run side by side instead of queueing one or two at a time on a small machine; a
    # request beyond the node (CPUs, memory, nodes) is still refused at submission
    # (EnforcePartLimits=ALL) rather than left pending forever.
    cat >"$CONF" <<EOF
$MARK
ClusterName=torchlessons
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/slurmctld.log
SlurmdLogFile=$STATE_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerParameters=sched_min_interval=0
ReturnToService=2
MpiDefault=none
KillWait=10
EnforcePartLimits=ALL
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE OverSubscribe=FORCE:4 State=UP
EOF
}

start_munge() {
    if running munged; then
        return
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        (umask 077 && dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none)
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    rm -f /run/munge/munged.pid
    runuser -u munge -- munged
    record_start munged /run/munge/munged.pid
}

start_daemon() {  # start_daemon slurmctld|slurmd
    local name="$1"
    if running "$name"; then
        return
    fi
    rm -f "$STATE_DIR/$name.pid"
    "$name"
    record_start "$name" "$STATE_DIR/$name.pid"
}

record_start() {  # record_start <name> <its pid file>: the daemon forks; its pid file names the process to stop
    local name="$1" pid_file="$2" waited=0
    until [[ -s "$pid_file" ]]; do
        if ((waited >= 20)); then
            say "$name wrote no pid file ($pid_file) in 10s" >&2
            exit 1
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    cp "$pid_file" "$STATE_DIR/$name.started"
    say "started $name (pid $(cat "$STATE_DIR/$name.started"))"
}

main() {
    if [[ "${1:-start}" == "stop" ]]; then
        stop
        return
    fi
    if command -v scontrol >/dev/null && controller_answers && node_ready; then
        say "Slurm is already running: $(sinfo --noheader --format='%P %N %c CPUs %m MB %t' | head -n 1)"
        return
    fi
    install_packages
    if [[ $EUID -ne 0 ]]; then
        say "starting munge and Slurm needs root" >&2
        exit 1
    fi
    mkdir -p "$STATE_DIR"
    write_config
    start_munge
    start_daemon slurmctld
    wait_for "answer from slurmctld" controller_answers
    start_daemon slurmd
    wait_for "idle node" node_ready
    say "ready: $(sbatch --version), $(sinfo --noheader --format='partition %P, node %N: %c CPUs, %m MB, %t' | head -n 1)"
}

main "$@"
