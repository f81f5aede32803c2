// Package testpki makes throwaway certificate authorities and key pairs for
// tests, so no key material is ever committed.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"
)

// CA is a self-signed certificate authority.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM string
}

// Pair is a certificate and its private key, parsed and as PEM.
type Pair struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM string
	KeyPEM  string // PKCS#8
}

// NewCA returns a CA valid from an hour ago for ten years.
func NewCA(name string) *CA {
	key := newKey()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(err)
	cert, err := x509.ParseCertificate(der)
	must(err)
	return &CA{Cert: cert, Key: key, CertPEM: encode("CERTIFICATE", der)}
}

// Server issues a TLS server certificate for the given host names or IPs.
func (ca *CA) Server(hosts ...string) *Pair {
	return ca.issue(hosts[0], hosts, x509.ExtKeyUsageServerAuth, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
}

// Client issues a TLS client certificate valid from an hour ago for a year.
func (ca *CA) Client(name string) *Pair {
	return ca.ClientValid(name, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
}

// ClientValid issues a client certificate with the given validity window,
// for expired and not-yet-valid cases.
func (ca *CA) ClientValid(name string, notBefore, notAfter time.Time) *Pair {
	return ca.issue(name, nil, x509.ExtKeyUsageClientAuth, notBefore, notAfter)
}

func (ca *CA) issue(cn string, hosts []string, usage x509.ExtKeyUsage, notBefore, notAfter time.Time) *Pair {
	key := newKey()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	must(err)
	cert, err := x509.ParseCertificate(der)
	must(err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(err)
	return &Pair{Cert: cert, Key: key, CertPEM: encode("CERTIFICATE", der), KeyPEM: encode("PRIVATE KEY", keyDER)}
}

func newKey() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	return key
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	must(err)
	return n
}

func encode(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// must panics: test fixtures cannot fail for any reason but a broken machine.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

// ServerTLS is a TLS server configuration presenting p. With clientCA set it
// also requires a client certificate issued by clientCA (mutual TLS).
func (p *Pair) ServerTLS(clientCA *CA) *tls.Config {
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{p.Cert.Raw}, PrivateKey: p.Key, Leaf: p.Cert}},
		MinVersion:   tls.VersionTLS12,
	}
	if clientCA != nil {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = x509.NewCertPool()
		cfg.ClientCAs.AddCert(clientCA.Cert)
	}
	return cfg
}
