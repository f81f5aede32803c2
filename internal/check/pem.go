package check

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/extbuilder/extbuilder/internal/msg"
)

// PEMUse says what a reader of PEM text uses and what it skips, so that a
// caller can warn about the skipped parts and pass on only the rest.
type PEMUse struct {
	Kept    string   // the blocks the reader uses; the text itself when nothing is skipped
	Skipped []string // what the reader skips, each described for a message
}

// scanPEM splits text as encoding/pem reads it: the blocks it decodes, and
// a description of what lies outside them ("" when only white space).
// pem.Decode skips text before a block and a block it cannot decode, and
// so do the certificate pool and tls.X509KeyPair, which are built on it.
func scanPEM(text string) ([]*pem.Block, string) {
	rest := []byte(text)
	var blocks []*pem.Block
	var stray []byte
	for {
		b, r := pem.Decode(rest)
		if b == nil {
			stray = append(stray, rest...)
			break
		}
		consumed := rest[:len(rest)-len(r)]
		stray = append(stray, consumed[:max(bytes.LastIndex(consumed, []byte("-----BEGIN")), 0)]...)
		blocks = append(blocks, b)
		rest = r
	}
	switch {
	case bytes.Contains(stray, []byte("-----BEGIN")):
		return blocks, "a PEM block that does not decode"
	case len(bytes.TrimSpace(stray)) > 0:
		return blocks, "text outside the PEM blocks"
	}
	return blocks, ""
}

// use builds the PEMUse of text whose kept blocks are kept.
func use(text string, kept []*pem.Block, skipped []string, outside string) PEMUse {
	if outside != "" {
		skipped = append(skipped, outside)
	}
	if len(skipped) == 0 {
		return PEMUse{Kept: text}
	}
	var b strings.Builder
	for _, k := range kept {
		b.Write(pem.EncodeToMemory(k))
	}
	return PEMUse{Kept: b.String(), Skipped: skipped}
}

func blockKind(t string) string {
	if isPrivateKeyType(t) {
		return "a private key"
	}
	return fmt.Sprintf("a %s block", msg.Quote(t))
}

// PoolCertificates reads PEM as the peer's certificate pool does
// (x509.CertPool.AppendCertsFromPEM): it takes each CERTIFICATE block
// without PEM headers that parses, and skips every other block and any text
// outside blocks. With nothing taken the peer fails ("error adding root
// certificate"); the finding says what was skipped and why.
func PoolCertificates(text string) ([]*x509.Certificate, PEMUse, *Finding) {
	blocks, outside := scanPEM(text)
	var certs []*x509.Certificate
	var kept []*pem.Block
	var skipped []string
	onlyKeys := len(blocks) > 0
	for i, b := range blocks {
		onlyKeys = onlyKeys && isPrivateKeyType(b.Type)
		var why string
		switch {
		case b.Type != "CERTIFICATE" && isPrivateKeyType(b.Type):
			why = "a private key, which does not belong here: never share it"
		case b.Type != "CERTIFICATE":
			why = blockKind(b.Type)
		case len(b.Headers) != 0:
			why = "a CERTIFICATE with PEM header lines"
		default:
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				why = "a CERTIFICATE that does not parse: " + msg.Safe(strings.TrimPrefix(err.Error(), "x509: "))
				break
			}
			certs = append(certs, c)
			kept = append(kept, b)
			continue
		}
		skipped = append(skipped, fmt.Sprintf("block %d (%s)", i+1, why))
	}
	switch {
	case len(blocks) == 0:
		return nil, PEMUse{}, finding("paste the PEM text, starting with -----BEGIN CERTIFICATE-----", "expected a PEM certificate, found no PEM block")
	case onlyKeys:
		return nil, PEMUse{}, finding("a private key does not belong here; never share it", "expected PEM CERTIFICATE blocks, found a private key")
	case len(certs) == 0:
		hint := ""
		if strings.Contains(strings.Join(skipped, " "), "header lines") {
			hint = "remove the header lines (such as \"Proc-Type: ...\") between the BEGIN line and the base64 body"
		}
		return nil, PEMUse{}, finding(hint, "expected a CERTIFICATE block the peer's certificate pool takes, found none: it skips %s, and fails with \"error adding root certificate\"",
			strings.Join(skipped, ", "))
	}
	return certs, use(text, kept, skipped, outside), nil
}

