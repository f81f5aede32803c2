package check

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/testpki"
)

// pemInputs are PEM texts as operators paste them, and as they break them.
func pemInputs() (client *testpki.Pair, inputs []string) {
	authority := testpki.NewCA("pem-test-ca")
	other := testpki.NewCA("pem-other-ca")
	client = authority.Client("pem-client")
	headers := func(s string) string {
		first, rest, _ := strings.Cut(s, "\n")
		return first + "\nProc-Type: 4,ENCRYPTED\n\n" + rest
	}
	caPEM, otherPEM := authority.CertPEM, other.CertPEM
	return client, []string{
		"", "junk", caPEM, caPEM + otherPEM, headers(caPEM), caPEM + headers(otherPEM),
		"text before\n" + caPEM + "text after\n", caPEM + otherPEM[:90], otherPEM[:90],
		client.KeyPEM, caPEM + client.KeyPEM, client.KeyPEM + caPEM,
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" + caPEM,
		"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", strings.ReplaceAll(caPEM, "\n", "\r\n"),
		client.CertPEM + client.KeyPEM, client.KeyPEM + client.KeyPEM, client.CertPEM + caPEM,
	}
}

// PoolCertificates finds a certificate exactly when the peer's pool
// (x509.CertPool.AppendCertsFromPEM) does, and what it keeps gives the
// peer the same pool.
func TestPoolCertificatesAsThePeersPool(t *testing.T) {
	_, inputs := pemInputs()
	for _, in := range inputs {
		pool := x509.NewCertPool()
		peerOK := pool.AppendCertsFromPEM([]byte(in))
		certs, use, f := PoolCertificates(in)
		require.Equal(t, peerOK, f == nil, "%q: peer %v, finding %v", in, peerOK, f)
		if !peerOK {
			continue
		}
		kept := x509.NewCertPool()
		require.True(t, kept.AppendCertsFromPEM([]byte(use.Kept)), "%q", in)
		assert.True(t, pool.Equal(kept), "%q", in)
		assert.NotEmpty(t, certs, "%q", in)
		assert.Equal(t, use.Kept == in, len(use.Skipped) == 0, "%q", in)
	}
}

// PairCertificates and PairKey accept a pair exactly when the peer's
// tls.X509KeyPair does (the pairs here all match), and what they keep gives
// the peer the same certificate chain and key.
func TestPairAsThePeersKeyPair(t *testing.T) {
	client, inputs := pemInputs()
	for _, certIn := range inputs {
		for _, keyIn := range []string{client.KeyPEM, client.KeyPEM + "trailing\n", client.KeyPEM + client.KeyPEM, "junk", client.CertPEM + client.KeyPEM} {
			peer, peerErr := tls.X509KeyPair([]byte(certIn), []byte(keyIn))
			certs, certUse, f1 := PairCertificates(certIn)
			key, keyUse, f2 := PairKey(keyIn)
			ok := f1 == nil && f2 == nil && KeyMatches(key, certs[0])
			if !ok || peerErr != nil {
				// (extbuilder is stricter only for a chain certificate after
				// the leaf that does not parse, which the chaincode server
				// would refuse in the handshake; no input here has one.)
				require.Equal(t, peerErr == nil, ok, "%q / %q: peer %v, ours %v %v", certIn, keyIn, peerErr, f1, f2)
				continue
			}
			released, err := tls.X509KeyPair([]byte(certUse.Kept), []byte(keyUse.Kept))
			require.NoError(t, err)
			assert.Equal(t, peer.Certificate, released.Certificate)
			assert.Equal(t, peer.PrivateKey, released.PrivateKey)
		}
	}
}
