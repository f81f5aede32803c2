package kubelaunch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/extbuilder/extbuilder/internal/launch"
)

// fixture is one launch against client-go's fake clientset.
type fixture struct {
	t        *testing.T
	client   *fake.Clientset
	buildDir string
	metaDir  string
	env      map[string]string
	stop     chan os.Signal
	out      syncBuffer
	mu       sync.Mutex
	uids     int
}

type testLog struct{ f *fixture }

func (l testLog) Infof(format string, a ...any) {
	l.f.out.WriteString("run: " + fmt.Sprintf(format, a...) + "\n")
}
func (l testLog) Warnf(format string, a ...any) {
	l.f.out.WriteString("run: warning: " + fmt.Sprintf(format, a...) + "\n")
}

func newFixture(t *testing.T, objects ...runtime.Object) *fixture {
	f := &fixture{t: t, client: fake.NewClientset(objects...), buildDir: t.TempDir(), metaDir: t.TempDir(),
		env: map[string]string{EnvPeerID: "peer0.org1.example.com"}, stop: make(chan os.Signal, 4)}
	// The fake gives objects no UID; the API server does.
	f.client.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if obj, ok := a.(k8stesting.CreateAction).GetObject().(metav1.Object); ok && obj.GetUID() == "" {
			f.mu.Lock()
			f.uids++
			obj.SetUID(types.UID(fmt.Sprintf("uid-%d", f.uids)))
			f.mu.Unlock()
		}
		return false, nil, nil
	})
	require.NoError(t, os.WriteFile(filepath.Join(f.buildDir, "image.json"), testImage.Marshal(), 0o644))
	cc := testChaincode(true)
	data, err := json.Marshal(map[string]string{"chaincode_id": cc.ID, "peer_address": cc.PeerAddress,
		"client_cert": cc.ClientCert, "client_key": cc.ClientKey, "root_cert": cc.RootCert, "mspid": cc.MSPID})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(f.metaDir, "chaincode.json"), data, 0o600))
	return f
}

type result struct {
	exit launch.Exit
	err  error
}

// start runs the launch in the background.
func (f *fixture) start() <-chan result {
	done := make(chan result, 1)
	go func() {
		exit, err := Run(Config{
			BuildDir: f.buildDir, MetadataDir: f.metaDir,
			Getenv: func(k string) string { return f.env[k] },
			Output: &f.out, Log: testLog{f}, Stop: f.stop,
			Client: f.client, Namespace: "fabric",
		})
		done <- result{exit, err}
	}()
	return done
}

func (f *fixture) podName() string { return PodName(f.env[EnvPeerID], testPackageID) }

// waitPod waits for the launch's pod to exist.
func (f *fixture) waitPod() *corev1.Pod {
	f.t.Helper()
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		p, err := f.client.CoreV1().Pods("fabric").Get(context.Background(), f.podName(), metav1.GetOptions{})
		if err == nil && p.UID != "stale" {
			return p
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.t.Fatal("no pod was created")
	return nil
}

// setContainer reports a container state, as a kubelet would.
func (f *fixture) setContainer(p *corev1.Pod, state corev1.ContainerState) {
	f.t.Helper()
	p = p.DeepCopy()
	p.Spec.NodeName = "node-1"
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: state}}
	_, err := f.client.CoreV1().Pods("fabric").UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
	require.NoError(f.t, err)
}

func (f *fixture) wait(done <-chan result) result {
	f.t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(15 * time.Second):
		f.t.Fatal("run did not return")
		return result{}
	}
}

// gone checks that neither the pod nor the Secret is left.
func (f *fixture) gone() {
	f.t.Helper()
	_, err := f.client.CoreV1().Pods("fabric").Get(context.Background(), f.podName(), metav1.GetOptions{})
	assert.True(f.t, apierrors.IsNotFound(err), "pod left behind: %v", err)
	_, err = f.client.CoreV1().Secrets("fabric").Get(context.Background(), f.podName(), metav1.GetOptions{})
	assert.True(f.t, apierrors.IsNotFound(err), "Secret left behind: %v", err)
}

func (f *fixture) created() []string {
	var kinds []string
	for _, a := range f.client.Actions() {
		if a.GetVerb() == "create" {
			kinds = append(kinds, a.GetResource().Resource)
		}
	}
	return kinds
}

func TestRunExitsWithTheContainersStatus(t *testing.T) {
	f := newFixture(t)
	done := f.start()
	pod := f.waitPod()

	// The Secret is owned by the pod, so it goes with it even if run is killed.
	var secret *corev1.Secret
	require.Eventually(t, func() bool {
		s, err := f.client.CoreV1().Secrets("fabric").Get(context.Background(), pod.Name, metav1.GetOptions{})
		secret = s
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	require.Len(t, secret.OwnerReferences, 1)
	assert.Equal(t, metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID}, secret.OwnerReferences[0])

	f.setContainer(pod, corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})
	f.setContainer(pod, corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}})
	r := f.wait(done)
	require.NoError(t, r.err)
	assert.Equal(t, 3, r.exit.Code)
	assert.Equal(t, "chaincode container of pod fabric/"+pod.Name+" exited with status 3", r.exit.Reason)
	out := f.out.String()
	assert.Contains(t, out, "run: created pod fabric/"+pod.Name+" (image ghcr.io/org/asset@"+testDigest+")\n")
	assert.Contains(t, out, "run: pod fabric/"+pod.Name+" started on node node-1\n")
	// The fake's log is one line without a newline: passed on as a line.
	assert.Contains(t, out, "\nfake logs\n")
	f.gone()
}

