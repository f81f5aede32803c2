package peersim

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"time"

	"github.com/extbuilder/extbuilder/internal/testpki"
)

// ChaincodeEndpoint is the peer's chaincode endpoint as the stand-in
// chaincodes of the tests see it: mutual TLS on 127.0.0.1 with certificates
// of ca. It reads the chaincode ID line each connection sends, answers
// "ok", and reports the first few IDs on IDs (later ones are dropped).
type ChaincodeEndpoint struct {
	Addr string
	IDs  <-chan string
	ln   net.Listener
}

// ListenChaincode starts a ChaincodeEndpoint; Close stops it.
func ListenChaincode(ca *testpki.CA) (*ChaincodeEndpoint, error) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ca.Server("127.0.0.1").ServerTLS(ca))
	if err != nil {
		return nil, err
	}
	ids := make(chan string, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed
			}
			go func(conn net.Conn) {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(15 * time.Second))
				line, err := bufio.NewReader(conn).ReadString('\n')
				if err != nil {
					return
				}
				conn.Write([]byte("ok\n"))
				select {
				case ids <- strings.TrimSuffix(line, "\n"):
				default:
				}
			}(conn)
		}
	}()
	return &ChaincodeEndpoint{Addr: ln.Addr().String(), IDs: ids, ln: ln}, nil
}

// Close stops accepting connections.
func (e *ChaincodeEndpoint) Close() error { return e.ln.Close() }
