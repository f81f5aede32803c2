package peersim

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// handshakeGuard only keeps a broken handshake from hanging a test forever;
// it is not a measurement.
const handshakeGuard = time.Minute

// Handshake runs one TLS handshake between a server using server and a
// client using client, over a listener on 127.0.0.1 (the client's
// ServerName, not the TCP address, decides what is verified, so the
// connection.json address never has to resolve). It returns nil only when
// both sides accept each other.
func Handshake(client, server *tls.Config) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()

	serverErr := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(handshakeGuard))
		tc := tls.Server(conn, server)
		err = tc.Handshake()
		if err == nil {
			// With TLS 1.3 the client finishes before the server has checked
			// its certificate: this write carries the server's verdict back.
			_, err = tc.Write([]byte{1})
		}
		serverErr <- err
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(handshakeGuard))
	tc := tls.Client(conn, client)
	clientErr := tc.Handshake()
	if clientErr == nil {
		_, clientErr = io.ReadFull(tc, make([]byte, 1))
	}
	conn.Close()
	sErr := <-serverErr
	switch {
	case clientErr == nil && sErr == nil:
		return nil
	case sErr == nil:
		return fmt.Errorf("client: %w", clientErr)
	case clientErr == nil:
		return fmt.Errorf("server: %w", sErr)
	default:
		return errors.Join(fmt.Errorf("client: %w", clientErr), fmt.Errorf("server: %w", sErr))
	}
}
