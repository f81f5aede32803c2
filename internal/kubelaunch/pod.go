package kubelaunch

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/extbuilder/extbuilder/internal/imageref"
	"github.com/extbuilder/extbuilder/internal/launch"
)

// Labels and annotations on the pod and its Secret. Label values must be at
// most 63 characters of [A-Za-z0-9-_.]; values that do not fit are hashed
// (labelValue), and the annotations keep them whole.
const (
	LabelManagedBy      = "app.kubernetes.io/managed-by"
	LabelComponent      = "app.kubernetes.io/component"
	LabelPeer           = "extbuilder.io/peer"
	LabelChaincodeLabel = "extbuilder.io/chaincode-label"
	LabelPackageHash    = "extbuilder.io/package-hash"

	AnnotationPeerID    = "extbuilder.io/peer-id"
	AnnotationPackageID = "extbuilder.io/package-id"
	AnnotationMSPID     = "extbuilder.io/mspid"

	ManagedBy = "extbuilder"
)

// ContainerName is the chaincode's container in the pod.
const ContainerName = "chaincode"

// TLSMountPath is where the Secret with the TLS material is mounted,
// read-only, in the container.
const TLSMountPath = "/etc/extbuilder/tls"

// FSGroup is the pod's supplementary group: the Secret's files are 0440
// with this group, so the chaincode reads them whatever non-root user the
// image runs as, and nothing else in the container can unless it shares it.
const FSGroup = 10001

// tlsVolume and tmpVolume name the pod's volumes. /tmp is a small writable
// emptyDir because the root filesystem is read-only and some shims and
// runtimes write temporary files.
const (
	tlsVolume = "tls"
	tmpVolume = "tmp"
)

// Launch is what one launch creates: the pod and, with peer TLS on, the
// Secret that holds the chaincode's TLS material.
type Launch struct {
	Pod    *corev1.Pod
	Secret *corev1.Secret // nil when peer TLS is off
}

// PodName returns the pod's name: the same for the same peer and package,
// so that a launch finds the pod a previous run left behind, and different
// for two peers sharing a namespace. The chaincode label is in it only to
// make it readable.
func PodName(peerID, packageID string) string {
	sum := sha256.Sum256([]byte(peerID + "\x00" + packageID))
	name := "cc-"
	if slug := slug(chaincodeLabel(packageID), 30); slug != "" {
		name += slug + "-"
	}
	return name + hex.EncodeToString(sum[:])[:20]
}

// chaincodeLabel is the label part of a package ID (label:hash).
func chaincodeLabel(packageID string) string {
	if i := strings.LastIndexByte(packageID, ':'); i >= 0 {
		return packageID[:i]
	}
	return packageID
}

// slug lowers s to [a-z0-9-], at most max characters, no leading,
// trailing or doubled '-'.
func slug(s string, max int) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(c)
		} else {
			dash = true
		}
		if b.Len() >= max {
			break
		}
	}
	return strings.TrimRight(b.String()[:min(b.Len(), max)], "-")
}

// labelValue is s when it is a valid label value; otherwise "sha256-" and
// the first 40 hex digits of its hash, which still selects it.
func labelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + hex.EncodeToString(sum[:])[:40]
}

