package launch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/extbuilder/extbuilder/internal/layout"
	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/sandbox"
)

// process is a started chaincode, leader of its own process group: a
// child of run (sandbox off) or of the sandbox step.
type process interface {
	leader() int
	signalGroup(sig syscall.Signal)
	exited() <-chan syscall.WaitStatus // receives once the leader is reaped
}

// child is a chaincode started by run itself.
type child struct {
	pid  int
	done chan syscall.WaitStatus // receives once the leader is reaped

	mu   sync.Mutex
	gone bool // set, under mu, before the leader is reaped
}

// start starts the chaincode in its own process group, with SIGKILL as its
// parent-death signal, so that it dies with run even when run is killed.
//
// The kernel sends the parent-death signal when the thread that forked the
// child exits, not the process, and the Go runtime ends a thread when a
// goroutine locked to it returns. So the goroutine that starts the child
// stays locked to its thread and alive until the child is reaped.
func start(cmd *exec.Cmd) (*child, error) {
	c := &child{done: make(chan syscall.WaitStatus, 1)}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		c.pid = cmd.Process.Pid
		started <- nil

		waitExitedNoReap(c.pid)
		// The leader is now a zombie, so its process group ID cannot be
		// reused: killing the group reaches only what the chaincode left
		// behind, which nothing else would ever stop.
		c.mu.Lock()
		syscall.Kill(-c.pid, syscall.SIGKILL)
		c.gone = true
		c.mu.Unlock()

		cmd.Wait() // the exit status is in ProcessState; the error repeats it
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		c.done <- ws
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return c, nil
}

func (c *child) leader() int                       { return c.pid }
func (c *child) exited() <-chan syscall.WaitStatus { return c.done }

// confined is a chaincode started by the sandbox step, which passes
// signals on to its process group.
type confined struct{ *sandbox.Step }

func (c confined) leader() int                       { return c.Pid }
func (c confined) signalGroup(sig syscall.Signal)    { c.Signal(sig) }
func (c confined) exited() <-chan syscall.WaitStatus { return c.Done() }

// signalGroup sends sig to the chaincode's process group, unless the leader
// has been reaped (its group ID could then belong to someone else).
func (c *child) signalGroup(sig syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.gone {
		syscall.Kill(-c.pid, sig)
	}
}

// waitExitedNoReap blocks until process pid has exited, leaving it a zombie.
func waitExitedNoReap(pid int) {
	const pPID = 1 // idtype P_PID of waitid(2)
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), 0,
			syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if errno != syscall.EINTR {
			return // on any other error, cmd.Wait reports what happened
		}
	}
}

func (s *supervisor) run() (Exit, error) {
	pr, pw := s.pr, s.pw
	if pr == nil {
		var err error
		if pr, pw, err = os.Pipe(); err != nil {
			return Exit{}, fmt.Errorf("starting the chaincode: %w", err)
		}
	}
	defer pr.Close()
	c, err := s.start(pw)
	pw.Close() // the chaincode holds the only write end now
	if err != nil {
		return Exit{}, err
	}

	copied := make(chan struct{})
	go func() {
		defer close(copied)
		forward(pr, s.out)
	}()

	var (
		stopSignal syscall.Signal // first stop signal passed on; 0 if none
		killed     bool           // run killed the group after the grace period
		graceTimer *time.Timer
		graceOver  <-chan time.Time
	)
	for {
		select {
		case sig := <-s.stop:
			sys, ok := sig.(syscall.Signal)
			if !ok {
				continue
			}
			if stopSignal == 0 {
				stopSignal = sys
				graceTimer = time.NewTimer(s.grace)
				defer graceTimer.Stop()
				graceOver = graceTimer.C
				s.log.Infof("received %s; passing it to the chaincode (process group %d), which has %s to exit", SignalName(sys), c.leader(), s.grace)
			} else {
				s.log.Infof("received %s; passing it to the chaincode", SignalName(sys))
			}
			c.signalGroup(sys)
		case <-graceOver:
			graceOver = nil
			killed = true
			c.signalGroup(syscall.SIGKILL)
		case state := <-c.exited():
			// Every process of the group is gone; a process that left the
			// group may still hold the pipe, so do not wait for it forever.
			pr.SetReadDeadline(time.Now().Add(drainTimeout))
			<-copied
			return exitFor(state, stopSignal, killed, s.grace), nil
		}
	}
}

// start starts the chaincode with out as its stdout and stderr: through
// the sandbox step when there is one (its output is out already), else as
// run's own child.
func (s *supervisor) start(out *os.File) (process, error) {
	if s.step != nil {
		err := s.step.Start(s.policy, s.cgroup)
		var se *sandbox.StartError
		switch {
		case errors.As(err, &se):
			e := &Error{File: layout.Executable, Problem: "cannot be started: " + se.Reason}
			if errors.Is(err, syscall.EACCES) || se.Reason == syscall.EACCES.Error() {
				e.Hint = "the sandbox lets a chaincode execute only files in BUILD_OUTPUT_DIR, the system folders and " +
					sandbox.ReadVariable + "; add its interpreter's folder there (docs/sandbox.md)"
			}
			return nil, e
		case err != nil:
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		return confined{s.step}, nil
	}
	cmd := &exec.Cmd{
		Path:   s.path,
		Args:   s.args,
		Dir:    s.dir,
		Env:    s.env,
		Stdout: out, // both streams: the peer logs only run's stderr
		Stderr: out,
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL,
		},
	}
	c, err := start(cmd)
	if err != nil {
		return nil, &Error{File: layout.Executable, Problem: "cannot be started: " + startError(err)}
	}
	return c, nil
}

func startError(err error) string {
	return msg.Reason(err).Error()
}

// exitFor turns the chaincode's wait status into run's exit status and the
// line that says why the chaincode ended.
func exitFor(ws syscall.WaitStatus, stopSignal syscall.Signal, killed bool, grace time.Duration) Exit {
	after := ""
	if stopSignal != 0 {
		after = " after run passed on " + SignalName(stopSignal)
	}
	switch {
	case ws.Exited():
		return Exit{Code: ws.ExitStatus(), Reason: fmt.Sprintf("chaincode exited with status %d%s", ws.ExitStatus(), after)}
	case ws.Signaled():
		sig := ws.Signal()
		code := 128 + int(sig)
		switch {
		case killed && sig == syscall.SIGKILL:
			return Exit{Code: code, Reason: fmt.Sprintf("chaincode did not exit within %s of %s and was killed (exit status %d)", grace, SignalName(stopSignal), code)}
		case sig == stopSignal:
			return Exit{Code: code, Reason: fmt.Sprintf("chaincode was stopped by %s, passed on by run (exit status %d)", SignalName(sig), code)}
		default:
			return Exit{Code: code, Reason: fmt.Sprintf("chaincode was killed by %s%s (exit status %d)", SignalName(sig), after, code)}
		}
	}
	return Exit{Code: 1, Reason: "the chaincode ended with an unknown status"}
}
