package connection

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
)

// parseConfig decodes CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG. An unset
// variable is not an error: only a template that needs it is.
func parseConfig(config string, r *report) (map[string]any, error) {
	if strings.TrimSpace(config) == "" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(config), &m); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		problem := err.Error()
		switch {
		case errors.As(err, &se):
			problem = fmt.Sprintf("malformed JSON at %s: %s", position([]byte(config), se.Offset), strings.TrimPrefix(se.Error(), "json: "))
		case errors.As(err, &te):
			problem = fmt.Sprintf("expected a JSON object, found %s", te.Value)
		}
		return nil, &Error{File: ConfigVariable, Problem: problem,
			Hint: `set it to a JSON object such as {"peername":"peer0org1"}`}
	}
	return m, nil
}

// expand runs one string value through text/template, as Fabric's
// ccaas_builder does, so packages written for it keep working.
func (d *decoder) expand(name, value string) (string, error) {
	if d.opts.Templates == LiteralValues || !strings.Contains(value, "{{") {
		return value, nil
	}
	t, err := template.New(name).Option("missingkey=error").Parse(value)
	if err != nil {
		return "", d.fail(name, "templates use Go text/template syntax, e.g. \"{{.peername}}-cc:9999\"",
			"malformed template: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	if literal(t) {
		return value, nil
	}
	if d.opts.Templates == CheckTemplates {
		d.templated[name] = true
		return value, nil
	}
	if d.config == nil {
		return "", d.fail(name, propagateHint, "uses a template but %s is not set", ConfigVariable)
	}
	var out strings.Builder
	if err := t.Execute(&out, d.config); err != nil {
		if key := missingKey(err); key != "" {
			return "", d.fail(name, propagateHint, "template key %q is not in %s (it has: %s)",
				key, ConfigVariable, strings.Join(keys(d.config), ", "))
		}
		return "", d.fail(name, "", "template failed: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	return out.String(), nil
}

const propagateHint = "set " + ConfigVariable + " on the peer and list it in the builder's propagateEnvironment in core.yaml"

// literal reports whether a parsed template is plain text.
func literal(t *template.Template) bool {
	if t.Tree == nil || t.Tree.Root == nil {
		return true
	}
	for _, n := range t.Tree.Root.Nodes {
		if n.Type() != parse.NodeText {
			return false
		}
	}
	return true
}

var missingKeyRE = regexp.MustCompile(`map has no entry for key "([^"]*)"`)

func missingKey(err error) string {
	if m := missingKeyRE.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	if len(ks) == 0 {
		return []string{"no keys"}
	}
	return ks
}
