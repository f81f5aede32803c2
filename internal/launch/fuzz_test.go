package launch

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"strings"
	"testing"
)

// FuzzParseChaincode feeds chaincode.json parsing anything. Invariants: no
// panic; errors are *Error values giving one line that names chaincode.json
// and shows no key material from the input; warnings are single lines too;
// a success has an ID, a host:port peer address and all three PEM fields or
// none, and reads back the same from the file the peer would write for it.
func FuzzParseChaincode(f *testing.F) {
	f.Add(peerJSON(nil))
	f.Add(peerJSON(func(m map[string]any) { m["client_cert"], m["client_key"], m["root_cert"] = "", "", "" }))
	f.Add(peerJSON(func(m map[string]any) { m["root_cert"] = testClient.KeyPEM }))
	f.Add(peerJSON(func(m map[string]any) { m["client_cert"] = testClient.KeyPEM }))
	f.Add(peerJSON(func(m map[string]any) { m["client_key"] = testClient.CertPEM }))
	f.Add(peerJSON(func(m map[string]any) { m["client_key"] = otherPair.KeyPEM }))
	f.Add(peerJSON(func(m map[string]any) { m["client_cert"] = testCA.CertPEM + testClient.CertPEM }))
	f.Add(peerJSON(func(m map[string]any) { m["peer_address"] = testClient.KeyPEM }))
	f.Add(peerJSON(func(m map[string]any) { m["mspid"] = testClient.KeyPEM }))
	f.Add(peerJSON(func(m map[string]any) { m[testClient.KeyPEM] = "x" }))
	f.Add(peerJSON(func(m map[string]any) { m["chaincode_id"] = "a\x00b" }))
	f.Add(peerJSON(func(m map[string]any) { m["peer_address"] = "[::1]:7052" }))
	f.Add(peerJSON(func(m map[string]any) {
		m["client_key"] = strings.Replace(testClient.KeyPEM, "PRIVATE KEY", "EC PRIVATE KEY", 2)
	}))
	for _, s := range []string{
		``, `null`, `[]`, `"x"`, `{`, `{}`, `{"chaincode_id":7}`, `{"chaincode_id":null,"peer_address":"p:1"}`,
		`{"chaincode_id":"a:1","peer_address":"p:1"}`, `{"chaincode_id":"a:1","peer_address":"p:1"} {}`,
		`{"chaincode_id":"a:1","peer_address":"p:99999"}`, `{"chaincode_id":"a:1","peer_address":":1"}`,
		`{"chaincode_id":"a:1","chaincode_id":"b:2","peer_address":"p:1"}`,
		"{\"chaincode_id\":\"a\xff:1\",\"peer_address\":\"p:1\"}", "\uFEFF{}",
		`{"chaincode_id":"a:1","peer_address":"p:1","mspid":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`,
		`{"chaincode_id":"a:1","peer_address":"p:1","client_cert":"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"}`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		c, warnings, err := ParseChaincode(data)
		secrets := inputKeyPieces(data)
		for _, w := range warnings {
			checkFuzzMessage(t, w, secrets)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			if c != nil {
				t.Fatal("Chaincode returned with an error")
			}
			checkFuzzMessage(t, err.Error(), secrets)
			if !strings.HasPrefix(err.Error(), ChaincodeFile) && !strings.HasPrefix(err.Error(), "chaincode") {
				t.Fatalf("message does not name %s: %q", ChaincodeFile, err)
			}
			return
		}
		if c.ID == "" || strings.ContainsAny(c.ID, "\x00\n") {
			t.Fatalf("accepted chaincode_id %q", c.ID)
		}
		if host, port, err := net.SplitHostPort(c.PeerAddress); err != nil || host == "" || port == "" {
			t.Fatalf("accepted peer_address %q", c.PeerAddress)
		}
		if n := count(c.ClientCert != "", c.ClientKey != "", c.RootCert != ""); n != 0 && n != 3 {
			t.Fatalf("accepted %d of the 3 PEM fields", n)
		}
		again, _, err := ParseChaincode(peerFile(c))
		if err != nil {
			t.Fatalf("refuses the file a peer would write for what it accepted: %v", err)
		}
		if *again != *c {
			t.Fatalf("reads other values back:\nfirst:  %#v\nsecond: %#v", c, again)
		}
	})
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// peerFile is chaincode.json as the peer writes it for c.
func peerFile(c *Chaincode) []byte {
	data, err := json.Marshal(map[string]string{
		"chaincode_id": c.ID, "peer_address": c.PeerAddress, "client_cert": c.ClientCert,
		"client_key": c.ClientKey, "root_cert": c.RootCert, "mspid": c.MSPID,
	})
	if err != nil {
		panic(err)
	}
	return data
}

// inputKeyPieces returns 24-character pieces of the base64 bodies of the
// private keys held in the input's strings, past their first 48 characters
// (the same for every P-256 PKCS#8 key), leaving out pieces that also occur
// in a string of the input outside a key: a message may quote those.
func inputKeyPieces(data []byte) []string {
	var doc map[string]any
	if json.Unmarshal(data, &doc) != nil {
		return nil
	}
	var texts []string
	for k, v := range doc {
		texts = append(texts, k)
		if s, ok := v.(string); ok {
			texts = append(texts, s)
		}
	}
	var pieces []string
	for i, text := range texts {
		for _, body := range keyBodies(text) {
			for j := 48; j+24 <= len(body); j += 8 {
				piece := body[j : j+24]
				quoted := false
				for k, other := range texts {
					if k != i && strings.Contains(other, piece) && len(keyBodies(other)) == 0 {
						quoted = true
					}
				}
				if !quoted {
					pieces = append(pieces, piece)
				}
			}
		}
	}
	return pieces
}

func keyBodies(text string) []string {
	var bodies []string
	rest := []byte(text)
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return bodies
		}
		if strings.Contains(block.Type, "PRIVATE KEY") {
			bodies = append(bodies, base64.StdEncoding.EncodeToString(block.Bytes))
		}
	}
}

func checkFuzzMessage(t *testing.T, msg string, secrets []string) {
	t.Helper()
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("message is not one line: %q", msg)
	}
	if strings.Contains(msg, "PRIVATE KEY-----") {
		t.Fatalf("message shows a private key PEM header: %.300q", msg)
	}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Fatalf("message shows key material: %.300q", msg)
		}
	}
}
