package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// StartError is the chaincode's exec failing inside the step, e.g. a
// missing #! interpreter: a problem of the package, not of the sandbox.
type StartError struct{ Reason string }

func (e *StartError) Error() string { return "cannot be started: " + e.Reason }

// Step is the step, as run sees it.
type Step struct {
	Pid int // the chaincode's, once started: leader of its own process group

	cmd     *exec.Cmd
	control *os.File // run's end of the control pipe
	status  *os.File // run's end of the status pipe
	started bool
	done    chan syscall.WaitStatus
}

// Spawn starts the step (run's own binary again), which waits for its
// policy. run spawns it first thing, so that the step's exec and start-up
// overlap with run's own reading and checking. out becomes the step's and
// the chaincode's stdout and stderr. The caller ends with Start or Abort.
func Spawn(out *os.File) (*Step, error) {
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	stR, stW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	s := &Step{control: ctlW, status: stR, done: make(chan syscall.WaitStatus, 1)}
	s.cmd = &exec.Cmd{
		// /proc/self/exe is this very binary even if the file was
		// replaced since run started.
		Path:       "/proc/self/exe",
		Args:       []string{os.Args[0], stepArg},
		Env:        []string{"GOMAXPROCS=1"}, // a small, idle supervisor
		Stdout:     out,
		Stderr:     out,
		ExtraFiles: []*os.File{ctlR, stW},
	}
	err = s.cmd.Start()
	ctlR.Close()
	stW.Close()
	if err != nil {
		ctlW.Close()
		stR.Close()
		return nil, fmt.Errorf("cannot start the sandbox step: %w", err)
	}
	return s, nil
}

// Abort ends a step that has not started a chaincode; after Start it does
// nothing.
func (s *Step) Abort() {
	if s.started {
		return
	}
	s.started = true  // once
	s.control.Close() // the step reads EOF and exits
	s.status.Close()
	s.cmd.Wait()
}

// Start hands the step p: it confines itself and starts the chaincode.
// With cgroup set (a folder made by NewCgroup), the step joins it first,
// so the chaincode starts inside it. On error no chaincode runs and the
// step has ended.
func (s *Step) Start(p *Policy, cgroup string) error {
	data, err := json.Marshal(p)
	if err != nil {
		s.Abort()
		return err
	}
	fail := func(err error) error {
		s.cmd.Process.Kill()
		s.Abort()
		return err
	}
	if cgroup != "" {
		if err := JoinCgroup(cgroup, s.cmd.Process.Pid); err != nil {
			return fail(err)
		}
	}
	if _, err := s.control.Write(append(data, '\n')); err != nil {
		return fail(fmt.Errorf("cannot hand the sandbox step its policy: %w", err))
	}
	status := bufio.NewReader(s.status)
	first, err := status.ReadString('\n')
	kind, rest, _ := strings.Cut(strings.TrimSuffix(first, "\n"), " ")
	switch {
	case err == nil && kind == "pid":
		if s.Pid, err = strconv.Atoi(rest); err != nil {
			return fail(fmt.Errorf("the sandbox step said %q", first))
		}
	case err == nil && kind == "fail":
		s.Abort()
		if r, ok := strings.CutPrefix(rest, "cannot be started: "); ok {
			return &StartError{Reason: r}
		}
		return errors.New(rest)
	default:
		s.Abort()
		return fmt.Errorf("the sandbox step ended before it started the chaincode (%s)", s.cmd.ProcessState)
	}
	s.started = true
	go func() {
		defer s.status.Close()
		s.wait(status)
	}()
	return nil
}

// wait waits for the chaincode's status, then for the step to end.
func (s *Step) wait(status *bufio.Reader) {
	line, err := status.ReadString('\n')
	s.cmd.Wait()
	s.control.Close()
	ws, _ := s.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if n, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "exit "); ok && err == nil {
		if v, err := strconv.ParseUint(n, 10, 32); err == nil {
			ws = syscall.WaitStatus(v)
		}
	}
	// Otherwise the step died first (the chaincode may have killed it);
	// the chaincode died with it (parent-death signal), and its own
	// status is lost: report the step's.
	s.done <- ws
}

// Signal passes sig on to the chaincode's process group.
func (s *Step) Signal(sig syscall.Signal) { s.control.Write([]byte{byte(sig)}) }

// Done receives the chaincode's wait status once the step has reaped it
// and has ended.
func (s *Step) Done() <-chan syscall.WaitStatus { return s.done }

// BecomeSubreaper makes the calling process (run) inherit the chaincode's
// orphans should the step die before them. KillOrphans then ends them.
func BecomeSubreaper() error { return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }

// KillOrphans kills and reaps every child of this process. Call it once
// the step has been reaped: run starts nothing else, so what is left is
// what the chaincode left behind.
func KillOrphans() {
	self := os.Getpid()
	for {
		pids := childrenOf(self)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, pid := range pids {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
	}
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte(" " + strconv.Itoa(pid) + " ")
	var pids []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold anything, so look after the last ')'.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 || len(data) < i+3 {
			continue
		}
		rest := data[i+2:] // "S 1234 ..."
		if j := bytes.IndexByte(rest, ' '); j >= 0 && bytes.HasPrefix(rest[j:], want) {
			pids = append(pids, n)
		}
	}
	return pids
}
