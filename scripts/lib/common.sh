# Shared by the scripts: where the project is, how to make sure the system packages are
# there, and how mpirun is called on this kind of machine.

SWIFTDSM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Debian packages the project needs: Open MPI (headers, library, mpirun), hwloc, verbs,
# UCX (the ucx transport; ucx_info), iproute2 (the test bed of network namespaces, scripts/testbed).
SWIFTDSM_PACKAGES="libopenmpi-dev openmpi-bin libhwloc-dev libibverbs-dev libucx-dev ucx-utils liblz4-dev iproute2"

# Installs the system packages if mpirun or mpi.h is missing (as root, or through sudo).
ensure_packages() {
    if command -v mpirun >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 && [ -f /usr/include/lz4.h ] && [ -f /usr/include/ucp/api/ucp.h ] && [ -f /usr/include/x86_64-linux-gnu/mpi/mpi.h -o -f /usr/include/mpi/mpi.h -o -f /usr/include/aarch64-linux-gnu/mpi/mpi.h ]; then
        return 0
    fi
    echo "== installing $SWIFTDSM_PACKAGES"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $SWIFTDSM_PACKAGES >/dev/null
}

ensure_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        echo "swift is not on PATH: install the Swift 6 toolchain (swift.org) first" >&2
        exit 1
    fi
}

# mpirun as this project runs it: root allowed (containers, CI), more ranks than cores
# allowed (tests run 4 ranks on 2 cores), one line per help message.
mpirun_dsm() {
    mpirun --allow-run-as-root --oversubscribe --mca orte_base_help_aggregate 0 "$@"
}
