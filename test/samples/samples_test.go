package samples_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/extbuilder/extbuilder/test/samples"
)

func TestFillEscapesForJSONOnly(t *testing.T) {
	pki := samples.NewPKI()
	values := pki.Values()
	got, err := samples.Fill("connection.json", []byte(`{"root_cert": "@@root_cert@@"}`), values)
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		RootCert string `json:"root_cert"`
	}
	if err := json.Unmarshal(got, &decoded); err != nil || decoded.RootCert != pki.ServerCA.CertPEM {
		t.Errorf("JSON fill did not round-trip the PEM: %v", err)
	}
	raw, err := samples.Fill("tls/ca.pem", []byte("@@root_cert@@"), values)
	if err != nil || string(raw) != pki.ServerCA.CertPEM {
		t.Errorf("raw fill: %q, %v", raw, err)
	}
	if _, err := samples.Fill("x.json", []byte("@@root_certs@@"), values); err == nil {
		t.Error("an unknown placeholder was accepted")
	}
	// Go template syntax is left alone.
	if out, _ := samples.Fill("x.json", []byte(`{{.peername}}`), values); string(out) != `{{.peername}}` {
		t.Errorf("template text changed: %s", out)
	}
}

func TestRedact(t *testing.T) {
	pki := samples.NewPKI()
	escaped, _ := json.Marshal(map[string]string{"k": pki.Client.KeyPEM, "c": pki.ServerCA.CertPEM})
	got := samples.NewRedactor(pki).Path("/tmp/x/fabric-1", "$SCRATCH").Now(time.Now()).RedactString(
		string(escaped) + "\n" + pki.Expired.CertPEM + "/tmp/x/fabric-1/src " + time.Now().UTC().Format(time.RFC3339) + " 2021-01-01T00:00:00Z")
	want := `{"c":"<CERTIFICATE ca>\n","k":"<KEY client>\n"}` + "\n<CERTIFICATE expired-client>\n$SCRATCH/src <now> 2021-01-01T00:00:00Z"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	other := samples.NewPKI()
	if got := samples.NewRedactor(pki).RedactString(other.Client.KeyPEM); got != "<KEY unknown>\n" || strings.Contains(got, "PRIVATE") {
		t.Errorf("unknown key redacted as %q", got)
	}
}
