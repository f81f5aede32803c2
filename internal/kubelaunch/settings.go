package kubelaunch

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/extbuilder/extbuilder/internal/check"
	"github.com/extbuilder/extbuilder/internal/msg"
)

// The settings run reads from its environment. The peer passes on only the
// variables listed in the builder's propagateEnvironment, so each one used
// must be listed there (docs/kubernetes.md).
const (
	EnvPeerID           = "CORE_PEER_ID" // required: names the peer in pod names and labels
	EnvNamespace        = "EXTBUILDER_K8S_NAMESPACE"
	EnvStartTimeout     = "EXTBUILDER_K8S_START_TIMEOUT"
	EnvResources        = "EXTBUILDER_K8S_RESOURCES"
	EnvNodeSelector     = "EXTBUILDER_K8S_NODE_SELECTOR"
	EnvTolerations      = "EXTBUILDER_K8S_TOLERATIONS"
	EnvImagePullSecrets = "EXTBUILDER_K8S_IMAGE_PULL_SECRETS"
	EnvServiceAccount   = "EXTBUILDER_K8S_SERVICE_ACCOUNT"
	EnvPeerAddress      = "EXTBUILDER_K8S_PEER_ADDRESS"
	EnvKubeconfig       = "KUBECONFIG"
	EnvServiceHost      = "KUBERNETES_SERVICE_HOST"
	EnvServicePort      = "KUBERNETES_SERVICE_PORT"
)

// Variables lists every variable run reads, for propagateEnvironment.
var Variables = []string{
	EnvPeerID, EnvNamespace, EnvStartTimeout, EnvResources, EnvNodeSelector, EnvTolerations,
	EnvImagePullSecrets, EnvServiceAccount, EnvPeerAddress, EnvKubeconfig, EnvServiceHost, EnvServicePort,
}

// DefaultStartTimeout bounds the wait for the container to start. Image
// pulls are the slow part; fabric-builder-k8s also waits 3 minutes, and the
// peer's own chaincode.startuptimeout is 300 s.
const DefaultStartTimeout = 3 * time.Minute

// Settings are run's settings for one launch.
type Settings struct {
	PeerID           string
	Namespace        string // "" means the peer pod's namespace (or KUBECONFIG's)
	StartTimeout     time.Duration
	Resources        corev1.ResourceRequirements
	NodeSelector     map[string]string
	Tolerations      []corev1.Toleration
	ImagePullSecrets []corev1.LocalObjectReference
	ServiceAccount   string
	PeerAddress      string // "" means chaincode.json's peer_address
}

// settingError is one line naming the variable, what was expected and what
// was found.
func settingError(name, hint, format string, a ...any) error {
	return &msg.Error{File: name, Problem: fmt.Sprintf(format, a...), Hint: hint}
}

// ParseSettings reads the settings with getenv (os.Getenv in run). The
// first bad value is the error; nothing has been created at that point.
func ParseSettings(getenv func(string) string) (*Settings, error) {
	s := &Settings{StartTimeout: DefaultStartTimeout}

	s.PeerID = getenv(EnvPeerID)
	if s.PeerID == "" {
		return nil, settingError(EnvPeerID, "set it on the peer (it is the peer's own ID) and add "+EnvPeerID+" to the builder's propagateEnvironment",
			"required: it names the peer in the pod's name and labels, but it is empty or not passed on")
	}
	if strings.ContainsFunc(s.PeerID, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return nil, settingError(EnvPeerID, "", "expected a peer ID, found a value with a control character")
	}

	if v := getenv(EnvNamespace); v != "" {
		if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
			return nil, settingError(EnvNamespace, "", "expected a namespace name, found %s (%s)", msg.Quote(v), errs[0])
		}
		s.Namespace = v
	}
	if v := getenv(EnvStartTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, settingError(EnvStartTimeout, `write a Go duration, e.g. "3m" or "90s"`, "expected a positive duration, found %s", msg.Quote(v))
		}
		s.StartTimeout = d
	}
	var err error
	if s.Resources, err = parseResources(getenv(EnvResources)); err != nil {
		return nil, err
	}
	if s.NodeSelector, err = parseNodeSelector(getenv(EnvNodeSelector)); err != nil {
		return nil, err
	}
	if s.Tolerations, err = parseTolerations(getenv(EnvTolerations)); err != nil {
		return nil, err
	}
	if v := getenv(EnvImagePullSecrets); v != "" {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
				return nil, settingError(EnvImagePullSecrets, "write Secret names separated by commas, e.g. \"regcred,mirror\"",
					"expected Secret names, found %s (%s)", msg.Quote(name), errs[0])
			}
			s.ImagePullSecrets = append(s.ImagePullSecrets, corev1.LocalObjectReference{Name: name})
		}
	}
	if v := getenv(EnvServiceAccount); v != "" {
		if errs := validation.IsDNS1123Subdomain(v); len(errs) > 0 {
			return nil, settingError(EnvServiceAccount, "", "expected a ServiceAccount name, found %s (%s)", msg.Quote(v), errs[0])
		}
		s.ServiceAccount = v
	}
	if v := getenv(EnvPeerAddress); v != "" {
		if f := check.Address(v); f != nil {
			return nil, settingError(EnvPeerAddress, f.Hint, "%s", f.Problem)
		}
		s.PeerAddress = v
	}
	return s, nil
}

