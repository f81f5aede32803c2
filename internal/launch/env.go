package launch

import (
	"strconv"
	"strings"
)

// Variables run sets for the chaincode. An inherited value of any of them
// is dropped, so nothing from the peer's environment can point the
// chaincode at other files or another peer.
var chaincodeVariables = []string{
	"CORE_CHAINCODE_ID_NAME",
	"CORE_PEER_ADDRESS",
	"CORE_PEER_TLS_ENABLED",
	"CORE_PEER_TLS_ROOTCERT_FILE",
	"CORE_TLS_CLIENT_KEY_FILE",
	"CORE_TLS_CLIENT_CERT_FILE",
	"CORE_TLS_CLIENT_KEY_PATH",
	"CORE_TLS_CLIENT_CERT_PATH",
	"CORE_PEER_LOCALMSPID",
}

// withheldVariables are never passed on: they belong to chaincode as a
// service, and CHAINCODE_SERVER_ADDRESS switches the Java shim to server
// mode, where it would wait for a peer that never dials it.
var withheldVariables = []string{"CHAINCODE_SERVER_ADDRESS", "CHAINCODE_ID"}

// PeerAddressFlag is the argument that gives the Go shim the peer's address
// (it reads no variable for it).
func PeerAddressFlag(c *Chaincode) string { return "-peer.address=" + c.PeerAddress }

// Environ returns the chaincode's environment: inherited (run's own, which
// the peer has already pruned) without the variables run sets or withholds,
// followed by the variables the shims read. files is nil when TLS is off;
// the file variables are then left unset.
func Environ(inherited []string, c *Chaincode, files *TLSFiles) []string {
	env := make([]string, 0, len(inherited)+len(chaincodeVariables))
	for _, kv := range inherited {
		name, _, _ := strings.Cut(kv, "=")
		if contains(chaincodeVariables, name) || contains(withheldVariables, name) {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"CORE_CHAINCODE_ID_NAME="+c.ID,
		"CORE_PEER_ADDRESS="+c.PeerAddress,
		"CORE_PEER_TLS_ENABLED="+strconv.FormatBool(files != nil),
	)
	if files != nil {
		env = append(env,
			"CORE_PEER_TLS_ROOTCERT_FILE="+files.RootCert,
			"CORE_TLS_CLIENT_KEY_FILE="+files.ClientKey,
			"CORE_TLS_CLIENT_CERT_FILE="+files.ClientCert,
			"CORE_TLS_CLIENT_KEY_PATH="+files.ClientKeyBase64,
			"CORE_TLS_CLIENT_CERT_PATH="+files.ClientCertBase64,
		)
	}
	return append(env, "CORE_PEER_LOCALMSPID="+c.MSPID)
}
