package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// stepArg is the step's only argument. It is not what makes a process the
// step: IsStep also requires the two pipes run sets up, which neither a
// package nor the peer's arguments can provide (the peer always passes two
// arguments). Started by hand, run sees one argument and prints its usage.
const stepArg = "--sandbox-step"

// The step's file descriptors besides 0-2.
const (
	controlFD = 3 // run -> step: the policy as one JSON line, then one byte per signal to pass on
	statusFD  = 4 // step -> run: "pid N", "fail TEXT" or "exit WAITSTATUS" lines
)

// ABI returns the kernel's Landlock ABI version, 0 when it has none.
func ABI() int {
	v, err := llsys.LandlockGetABIVersion()
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// IsStep reports whether this process was started by run as the step.
func IsStep(args []string) bool {
	return len(args) == 2 && args[1] == stepArg && isPipe(controlFD) && isPipe(statusFD)
}

func isPipe(fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// StepMain is the step's whole life; it does not return.
func StepMain() {
	// The step idles for as long as the chaincode lives: keep it small.
	debug.SetGCPercent(20)
	os.Exit(step())
}

func step() int {
	control := bufio.NewReader(os.NewFile(controlFD, "control"))
	status := os.NewFile(statusFD, "status")
	line, err := control.ReadBytes('\n')
	if err != nil {
		return 2 // run is gone before it said anything
	}
	var p Policy
	if err := json.Unmarshal(line, &p); err != nil {
		fmt.Fprintf(status, "fail the sandbox policy is malformed: %v\n", err)
		return 2
	}
	// Stop signals reach run, which passes them on through the control
	// pipe; one sent to run's process group must not kill the step.
	// Caught (not ignored), so the chaincode starts with default actions.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)

	// Orphans of the chaincode come to the step, so none escapes the kill.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintf(status, "fail cannot become a child subreaper: %v\n", err)
		return 1
	}
	if err := setLimits(); err != nil {
		fmt.Fprintf(status, "fail cannot set resource limits: %v\n", err)
		return 1
	}
	abi, err := confine(&p)
	if err != nil {
		fmt.Fprintf(status, "fail cannot confine the chaincode: %s\n", oneLine(err.Error()))
		return 1
	}
	// With signals scoped, kill(-1) reaches exactly the processes of this
	// domain: the chaincode and everything it started, wherever they went.
	// Without scoping it would reach every process of the user.
	scoped := abi >= 6

	c, err := start(&p, scoped)
	if err != nil {
		fmt.Fprintf(status, "fail %s\n", oneLine(err.Error()))
		return 1
	}
	fmt.Fprintf(status, "pid %d\n", c.pid)
	// What confining took (the policy, go-landlock's rules) is garbage now;
	// the step idles from here on.
	debug.FreeOSMemory()

	var runGone atomic.Bool
	go func() {
		for {
			b, err := control.ReadByte()
			if err != nil {
				// run has died (its end of the pipe closed with it): the
				// chaincode must not outlive it.
				runGone.Store(true)
				c.signal(killAll)
				return
			}
			if b != byte(killAll) {
				c.signal(syscall.Signal(b))
			}
		}
	}()

	ws := <-c.done
	fmt.Fprintf(status, "exit %d\n", uint32(ws))
	<-c.reaped
	if runGone.Load() {
		// run cannot remove the scratch folder's contents any more; the
		// peer removes the folder itself with RUN_METADATA_DIR.
		os.RemoveAll(p.Scratch)
	}
	return 0
}

// setLimits sets the step's and so the chaincode's resource limits.
func setLimits() error {
	limits := []struct {
		resource int
		value    uint64
	}{
		{unix.RLIMIT_CORE, 0},
		{unix.RLIMIT_NOFILE, NoFile},
		{unix.RLIMIT_FSIZE, FSize},
	}
	for _, l := range limits {
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(l.resource, &cur); err != nil {
			return err
		}
		v := l.value
		if cur.Max < v { // never raise a limit the operator set lower
			v = cur.Max
		}
		if err := syscall.Setrlimit(l.resource, &syscall.Rlimit{Cur: v, Max: v}); err != nil {
			return err
		}
	}
	return nil
}

// confine restricts the step, and so the chaincode, with Landlock at the
// highest ABI the kernel offers and this package knows, and returns it.
// no_new_privs is set on every thread whatever the ABI.
func confine(p *Policy) (int, error) {
	abi := ABI()
	if err := (Settings{Mode: p.Mode}).Check(abi); err != nil {
		return abi, err // run checked already; the kernel cannot have changed, but be sure
	}
	if abi < 1 {
		return 0, nil // no_new_privs is set by start, on the thread that forks
	}
	cfg := configFor(abi)
	read := landlock.AccessFSSet(llsys.AccessFSReadFile)
	exec := read | llsys.AccessFSExecute
	dev := read | llsys.AccessFSWriteFile
	if abi >= 3 {
		dev |= llsys.AccessFSTruncate
	}
	rules := []landlock.Rule{
		landlock.RODirs(append([]string{p.BuildDir}, p.ExecFolders...)...),
	}
	if len(p.ExecFiles) > 0 {
		rules = append(rules, landlock.PathAccess(exec, p.ExecFiles...))
	}
	if len(p.ReadFiles) > 0 {
		rules = append(rules, landlock.PathAccess(read, p.ReadFiles...))
	}
	if len(p.Devices) > 0 {
		rules = append(rules, landlock.PathAccess(dev, p.Devices...))
	}
	scratch := landlock.RWDirs(p.Scratch)
	if abi >= 2 {
		scratch = scratch.WithRefer() // renames inside the scratch folder
	}
	rules = append(rules, scratch)
	if abi >= 4 {
		for _, port := range p.TCP {
			rules = append(rules, landlock.ConnectTCP(port))
		}
	}
	// Not best-effort: configFor asks for exactly what the kernel offers,
	// and go-landlock's best-effort mode would silently enforce nothing
	// if a rule could not be downgraded.
	return abi, cfg.Restrict(rules...)
}

// configFor handles every file right of the ABI (up to 9), TCP bind and
// connect (4+) and both scopes (6+). UDP (ABI 10) is not handled: it would
// need exceptions for name resolution, untested on this project's kernels.
func configFor(abi int) landlock.Config {
	presets := []landlock.Config{landlock.V1, landlock.V2, landlock.V3, landlock.V4, landlock.V5,
		landlock.V6, landlock.V7, landlock.V8, landlock.V9}
	if abi > len(presets) {
		abi = len(presets)
	}
	cfg := landlock.Config{HandledAccessFS: presets[abi-1].HandledAccessFS}
	if abi >= 4 {
		cfg.HandledAccessNet = landlock.V4.HandledAccessNet
	}
	if abi >= 6 {
		cfg.Scoped = landlock.V6.Scoped
	}
	return cfg
}

// child is the chaincode, leader of its own process group.
type child struct {
	pid     int
	done    chan syscall.WaitStatus // the leader's status, once reaped
	reaped  chan struct{}           // closed once every process of the chaincode is gone
	signals chan syscall.Signal     // for the forking thread to send; killAll for everything
}

// killAll asks for every process of the chaincode to be killed.
const killAll = syscall.Signal(0)

// start starts the chaincode and supervises it from the thread that forked
// it, which does all the signalling too. Two reasons: the kernel sends the
// parent-death signal when the forking thread ends, so it must live until
// the chaincode is reaped; and without Landlock's thread sync (ABI < 8)
// each thread of the step holds its own, sibling, Landlock domain, and the
// chaincode inherits the forking thread's: only that thread may signal it
// once signals are scoped.
func start(p *Policy, scoped bool) (*child, error) {
	cmd := &exec.Cmd{
		Path: p.Path, Args: p.Args, Dir: p.Dir, Env: p.Env,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	c := &child{
		done:    make(chan syscall.WaitStatus, 1),
		reaped:  make(chan struct{}),
		signals: make(chan syscall.Signal, 8),
	}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		// Landlock set it on every thread already; without Landlock this
		// thread, the one that forks, is the one that counts.
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			started <- fmt.Errorf("cannot set no_new_privs: %w", err)
			return
		}
		if err := loadSeccomp(); err != nil {
			started <- fmt.Errorf("cannot load the seccomp filter: %w", err)
			return
		}
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("cannot be started: %s", reason(err))
			return
		}
		c.pid = cmd.Process.Pid
		started <- nil

		exited := make(chan struct{})
		go func() {
			waitExitedNoReap(c.pid)
			close(exited)
		}()
		// The leader's group ID cannot be reused until it is reaped, which
		// happens only below.
	loop:
		for {
			select {
			case sig := <-c.signals:
				if sig != killAll {
					syscall.Kill(-c.pid, sig)
					continue
				}
				syscall.Kill(-c.pid, syscall.SIGKILL)
				if scoped {
					killDomain()
				}
			case <-exited:
				break loop
			}
		}
		// The leader has ended: nothing it left behind may stay.
		syscall.Kill(-c.pid, syscall.SIGKILL)
		if scoped {
			killDomain()
		}
		cmd.Wait()
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		c.done <- ws
		if scoped {
			reapDomain()
		} else {
			reapZombies()
		}
		close(c.reaped)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return c, nil
}

// signal asks the forking thread to send sig; after the leader has been
// reaped nothing is sent (its group ID could belong to someone else).
func (c *child) signal(sig syscall.Signal) {
	select {
	case c.signals <- sig:
	default:
	}
}

// waitExitedNoReap blocks until pid has exited, leaving it a zombie.
func waitExitedNoReap(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// killDomain sends SIGKILL to every process of the step's Landlock domain
// but the step: only call it with signals scoped.
func killDomain() { syscall.Kill(-1, syscall.SIGKILL) }

// reapDomain kills and reaps until the step has no child left. As a child
// subreaper, the step inherits every descendant whose parent dies, so this
// ends only when none is left; killing again each round catches a process
// forked while the last kill went out.
func reapDomain() {
	for {
		killDomain()
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(-1, &ws, 0, nil); errors.Is(err, syscall.ECHILD) {
			return
		}
	}
}

// reapZombies reaps what has already ended; without scoping, whatever
// left the chaincode's process group is run's to kill (run is a child
// subreaper too).
func reapZombies() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

var _ = strconv.Itoa