// resourceNames are the resources a chaincode container may ask for.
var resourceNames = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}

// parseResources reads "requests.cpu=100m,limits.memory=256Mi".
func parseResources(v string) (corev1.ResourceRequirements, error) {
	var r corev1.ResourceRequirements
	if v == "" {
		return r, nil
	}
	const hint = `write KIND.RESOURCE=QUANTITY separated by commas, e.g. "requests.cpu=100m,requests.memory=128Mi,limits.memory=512Mi" (KIND: requests or limits; RESOURCE: cpu, memory or ephemeral-storage)`
	for _, item := range strings.Split(v, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		kind, name, ok2 := strings.Cut(key, ".")
		if !ok || !ok2 || (kind != "requests" && kind != "limits") || !slices.Contains(resourceNames, corev1.ResourceName(name)) {
			return r, settingError(EnvResources, hint, "expected KIND.RESOURCE=QUANTITY, found %s", msg.Quote(item))
		}
		q, err := resource.ParseQuantity(value)
		if err != nil || q.Sign() <= 0 {
			return r, settingError(EnvResources, hint, "%s: expected a positive quantity such as 100m or 256Mi, found %s", key, msg.Quote(value))
		}
		list := &r.Requests
		if kind == "limits" {
			list = &r.Limits
		}
		if *list == nil {
			*list = corev1.ResourceList{}
		}
		if _, dup := (*list)[corev1.ResourceName(name)]; dup {
			return r, settingError(EnvResources, hint, "%s is given twice", key)
		}
		(*list)[corev1.ResourceName(name)] = q
	}
	for name, req := range r.Requests {
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			return r, settingError(EnvResources, "", "requests.%s (%s) is more than limits.%s (%s); Kubernetes refuses such a pod", name, req.String(), name, lim.String())
		}
	}
	return r, nil
}

// parseNodeSelector reads "key=value,key2=value2".
func parseNodeSelector(v string) (map[string]string, error) {
	if v == "" {
		return nil, nil
	}
	const hint = `write node labels as KEY=VALUE separated by commas, e.g. "fabric.example.com/chaincode=true"`
	m := map[string]string{}
	for _, item := range strings.Split(v, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return nil, settingError(EnvNodeSelector, hint, "expected KEY=VALUE, found %s", msg.Quote(item))
		}
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			return nil, settingError(EnvNodeSelector, hint, "expected a label key, found %s (%s)", msg.Quote(key), errs[0])
		}
		if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
			return nil, settingError(EnvNodeSelector, hint, "%s: expected a label value, found %s (%s)", key, msg.Quote(value), errs[0])
		}
		m[key] = value
	}
	return m, nil
}

// parseTolerations reads a JSON list of Kubernetes tolerations, as they are
// written in a pod spec.
func parseTolerations(v string) ([]corev1.Toleration, error) {
	if v == "" {
		return nil, nil
	}
	const hint = `write a JSON list as in a pod spec, e.g. [{"key":"dedicated","operator":"Equal","value":"chaincode","effect":"NoSchedule"}]`
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	var list []corev1.Toleration
	if err := dec.Decode(&list); err != nil || dec.More() {
		why := "trailing data"
		if err != nil {
			why = msg.Safe(err.Error())
		}
		return nil, settingError(EnvTolerations, hint, "expected a JSON list of tolerations, found %s (%s)", msg.Quote(v), why)
	}
	for i, t := range list {
		at := fmt.Sprintf("toleration %d", i+1)
		if t.Key != "" {
			if errs := validation.IsQualifiedName(t.Key); len(errs) > 0 {
				return nil, settingError(EnvTolerations, hint, "%s: expected a taint key, found %s (%s)", at, msg.Quote(t.Key), errs[0])
			}
		}
		switch t.Operator {
		case corev1.TolerationOpExists:
			if t.Value != "" {
				return nil, settingError(EnvTolerations, hint, "%s: operator Exists takes no value, found %s", at, msg.Quote(t.Value))
			}
		case corev1.TolerationOpEqual, "":
			if t.Key == "" {
				return nil, settingError(EnvTolerations, hint, "%s: operator Equal needs a key", at)
			}
		default:
			return nil, settingError(EnvTolerations, hint, "%s: expected operator Exists or Equal, found %s", at, msg.Quote(string(t.Operator)))
		}
		switch t.Effect {
		case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return nil, settingError(EnvTolerations, hint, "%s: expected effect NoSchedule, PreferNoSchedule or NoExecute, found %s", at, msg.Quote(string(t.Effect)))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			return nil, settingError(EnvTolerations, hint, "%s: tolerationSeconds applies only to effect NoExecute", at)
		}
	}
	return list, nil
}
