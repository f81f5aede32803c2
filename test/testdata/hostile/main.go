// Command hostile is a chaincode that tries to escape the sandbox. It tries
// every escape docs/sandbox.md says is refused, with targets named by
// HOSTILE_* variables (knowing a path or a port is no privilege), prints
// one line "hostile-report {JSON}" on stderr mapping each attempt to "ok"
// (it worked) or the error that refused it, then behaves as HOSTILE_MODE
// says: "wait" (the default) blocks, "exit" exits 0.
//
// Before reporting it starts a copy of itself in a new session that
// ignores SIGTERM ("linger"): a child meant to outlive run. Its pid is in
// the report as "linger_pid".
//
// It also does what a chaincode must still be able to do: read its TLS
// files, write its scratch folder, dial the peer (without TLS: the peer
// stand-in reads one line).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	if os.Getenv("HOSTILE_MODE") == "linger" {
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		time.Sleep(time.Hour)
		return
	}
	r := map[string]string{}
	try := func(name string, f func() error) {
		if err := f(); err != nil {
			r[name] = err.Error()
		} else {
			r[name] = "ok"
		}
	}
	env := os.Getenv

	// Escapes.
	try("read_peer_key", func() error { _, err := os.ReadFile(env("HOSTILE_KEY")); return err })
	try("list_peer_msp", func() error { _, err := os.ReadDir(filepath.Dir(env("HOSTILE_KEY"))); return err })
	try("write_peer_msp", func() error { return write(filepath.Join(filepath.Dir(env("HOSTILE_KEY")), "planted")) })
	try("write_ledger", func() error { return write(filepath.Join(env("HOSTILE_LEDGER"), "planted")) })
	try("read_peer_config", func() error { _, err := os.ReadFile(env("HOSTILE_CONFIG")); return err })
	try("read_other_chaincode", func() error { _, err := os.ReadFile(env("HOSTILE_OTHER_CC")); return err })
	try("list_peer_tmpdir", func() error { _, err := os.ReadDir(env("HOSTILE_PEER_TMP")); return err })
	try("connect_tcp", func() error { return dial(env("HOSTILE_OTHER_ADDR"), false) })
	try("connect_mptcp", func() error { return dial(env("HOSTILE_OTHER_ADDR"), true) })
	try("bind_tcp", func() error { return listen(false) })
	try("bind_mptcp", func() error { return listen(true) })
	try("connect_abstract_unix", func() error {
		c, err := net.Dial("unix", env("HOSTILE_ABSTRACT"))
		if err == nil {
			c.Close()
		}
		return err
	})
	peer, _ := strconv.Atoi(env("HOSTILE_PEER_PID"))
	// SIGURG: the Go runtime's own preemption signal, harmless to a Go peer.
	try("signal_peer", func() error { return syscall.Kill(peer, syscall.SIGURG) })
	try("ptrace_peer", func() error { return ptrace(peer) })
	// io_uring makes sockets (MPTCP ones too) without the socket call.
	try("io_uring", func() error {
		params := make([]byte, 120)                                                 // struct io_uring_params
		fd, _, e := syscall.Syscall(425, 1, uintptr(unsafe.Pointer(&params[0])), 0) // io_uring_setup
		if e != 0 {
			return e
		}
		return syscall.Close(int(fd))
	})

	// What must keep working.
	try("read_tls_files", func() error {
		for _, v := range []string{"CORE_TLS_CLIENT_KEY_FILE", "CORE_TLS_CLIENT_CERT_FILE", "CORE_PEER_TLS_ROOTCERT_FILE",
			"CORE_TLS_CLIENT_KEY_PATH", "CORE_TLS_CLIENT_CERT_PATH"} {
			if _, err := os.ReadFile(env(v)); err != nil {
				return err
			}
		}
		return nil
	})
	try("write_scratch", func() error {
		if err := write(filepath.Join(os.TempDir(), "scratch")); err != nil {
			return err
		}
		return write(filepath.Join(env("HOME"), ".cache"))
	})
	try("dial_peer", func() error {
		c, err := net.DialTimeout("tcp", env("CORE_PEER_ADDRESS"), 10*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = fmt.Fprintf(c, "%s\n", env("CORE_CHAINCODE_ID_NAME"))
		return err
	})

	// A child in its own session, ignoring SIGTERM: it must not outlive run.
	linger := exec.Command(os.Args[0])
	linger.Env = append(os.Environ(), "HOSTILE_MODE=linger")
	linger.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := linger.Start(); err != nil {
		r["linger_pid"] = "0"
		r["linger_start"] = err.Error()
	} else {
		r["linger_pid"] = strconv.Itoa(linger.Process.Pid)
	}

	data, _ := json.Marshal(r)
	fmt.Fprintf(os.Stderr, "hostile-report %s\n", data)
	if env("HOSTILE_MODE") == "exit" {
		os.Exit(0)
	}
	// Wait to be stopped. A sleep, not select{}: with no other goroutine,
	// the runtime would end a bare select{} as a deadlock.
	for {
		time.Sleep(time.Hour)
	}
}

func write(path string) error {
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		return err
	}
	return os.Remove(path)
}

// dial connects with a plain TCP socket, or an MPTCP one, made by hand:
// Go falls back to TCP silently when MPTCP fails.
func dial(addr string, mptcp bool) error {
	if mptcp {
		return rawMPTCP(addr, false)
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	d.SetMultipathTCP(false)
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	// Connected, whatever the protocol: even an MPTCP socket that fell
	// back to TCP reached the port.
	return c.Close()
}

func listen(mptcp bool) error {
	if mptcp {
		return rawMPTCP("127.0.0.1:0", true)
	}
	var lc net.ListenConfig
	lc.SetMultipathTCP(mptcp)
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	return ln.Close()
}

// ptrace attaches to pid without stopping it (PTRACE_SEIZE), interrupts
// only that thread, waits for it to stop and detaches: the tracee goes on
// as before.
func ptrace(pid int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const seize, interrupt = 0x4206, 0x4207
	if _, _, e := syscall.Syscall6(syscall.SYS_PTRACE, seize, uintptr(pid), 0, 0, 0, 0); e != 0 {
		return e
	}
	syscall.Syscall6(syscall.SYS_PTRACE, interrupt, uintptr(pid), 0, 0, 0, 0)
	var ws syscall.WaitStatus
	syscall.Wait4(pid, &ws, 0x40000000, nil) // __WALL
	return syscall.PtraceDetach(pid)
}

// rawMPTCP binds (listen) or connects an IPPROTO_MPTCP socket to an IPv4
// address.
func rawMPTCP(addr string, listen bool) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return err
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 262)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	sa := &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	if listen {
		return syscall.Bind(fd, sa)
	}
	return syscall.Connect(fd, sa)
}
