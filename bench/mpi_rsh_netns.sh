#!/usr/bin/env bash
# Open MPI's remote-shell agent for bench/mpi_scale.sh (--mca plm_rsh_agent): where mpirun would run
# `ssh HOST COMMAND…`, this runs COMMAND in the network namespace that owns HOST's address, on this machine.
# The map is a file of "ADDRESS NAMESPACE" lines named by MPIB_NETNS_MAP.
set -euo pipefail
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done # ssh-style options (-x, …) mean nothing here
[ $# -ge 2 ] || { echo "mpi_rsh_netns.sh: usage: mpi_rsh_netns.sh HOST COMMAND…" >&2; exit 2; }
host=$1
shift
map=${MPIB_NETNS_MAP:?mpi_rsh_netns.sh: MPIB_NETNS_MAP (a file of ADDRESS NAMESPACE lines) is not set}
ns=$(awk -v h="$host" '$1 == h { print $2; exit }' "$map")
[ -n "$ns" ] || { echo "mpi_rsh_netns.sh: no namespace for host $host in $map" >&2; exit 2; }
# ssh hands the words to the remote shell as one command line; so does this
exec ip netns exec "$ns" /bin/sh -c "$*"
