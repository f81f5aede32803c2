package launch

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/testpki"
)

var (
	testCA     = testpki.NewCA("peer chaincode CA")
	testClient = testCA.Client("chaincode")
	otherCA    = testpki.NewCA("another CA")
	otherPair  = otherCA.Client("other")
)

func peerJSON(edit func(m map[string]any)) []byte {
	m := map[string]any{
		"chaincode_id": "mycc_1:0123abcd",
		"peer_address": "peer0.org1.example.com:7052",
		"client_cert":  testClient.CertPEM,
		"client_key":   testClient.KeyPEM,
		"root_cert":    testCA.CertPEM,
		"mspid":        "Org1MSP",
	}
	if edit != nil {
		edit(m)
	}
	data, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return data
}

func TestParseChaincode(t *testing.T) {
	c, warnings, err := ParseChaincode(peerJSON(nil))
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, &Chaincode{
		ID: "mycc_1:0123abcd", PeerAddress: "peer0.org1.example.com:7052",
		ClientCert: testClient.CertPEM, ClientKey: testClient.KeyPEM, RootCert: testCA.CertPEM, MSPID: "Org1MSP",
	}, c)
	assert.True(t, c.TLS())
}

func TestParseChaincodeWithoutTLS(t *testing.T) {
	// With peer TLS off the peer writes the three PEM fields as empty strings.
	c, _, err := ParseChaincode(peerJSON(func(m map[string]any) {
		m["client_cert"], m["client_key"], m["root_cert"] = "", "", ""
	}))
	require.NoError(t, err)
	assert.False(t, c.TLS())
	// ... and a minimal file is enough.
	c, _, err = ParseChaincode([]byte(`{"chaincode_id":"a:b","peer_address":"[::1]:7052"}`))
	require.NoError(t, err)
	assert.False(t, c.TLS())
	assert.Equal(t, "[::1]:7052", c.PeerAddress)
}

func TestParseChaincodeAcceptsOtherKeyForms(t *testing.T) {
	// Chains in client_cert and several CAs in root_cert.
	c, _, err := ParseChaincode(peerJSON(func(m map[string]any) {
		m["client_cert"] = testClient.CertPEM + testCA.CertPEM
		m["root_cert"] = testCA.CertPEM + "\n" + otherCA.CertPEM + "\n\n"
	}))
	require.NoError(t, err)
	assert.True(t, c.TLS())
}

func TestParseChaincodeWarnsAboutUnknownFields(t *testing.T) {
	_, warnings, err := ParseChaincode(peerJSON(func(m map[string]any) { m["zz_new"] = 1; m["chaincode_version"] = "2" }))
	require.NoError(t, err)
	assert.Equal(t, []string{
		`chaincode.json: field "chaincode_version" is not known to this version of run and is ignored (known: chaincode_id, peer_address, client_cert, client_key, root_cert, mspid)`,
		`chaincode.json: field "zz_new" is not known to this version of run and is ignored (known: chaincode_id, peer_address, client_cert, client_key, root_cert, mspid)`,
	}, warnings)
}

