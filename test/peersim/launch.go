package peersim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ChaincodeJSON is RUN_METADATA_DIR/chaincode.json, what the peer tells
// bin/run about this launch (spec section 6). With peer TLS off the three
// PEM fields are empty strings.
type ChaincodeJSON struct {
	ChaincodeID string `json:"chaincode_id"` // the package ID
	PeerAddress string `json:"peer_address"` // host:port the chaincode dials
	ClientCert  string `json:"client_cert"`  // PEM, a fresh pair for this launch
	ClientKey   string `json:"client_key"`   // PEM
	RootCert    string `json:"root_cert"`    // PEM CA of the peer's chaincode endpoint
	MSPID       string `json:"mspid"`
}

// StopGrace is how long the peer waits after SIGTERM before it sends SIGKILL.
const StopGrace = 5 * time.Second

// waitDelay bounds how long a launch waits for run's stderr once run has
// exited, should something run left behind still hold the pipe.
const waitDelay = 2 * time.Second

// Launched is a bin/run started by Peer.Launch.
type Launched struct {
	Program        string   // the builder's bin/run
	Args           []string // as passed: the cached bld and RUN_METADATA_DIR
	Env            []string // the pruned environment it got
	RunMetadataDir string   // removed by Stop and Kill, as the peer removes it

	cmd  *exec.Cmd
	done chan struct{} // closed once run has exited and its stderr is read

	mu       sync.Mutex
	stderr   []string
	overflow bool
}

// Launch starts the chaincode of an installed package the way the peer does
// when the release folder holds no connection.json: a fresh RUN_METADATA_DIR
// (fabric-run* in the peer's TMPDIR) holding chaincode.json with mode 0600,
// then `bin/run CACHED_BLD RUN_METADATA_DIR` of the builder that built the
// package, in the background, with the pruned environment, stderr read line
// by line. The caller must end it with Stop or Kill.
func (p *Peer) Launch(res *Result, cc ChaincodeJSON) (*Launched, error) {
	return p.LaunchFunc(res, cc, nil)
}

// LaunchFunc is Launch, with each line of run's stderr handed to each
// instead of kept for Stderr, for launches that log millions of lines.
// each must not keep line, which is valid only during the call; calls for
// one launch come from one goroutine.
func (p *Peer) LaunchFunc(res *Result, cc ChaincodeJSON, each func(line []byte)) (*Launched, error) {
	b := p.builder(res.Builder)
	if b == nil || res.CachedBld == "" {
		return nil, errors.New("peersim: launch needs a package that a configured builder built (Result.Builder and Result.CachedBld)")
	}
	program := filepath.Join(b.Path, "bin", "run")
	if !executable(program) {
		return nil, fmt.Errorf("builder %s has no executable bin/run, so the peer cannot launch the chaincode", b.Name)
	}
	data, err := json.Marshal(cc)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(p.tempDir(), "fabric-run")
	if err != nil {
		return nil, fmt.Errorf("could not create temp run dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "chaincode.json"), data, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}

	l := &Launched{Program: program, Args: []string{res.CachedBld, dir}, Env: p.PrunedEnv(b), RunMetadataDir: dir, done: make(chan struct{})}
	pr, pw := io.Pipe()
	l.cmd = exec.Command(program, l.Args...)
	l.cmd.Env = l.Env
	l.cmd.Stderr = pw
	l.cmd.WaitDelay = waitDelay
	if err := l.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		// bufio.Scanner's default limit is the peer's: 64 KiB per line.
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if each != nil {
				each(sc.Bytes())
				continue
			}
			l.mu.Lock()
			l.stderr = append(l.stderr, sc.Text())
			l.mu.Unlock()
		}
		if sc.Err() != nil {
			l.mu.Lock()
			l.overflow = true
			l.mu.Unlock()
			io.Copy(io.Discard, pr) // so run never blocks on a full pipe
		}
	}()
	go func() {
		l.cmd.Wait()
		pw.Close()
		<-read
		close(l.done)
	}()
	return l, nil
}

// Pid is run's process ID.
func (l *Launched) Pid() int { return l.cmd.Process.Pid }

// Done is closed once run has exited and its stderr has been read.
func (l *Launched) Done() <-chan struct{} { return l.done }

// Stderr returns the lines run has written so far, as the peer logs them.
func (l *Launched) Stderr() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.stderr...)
}

// StderrOverflow reports a stderr line longer than 64 KiB, where the peer's
// reader gives up.
func (l *Launched) StderrOverflow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.overflow
}

// ExitCode is run's exit status once Done is closed: -1 while it runs or
// when a signal ended it.
func (l *Launched) ExitCode() int {
	select {
	case <-l.done:
		return l.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Stop stops the chaincode as the peer does: SIGTERM to run's process (not
// its group), SIGKILL if it has not exited after grace (the peer's is
// StopGrace). It returns once run has ended, reporting whether it had to be
// killed, and removes RUN_METADATA_DIR.
func (l *Launched) Stop(grace time.Duration) (killed bool) {
	defer os.RemoveAll(l.RunMetadataDir)
	select {
	case <-l.done:
		return false
	default:
	}
	l.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-l.done:
		return false
	case <-timer.C:
		l.cmd.Process.Kill()
		<-l.done
		return true
	}
}

// Kill ends run at once with SIGKILL, waits for it and removes
// RUN_METADATA_DIR: cleanup after a failure (a peer sends SIGTERM first).
// It may be called more than once, and after Stop.
func (l *Launched) Kill() {
	select {
	case <-l.done:
	default:
		l.cmd.Process.Kill()
		<-l.done
	}
	os.RemoveAll(l.RunMetadataDir)
}
