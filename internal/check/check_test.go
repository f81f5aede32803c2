package check

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/testpki"
)

func TestAddress(t *testing.T) {
	for _, ok := range []string{"cc:9999", "peer0.org1.example.com:7052", "[::1]:7052", "127.0.0.1:1", "h:65535"} {
		assert.Nil(t, Address(ok), ok)
	}
	for addr, want := range map[string]string{
		"":            "expected host:port, found an empty string",
		"cc":          `expected host:port, found "cc"`,
		":9999":       `expected a host before the port, found ":9999"`,
		"grpc://cc:1": `expected host:port, found a URL "grpc://cc:1"`,
		"c c:1":       `expected a host name or IP address, found "c c"`,
		"cc:0":        `expected a port from 1 to 65535, found "0"`,
		"cc:65536":    `expected a port from 1 to 65535, found "65536"`,
		"cc:+80":      `expected a port from 1 to 65535, found "+80"`,
		"cc:http":     `expected a port from 1 to 65535, found "http"`,
		"cc\x00x:1":   `expected a host name or IP address, found "cc\x00x"`,
	} {
		f := Address(addr)
		require.NotNil(t, f, addr)
		assert.Equal(t, want, f.Problem, addr)
		assert.NotEmpty(t, f.Hint, addr)
	}
}

func TestPEM(t *testing.T) {
	ca := testpki.NewCA("ca")
	client := ca.Client("client")
	other := ca.Client("other")

	certs, f := Certificates(ca.CertPEM + client.CertPEM)
	require.Nil(t, f)
	assert.Len(t, certs, 2)

	key, f := PrivateKey(client.KeyPEM)
	require.Nil(t, f)
	assert.True(t, KeyMatches(key, client.Cert))
	assert.False(t, KeyMatches(key, other.Cert))

	_, f = Certificates(client.KeyPEM)
	require.NotNil(t, f)
	assert.Equal(t, "expected PEM CERTIFICATE blocks, found a private key", f.Problem)
	_, f = PrivateKey(client.CertPEM)
	require.NotNil(t, f)
	assert.Equal(t, "expected a PEM private key, found only a certificate", f.Problem)
	_, f = PrivateKey(client.KeyPEM + other.KeyPEM)
	require.NotNil(t, f)
	assert.Equal(t, "expected one PEM private key, found more than one", f.Problem)
}