// packageHash is the package hash of a package ID in base32 (52
// characters; the 64 hex digits are too long for a label value), as
// fabric-builder-k8s writes it, so the same selector finds both builders'
// pods. A package ID without a sha256 hash is hashed whole.
func packageHash(packageID string) string {
	raw, err := hex.DecodeString(packageID[strings.LastIndexByte(packageID, ':')+1:])
	if err != nil || len(raw) != sha256.Size {
		sum := sha256.Sum256([]byte(packageID))
		raw = sum[:]
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
}

// Labels are the labels of the pod and its Secret.
func Labels(peerID, packageID string) map[string]string {
	return map[string]string{
		LabelManagedBy:      ManagedBy,
		LabelComponent:      "chaincode",
		LabelPeer:           labelValue(peerID),
		LabelChaincodeLabel: labelValue(chaincodeLabel(packageID)),
		LabelPackageHash:    packageHash(packageID),
	}
}

// Build returns the pod and Secret for one launch. The container gets the
// same CORE_* variables and -peer.address flag that run gives a binary
// chaincode (launch.Environ), with the files at TLSMountPath; nothing of the
// peer's own environment.
func Build(s *Settings, namespace string, cc *launch.Chaincode, img *imageref.Image) *Launch {
	name := PodName(s.PeerID, cc.ID)
	peer := *cc
	if s.PeerAddress != "" {
		peer.PeerAddress = s.PeerAddress
	}
	meta := metav1.ObjectMeta{
		Name:      name,
		Namespace: namespace,
		Labels:    Labels(s.PeerID, cc.ID),
		Annotations: map[string]string{
			AnnotationPeerID:    s.PeerID,
			AnnotationPackageID: cc.ID,
			AnnotationMSPID:     cc.MSPID,
		},
	}
	var files *launch.TLSFiles
	var secret *corev1.Secret
	if cc.TLS() {
		at := func(f string) string { return TLSMountPath + "/" + f }
		files = &launch.TLSFiles{
			ClientKey: at(launch.ClientKeyFile), ClientCert: at(launch.ClientCertFile), RootCert: at(launch.RootCertFile),
			ClientKeyBase64: at(launch.ClientKeyBase64File), ClientCertBase64: at(launch.ClientCertBase64File),
		}
		secret = &corev1.Secret{
			ObjectMeta: *meta.DeepCopy(),
			Type:       corev1.SecretTypeOpaque,
			Immutable:  ptr.To(true),
			// The same five files run writes for a binary chaincode; the
			// base64 ones without a trailing newline (Java's decoder
			// refuses one).
			Data: map[string][]byte{
				launch.ClientKeyFile:        []byte(cc.ClientKey),
				launch.ClientCertFile:       []byte(cc.ClientCert),
				launch.RootCertFile:         []byte(cc.RootCert),
				launch.ClientKeyBase64File:  []byte(base64.StdEncoding.EncodeToString([]byte(cc.ClientKey))),
				launch.ClientCertBase64File: []byte(base64.StdEncoding.EncodeToString([]byte(cc.ClientCert))),
			},
		}
	}
	var env []corev1.EnvVar
	for _, kv := range launch.Environ(nil, &peer, files) {
		k, v, _ := strings.Cut(kv, "=")
		env = append(env, corev1.EnvVar{Name: k, Value: v})
	}

	container := corev1.Container{
		Name:            ContainerName,
		Image:           img.Reference(),
		ImagePullPolicy: corev1.PullIfNotPresent,
		Args:            []string{launch.PeerAddressFlag(&peer)},
		Env:             env,
		Resources:       s.Resources,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			ReadOnlyRootFilesystem:   ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			Privileged:               ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		VolumeMounts:             []corev1.VolumeMount{{Name: tmpVolume, MountPath: "/tmp"}},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	volumes := []corev1.Volume{{Name: tmpVolume, VolumeSource: corev1.VolumeSource{
		EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(tmpSize)}}}}
	if secret != nil {
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{Name: tlsVolume, MountPath: TLSMountPath, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: tlsVolume, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: secret.Name, DefaultMode: ptr.To[int32](0o440)}}})
	}
	pod := &corev1.Pod{
		ObjectMeta: meta,
		Spec: corev1.PodSpec{
			Containers:    []corev1.Container{container},
			Volumes:       volumes,
			RestartPolicy: corev1.RestartPolicyNever, // the peer relaunches; run's exit is the container's
			// The chaincode talks to its peer only: no API credentials, no
			// service variables of the namespace.
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			ServiceAccountName:            s.ServiceAccount,
			NodeSelector:                  s.NodeSelector,
			Tolerations:                   s.Tolerations,
			ImagePullSecrets:              s.ImagePullSecrets,
			TerminationGracePeriodSeconds: ptr.To(int64(StopGrace.Seconds())),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				FSGroup:        ptr.To[int64](FSGroup),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
		},
	}
	return &Launch{Pod: pod, Secret: secret}
}
