package peersim_test

import (
	"crypto/tls"
	"crypto/x509"

	"github.com/extbuilder/extbuilder/internal/testpki"
)

func serverConfig(pair *testpki.Pair, clientCA *testpki.CA) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(clientCA.Cert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{pair.Cert.Raw}, PrivateKey: pair.Key}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
}
