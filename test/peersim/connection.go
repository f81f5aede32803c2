package peersim

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// ConnectionPath is where the peer looks for a chaincode server's connection
// information, relative to the release folder.
const ConnectionPath = "chaincode/server/connection.json"

// DefaultDialTimeout is the peer's dial timeout when connection.json gives none.
const DefaultDialTimeout = 3 * time.Second

// ServerInfo is what the peer makes of a released connection.json: where
// and how it dials the chaincode server.
type ServerInfo struct {
	Address     string
	DialTimeout time.Duration
	TLS         bool
	ClientAuth  bool
	Domain      string // read by v3.0 and later; used only with ClientAuth
	RootCert    []byte // PEM
	ClientCert  []byte // PEM
	ClientKey   []byte // PEM
}

// peerDuration reads dial_timeout like the peer: a string is a Go duration,
// a number is nanoseconds, anything else is an error.
type peerDuration time.Duration

func (d *peerDuration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case float64:
		*d = peerDuration(time.Duration(v))
	case string:
		p, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		*d = peerDuration(p)
	default:
		return errors.New("invalid duration")
	}
	return nil
}

// peerConnection holds the fields the peer knows. Go's decoder into bool
// fields rejects the strings "true" and "false", as the peer does; unknown
// fields are ignored, as the peer does.
type peerConnection struct {
	Address            string       `json:"address"`
	DialTimeout        peerDuration `json:"dial_timeout"`
	TLSRequired        bool         `json:"tls_required"`
	ClientAuthRequired bool         `json:"client_auth_required"`
	ClientKey          string       `json:"client_key"`
	ClientCert         string       `json:"client_cert"`
	RootCert           string       `json:"root_cert"`
	Domain             string       `json:"domain"`
}

// ReadConnection reads releaseDir/chaincode/server/connection.json as the
// peer does at launch. It returns nil and no error when the file is absent:
// the peer then calls bin/run instead of dialling.
func ReadConnection(releaseDir string) (*ServerInfo, error) {
	data, err := os.ReadFile(filepath.Join(releaseDir, filepath.FromSlash(ConnectionPath)))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return DecodeConnection(data)
}

// DecodeConnection applies the peer's decoding and checks to connection.json.
// The errors carry the peer's wording where an operator would search for it.
func DecodeConnection(data []byte) (*ServerInfo, error) {
	var c peerConnection
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("malformed chaincode info: %w", err)
	}
	if c.Address == "" {
		return nil, errors.New("chaincode address not provided")
	}
	info := &ServerInfo{Address: c.Address, DialTimeout: time.Duration(c.DialTimeout), Domain: c.Domain}
	if info.DialTimeout == 0 {
		info.DialTimeout = DefaultDialTimeout
	}
	if !c.TLSRequired {
		return info, nil
	}
	if c.ClientAuthRequired && c.ClientKey == "" {
		return nil, errors.New("chaincode tls key not provided")
	}
	if c.ClientAuthRequired && c.ClientCert == "" {
		return nil, errors.New("chaincode tls cert not provided")
	}
	if c.RootCert == "" {
		return nil, errors.New("chaincode tls root cert not provided")
	}
	info.TLS = true
	info.RootCert = []byte(c.RootCert)
	if c.ClientAuthRequired {
		info.ClientAuth = true
		info.ClientCert, info.ClientKey = []byte(c.ClientCert), []byte(c.ClientKey)
	}
	return info, nil
}

// Host is the host part of Address, as gRPC takes it for the TLS server
// name: the endpoint of a dns:/// or passthrough:/// target (grpc.DialContext
// dials any other address through passthrough:///), without its port.
func (s *ServerInfo) Host() string {
	authority := s.Address
	if u, err := url.Parse(s.Address); err == nil && (u.Scheme == "dns" || u.Scheme == "passthrough") {
		authority = strings.TrimPrefix(u.Path, "/")
	}
	host, _, err := net.SplitHostPort(authority)
	if err != nil {
		return authority
	}
	return host
}

// ServerName is the TLS name a v3.0+ peer verifies: Domain when client
// authentication is on and Domain is set, else the address host.
func (s *ServerInfo) ServerName() string {
	if s.ClientAuth && s.Domain != "" {
		return s.Domain
	}
	return s.Host()
}

// ServerNameV2 is the TLS name a v2.4 or v2.5 peer verifies: always the
// address host, since those versions ignore domain.
func (s *ServerInfo) ServerNameV2() string { return s.Host() }

// ClientTLSConfig is the TLS client configuration a v3.0+ peer dials with,
// built only from connection.json. It is nil without TLS.
func (s *ServerInfo) ClientTLSConfig() (*tls.Config, error) {
	if !s.TLS {
		return nil, nil
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.RootCert) {
		return nil, errors.New("root_cert: no certificate could be added to the peer's pool")
	}
	cfg := &tls.Config{RootCAs: roots, ServerName: s.ServerName(), MinVersion: tls.VersionTLS12}
	if s.ClientAuth {
		pair, err := tls.X509KeyPair(s.ClientCert, s.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("client_cert and client_key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// CouchDBIndexes lists the files the peer deploys to CouchDB from a release
// folder, by collection ("" for the chaincode's own indexes), each named by
// its path below its indexes/ folder. It follows the peer: the release
// folder is archived under META-INF/ (externalbuilder.MetadataProvider),
// files whose names start with META-INF/statedb/couchdb are grouped by
// folder (ccprovider.ExtractFileEntries), and a folder is deployed when its
// fourth part is "indexes", or its fourth "collections" and its sixth
// "indexes" (getIndexInfo in core/ledger/kvledger/txmgmt/privacyenabledstate).
// Subfolders count, and file names do not matter.
func CouchDBIndexes(releaseDir string) (map[string]map[string][]byte, error) {
	out := map[string]map[string][]byte{}
	err := filepath.Walk(releaseDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, err := filepath.Rel(releaseDir, p)
		if err != nil {
			return err
		}
		name := path.Join("META-INF", filepath.ToSlash(rel))
		if !strings.HasPrefix(name, "META-INF/statedb/couchdb") {
			return nil
		}
		parts := strings.Split(path.Dir(name), "/")
		var coll string
		var below []string
		switch {
		case len(parts) > 3 && parts[3] == "indexes":
			below = parts[4:]
		case len(parts) > 5 && parts[3] == "collections" && parts[5] == "indexes":
			coll, below = parts[4], parts[6:]
		default:
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if out[coll] == nil {
			out[coll] = map[string][]byte{}
		}
		out[coll][path.Join(append(below, path.Base(name))...)] = data
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
