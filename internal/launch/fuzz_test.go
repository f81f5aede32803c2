package launch

import (
	"bytes"
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
//
// Inputs name the test's certificates and keys by token (see pemTokens)
// rather than carrying their PEM text.
func FuzzParseChaincode(f *testing.F) {
	f.Add(tokenJSON(nil))
	f.Add(tokenJSON(func(m map[string]any) { m["client_cert"], m["client_key"], m["root_cert"] = "", "", "" }))
	f.Add(tokenJSON(func(m map[string]any) { m["root_cert"] = "@key@" }))
	f.Add(tokenJSON(func(m map[string]any) { m["client_cert"] = "@key@" }))
	f.Add(tokenJSON(func(m map[string]any) { m["client_key"] = "@cert@" }))
	f.Add(tokenJSON(func(m map[string]any) { m["client_key"] = "@otherkey@" }))
	f.Add(tokenJSON(func(m map[string]any) { m["client_cert"] = "@ca@@cert@" }))
	f.Add(tokenJSON(func(m map[string]any) { m["peer_address"] = "@key@" }))
	f.Add(tokenJSON(func(m map[string]any) { m["mspid"] = "@key@" }))
	f.Add(tokenJSON(func(m map[string]any) { m["@key@"] = "x" }))
	f.Add(tokenJSON(func(m map[string]any) { m["chaincode_id"] = "a\x00b" }))
	f.Add(tokenJSON(func(m map[string]any) { m["peer_address"] = "[::1]:7052" }))
	f.Add(tokenJSON(func(m map[string]any) { m["client_key"] = "@eckey@" }))
	// One input with the PEM text itself, so the mutator also reaches into
	// a real certificate and key.
	f.Add(peerJSON(nil))
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
		data = expandTokens(data)
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

// pemTokens stand for the test's PEM texts in fuzz inputs. Carrying the PEM
// itself made each input about 2 KB of base64, and a mutation anywhere in
// it reaches new branches of the ASN.1 and big-number code: the fuzzer
// found "new coverage" constantly and spent nearly all its time minimizing
// those 2 KB inputs (about 10 execs/s). With tokens, inputs are about 200
// bytes, the crypto paths still run on real keys and certificates, and the
// mutations go to the JSON and the fields ParseChaincode itself handles.
var pemTokens = []struct{ token, pem string }{
	{"@cert@", testClient.CertPEM},
	{"@key@", testClient.KeyPEM},
	{"@ca@", testCA.CertPEM},
	{"@otherkey@", otherPair.KeyPEM},
	{"@eckey@", strings.Replace(testClient.KeyPEM, "PRIVATE KEY", "EC PRIVATE KEY", 2)},
}

// expandTokens replaces each token with its PEM text, escaped for a JSON
// string (a token outside a string just makes the JSON invalid, which is
// an input like any other).
func expandTokens(data []byte) []byte {
	if !bytes.Contains(data, []byte("@")) {
		return data
	}
	for _, tk := range pemTokens {
		quoted, _ := json.Marshal(tk.pem)
		data = bytes.ReplaceAll(data, []byte(tk.token), quoted[1:len(quoted)-1])
	}
	return data
}

// tokenJSON is peerJSON with tokens in place of the PEM texts.
func tokenJSON(edit func(m map[string]any)) []byte {
	return peerJSON(func(m map[string]any) {
		m["client_cert"], m["client_key"], m["root_cert"] = "@cert@", "@key@", "@ca@"
		if edit != nil {
			edit(m)
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
