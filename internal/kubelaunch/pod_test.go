package kubelaunch

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/extbuilder/extbuilder/internal/imageref"
	"github.com/extbuilder/extbuilder/internal/launch"
	"github.com/extbuilder/extbuilder/internal/testpki"
)

const (
	testDigest    = "sha256:802c336235cc1e7347e2da36c73fa2e4b6437cfc6f52872674d1e23f23bba63b"
	testPackageID = "asset_1.0:a7ca45a7cc85f1d89c905b775920361ed089a364e12a9b6d55ba75c965ddd6a9"
)

var (
	testCA     = testpki.NewCA("peer chaincode CA")
	testClient = testCA.Client("chaincode")
	testImage  = &imageref.Image{Name: "ghcr.io/org/asset", Digest: testDigest}
)

func testChaincode(tls bool) *launch.Chaincode {
	cc := &launch.Chaincode{ID: testPackageID, PeerAddress: "peer0.org1.example.com:7052", MSPID: "Org1MSP"}
	if tls {
		cc.ClientCert, cc.ClientKey, cc.RootCert = testClient.CertPEM, testClient.KeyPEM, testCA.CertPEM
	}
	return cc
}

func TestPodNameIsDeterministicPerPeerAndPackage(t *testing.T) {
	a := PodName("peer0.org1.example.com", testPackageID)
	assert.Equal(t, a, PodName("peer0.org1.example.com", testPackageID), "a restarted peer must find the same pod")
	assert.NotEqual(t, a, PodName("peer1.org1.example.com", testPackageID), "two peers in one namespace")
	assert.NotEqual(t, a, PodName("peer0.org1.example.com", "asset_1.0:b7ca45"), "two packages on one peer")
	assert.True(t, strings.HasPrefix(a, "cc-asset-1-0-"), a)

	for _, id := range []string{testPackageID, "A+B.._-c:1", "+++:1", strings.Repeat("Long_Label", 20) + ":ff", ":"} {
		name := PodName("peer0", id)
		assert.Empty(t, validation.IsDNS1123Label(name), "pod name %q of %q must be a DNS label (it is the pod's hostname)", name, id)
	}
}

func TestLabelsFitTheRules(t *testing.T) {
	l := Labels("peer0.org1.example.com", testPackageID)
	assert.Equal(t, "peer0.org1.example.com", l[LabelPeer])
	assert.Equal(t, "asset_1.0", l[LabelChaincodeLabel])
	// fabric-builder-k8s's cchash: the package hash in base32, which fits a label.
	assert.Equal(t, "U7FELJ6MQXY5RHEQLN3VSIBWD3IITI3E4EVJW3KVXJ24SZO522UQ", l[LabelPackageHash])
	assert.Equal(t, "extbuilder", l[LabelManagedBy])

	long := Labels(strings.Repeat("peer", 20), "my+cc:zz")
	for k, v := range long {
		assert.Empty(t, validation.IsQualifiedName(k), k)
		assert.Empty(t, validation.IsValidLabelValue(v), "%s=%s", k, v)
	}
	assert.True(t, strings.HasPrefix(long[LabelPeer], "sha256-"))
	assert.True(t, strings.HasPrefix(long[LabelChaincodeLabel], "sha256-"), "'+' is not allowed in a label value")
	assert.NotEqual(t, long[LabelPeer], Labels(strings.Repeat("peer", 21), "my+cc:zz")[LabelPeer])
}

