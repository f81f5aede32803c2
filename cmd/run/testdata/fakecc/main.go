// Command fakecc is a stand-in chaincode for run's tests. It loads its
// configuration the way the Go shim does (the -peer.address flag, the CORE_*
// variables, the PEM files with the base64 files as the fallback), dials the
// peer (with TLS when CORE_PEER_TLS_ENABLED says so), records everything it
// was given as one stderr line "fakecc-record {JSON}" (a sandboxed
// chaincode can write no file the test could read), then behaves as
// FAKECC_MODE says:
//
//	exit=N     exit with status N (the default is exit=0)
//	wait       block, with no signal handler (SIGTERM kills it)
//	graceful   block until SIGTERM, print "graceful stop" and exit 0
//	ignore     ignore SIGTERM and SIGINT and block
//	bigline    print a 100 KiB line on stdout, then "after bigline" on stderr, and exit 0
//	group      start a copy of itself in mode "graceful" (same process group);
//	           on SIGTERM, wait for the copy to end, then exit 0
//	orphan     start a copy of itself in mode "wait" and exit 0 without waiting for it
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Record is what the chaincode saw. The tests decode it with the same type.
type Record struct {
	Pid         int
	Pgid        int
	Args        []string
	Cwd         string
	Env         []string
	PeerAddress string // from the flag, as the Go shim reads it
	TLSEnabled  bool
	Files       map[string]File // by variable name
	Base64Same  bool            // the _PATH files decode to the _FILE contents
	Dial        string          // "ok" or why the connection to the peer failed
	ChildPid    int             // modes group and orphan: the copy it started
}

// File is one file a variable names.
type File struct {
	Path    string
	Mode    uint32
	Content string
}

var fileVariables = []string{
	"CORE_TLS_CLIENT_KEY_FILE", "CORE_TLS_CLIENT_CERT_FILE", "CORE_PEER_TLS_ROOTCERT_FILE",
	"CORE_TLS_CLIENT_KEY_PATH", "CORE_TLS_CLIENT_CERT_PATH",
}

func main() {
	peerAddress := flag.String("peer.address", "", "peer address")
	flag.Parse()

	rec := Record{Pid: os.Getpid(), Args: os.Args, Env: os.Environ(), PeerAddress: *peerAddress, Files: map[string]File{}}
	rec.Pgid, _ = syscall.Getpgid(0)
	rec.Cwd, _ = os.Getwd()
	for _, v := range fileVariables {
		if p := os.Getenv(v); p != "" {
			f := File{Path: p}
			if info, err := os.Stat(p); err == nil {
				f.Mode = uint32(info.Mode())
			}
			data, _ := os.ReadFile(p)
			f.Content = string(data)
			rec.Files[v] = f
		}
	}
	rec.Dial = dial(&rec)

	mode := os.Getenv("FAKECC_MODE")
	terms := make(chan os.Signal, 1)
	switch mode {
	case "ignore":
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
	case "graceful", "group":
		signal.Notify(terms, syscall.SIGTERM)
	}
	var child *exec.Cmd
	if mode == "group" || mode == "orphan" {
		childMode := map[string]string{"group": "graceful", "orphan": "wait"}[mode]
		// The copy says it is up (its handler installed) by closing the
		// write end of a pipe, its fd 3.
		ready, up, err := os.Pipe()
		if err != nil {
			fatal(err)
		}
		child = exec.Command(os.Args[0], os.Args[1:]...)
		child.Env = append(os.Environ(), "FAKECC_MODE="+childMode, "FAKECC_CHILD=1")
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		child.ExtraFiles = []*os.File{up}
		if err := child.Start(); err != nil {
			fatal(err)
		}
		up.Close()
		rec.ChildPid = child.Process.Pid
		ready.Read(make([]byte, 1)) // EOF once the copy is up
		ready.Close()
	}
	writeRecord(rec)

	switch {
	case mode == "orphan":
		os.Exit(0)
	case mode == "group":
		<-terms
		child.Wait()
		os.Exit(0)
	case mode == "" || strings.HasPrefix(mode, "exit="):
		code, _ := strconv.Atoi(strings.TrimPrefix(mode, "exit="))
		os.Exit(code)
	case mode == "bigline":
		os.Stdout.Write(append(bytes.Repeat([]byte("0123456789abcdef"), 100*1024/16), '\n'))
		fmt.Fprintln(os.Stderr, "after bigline")
		os.Exit(0)
	case mode == "graceful":
		<-terms
		fmt.Println("graceful stop")
		os.Exit(0)
	}
	for {
		time.Sleep(time.Hour)
	}
}

// dial connects to the peer the way the Go shim would and says how it went.
func dial(rec *Record) string {
	tlsEnabled, err := strconv.ParseBool(os.Getenv("CORE_PEER_TLS_ENABLED"))
	if err != nil {
		return "CORE_PEER_TLS_ENABLED must be true or false"
	}
	rec.TLSEnabled = tlsEnabled
	if !tlsEnabled {
		conn, err := net.DialTimeout("tcp", rec.PeerAddress, 10*time.Second)
		if err != nil {
			return err.Error()
		}
		defer conn.Close()
		fmt.Fprintf(conn, "%s\n", os.Getenv("CORE_CHAINCODE_ID_NAME"))
		return "ok"
	}

	key, err := os.ReadFile(os.Getenv("CORE_TLS_CLIENT_KEY_FILE"))
	if err != nil {
		return "client key: " + err.Error()
	}
	cert, err := os.ReadFile(os.Getenv("CORE_TLS_CLIENT_CERT_FILE"))
	if err != nil {
		return "client cert: " + err.Error()
	}
	keyB64, err1 := decodeBase64File(os.Getenv("CORE_TLS_CLIENT_KEY_PATH"))
	certB64, err2 := decodeBase64File(os.Getenv("CORE_TLS_CLIENT_CERT_PATH"))
	rec.Base64Same = err1 == nil && err2 == nil && bytes.Equal(keyB64, key) && bytes.Equal(certB64, cert)

	root, err := os.ReadFile(os.Getenv("CORE_PEER_TLS_ROOTCERT_FILE"))
	if err != nil {
		return "root cert: " + err.Error()
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(root) {
		return "root cert: no certificate"
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return "client key pair: " + err.Error()
	}
	host, _, err := net.SplitHostPort(rec.PeerAddress)
	if err != nil {
		return "peer address: " + err.Error()
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", rec.PeerAddress, &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		RootCAs:      pool,
		ServerName:   host,
	})
	if err != nil {
		return "TLS: " + err.Error()
	}
	defer conn.Close()
	// With TLS 1.3 the server checks the client certificate after the
	// client's handshake has returned; a reply proves the server accepted it.
	fmt.Fprintf(conn, "%s\n", os.Getenv("CORE_CHAINCODE_ID_NAME"))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply := make([]byte, 3)
	if _, err := conn.Read(reply); err != nil {
		return "TLS: no reply: " + err.Error()
	}
	return "ok"
}

func decodeBase64File(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(string(data))
}

// writeRecord prints the record as one line on stderr, which run passes on;
// a copy started by modes group and orphan only says it is up.
func writeRecord(rec Record) {
	if os.Getenv("FAKECC_CHILD") != "" {
		os.NewFile(3, "ready").Close()
		return
	}
	data, err := json.Marshal(rec)
	if err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "fakecc-record %s\n", data)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "fakecc:", err)
	os.Exit(99)
}
