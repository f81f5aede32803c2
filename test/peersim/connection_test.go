package peersim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/extbuilder/extbuilder/internal/testpki"
	"github.com/extbuilder/extbuilder/test/peersim"
)

// TestDecodeConnectionLikeThePeer pins the peer's reading of connection.json
// (spec section 4), which the end-to-end tests rely on.
func TestDecodeConnectionLikeThePeer(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		err        string // substring of the peer's error; "" = accepted
		timeout    time.Duration
		tls, auth  bool
		serverName string
	}{
		{name: "defaults", json: `{"address":"cc:9999"}`, timeout: 3 * time.Second, serverName: "cc"},
		{name: "duration string", json: `{"address":"cc:9999","dial_timeout":"10s"}`, timeout: 10 * time.Second},
		{name: "number is nanoseconds", json: `{"address":"cc:9999","dial_timeout":10}`, timeout: 10 * time.Nanosecond},
		{name: "bool dial_timeout", json: `{"address":"cc:9999","dial_timeout":true}`, err: "malformed chaincode info"},
		{name: "string boolean", json: `{"address":"cc:9999","tls_required":"true"}`, err: "malformed chaincode info"},
		{name: "unknown fields ignored", json: `{"address":"cc:9999","tls_require":true}`, timeout: 3 * time.Second},
		// encoding/json matches names ignoring case and keeps the last of two spellings.
		{name: "names ignore case", json: `{"Address":"cc:9999","Dial_Timeout":"5s","TLS_REQUIRED":true,"Root_Cert":"r"}`,
			timeout: 5 * time.Second, tls: true},
		{name: "last spelling wins", json: `{"address":"cc:9999","tls_required":true,"TLS_Required":false}`, timeout: 3 * time.Second},
		{name: "zero dial_timeout is the default", json: `{"address":"cc:9999","dial_timeout":"0s"}`, timeout: 3 * time.Second},
		{name: "null dial_timeout", json: `{"address":"cc:9999","dial_timeout":null}`, err: "invalid duration"},
		{name: "null is absent", json: `{"address":"cc:9999","tls_required":null,"domain":null,"root_cert":null}`, timeout: 3 * time.Second},
		{name: "no address", json: `{"dial_timeout":"1s"}`, err: "chaincode address not provided"},
		{name: "tls without root", json: `{"address":"cc:9999","tls_required":true}`, err: "root cert not provided"},
		{name: "client auth without key", json: `{"address":"cc:9999","tls_required":true,"client_auth_required":true,"client_cert":"c","root_cert":"r"}`, err: "tls key not provided"},
		{name: "client auth without cert", json: `{"address":"cc:9999","tls_required":true,"client_auth_required":true,"client_key":"k","root_cert":"r"}`, err: "tls cert not provided"},
		{name: "client auth ignored without tls", json: `{"address":"cc:9999","client_auth_required":true}`, timeout: 3 * time.Second},
		{name: "domain needs client auth", json: `{"address":"cc:9999","domain":"d.example","tls_required":true,"root_cert":"r"}`,
			timeout: 3 * time.Second, tls: true, serverName: "cc"},
		{name: "domain with client auth", json: `{"address":"cc:9999","domain":"d.example","tls_required":true,"client_auth_required":true,"client_key":"k","client_cert":"c","root_cert":"r"}`,
			timeout: 3 * time.Second, tls: true, auth: true, serverName: "d.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := peersim.DecodeConnection([]byte(tc.json))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.timeout != 0 && info.DialTimeout != tc.timeout {
				t.Errorf("timeout %s, want %s", info.DialTimeout, tc.timeout)
			}
			if info.TLS != tc.tls || info.ClientAuth != tc.auth {
				t.Errorf("tls=%v auth=%v", info.TLS, info.ClientAuth)
			}
			if tc.serverName != "" && info.ServerName() != tc.serverName {
				t.Errorf("server name %q, want %q", info.ServerName(), tc.serverName)
			}
			if info.ServerNameV2() != "cc" {
				t.Errorf("v2 server name %q, want the address host", info.ServerNameV2())
			}
		})
	}
}

func TestHandshake(t *testing.T) {
	ca, clientCA := testpki.NewCA("server CA"), testpki.NewCA("client CA")
	server := ca.Server("cc.example.com")
	client := clientCA.Client("peer")
	info := &peersim.ServerInfo{Address: "cc.example.com:9999", TLS: true, ClientAuth: true,
		RootCert: []byte(ca.CertPEM), ClientCert: []byte(client.CertPEM), ClientKey: []byte(client.KeyPEM)}
	cfg, err := info.ClientTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	serverCfg := serverConfig(server, clientCA)
	if err := peersim.Handshake(cfg, serverCfg); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	wrongName := cfg.Clone()
	wrongName.ServerName = "other.example.com"
	if peersim.Handshake(wrongName, serverCfg) == nil {
		t.Error("a certificate for another name was accepted")
	}
	untrusted := serverConfig(server, testpki.NewCA("someone else"))
	if peersim.Handshake(cfg, untrusted) == nil {
		t.Error("a server that does not trust the client's CA accepted it")
	}
}
