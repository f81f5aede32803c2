package launch

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"

	"github.com/extbuilder/extbuilder/internal/msg"
)

// Names of the files run writes into RUN_METADATA_DIR, which the peer
// removes after run exits; run removes them itself as soon as the chaincode
// has ended.
const (
	ClientKeyFile        = "client-key.pem"
	ClientCertFile       = "client-cert.pem"
	RootCertFile         = "peer-root-cert.pem"
	ClientKeyBase64File  = "client-key.pem.base64"
	ClientCertBase64File = "client-cert.pem.base64"
)

// TLSFiles holds the absolute paths of the TLS material given to the
// chaincode. The Go shim reads the PEM files (falling back to the base64
// ones), the Node and Java shims read only the base64 ones.
type TLSFiles struct {
	ClientKey        string // PEM, CORE_TLS_CLIENT_KEY_FILE
	ClientCert       string // PEM, CORE_TLS_CLIENT_CERT_FILE
	RootCert         string // PEM, CORE_PEER_TLS_ROOTCERT_FILE
	ClientKeyBase64  string // base64 of the PEM, CORE_TLS_CLIENT_KEY_PATH
	ClientCertBase64 string // base64 of the PEM, CORE_TLS_CLIENT_CERT_PATH
}

// WriteTLSFiles writes c's TLS material into dir with mode 0600 and returns
// where. It returns nil, nil when c has no TLS material (peer TLS off). On
// error, nothing it wrote is left behind.
func WriteTLSFiles(dir string, c *Chaincode) (*TLSFiles, error) {
	if !c.TLS() {
		return nil, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	f := &TLSFiles{
		ClientKey:        filepath.Join(abs, ClientKeyFile),
		ClientCert:       filepath.Join(abs, ClientCertFile),
		RootCert:         filepath.Join(abs, RootCertFile),
		ClientKeyBase64:  filepath.Join(abs, ClientKeyBase64File),
		ClientCertBase64: filepath.Join(abs, ClientCertBase64File),
	}
	// No trailing newline after the base64 text: Java's basic decoder
	// refuses one.
	contents := []struct{ path, data string }{
		{f.ClientKey, c.ClientKey},
		{f.ClientCert, c.ClientCert},
		{f.RootCert, c.RootCert},
		{f.ClientKeyBase64, base64.StdEncoding.EncodeToString([]byte(c.ClientKey))},
		{f.ClientCertBase64, base64.StdEncoding.EncodeToString([]byte(c.ClientCert))},
	}
	for _, file := range contents {
		if err := writeSecret(file.path, file.data); err != nil {
			f.Remove()
			return nil, fmt.Errorf("RUN_METADATA_DIR: cannot write %s: %w", filepath.Base(file.path), msg.Reason(err))
		}
	}
	return f, nil
}

// writeSecret creates path afresh with mode 0600. Whatever was there is
// removed first, and O_EXCL refuses to write through a symbolic link, so the
// secret cannot land outside the folder.
func writeSecret(path, data string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := file.WriteString(data); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// Remove deletes the files, ignoring those already gone. Safe on nil.
func (f *TLSFiles) Remove() {
	if f == nil {
		return
	}
	for _, p := range f.paths() {
		os.Remove(p)
	}
}

// paths lists the files; none when f is nil (peer TLS off).
func (f *TLSFiles) paths() []string {
	if f == nil {
		return nil
	}
	return []string{f.ClientKey, f.ClientCert, f.RootCert, f.ClientKeyBase64, f.ClientCertBase64}
}
