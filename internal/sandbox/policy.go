package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// System paths a chaincode may read. Each is justified in docs/sandbox.md;
// paths missing on a host are left out.
var (
	// Folders read and executed: a #! interpreter and the tools a shell
	// chaincode runs (/bin, /usr/bin), the dynamic loader and shared
	// libraries of a dynamically linked program (/lib, /lib64, /usr/lib,
	// /usr/lib64). On merged-/usr hosts the first of each pair is a link
	// to the second.
	systemFolders = []string{"/bin", "/usr/bin", "/lib", "/lib64", "/usr/lib", "/usr/lib64"}
	// Files read: the dynamic loader's cache, what a resolver reads to turn
	// peer_address's host into an address, and OpenSSL's configuration,
	// which Node.js reads at start and fails on when it is unreadable.
	systemFiles = []string{"/etc/ld.so.cache", "/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf", "/etc/ssl/openssl.cnf"}
	// Devices read and written: shells and many programs send output to
	// /dev/null.
	systemDevices = []string{"/dev/null"}
)

// Limits the step sets for itself and the chaincode (setrlimit).
const (
	NoFile = 4096    // RLIMIT_NOFILE, soft and hard: open files
	FSize  = 1 << 30 // RLIMIT_FSIZE, soft and hard: bytes of any one file written
)

// Policy is what run hands the step: the chaincode to start and what it may
// reach. Paths are absolute and existed when run made the policy.
type Policy struct {
	Mode Mode
	// The chaincode.
	Path string
	Args []string
	Dir  string
	Env  []string
	// Landlock rules.
	BuildDir    string   // read and execute
	ExecFolders []string // system folders and operator folders: read and execute
	ExecFiles   []string // operator files: read and execute
	ReadFiles   []string // TLS files and system files: read
	Devices     []string // read and write
	Scratch     string   // read and write; the chaincode's TMPDIR and HOME
	TCP         []uint16 // ports the chaincode may connect to; nothing may be bound
	// Counts for the INFO line.
	TLSFiles, SystemPaths, OperatorPaths int
}

// NewPolicy makes the policy of one launch: the chaincode path, args, dir
// and env, BUILD_OUTPUT_DIR (buildDir, absolute), chaincode.json's
// peer_address (host:port, already checked), the TLS files run wrote for
// the chaincode and its private scratch folder.
func NewPolicy(s Settings, path string, args []string, dir string, env []string,
	buildDir, peerAddress string, tlsFiles []string, scratch string) (*Policy, error) {
	port, err := portOf(peerAddress)
	if err != nil {
		return nil, err
	}
	p := &Policy{Mode: s.Mode, Path: path, Args: args, Dir: dir, Env: env,
		BuildDir: buildDir, Scratch: scratch, ReadFiles: append([]string(nil), tlsFiles...), TLSFiles: len(tlsFiles)}
	for _, f := range systemFolders {
		if isDir(f) {
			p.ExecFolders = append(p.ExecFolders, f)
			p.SystemPaths++
		}
	}
	for _, f := range systemFiles {
		if exists(f) {
			p.ReadFiles = append(p.ReadFiles, f)
			p.SystemPaths++
		}
	}
	for _, f := range systemDevices {
		if exists(f) {
			p.Devices = append(p.Devices, f)
			p.SystemPaths++
		}
	}
	for _, f := range s.Read {
		info, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %s cannot be read (%v)", ReadVariable, quote(f), reason(err))
		}
		if info.IsDir() {
			p.ExecFolders = append(p.ExecFolders, f)
		} else {
			p.ExecFiles = append(p.ExecFiles, f)
		}
		p.OperatorPaths++
	}
	p.TCP = append(p.TCP, port)
	for _, t := range s.TCP {
		if t != port && !containsPort(p.TCP, t) {
			p.TCP = append(p.TCP, t)
		}
	}
	return p, nil
}

func portOf(address string) (uint16, error) {
	i := strings.LastIndexByte(address, ':')
	if i < 0 {
		return 0, fmt.Errorf("peer_address %s has no port", quote(address))
	}
	n, err := strconv.ParseUint(address[i+1:], 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("peer_address %s: expected a port from 1 to 65535", quote(address))
	}
	return uint16(n), nil
}

func containsPort(list []uint16, p uint16) bool {
	for _, x := range list {
		if x == p {
			return true
		}
	}
	return false
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func lstatFollow(p string) (fs.FileInfo, error) { return os.Stat(p) }

func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// What each Landlock ABI version adds that this package uses.
var features = []struct {
	abi  int
	name string
}{
	{1, "files"},
	{2, "renames across folders"},
	{3, "truncation"},
	{4, "TCP rules"},
	{5, "device ioctl"},
	{6, "signal and abstract unix socket scoping"},
	{9, "pathname unix sockets"},
}

// StrictABI is the lowest Landlock ABI that strict mode accepts: files,
// TCP rules and scoping, the parts the docs promise.
const StrictABI = 6

// Missing names what the kernel's Landlock ABI lacks, e.g. "TCP rules (ABI 4)".
func Missing(abi int) []string { return lacks(abi, features[len(features)-1].abi) }

// lacks names the features up to ABI upTo that abi lacks.
func lacks(abi, upTo int) []string {
	var m []string
	for _, f := range features {
		if abi < f.abi && f.abi <= upTo {
			m = append(m, fmt.Sprintf("%s (ABI %d)", f.name, f.abi))
		}
	}
	return m
}

// Check returns strict mode's refusal on a kernel with Landlock ABI abi,
// or nil.
func (s Settings) Check(abi int) error {
	if s.Mode != Strict || abi >= StrictABI {
		return nil
	}
	return fmt.Errorf("sandbox: %s=strict, but this kernel's Landlock (ABI %d) lacks %s; the chaincode was not started; hint: use Linux 6.12 or later, or set %s=best-effort",
		ModeVariable, abi, strings.Join(lacks(abi, StrictABI), ", "), ModeVariable)
}

// Describe is run's INFO line for a launch under p with the kernel's ABI.
func (p *Policy) Describe(abi int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sandbox: %s", p.Mode)
	if abi >= 1 {
		fmt.Fprintf(&b, ", Landlock ABI %d: files (build dir, ", abi)
		if p.TLSFiles > 0 {
			fmt.Fprintf(&b, "%d TLS files, ", p.TLSFiles)
		}
		fmt.Fprintf(&b, "%d system paths", p.SystemPaths)
		if p.OperatorPaths > 0 {
			fmt.Fprintf(&b, ", %d operator paths", p.OperatorPaths)
		}
		b.WriteString(" read-only; scratch read-write)")
		if abi >= 4 {
			ports := make([]string, len(p.TCP))
			for i, t := range p.TCP {
				ports[i] = ":" + strconv.Itoa(int(t))
			}
			fmt.Fprintf(&b, ", TCP connect to %s only, no TCP bind", strings.Join(ports, " "))
		}
		if abi >= 6 {
			b.WriteString(", signals and abstract unix sockets scoped")
		}
	} else {
		b.WriteString(", no Landlock")
	}
	b.WriteString("; no_new_privs")
	if SeccompSupported() {
		b.WriteString("; seccomp: no MPTCP, io_uring, module loading, kexec, reboot or other architecture")
	}
	fmt.Fprintf(&b, "; core 0, nofile %d, fsize %s", NoFile, size(FSize))
	if m := Missing(abi); len(m) > 0 {
		if abi < 1 {
			m = []string{"Landlock"}
		}
		fmt.Fprintf(&b, "; not offered by this kernel: %s", strings.Join(m, ", "))
	}
	return b.String()
}

func size(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