func TestParseChaincodeErrors(t *testing.T) {
	set := func(k string, v any) []byte { return peerJSON(func(m map[string]any) { m[k] = v }) }
	del := func(k string) []byte { return peerJSON(func(m map[string]any) { delete(m, k) }) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "chaincode.json: malformed JSON at byte 0: unexpected end of JSON input"},
		{"truncated", []byte(`{"chaincode_id": "x"`), "chaincode.json: malformed JSON at byte 20: unexpected end of JSON input"},
		{"null", []byte(`null`), "chaincode.json: expected a JSON object, found null"},
		{"string", []byte(`"x"`), "chaincode.json: expected a JSON object, found a JSON string"},
		{"invalid UTF-8", []byte("{\"chaincode_id\":\"corpus\xff:01\",\"peer_address\":\"peer0:7052\"}"),
			"chaincode.json: expected UTF-8 JSON, found invalid UTF-8 at byte 23"},
		{"missing id", del("chaincode_id"), "chaincode.json: chaincode_id: required, but missing"},
		{"empty id", set("chaincode_id", ""), "chaincode.json: chaincode_id: required, but empty"},
		{"id with newline", set("chaincode_id", "a\nb"), "chaincode.json: chaincode_id: expected a package ID (label:hash), found a value with a control character"},
		{"id number", set("chaincode_id", 1), "chaincode.json: chaincode_id: expected a JSON string, found a number"},
		{"mspid null", set("mspid", nil), "chaincode.json: mspid: expected a JSON string, found null"},
		{"cert object", set("client_cert", map[string]any{}), "chaincode.json: client_cert: expected a JSON string, found an object"},
		{"missing address", del("peer_address"), "chaincode.json: peer_address: required, but missing"},
		{"no port", set("peer_address", "peer0"), `chaincode.json: peer_address: expected host:port, found "peer0"`},
		{"no host", set("peer_address", ":7052"), `chaincode.json: peer_address: expected a host before the port, found ":7052"`},
		{"bad port", set("peer_address", "peer0:http"), `chaincode.json: peer_address: expected a port from 1 to 65535, found "http"`},
		{"port 0", set("peer_address", "peer0:0"), `expected a port from 1 to 65535, found "0"`},
		{"URL", set("peer_address", "grpcs://peer0:7052"), `chaincode.json: peer_address: expected host:port, found a URL "grpcs://peer0:7052"`},
		{"only key", peerJSON(func(m map[string]any) { m["client_cert"], m["root_cert"] = "", "" }),
			"chaincode.json: client_cert: empty while client_key is set; expected all of client_cert, client_key and root_cert (peer TLS on) or none (peer TLS off)"},
		{"no root", set("root_cert", ""), "chaincode.json: root_cert: empty while client_cert and client_key are set"},
		{"cert garbage", set("client_cert", "hello"), "chaincode.json: client_cert: expected a PEM certificate, found no PEM block"},
		{"cert trailing text", set("client_cert", testClient.CertPEM+"trailing"), "chaincode.json: client_cert: expected only PEM blocks, found other text after certificate 1"},
		{"cert not x509", set("root_cert", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "chaincode.json: root_cert: certificate 1 does not parse: "},
		{"root is a key", set("root_cert", testCA.CertPEM+testClient.KeyPEM), `chaincode.json: root_cert: expected PEM CERTIFICATE blocks, found a private key`},
		{"key is a cert", set("client_key", testClient.CertPEM), `chaincode.json: client_key: expected a PEM private key, found only a certificate`},
		{"key garbage", set("client_key", "secret"), "chaincode.json: client_key: expected a PEM private key, found no PEM block"},
		{"two keys", set("client_key", testClient.KeyPEM+otherPair.KeyPEM), "chaincode.json: client_key: expected one PEM private key, found more than one"},
		{"key mismatch", set("client_key", otherPair.KeyPEM), "chaincode.json: client_key: does not match the public key of client_cert (the first certificate)"},
		{"key broken", set("client_key", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"), `chaincode.json: client_key: expected an RSA, ECDSA or Ed25519 private key in PKCS#1, PKCS#8 or SEC 1 form, found one that does not parse`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ParseChaincode(c.data)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "\n")
			for _, secret := range []string{testClient.KeyPEM, otherPair.KeyPEM} {
				assert.NotContains(t, err.Error(), strings.Split(secret, "\n")[1], "key material in the error")
			}
		})
	}
}

func TestReadChaincode(t *testing.T) {
	dir := t.TempDir()
	_, _, err := ReadChaincode(dir)
	require.Error(t, err)
	assert.Equal(t, "chaincode.json: file not found; hint: run is called by the peer as: run BUILD_OUTPUT_DIR RUN_METADATA_DIR", err.Error())

	require.NoError(t, os.Mkdir(filepath.Join(dir, ChaincodeFile), 0o700))
	_, _, err = ReadChaincode(dir)
	assert.EqualError(t, err, "chaincode.json: expected a regular file, found a folder")

	dir = t.TempDir()
	big := append(append([]byte(`{"chaincode_id":"`), make([]byte, MaxChaincodeFileSize)...), `"}`...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ChaincodeFile), big, 0o600))
	_, _, err = ReadChaincode(dir)
	assert.EqualError(t, err, "chaincode.json: expected at most 1 MiB, found more")

	require.NoError(t, os.WriteFile(filepath.Join(dir, ChaincodeFile), peerJSON(nil), 0o600))
	c, _, err := ReadChaincode(dir)
	require.NoError(t, err)
	assert.Equal(t, "mycc_1:0123abcd", c.ID)
}
