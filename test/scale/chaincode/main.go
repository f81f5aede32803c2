// Command chaincode is the stand-in chaincode of the scale scenario
// (test/scale). It reads what the Go shim reads (the -peer.address flag,
// CORE_CHAINCODE_ID_NAME, the TLS variables), dials the peer over mutual
// TLS and says "ID PID". Then it does what the peer tells it:
//
//	log    write numbered lines of 100 bytes to stdout as fast as it can,
//	       until SIGTERM
//
// On SIGTERM it stops logging and writes "TAG stopped N" to stderr, N being
// the number of lines it logged, then exits 0. TAG is the package label,
// the part of the ID before the colon; every line it writes starts with it.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LineSize is the length of a logged line, newline included.
const LineSize = 100

func main() {
	peer := flag.String("peer.address", "", "the peer's chaincode address")
	flag.Parse()
	id := os.Getenv("CORE_CHAINCODE_ID_NAME")
	tag, _, _ := strings.Cut(id, ":")

	var (
		mu     sync.Mutex // held while logging a line and while stopping
		logged int
	)
	out := bufio.NewWriterSize(os.Stdout, 64*1024)
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	go func() {
		<-terms
		mu.Lock() // the logger holds mu for each line
		out.Flush()
		fmt.Fprintf(os.Stderr, "%s stopped %d\n", tag, logged)
		os.Exit(0)
	}()

	conn, err := dial(*peer)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s cannot reach the peer: %v\n", tag, err)
		os.Exit(1)
	}
	fmt.Fprintf(conn, "%s %d\n", id, os.Getpid())
	r := bufio.NewReader(conn)
	for {
		cmd, err := r.ReadString('\n')
		if err != nil {
			select {} // the peer went away; wait for SIGTERM
		}
		if strings.TrimSpace(cmd) == "log" {
			break
		}
	}

	line := []byte(tag + " 000000000 " + strings.Repeat("x", LineSize))[:LineSize]
	line[LineSize-1] = '\n'
	num := line[len(tag)+1 : len(tag)+10]
	for {
		mu.Lock()
		putNumber(num, logged)
		out.Write(line)
		logged++
		if out.Buffered() > 60*1024 || logged%1000 == 0 {
			out.Flush()
		}
		mu.Unlock()
	}
}

// dial connects to the peer with the key pair and CA that run wrote, as
// the Go shim does.
func dial(addr string) (*tls.Conn, error) {
	if os.Getenv("CORE_PEER_TLS_ENABLED") != "true" {
		return nil, errors.New("the scale scenario runs with TLS")
	}
	pair, err := tls.LoadX509KeyPair(os.Getenv("CORE_TLS_CLIENT_CERT_FILE"), os.Getenv("CORE_TLS_CLIENT_KEY_FILE"))
	if err != nil {
		return nil, err
	}
	root, err := os.ReadFile(os.Getenv("CORE_PEER_TLS_ROOTCERT_FILE"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(root) {
		return nil, errors.New("no certificate in CORE_PEER_TLS_ROOTCERT_FILE")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}, RootCAs: pool, ServerName: host}
	for attempt := 0; ; attempt++ {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
		if err == nil || attempt == 20 {
			return conn, err
		}
		time.Sleep(100 * time.Millisecond) // a peer busy accepting 100 chaincodes
	}
}

// putNumber writes n into dst in decimal, padded with zeros.
func putNumber(dst []byte, n int) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
}