func TestRunReplacesAStalePod(t *testing.T) {
	name := PodName("peer0.org1.example.com", testPackageID)
	stale := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "fabric", UID: "stale"}}
	staleSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "fabric", UID: "stale-secret"}}
	f := newFixture(t, stale, staleSecret)
	done := f.start()
	pod := f.waitPod()
	assert.NotEqual(t, types.UID("stale"), pod.UID)
	f.setContainer(pod, corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}})
	r := f.wait(done)
	require.NoError(t, r.err)
	assert.Equal(t, 0, r.exit.Code)
	assert.Contains(t, f.out.String(), "run: deleting pod fabric/"+name+", left by an earlier launch of this chaincode on this peer\n")
	f.gone()
}

func TestRunStopDeletesThePod(t *testing.T) {
	f := newFixture(t)
	done := f.start()
	pod := f.waitPod()
	f.setContainer(pod, corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})
	require.Eventually(t, func() bool { return strings.Contains(f.outString(), "started on node") }, 5*time.Second, 10*time.Millisecond)
	f.stop <- syscall.SIGTERM
	r := f.wait(done)
	require.NoError(t, r.err)
	assert.Equal(t, 143, r.exit.Code)
	assert.Equal(t, "pod fabric/"+pod.Name+" deleted after run received SIGTERM (exit status 143)", r.exit.Reason)
	var grace []int64
	for _, a := range f.client.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok && a.GetResource().Resource == "pods" && d.GetDeleteOptions().GracePeriodSeconds != nil {
			grace = append(grace, *d.GetDeleteOptions().GracePeriodSeconds)
		}
	}
	// The stale-pod check, then the stop: 3 s, within the peer's 5 s.
	assert.Equal(t, []int64{3, 3}, grace)
	f.gone()
}

func TestRunReportsStartFailuresWithKubernetesReason(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status func(p *corev1.Pod)
		want   string
	}{
		{"image pull", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{
				Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "ghcr.io/org/asset@sha256:..."`}}}}
		}, `ImagePullBackOff: Back-off pulling image "ghcr.io/org/asset@sha256:..."`},
		{"unschedulable", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
				Reason: "Unschedulable", Message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."}}
		}, "Unschedulable: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."},
		{"crash loop", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{
				Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container"}}}}
		}, "CrashLoopBackOff: back-off 10s restarting failed container"},
		{"no reason", func(p *corev1.Pod) {}, "the pod is still Pending and Kubernetes gives no reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.env[EnvStartTimeout] = "500ms"
			done := f.start()
			pod := f.waitPod().DeepCopy()
			tc.status(pod)
			_, err := f.client.CoreV1().Pods("fabric").UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
			require.NoError(t, err)
			r := f.wait(done)
			require.Error(t, r.err)
			assert.Equal(t, fmt.Sprintf("pod fabric/%s did not start within 500ms (EXTBUILDER_K8S_START_TIMEOUT): %s; hint: kubectl describe pod -n fabric %s", pod.Name, tc.want, pod.Name), r.err.Error())
			f.gone()
		})
	}
}

func TestRunBadInputsCreateNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(f *fixture)
		want string
	}{
		{"bad setting", func(f *fixture) { f.env[EnvResources] = "limits.memory=lots" }, "EXTBUILDER_K8S_RESOURCES: limits.memory: expected a positive quantity"},
		{"no peer ID", func(f *fixture) { delete(f.env, EnvPeerID) }, "CORE_PEER_ID: required"},
		{"no image.json", func(f *fixture) { os.Remove(filepath.Join(f.buildDir, "image.json")) },
			"BUILD_OUTPUT_DIR/image.json: file not found; hint: build writes it for packages of type k8s"},
		{"tag only", func(f *fixture) {
			os.WriteFile(filepath.Join(f.buildDir, "image.json"), []byte(`{"name":"a/b","tag":"1"}`), 0o644)
		}, "BUILD_OUTPUT_DIR/image.json: digest: required, but missing"},
		{"bad chaincode.json", func(f *fixture) { os.WriteFile(filepath.Join(f.metaDir, "chaincode.json"), []byte(`{}`), 0o600) },
			"chaincode.json: chaincode_id: required, but missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.edit(f)
			r := f.wait(f.start())
			require.Error(t, r.err)
			assert.True(t, strings.HasPrefix(r.err.Error(), tc.want), "got %s", r.err)
			assert.Empty(t, f.client.Actions(), "no API call at all")
		})
	}
}

func TestRunStoppedBeforeCreatingCreatesNothing(t *testing.T) {
	f := newFixture(t)
	f.stop <- syscall.SIGTERM
	r := f.wait(f.start())
	require.NoError(t, r.err)
	assert.Equal(t, 143, r.exit.Code)
	assert.Empty(t, f.created())
}

func TestRunReportsAPodDeletedBySomeoneElse(t *testing.T) {
	f := newFixture(t)
	done := f.start()
	pod := f.waitPod()
	require.NoError(t, f.client.CoreV1().Pods("fabric").Delete(context.Background(), pod.Name, metav1.DeleteOptions{}))
	r := f.wait(done)
	require.Error(t, r.err)
	assert.Equal(t, "pod fabric/"+pod.Name+" was deleted by someone else while its chaincode ran", r.err.Error())
	f.gone()
}

func (f *fixture) outString() string { return f.out.String() }

// syncBuffer is run's stderr, read by the test while run writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) WriteString(s string) {
	b.Write([]byte(s))
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
