// Package sandbox confines a peer-launched chaincode. run writes a Policy
// to a small step (run's own binary, started again); the step confines
// itself with Landlock, no_new_privs and resource limits, starts the
// chaincode, stays resident as its parent and child subreaper, and kills
// every process of the chaincode when the chaincode's main process ends or
// run dies. docs/sandbox.md says what is and is not confined.
package sandbox

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// The settings come from run's environment: the operator lists them in the
// builder's propagateEnvironment. Nothing in a package can set them.
const (
	ModeVariable   = "EXTBUILDER_SANDBOX"        // strict, best-effort (default) or off
	ReadVariable   = "EXTBUILDER_SANDBOX_READ"   // extra read-only folders or files, ":"-separated
	TCPVariable    = "EXTBUILDER_SANDBOX_TCP"    // extra TCP ports to connect to, ","-separated
	CgroupVariable = "EXTBUILDER_SANDBOX_CGROUP" // a writable cgroup v2 folder for per-launch limits
	MemoryVariable = "EXTBUILDER_SANDBOX_MEMORY" // memory.max in that cgroup (default DefaultMemory)
	PidsVariable   = "EXTBUILDER_SANDBOX_PIDS"   // pids.max in that cgroup (default DefaultPids)
)

// Mode says how much confinement run insists on.
type Mode string

const (
	Strict     Mode = "strict"      // refuse to start when the kernel lacks any part
	BestEffort Mode = "best-effort" // enforce what the kernel offers (the default)
	Off        Mode = "off"         // start the chaincode unconfined, as before
)

// Defaults for the cgroup limits, applied only with EXTBUILDER_SANDBOX_CGROUP.
const (
	DefaultMemory = 2 << 30 // bytes
	DefaultPids   = 1024
)

// Settings are the operator's choices.
type Settings struct {
	Mode   Mode
	Read   []string // absolute, existing paths, readable (and executable) by the chaincode
	TCP    []uint16 // ports the chaincode may connect to besides the peer's
	Cgroup string   // cgroup v2 folder in which run makes one folder per launch; "" for none
	Memory int64    // memory.max for that folder, bytes
	Pids   int64    // pids.max for that folder
}

// FromEnv reads the settings; getenv is os.Getenv or a stand-in. A bad
// value is an error of one line naming the variable.
func FromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{Mode: BestEffort, Memory: DefaultMemory, Pids: DefaultPids}
	switch m := getenv(ModeVariable); m {
	case "":
	case string(Strict), string(BestEffort), string(Off):
		s.Mode = Mode(m)
	default:
		return s, fmt.Errorf("%s: expected strict, best-effort or off, found %s", ModeVariable, quote(m))
	}
	if v := getenv(ReadVariable); v != "" {
		for _, p := range strings.Split(v, ":") {
			if err := checkPath(ReadVariable, p); err != nil {
				return s, err
			}
			s.Read = append(s.Read, filepath.Clean(p))
		}
	}
	if v := getenv(TCPVariable); v != "" {
		for _, p := range strings.Split(v, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
			if err != nil || n == 0 {
				return s, fmt.Errorf("%s: expected TCP ports from 1 to 65535 separated by commas, found %s", TCPVariable, quote(p))
			}
			s.TCP = append(s.TCP, uint16(n))
		}
	}
	if v := getenv(CgroupVariable); v != "" {
		if err := checkPath(CgroupVariable, v); err != nil {
			return s, err
		}
		s.Cgroup = filepath.Clean(v)
	}
	var err error
	if s.Memory, err = positive(getenv, MemoryVariable, DefaultMemory, true); err != nil {
		return s, err
	}
	if s.Pids, err = positive(getenv, PidsVariable, DefaultPids, false); err != nil {
		return s, err
	}
	return s, nil
}

func checkPath(variable, p string) error {
	if p == "" || !filepath.IsAbs(p) {
		return fmt.Errorf("%s: expected absolute paths separated by \":\", found %s", variable, quote(p))
	}
	if _, err := lstatFollow(p); err != nil {
		return fmt.Errorf("%s: %s does not exist or cannot be read (%v)", variable, quote(p), reason(err))
	}
	return nil
}

// positive parses a count, or with units a size such as 512M or 2G.
func positive(getenv func(string) string, variable string, def int64, units bool) (int64, error) {
	v := getenv(variable)
	if v == "" {
		return def, nil
	}
	mult := int64(1)
	num := v
	if units && len(v) > 1 {
		switch v[len(v)-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M', 'm':
			mult = 1 << 20
		case 'G', 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			num = v[:len(v)-1]
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		want := "a positive whole number"
		if units {
			want = "a positive size in bytes, optionally with K, M or G (e.g. 512M)"
		}
		return 0, fmt.Errorf("%s: expected %s, found %s", variable, want, quote(v))
	}
	return n * mult, nil
}

// quote shows an operator's value safely on one line, shortened.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}
