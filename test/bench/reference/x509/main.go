// Command x509 is a bench floor for build and release: the least a Go
// program can do to check the certificates of a connection.json. It reads
// the connection.json in its first argument (SOURCE_DIR for build,
// BUILD_OUTPUT_DIR for release), decodes it and parses its certificates
// and key with crypto/x509. It writes nothing and checks no more.
package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
)

func main() {
	data, err := os.ReadFile(os.Args[1] + "/connection.json")
	if err != nil {
		os.Exit(1)
	}
	var conn map[string]any
	if err := json.Unmarshal(data, &conn); err != nil {
		os.Exit(1)
	}
	for _, field := range []string{"root_cert", "client_cert", "client_key"} {
		s, _ := conn[field].(string)
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			continue
		}
		if field == "client_key" {
			_, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		} else {
			_, err = x509.ParseCertificate(block.Bytes)
		}
		if err != nil {
			os.Exit(1)
		}
	}
}
