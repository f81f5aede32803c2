package kubelaunch

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestParseSettingsDefaults(t *testing.T) {
	s, err := ParseSettings(env(EnvPeerID, "peer0.org1.example.com"))
	require.NoError(t, err)
	assert.Equal(t, &Settings{PeerID: "peer0.org1.example.com", StartTimeout: DefaultStartTimeout}, s)
}

func TestParseSettingsAll(t *testing.T) {
	s, err := ParseSettings(env(
		EnvPeerID, "peer0",
		EnvNamespace, "fabric-cc",
		EnvStartTimeout, "90s",
		EnvResources, "requests.cpu=100m, requests.memory=128Mi,limits.memory=512Mi,limits.ephemeral-storage=1Gi",
		EnvNodeSelector, "fabric.example.com/chaincode=true,kubernetes.io/arch=amd64",
		EnvTolerations, `[{"key":"dedicated","operator":"Equal","value":"chaincode","effect":"NoSchedule"},{"operator":"Exists","effect":"NoExecute","tolerationSeconds":30}]`,
		EnvImagePullSecrets, "regcred, mirror",
		EnvServiceAccount, "chaincode",
		EnvPeerAddress, "peer0-chaincode.fabric.svc:7052",
	))
	require.NoError(t, err)
	assert.Equal(t, "fabric-cc", s.Namespace)
	assert.Equal(t, 90*time.Second, s.StartTimeout)
	assert.Equal(t, resource.MustParse("100m"), s.Resources.Requests[corev1.ResourceCPU])
	assert.Equal(t, resource.MustParse("512Mi"), s.Resources.Limits[corev1.ResourceMemory])
	assert.Equal(t, resource.MustParse("1Gi"), s.Resources.Limits[corev1.ResourceEphemeralStorage])
	assert.Equal(t, map[string]string{"fabric.example.com/chaincode": "true", "kubernetes.io/arch": "amd64"}, s.NodeSelector)
	require.Len(t, s.Tolerations, 2)
	assert.Equal(t, corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "chaincode", Effect: corev1.TaintEffectNoSchedule}, s.Tolerations[0])
	assert.Equal(t, int64(30), *s.Tolerations[1].TolerationSeconds)
	assert.Equal(t, []corev1.LocalObjectReference{{Name: "regcred"}, {Name: "mirror"}}, s.ImagePullSecrets)
	assert.Equal(t, "chaincode", s.ServiceAccount)
	assert.Equal(t, "peer0-chaincode.fabric.svc:7052", s.PeerAddress)
}

func TestParseSettingsRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{EnvPeerID, "", "CORE_PEER_ID: required: it names the peer in the pod's name and labels, but it is empty or not passed on; hint: set it on the peer"},
		{EnvPeerID, "peer\n0", "CORE_PEER_ID: expected a peer ID, found a value with a control character"},
		{EnvNamespace, "Fabric_CC", `EXTBUILDER_K8S_NAMESPACE: expected a namespace name, found "Fabric_CC" (a lowercase RFC 1123 label`},
		{EnvStartTimeout, "3", `EXTBUILDER_K8S_START_TIMEOUT: expected a positive duration, found "3"; hint: write a Go duration`},
		{EnvStartTimeout, "-1m", `EXTBUILDER_K8S_START_TIMEOUT: expected a positive duration, found "-1m"`},
		{EnvResources, "cpu=1", `EXTBUILDER_K8S_RESOURCES: expected KIND.RESOURCE=QUANTITY, found "cpu=1"; hint:`},
		{EnvResources, "requests.gpu=1", `EXTBUILDER_K8S_RESOURCES: expected KIND.RESOURCE=QUANTITY, found "requests.gpu=1"`},
		{EnvResources, "limits.memory=lots", `EXTBUILDER_K8S_RESOURCES: limits.memory: expected a positive quantity such as 100m or 256Mi, found "lots"`},
		{EnvResources, "limits.cpu=0", `EXTBUILDER_K8S_RESOURCES: limits.cpu: expected a positive quantity`},
		{EnvResources, "limits.cpu=1,limits.cpu=2", `EXTBUILDER_K8S_RESOURCES: limits.cpu is given twice`},
		{EnvResources, "requests.memory=1Gi,limits.memory=512Mi", `EXTBUILDER_K8S_RESOURCES: requests.memory (1Gi) is more than limits.memory (512Mi); Kubernetes refuses such a pod`},
		{EnvNodeSelector, "role", `EXTBUILDER_K8S_NODE_SELECTOR: expected KEY=VALUE, found "role"`},
		{EnvNodeSelector, "ro le=x", `EXTBUILDER_K8S_NODE_SELECTOR: expected a label key, found "ro le"`},
		{EnvNodeSelector, "role=" + strings.Repeat("x", 64), `EXTBUILDER_K8S_NODE_SELECTOR: role: expected a label value, found`},
		{EnvTolerations, `{"key":"a"}`, `EXTBUILDER_K8S_TOLERATIONS: expected a JSON list of tolerations, found "{\"key\":\"a\"}"`},
		{EnvTolerations, `[{"kee":"a"}]`, `EXTBUILDER_K8S_TOLERATIONS: expected a JSON list of tolerations, found "[{\"kee\":\"a\"}]" (json: unknown field "kee")`},
		{EnvTolerations, `[{"key":"a","operator":"Like"}]`, `EXTBUILDER_K8S_TOLERATIONS: toleration 1: expected operator Exists or Equal, found "Like"`},
		{EnvTolerations, `[{"operator":"Exists","value":"x"}]`, `EXTBUILDER_K8S_TOLERATIONS: toleration 1: operator Exists takes no value, found "x"`},
		{EnvTolerations, `[{"value":"x"}]`, `EXTBUILDER_K8S_TOLERATIONS: toleration 1: operator Equal needs a key`},
		{EnvTolerations, `[{"key":"a","effect":"NoRun"}]`, `EXTBUILDER_K8S_TOLERATIONS: toleration 1: expected effect NoSchedule, PreferNoSchedule or NoExecute, found "NoRun"`},
		{EnvTolerations, `[{"key":"a","effect":"NoSchedule","tolerationSeconds":5}]`, `EXTBUILDER_K8S_TOLERATIONS: toleration 1: tolerationSeconds applies only to effect NoExecute`},
		{EnvImagePullSecrets, "regcred,,x", `EXTBUILDER_K8S_IMAGE_PULL_SECRETS: expected Secret names, found ""`},
		{EnvServiceAccount, "Chaincode", `EXTBUILDER_K8S_SERVICE_ACCOUNT: expected a ServiceAccount name, found "Chaincode"`},
		{EnvPeerAddress, "peer0:7052x", `EXTBUILDER_K8S_PEER_ADDRESS: expected a port from 1 to 65535, found "7052x"`},
		{EnvPeerAddress, "grpcs://peer0:7052", `EXTBUILDER_K8S_PEER_ADDRESS: expected host:port, found a URL "grpcs://peer0:7052"`},
	} {
		kv := []string{EnvPeerID, "peer0"}
		if tc.name == EnvPeerID {
			kv = nil
		}
		_, err := ParseSettings(env(append(kv, tc.name, tc.value)...))
		if assert.Error(t, err, "%s=%q", tc.name, tc.value) {
			assert.True(t, strings.HasPrefix(err.Error(), tc.want), "%s=%q\n got: %s\nwant: %s...", tc.name, tc.value, err, tc.want)
			assert.NotContains(t, err.Error(), "\n")
		}
	}
}