// PairCertificates reads the certificate half of a key pair as the peer's
// tls.X509KeyPair does: every CERTIFICATE block, headers or not, in order
// (the first is the leaf), other blocks and text outside blocks skipped.
// Every certificate must parse: the peer parses the leaf, and the chaincode
// server parses the rest during the handshake.
func PairCertificates(text string) ([]*x509.Certificate, PEMUse, *Finding) {
	blocks, outside := scanPEM(text)
	var certs []*x509.Certificate
	var kept []*pem.Block
	var skipped []string
	var other string
	for i, b := range blocks {
		if b.Type != "CERTIFICATE" {
			if other == "" {
				other = b.Type
			}
			why := blockKind(b.Type)
			if isPrivateKeyType(b.Type) {
				why += ", which belongs in client_key"
			}
			skipped = append(skipped, fmt.Sprintf("block %d (%s)", i+1, why))
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, PEMUse{}, finding("", "certificate %d does not parse: %s", len(certs)+1, msg.Safe(strings.TrimPrefix(err.Error(), "x509: ")))
		}
		certs = append(certs, c)
		kept = append(kept, b)
	}
	switch {
	case len(certs) > 0:
		return certs, use(text, kept, skipped, outside), nil
	case other == "":
		return nil, PEMUse{}, finding("paste the PEM text, starting with -----BEGIN CERTIFICATE-----", "expected a PEM certificate, found no PEM block")
	case isPrivateKeyType(other):
		return nil, PEMUse{}, finding("the private key belongs in client_key; this field takes its certificate", "expected PEM CERTIFICATE blocks, found a private key")
	}
	return nil, PEMUse{}, finding("", "expected PEM CERTIFICATE blocks, found only a %s block", msg.Quote(other))
}

// PairKey reads the key half of a key pair as the peer's tls.X509KeyPair
// does: the first block whose type ends in PRIVATE KEY, in PKCS#1, PKCS#8
// or SEC 1 form whatever its label says; blocks before it (openssl's EC
// PARAMETERS), everything after it (a second key included) and text outside
// blocks are skipped. Findings never echo the key, nor name its block.
func PairKey(text string) (crypto.Signer, PEMUse, *Finding) {
	blocks, outside := scanPEM(text)
	var key *pem.Block
	var skipped []string
	other := ""
	for i, b := range blocks {
		switch {
		case key == nil && isPrivateKeyType(b.Type):
			key = b
		case key == nil:
			if other == "" {
				other = b.Type
			}
			skipped = append(skipped, fmt.Sprintf("block %d (%s before the key)", i+1, blockKind(b.Type)))
		case isPrivateKeyType(b.Type):
			skipped = append(skipped, fmt.Sprintf("block %d (a second private key)", i+1))
		default:
			skipped = append(skipped, fmt.Sprintf("block %d (%s after the key)", i+1, blockKind(b.Type)))
		}
	}
	switch {
	case key == nil && other == "CERTIFICATE":
		return nil, PEMUse{}, finding("the certificate belongs in client_cert", "expected a PEM private key, found only a certificate")
	case key == nil && other != "":
		return nil, PEMUse{}, finding("", "expected a PEM private key, found only a %s block", msg.Quote(other))
	case key == nil:
		return nil, PEMUse{}, finding("paste the PEM text of the key, including its -----BEGIN and -----END lines", "expected a PEM private key, found no PEM block")
	}
	if strings.HasPrefix(key.Type, "ENCRYPTED") || strings.Contains(key.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, PEMUse{}, finding("decrypt it (e.g. openssl pkey -in key.pem -out plain.pem): the peer cannot use a password", "expected an unencrypted private key, found an encrypted one")
	}
	signer, ok := parseKey(key.Bytes)
	if !ok {
		return nil, PEMUse{}, finding("", "expected an RSA, ECDSA or Ed25519 private key in PKCS#1, PKCS#8 or SEC 1 form, found one that does not parse")
	}
	return signer, use(text, []*pem.Block{key}, skipped, outside), nil
}

func parseKey(der []byte) (crypto.Signer, bool) {
	var key any
	var err error
	if key, err = x509.ParsePKCS1PrivateKey(der); err != nil {
		if key, err = x509.ParsePKCS8PrivateKey(der); err != nil {
			key, err = x509.ParseECPrivateKey(der)
		}
	}
	signer, ok := key.(crypto.Signer)
	return signer, err == nil && ok
}
