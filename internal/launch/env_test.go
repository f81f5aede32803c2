package launch

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEnviron(t *testing.T) {
	inherited := []string{
		"PATH=/usr/bin",
		"CHAINCODE_SERVER_ADDRESS=0.0.0.0:9999",
		"CHAINCODE_ID=leaked",
		"CORE_PEER_ADDRESS=stale:1",
		"CORE_TLS_CLIENT_KEY_FILE=/etc/stale.key",
		"CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG={}",
		"EMPTY=",
	}
	c := &Chaincode{ID: "cc:1", PeerAddress: "peer0:7052", MSPID: "Org1MSP"}

	t.Run("TLS", func(t *testing.T) {
		files := &TLSFiles{ClientKey: "/m/k", ClientCert: "/m/c", RootCert: "/m/r", ClientKeyBase64: "/m/k64", ClientCertBase64: "/m/c64"}
		assert.Equal(t, []string{
			"PATH=/usr/bin",
			"CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG={}",
			"EMPTY=",
			"CORE_CHAINCODE_ID_NAME=cc:1",
			"CORE_PEER_ADDRESS=peer0:7052",
			"CORE_PEER_TLS_ENABLED=true",
			"CORE_PEER_TLS_ROOTCERT_FILE=/m/r",
			"CORE_TLS_CLIENT_KEY_FILE=/m/k",
			"CORE_TLS_CLIENT_CERT_FILE=/m/c",
			"CORE_TLS_CLIENT_KEY_PATH=/m/k64",
			"CORE_TLS_CLIENT_CERT_PATH=/m/c64",
			"CORE_PEER_LOCALMSPID=Org1MSP",
		}, Environ(inherited, c, files))
	})
	t.Run("no TLS", func(t *testing.T) {
		assert.Equal(t, []string{
			"PATH=/usr/bin",
			"CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG={}",
			"EMPTY=",
			"CORE_CHAINCODE_ID_NAME=cc:1",
			"CORE_PEER_ADDRESS=peer0:7052",
			"CORE_PEER_TLS_ENABLED=false",
			"CORE_PEER_LOCALMSPID=Org1MSP",
		}, Environ(inherited, c, nil))
	})
	assert.Equal(t, "-peer.address=peer0:7052", PeerAddressFlag(c))
}
