package launch

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/extbuilder/extbuilder/internal/executable"
	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/sandbox"
)

// DefaultGrace is how long a stopping chaincode has between the signal run
// passes on and SIGKILL. The peer kills run 5 s after its SIGTERM; 4 s
// leaves run the time to kill the chaincode and report why it ended.
const DefaultGrace = 4 * time.Second

// drainTimeout bounds the wait for the last output once the chaincode's
// process group is gone: a process that left the group may still hold the
// pipe open.
const drainTimeout = 500 * time.Millisecond

// Logger receives run's own lines. *cli.Program is one.
type Logger interface {
	Infof(format string, a ...any)
	Warnf(format string, a ...any)
}

// Config is one launch.
type Config struct {
	BuildDir    string           // BUILD_OUTPUT_DIR, holding the chaincode executable
	MetadataDir string           // RUN_METADATA_DIR, holding chaincode.json
	Env         []string         // run's own environment, already pruned by the peer
	Output      io.Writer        // receives the chaincode's stdout and stderr, line by line
	Log         Logger           // run's own lines; calls are serialized with Output
	Stop        <-chan os.Signal // signals to pass on to the chaincode (SIGTERM, SIGINT)
	Grace       time.Duration    // from the first stop signal to SIGKILL; 0 means DefaultGrace
	Sandbox     sandbox.Settings // confinement; the zero value is the default, best-effort
}

// Exit is how a launch ended.
type Exit struct {
	Code   int    // run's exit status: the chaincode's, or 128+n when signal n ended it
	Reason string // one line saying why the chaincode ended
}

// Run reads chaincode.json, writes the TLS files, starts the chaincode and
// supervises it until it ends. An error means nothing was started; otherwise
// Exit says how the chaincode ended.
func Run(cfg Config) (Exit, error) {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	out, log := Serialize(cfg.Output, cfg.Log)

	if cfg.Sandbox.Mode == "" {
		cfg.Sandbox.Mode = sandbox.BestEffort
	}
	confined := cfg.Sandbox.Mode != sandbox.Off
	abi := 0
	var pipe struct{ r, w *os.File } // the chaincode's output, made early for the step
	var step *sandbox.Step
	if confined {
		abi = sandbox.ABI()
		if err := cfg.Sandbox.Check(abi); err != nil {
			return Exit{}, err
		}
		// Start the step now: its exec and start-up overlap with the
		// reading and checking below. It starts nothing unless handed
		// a policy.
		var err error
		if pipe.r, pipe.w, err = os.Pipe(); err != nil {
			return Exit{}, fmt.Errorf("starting the chaincode: %w", err)
		}
		defer pipe.r.Close()
		defer pipe.w.Close()
		if step, err = sandbox.Spawn(pipe.w); err != nil {
			return Exit{}, fmt.Errorf("sandbox: %w", err)
		}
		defer step.Abort() // unless it started the chaincode
	}
	cc, warnings, err := ReadChaincode(cfg.MetadataDir)
	if err != nil {
		return Exit{}, err
	}
	for _, w := range warnings {
		log.Warnf("%s", w)
	}
	// The entry point starts in the installed tree, so that the chaincode
	// finds its own files by relative paths.
	exe, dir, _, err := executable.Entry(cfg.BuildDir)
	if err != nil {
		return Exit{}, err
	}
	if sig, ok := PendingSignal(cfg.Stop); ok {
		code := 128 + int(sig)
		return Exit{Code: code, Reason: fmt.Sprintf("received %s before the chaincode started; it was not started (exit status %d)", SignalName(sig), code)}, nil
	}
	files, err := WriteTLSFiles(cfg.MetadataDir, cc)
	if err != nil {
		return Exit{}, err
	}
	defer files.Remove()

	s := &supervisor{
		path:  exe,
		args:  []string{exe, PeerAddressFlag(cc)},
		dir:   dir,
		env:   Environ(cfg.Env, cc, files),
		out:   out,
		log:   log,
		stop:  cfg.Stop,
		grace: cfg.Grace,
		pr:    pipe.r,
		pw:    pipe.w,
		step:  step,
	}
	if !confined {
		log.Infof("sandbox: off (%s=off): the chaincode runs unconfined, as the peer's user", sandbox.ModeVariable)
		return s.run()
	}
	meta, err := filepath.Abs(cfg.MetadataDir)
	if err != nil {
		return Exit{}, err
	}
	// The scratch folder lives in RUN_METADATA_DIR, which the peer removes
	// when run exits, so not even a killed run leaves it behind.
	scratch := filepath.Join(meta, ScratchDir)
	os.RemoveAll(scratch)
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return Exit{}, fmt.Errorf("RUN_METADATA_DIR: cannot make %s: %w", ScratchDir, msg.Reason(err))
	}
	defer os.RemoveAll(scratch)
	s.env = append(withoutVariables(s.env, "TMPDIR", "HOME"), "TMPDIR="+scratch, "HOME="+scratch)
	buildDir, err := filepath.Abs(cfg.BuildDir)
	if err != nil {
		return Exit{}, err
	}
	s.policy, err = sandbox.NewPolicy(cfg.Sandbox, exe, s.args, dir, s.env, buildDir, cc.PeerAddress, files.paths(), scratch)
	if err != nil {
		return Exit{}, err
	}
	if cfg.Sandbox.Cgroup != "" {
		if !sandbox.IsCgroup2(cfg.Sandbox.Cgroup) {
			return Exit{}, fmt.Errorf("%s: %s is not a cgroup v2 folder; hint: unset it on hosts with cgroup v1", sandbox.CgroupVariable, cfg.Sandbox.Cgroup)
		}
		s.cgroup, err = sandbox.NewCgroup(cfg.Sandbox.Cgroup, fmt.Sprintf("run-%d", os.Getpid()), cfg.Sandbox.Memory, cfg.Sandbox.Pids)
		if err != nil {
			return Exit{}, err
		}
		defer sandbox.RemoveCgroup(s.cgroup)
	}
	line := s.policy.Describe(abi)
	if s.cgroup != "" {
		line += fmt.Sprintf("; cgroup %s: memory.max %d, pids.max %d", s.cgroup, cfg.Sandbox.Memory, cfg.Sandbox.Pids)
	}
	log.Infof("%s", line)
	return s.run()
}

