// Command gocc is the Go recipe of docs/binary-packages.md: a chaincode
// binary with a configuration file installed beside it, which it opens by
// a path relative to the working directory (bin/run starts it in the
// installed tree). Like the Go shim, it takes the peer's address from
// -peer.address and its TLS files from the CORE_* variables; it dials the
// peer with mutual TLS, names itself, records what it saw as one stderr
// line, "recipe-record {JSON}", and exits 0 on SIGTERM.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	addr := flag.String("peer.address", "", "the peer's chaincode endpoint, host:port")
	flag.Parse()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)

	var config struct{ Greeting string }
	data, err := os.ReadFile("config/settings.json")
	if err == nil {
		err = json.Unmarshal(data, &config)
	}
	if err != nil {
		config.Greeting = "no configuration: " + err.Error()
	}
	cwd, _ := os.Getwd()
	record := map[string]string{"cwd": cwd, "greeting": config.Greeting, "dial": dial(*addr)}
	out, _ := json.Marshal(record)
	fmt.Fprintf(os.Stderr, "recipe-record %s\n", out)
	<-stop
}

func dial(addr string) string {
	cert, err := tls.LoadX509KeyPair(os.Getenv("CORE_TLS_CLIENT_CERT_FILE"), os.Getenv("CORE_TLS_CLIENT_KEY_FILE"))
	if err != nil {
		return err.Error()
	}
	ca, err := os.ReadFile(os.Getenv("CORE_PEER_TLS_ROOTCERT_FILE"))
	if err != nil {
		return err.Error()
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	host, _, _ := net.SplitHostPort(addr)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: host})
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(os.Getenv("CORE_CHAINCODE_ID_NAME") + "\n")); err != nil {
		return err.Error()
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(reply)
}
