//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// sample is one process run: wall time from start to reaped.
type sample struct {
	wall time.Duration
}

// invocation is one process as the peer starts it: program, arguments,
// pruned environment, and the folders that must be fresh for every run.
type invocation struct {
	path  string
	args  []string
	env   []string
	fresh []string // created empty (0700) before each run, removed after it
	// setup, when set, runs after the fresh folders are created and before
	// the clock starts (run: chaincode.json goes into the fresh folder).
	setup func() error
}

// execOnce runs inv once, the way the peer does: pruned environment, the
// peer's working directory, stdout discarded, stderr read line by line.
func execOnce(inv invocation) (sample, error) {
	for _, d := range inv.fresh {
		if err := os.RemoveAll(d); err != nil {
			return sample{}, err
		}
		if err := os.Mkdir(d, 0o700); err != nil {
			return sample{}, err
		}
	}
	defer func() {
		for _, d := range inv.fresh {
			os.RemoveAll(d)
		}
	}()
	if inv.setup != nil {
		if err := inv.setup(); err != nil {
			return sample{}, err
		}
	}
	cmd := exec.Command(inv.path, inv.args...)
	cmd.Env = inv.env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return sample{}, err
	}
	var lines []string
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	io.Copy(io.Discard, stderr)
	err = cmd.Wait()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%s %s: %v: %s", filepath.Base(inv.path), strings.Join(inv.args, " "), err, strings.Join(lines, " | "))
	}
	return sample{wall: wall}, nil
}

// series is the samples of one invocation.
type series []sample

func (s series) median() time.Duration { return s.quantile(0.5) }

func (s series) quantile(q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	w := make([]time.Duration, len(s))
	for i, x := range s {
		w[i] = x.wall
	}
	sort.Slice(w, func(i, j int) bool { return w[i] < w[j] })
	return w[int(q*float64(len(w)-1)+0.5)]
}

// compare runs the invocations in turn, warm-up rounds first (not kept),
// so that all see the same machine load; each round starts one further
// along, so none always runs first. It returns one series per invocation.
func compare(invs []invocation, warmup, runs int) ([]series, error) {
	got := make([]series, len(invs))
	for i := 0; i < warmup+runs; i++ {
		for k := range invs {
			j := (i + k) % len(invs)
			x, err := execOnce(invs[j])
			if err != nil {
				return nil, err
			}
			if i >= warmup {
				got[j] = append(got[j], x)
			}
		}
	}
	return got, nil
}

// peakRSS runs inv once under ptrace and reads the process's VmHWM at its
// exit stop. wait4's ru_maxrss cannot be used for this: the kernel folds
// into it the address space the child had before exec, which for a child
// of this (large) process is this process's.
func peakRSS(inv invocation) (int64, error) {
	for _, d := range inv.fresh {
		os.RemoveAll(d)
		if err := os.Mkdir(d, 0o700); err != nil {
			return 0, err
		}
	}
	defer func() {
		for _, d := range inv.fresh {
			os.RemoveAll(d)
		}
	}()
	if inv.setup != nil {
		if err := inv.setup(); err != nil {
			return 0, err
		}
	}
	type result struct {
		hwm int64
		err error
	}
	done := make(chan result)
	go func() {
		// ptrace requests must come from the thread that started the tracee.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		hwm, err := traceHWM(inv)
		done <- result{hwm, err}
	}()
	r := <-done
	return r.hwm, r.err
}

func traceHWM(inv invocation) (int64, error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	argv := append([]string{inv.path}, inv.args...)
	pid, err := syscall.ForkExec(inv.path, argv, &syscall.ProcAttr{
		Env:   inv.env,
		Files: []uintptr{devnull.Fd(), devnull.Fd(), devnull.Fd()},
		Sys:   &syscall.SysProcAttr{Ptrace: true},
	})
	if err != nil {
		return 0, err
	}
	var ws syscall.WaitStatus
	// The first stop is the SIGTRAP that follows exec.
	if _, err := syscall.Wait4(pid, &ws, syscall.WALL, nil); err != nil {
		return 0, err
	}
	if err := syscall.PtraceSetOptions(pid, syscall.PTRACE_O_TRACEEXIT); err != nil {
		return 0, err
	}
	var hwm int64 = -1
	sig := 0
	for {
		if err := syscall.PtraceCont(pid, sig); err != nil && hwm < 0 {
			return 0, fmt.Errorf("ptrace: %w", err)
		}
		if _, err := syscall.Wait4(pid, &ws, syscall.WALL, nil); err != nil {
			return 0, err
		}
		switch {
		case ws.Exited() || ws.Signaled():
			if ws.ExitStatus() != 0 {
				return 0, fmt.Errorf("%s exited with %d", filepath.Base(inv.path), ws.ExitStatus())
			}
			if hwm < 0 {
				return 0, fmt.Errorf("%s: no exit stop seen", filepath.Base(inv.path))
			}
			return hwm, nil
		case ws.Stopped() && ws.TrapCause() == syscall.PTRACE_EVENT_EXIT:
			// The address space is still there at this stop.
			hwm, err = vmHWM(pid)
			if err != nil {
				return 0, err
			}
			sig = 0
		case ws.Stopped() && ws.StopSignal() == syscall.SIGTRAP:
			sig = 0
		case ws.Stopped():
			sig = int(ws.StopSignal()) // deliver what the program was sent (Go's SIGURG, say)
		}
	}
}

func vmHWM(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				return 0, err
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/<pid>/status")
}