// ScratchDir is the chaincode's private read-write folder in
// RUN_METADATA_DIR, its TMPDIR and HOME, removed when the chaincode ends.
const ScratchDir = "chaincode-tmp"

func withoutVariables(env []string, names ...string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !contains(names, name) {
			out = append(out, kv)
		}
	}
	return out
}

// PendingSignal returns a stop signal that has already arrived, if any.
func PendingSignal(stop <-chan os.Signal) (syscall.Signal, bool) {
	for {
		select {
		case sig := <-stop:
			if s, ok := sig.(syscall.Signal); ok {
				return s, true
			}
		default:
			return 0, false
		}
	}
}

// Serialize makes the one writer of run's stderr and a logger sharing its
// lock, so that chaincode lines and run's own lines never interleave. A nil
// w discards; a nil log logs nothing.
func Serialize(w io.Writer, log Logger) (io.Writer, Logger) {
	if w == nil {
		w = io.Discard
	}
	out := &serialized{w: w}
	return out, serializedLogger{mu: &out.mu, log: log}
}

type serialized struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *serialized) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

type serializedLogger struct {
	mu  *sync.Mutex
	log Logger
}

func (l serializedLogger) Infof(format string, a ...any) {
	if l.log != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.log.Infof(format, a...)
	}
}

func (l serializedLogger) Warnf(format string, a ...any) {
	if l.log != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.log.Warnf(format, a...)
	}
}

// SignalName names a signal the way operators know it, e.g. "SIGTERM".
func SignalName(s syscall.Signal) string {
	if name, ok := signalNames[s]; ok {
		return name
	}
	return fmt.Sprintf("signal %d", int(s))
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGILL: "SIGILL", syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT",
	syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL",
	syscall.SIGSEGV: "SIGSEGV", syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM",
	syscall.SIGTERM: "SIGTERM", syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2",
}

// supervisor runs one chaincode process until it ends.
type supervisor struct {
	path  string   // absolute path of the executable
	args  []string // argv, args[0] included
	dir   string   // working directory: the installed tree
	env   []string
	out   io.Writer // from Serialize
	log   Logger
	stop  <-chan os.Signal
	grace time.Duration

	policy *sandbox.Policy // nil when the sandbox is off
	cgroup string          // the launch's cgroup folder, if any
	step   *sandbox.Step   // spawned, waiting for the policy; nil when off
	pr, pw *os.File        // the chaincode's output, when made before the step
}
