package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/extbuilder/extbuilder/internal/testpki"
	"github.com/extbuilder/extbuilder/test/peersim"
)

// waitLimit bounds every wait of a launch, so that a broken build of run
// or of the chaincode fails the demo instead of hanging it.
const waitLimit = 20 * time.Second

// launch does what the peer does with a package whose release folder has
// no connection.json (spec section 6): it serves its chaincode endpoint on
// 127.0.0.1, starts bin/run with a fresh chaincode.json, waits for the
// chaincode to connect, then stops it with SIGTERM to run.
func (s *session) launch(res *peersim.Result) error {
	bld, err := peersim.Snapshot(res.CachedBld)
	if err != nil {
		return err
	}
	var files []string
	for _, f := range bld {
		if !f.Mode.IsDir() {
			files = append(files, fmt.Sprintf("%s %s", f.Mode, f.Path))
		}
	}
	fmt.Fprintf(s.out, "  $CACHE/bld, what run gets: %s\n", strings.Join(files, ", "))

	// The endpoint's certificate comes from the peer's TLS CA, handed to the
	// chaincode as root_cert; the client pair made for this launch comes
	// from the CA the endpoint trusts.
	tlsCA := testpki.NewCA("Org1 peer TLS CA")
	clientCA := testpki.NewCA("peer0.org1 chaincode client CA")
	client := clientCA.Client(s.label + " launch client")
	ep, err := listenAsPeer(tlsCA.Server("127.0.0.1"), clientCA)
	if err != nil {
		return err
	}
	defer ep.ln.Close()
	fmt.Fprintf(s.out, "  peer's chaincode endpoint %s: certificate from %q,\n    client certificate from %q required\n",
		ep.ln.Addr(), tlsCA.Cert.Subject.CommonName, clientCA.Cert.Subject.CommonName)

	l, err := s.peer.Launch(res, peersim.ChaincodeJSON{
		ChaincodeID: res.PackageID,
		PeerAddress: ep.ln.Addr().String(),
		ClientCert:  client.CertPEM,
		ClientKey:   client.KeyPEM,
		RootCert:    tlsCA.CertPEM,
		MSPID:       "Org1MSP",
	})
	if err != nil {
		return err
	}
	defer l.Kill() // nothing left running, whatever happens below
	if err := s.showChaincodeJSON(l.RunMetadataDir); err != nil {
		return s.launchFailed(l, err)
	}
	var names []string
	for _, kv := range l.Env {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	fmt.Fprintf(s.out, "  $ bin/run %s\n    environment: %s (the peer's, pruned as for the other programs)\n",
		s.redact.RedactString(strings.Join(l.Args, " ")), strings.Join(names, " "))

	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	var h hello
	select {
	case h = <-ep.hellos:
	case <-l.Done():
		return s.launchFailed(l, fmt.Errorf("run ended (exit status %d) before the chaincode connected", l.ExitCode()))
	case <-timer.C:
		return s.launchFailed(l, fmt.Errorf("the chaincode did not connect to the peer within %s", waitLimit))
	}
	switch {
	case h.err != nil:
		return s.launchFailed(l, fmt.Errorf("the chaincode's connection failed: %v", h.err))
	case !bytes.Equal(h.cert.Raw, client.Cert.Raw):
		return s.launchFailed(l, fmt.Errorf("the chaincode presented the client certificate %q, not chaincode.json's", h.cert.Subject.CommonName))
	case h.id != res.PackageID:
		return s.launchFailed(l, fmt.Errorf("the chaincode named itself %q, not the package ID", h.id))
	}
	fmt.Fprintf(s.out, "  connected: the chaincode dialed %s with mutual TLS, trusted the endpoint through root_cert,\n", ep.ln.Addr())
	fmt.Fprintf(s.out, "    presented chaincode.json's client certificate %q and named itself with the package ID\n", h.cert.Subject.CommonName)
	pid, err := s.chaincodePid(l)
	if err != nil {
		return s.launchFailed(l, err)
	}

	fmt.Fprintf(s.out, "  stop: SIGTERM to run, as the peer does (SIGKILL after %s)\n", peersim.StopGrace)
	killed := l.Stop(peersim.StopGrace)
	stderr := l.Stderr()
	fmt.Fprintln(s.out, "  run's stderr, which the peer logs line by line (the chaincode's stdout and stderr arrive there too):")
	for _, line := range stderr {
		if strings.HasPrefix(line, recordPrefix) {
			line = recordPrefix + "{...} (the stand-in chaincode's record of what it was given, for this demo)"
		}
		fmt.Fprintf(s.out, "    %s\n", s.redact.RedactString(line))
	}
	if p := alive(pid); p != nil {
		p.Kill()
		p.Release()
		return fmt.Errorf("the chaincode (pid %d) outlived run", pid)
	}
	const sigterm = 128 + int(syscall.SIGTERM)
	switch {
	case killed:
		return fmt.Errorf("run was still running %s after SIGTERM, so the peer killed it", peersim.StopGrace)
	case l.ExitCode() != sigterm:
		return fmt.Errorf("run exited with status %d, want %d (128+SIGTERM): the chaincode has no SIGTERM handler, so the signal run passes on should end it", l.ExitCode(), sigterm)
	}
	fmt.Fprintf(s.out, "  run exited with status %d = 128+SIGTERM within the peer's %s, as its last line says;\n", l.ExitCode(), peersim.StopGrace)
	fmt.Fprintln(s.out, "    no chaincode process is left, and the peer removes RUN_METADATA_DIR")
	return nil
}

// launchFailed ends run and shows its stderr, which says why.
func (s *session) launchFailed(l *peersim.Launched, err error) error {
	l.Kill()
	fmt.Fprintln(s.out, "  run's stderr:")
	for _, line := range l.Stderr() {
		fmt.Fprintf(s.out, "    %s\n", s.redact.RedactString(line))
	}
	return err
}

// showChaincodeJSON shows what the peer wrote for run, PEM summarized.
func (s *session) showChaincodeJSON(dir string) error {
	file := filepath.Join(dir, "chaincode.json")
	info, err := os.Stat(file)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var cc map[string]string
	if err := json.Unmarshal(data, &cc); err != nil {
		return fmt.Errorf("chaincode.json: %v", err)
	}
	fmt.Fprintf(s.out, "  %s, mode %04o:\n", s.redact.RedactString(file), info.Mode().Perm())
	for _, field := range []string{"chaincode_id", "peer_address", "client_cert", "client_key", "root_cert", "mspid"} {
		fmt.Fprintf(s.out, "    %-13s %s\n", field, summarizePEM(cc[field]))
	}
	return nil
}

// summarizePEM names the PEM block in v instead of showing it: the
// subject and issuer of a certificate, only the kind of a key.
func summarizePEM(v string) string {
	block, _ := pem.Decode([]byte(v))
	switch {
	case block == nil:
		return v
	case strings.Contains(block.Type, "KEY"):
		return "<private key, PEM>"
	case block.Type == "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return "<unparsable certificate>"
		}
		if c.Subject.String() == c.Issuer.String() {
			return fmt.Sprintf("<certificate %q, self-signed>", c.Subject.CommonName)
		}
		return fmt.Sprintf("<certificate %q from %q>", c.Subject.CommonName, c.Issuer.CommonName)
	}
	return "<" + block.Type + ", PEM>"
}

