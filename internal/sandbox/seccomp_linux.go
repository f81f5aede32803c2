package sandbox

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ipprotoMPTCP is IPPROTO_MPTCP. Landlock's TCP rules (ABI 4 to 7 at
// least) apply to plain TCP sockets only: a Multipath TCP socket binds and
// connects anywhere, and Go's net.Listen makes one by default since Go
// 1.24. io_uring can make sockets without the socket system call.
const ipprotoMPTCP = 262

// auditArch is the seccomp architecture of this binary, and so of the
// chaincode: run refuses an entry point for another architecture.
var auditArch = map[string]uint32{"amd64": unix.AUDIT_ARCH_X86_64, "arm64": unix.AUDIT_ARCH_AARCH64}[runtime.GOARCH]

// SeccompSupported says whether the seccomp filter exists for this
// architecture.
func SeccompSupported() bool { return auditArch != 0 }

// seccompFilter returns the step's small deny list, a classic BPF program:
//
//   - a system call of another architecture (x86's 32-bit and x32 calls on
//     amd64, 32-bit ARM on arm64) kills the process: the lists below are
//     for this architecture's numbers only;
//   - socket(_, _, IPPROTO_MPTCP) fails with EPROTONOSUPPORT, as on a
//     kernel without MPTCP, so Go and others fall back to plain TCP;
//   - io_uring_setup fails with EPERM (as under Docker's default profile),
//     so no socket can be made behind the filter's back;
//   - loading kernel modules, kexec and reboot fail with EPERM: Landlock
//     does not stop a chaincode that runs as root with its capabilities
//     (no_new_privs keeps, not drops, them) from replacing the kernel.
//
// Everything else is allowed. Hand-written, as go-seccomp-bpf lets calls
// of another architecture through whenever its default is "allow".
func seccompFilter() []unix.SockFilter {
	const (
		ld    = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		nr    = 0          // offsetof(struct seccomp_data, nr)
		arch  = 4          // offsetof(struct seccomp_data, arch)
		arg2  = 16 + 2*8   // low 32 bits of args[2] (little-endian)
		x32   = 0x40000000 // __X32_SYSCALL_BIT
		kill  = unix.SECCOMP_RET_KILL_PROCESS
		allow = unix.SECCOMP_RET_ALLOW
	)
	errno := func(e syscall.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e) }
	x32Limit := uint32(0xffffffff) // no x32 outside amd64
	if runtime.GOARCH == "amd64" {
		x32Limit = x32
	}
	prog := []unix.SockFilter{
		{Code: ld, K: arch},
		{Code: jeq, K: auditArch, Jt: 1, Jf: 0},
		{Code: ret, K: kill},
		{Code: ld, K: nr},
		{Code: jge, K: x32Limit, Jt: 0, Jf: 1},
		{Code: ret, K: kill},
	}
	for _, nr := range deniedCalls {
		prog = append(prog,
			unix.SockFilter{Code: jeq, K: uint32(nr), Jt: 0, Jf: 1},
			unix.SockFilter{Code: ret, K: errno(unix.EPERM)})
	}
	return append(prog,
		unix.SockFilter{Code: jeq, K: unix.SYS_SOCKET, Jt: 0, Jf: 3},
		unix.SockFilter{Code: ld, K: arg2},
		unix.SockFilter{Code: jeq, K: ipprotoMPTCP, Jt: 0, Jf: 1},
		unix.SockFilter{Code: ret, K: errno(unix.EPROTONOSUPPORT)},
		unix.SockFilter{Code: ret, K: allow},
	)
}

// deniedCalls fail with EPERM.
var deniedCalls = []int{
	unix.SYS_IO_URING_SETUP,
	unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE,
	unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD, unix.SYS_REBOOT,
}

// loadSeccomp installs the filter on the calling thread, which must have
// no_new_privs set; the chaincode, forked from it, inherits the filter.
func loadSeccomp() error {
	if !SeccompSupported() {
		return nil
	}
	f := seccompFilter()
	prog := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
	return unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0)
}