func TestBuildIsHardened(t *testing.T) {
	s := &Settings{PeerID: "peer0", StartTimeout: DefaultStartTimeout}
	l := Build(s, "fabric", testChaincode(true), testImage)
	pod := l.Pod
	spec := pod.Spec
	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]

	assert.Equal(t, "fabric", pod.Namespace)
	assert.Equal(t, "ghcr.io/org/asset@"+testDigest, c.Image)
	assert.Equal(t, corev1.RestartPolicyNever, spec.RestartPolicy)
	assert.False(t, *spec.AutomountServiceAccountToken)
	assert.False(t, *spec.EnableServiceLinks)
	assert.True(t, *spec.SecurityContext.RunAsNonRoot)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, spec.SecurityContext.SeccompProfile.Type)
	sc := c.SecurityContext
	assert.True(t, *sc.RunAsNonRoot)
	assert.True(t, *sc.ReadOnlyRootFilesystem)
	assert.False(t, *sc.AllowPrivilegeEscalation)
	assert.False(t, *sc.Privileged)
	assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	assert.Empty(t, sc.Capabilities.Add)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)
	assert.Equal(t, int64(3), *spec.TerminationGracePeriodSeconds)

	// The same flag and variables as a binary chaincode, the files where
	// the Secret is mounted.
	assert.Equal(t, []string{"-peer.address=peer0.org1.example.com:7052"}, c.Args)
	assert.Empty(t, c.Command, "the image's entrypoint is kept")
	got := map[string]string{}
	for _, e := range c.Env {
		got[e.Name] = e.Value
	}
	assert.Equal(t, map[string]string{
		"CORE_CHAINCODE_ID_NAME":      testPackageID,
		"CORE_PEER_ADDRESS":           "peer0.org1.example.com:7052",
		"CORE_PEER_TLS_ENABLED":       "true",
		"CORE_PEER_TLS_ROOTCERT_FILE": "/etc/extbuilder/tls/peer-root-cert.pem",
		"CORE_TLS_CLIENT_KEY_FILE":    "/etc/extbuilder/tls/client-key.pem",
		"CORE_TLS_CLIENT_CERT_FILE":   "/etc/extbuilder/tls/client-cert.pem",
		"CORE_TLS_CLIENT_KEY_PATH":    "/etc/extbuilder/tls/client-key.pem.base64",
		"CORE_TLS_CLIENT_CERT_PATH":   "/etc/extbuilder/tls/client-cert.pem.base64",
		"CORE_PEER_LOCALMSPID":        "Org1MSP",
	}, got)

	require.NotNil(t, l.Secret)
	assert.Equal(t, pod.Name, l.Secret.Name)
	assert.True(t, *l.Secret.Immutable)
	assert.Equal(t, testClient.KeyPEM, string(l.Secret.Data[launch.ClientKeyFile]))
	assert.Equal(t, testCA.CertPEM, string(l.Secret.Data[launch.RootCertFile]))
	var mount *corev1.VolumeMount
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].MountPath == TLSMountPath {
			mount = &c.VolumeMounts[i]
		}
	}
	require.NotNil(t, mount)
	assert.True(t, mount.ReadOnly)
	var secretVolume *corev1.SecretVolumeSource
	for _, v := range spec.Volumes {
		if v.Name == mount.Name {
			secretVolume = v.Secret
		}
	}
	require.NotNil(t, secretVolume)
	assert.Equal(t, l.Secret.Name, secretVolume.SecretName)
	assert.Equal(t, int32(0o440), *secretVolume.DefaultMode, "not world-readable")
}

func TestBuildWithoutTLSAndWithSettings(t *testing.T) {
	s, err := ParseSettings(env(EnvPeerID, "peer0", EnvPeerAddress, "peer0-cc.fabric.svc:7052",
		EnvServiceAccount, "chaincode", EnvImagePullSecrets, "regcred", EnvNodeSelector, "pool=cc",
		EnvTolerations, `[{"key":"pool","operator":"Equal","value":"cc","effect":"NoSchedule"}]`, EnvResources, "limits.memory=256Mi"))
	require.NoError(t, err)
	l := Build(s, "default", testChaincode(false), testImage)
	assert.Nil(t, l.Secret, "no TLS material, no Secret")
	spec := l.Pod.Spec
	c := spec.Containers[0]
	for _, m := range c.VolumeMounts {
		assert.NotEqual(t, TLSMountPath, m.MountPath)
	}
	assert.Equal(t, []string{"-peer.address=peer0-cc.fabric.svc:7052"}, c.Args)
	assert.Contains(t, c.Env, corev1.EnvVar{Name: "CORE_PEER_ADDRESS", Value: "peer0-cc.fabric.svc:7052"})
	assert.Contains(t, c.Env, corev1.EnvVar{Name: "CORE_PEER_TLS_ENABLED", Value: "false"})
	assert.Equal(t, "chaincode", spec.ServiceAccountName)
	assert.False(t, *spec.AutomountServiceAccountToken, "a service account, still no token")
	assert.Equal(t, []corev1.LocalObjectReference{{Name: "regcred"}}, spec.ImagePullSecrets)
	assert.Equal(t, map[string]string{"pool": "cc"}, spec.NodeSelector)
	assert.Len(t, spec.Tolerations, 1)
	assert.Equal(t, "256Mi", c.Resources.Limits.Memory().String())
}