// recordPrefix starts the stderr line on which the stand-in chaincode
// records what it was given.
const recordPrefix = "fakecc-record "

// chaincodePid waits for the stand-in chaincode's record and returns its
// process ID, to check that it ends with run.
func (s *session) chaincodePid(l *peersim.Launched) (int, error) {
	end := time.Now().Add(waitLimit)
	for {
		for _, line := range l.Stderr() {
			data, ok := strings.CutPrefix(line, recordPrefix)
			if !ok {
				continue
			}
			var rec struct {
				Pid  int
				Dial string
			}
			if err := json.Unmarshal([]byte(data), &rec); err != nil {
				return 0, fmt.Errorf("the chaincode's record: %v", err)
			}
			if rec.Dial != "ok" {
				return 0, fmt.Errorf("the chaincode reports: %s", rec.Dial)
			}
			return rec.Pid, nil
		}
		if time.Now().After(end) {
			return 0, fmt.Errorf("the chaincode printed no record in %s", waitLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive returns process pid if it still exists, nil otherwise.
func alive(pid int) *os.Process {
	p, err := os.FindProcess(pid)
	if err != nil || pid <= 0 {
		return nil
	}
	if p.Signal(syscall.Signal(0)) != nil {
		p.Release()
		return nil
	}
	return p
}

// endpoint is the peer's chaincode endpoint, reduced to what a launch
// shows: who connected, with which client certificate, under which ID.
type endpoint struct {
	ln     net.Listener
	hellos chan hello
}

type hello struct {
	cert *x509.Certificate // the client certificate the chaincode presented
	id   string            // the chaincode ID it sent
	err  error
}

// listenAsPeer listens on 127.0.0.1 with server's certificate, requiring a
// client certificate from clientCA.
func listenAsPeer(server *testpki.Pair, clientCA *testpki.CA) (*endpoint, error) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server.ServerTLS(clientCA))
	if err != nil {
		return nil, err
	}
	e := &endpoint{ln: ln, hellos: make(chan hello, 1)}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed
			}
			go e.greet(conn.(*tls.Conn))
		}
	}()
	return e, nil
}

// greet reads the chaincode ID line the stand-in chaincode sends and
// answers it, which tells the chaincode its certificate was accepted.
func (e *endpoint) greet(conn *tls.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitLimit))
	var h hello
	if err := conn.Handshake(); err != nil {
		h.err = fmt.Errorf("TLS handshake: %w", err)
	} else if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil {
		h.err = fmt.Errorf("reading the chaincode ID: %w", err)
	} else {
		h.cert, h.id = conn.ConnectionState().PeerCertificates[0], strings.TrimSuffix(line, "\n")
		conn.Write([]byte("ok\n"))
	}
	select {
	case e.hellos <- h:
	default: // only the first connection is shown
	}
}
