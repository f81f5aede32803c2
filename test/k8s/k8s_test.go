//go:build linux

// Package k8s tests the Kubernetes builder end to end against a real
// kube-apiserver and etcd on 127.0.0.1 (built by `make k8s-test-env`), with
// a test kubelet in the role of the node, and the peer played by peersim:
// install through both builders, launch through bin/run as the peer does,
// stop with SIGTERM.
package k8s

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/extbuilder/extbuilder/internal/bindir"
	"github.com/extbuilder/extbuilder/internal/kubelaunch"
	"github.com/extbuilder/extbuilder/internal/testpki"
	"github.com/extbuilder/extbuilder/pkg/ccpackage"
	"github.com/extbuilder/extbuilder/test/peersim"
)

const (
	namespace = "fabric"
	peerID    = "peer0.org1.example.com"
	digest    = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// env is what TestMain set up, shared by the tests, which run one at a time.
var env struct {
	skip       string // why the tests skip, when they do
	err        error  // why they fail, when setting up failed
	cluster    *cluster
	kubelet    *kubelet
	kubeconfig string
	mainDir    string // the main builder folder (bin/ of `make build`)
	k8sDir     string // the Kubernetes builder folder (bin/ of `make build-k8s`)
	fakecc     string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "extbuilder-k8s-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		bin := envDir()
		if env.skip = missingBinaries(bin); env.skip != "" {
			// CI sets this: there the tests must run, not skip.
			if os.Getenv("EXTBUILDER_REQUIRE_K8S_TESTS") != "" {
				env.err, env.skip = fmt.Errorf("EXTBUILDER_REQUIRE_K8S_TESTS is set, but %s", env.skip), ""
			}
			return m.Run()
		}
		env.err = setup(dir, bin)
		defer teardown()
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

func setup(dir, bin string) error {
	env.mainDir = filepath.Join(dir, "extbuilder")
	env.k8sDir = filepath.Join(dir, "extbuilder-k8s")
	env.fakecc = filepath.Join(dir, "fakecc")
	if err := bindir.Build("../..", filepath.Join(env.mainDir, "bin")); err != nil {
		return err
	}
	var k8s []string
	for _, name := range bindir.Names {
		k8s = append(k8s, "./cmd/k8s/"+name)
	}
	if err := bindir.GoBuild("../..", filepath.Join(env.k8sDir, "bin")+"/", k8s); err != nil {
		return err
	}
	if err := bindir.GoBuild("../..", env.fakecc, []string{"./cmd/run/testdata/fakecc"}); err != nil {
		return err
	}
	c, err := startCluster(bin, dir)
	if err != nil {
		return err
	}
	env.cluster = c
	env.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := c.setupNamespace(context.Background(), namespace, "../../deploy/k8s", env.kubeconfig); err != nil {
		return err
	}
	env.kubelet, err = startKubelet(c.admin, namespace, env.fakecc, filepath.Join(dir, "kubelet"))
	return err
}

func teardown() {
	if env.kubelet != nil {
		env.kubelet.close()
	}
	if env.cluster != nil {
		env.cluster.stop()
	}
}

// needCluster skips or fails the test as TestMain decided.
func needCluster(t *testing.T) *kubelet {
	t.Helper()
	if env.skip != "" {
		t.Skip(env.skip)
	}
	if env.err != nil {
		t.Fatal(env.err)
	}
	env.kubelet.setEnv()
	return env.kubelet
}

// peer is a peer with both builders: the main one first, as the peer
// image's core.yaml lists them, so a k8s package passes its detect first.
type peer struct {
	*peersim.Peer
	pkg *peersim.Package
	res *peersim.Result
	ca  *testpki.CA
}

// install packages image with `extbuilder package`'s code (ccpackage) and
// installs it as a peer does. settings are peer environment variables,
// all propagated to the Kubernetes builder.
func install(t *testing.T, image string, settings ...string) *peer {
	t.Helper()
	dir := t.TempDir()
	idx := filepath.Join(dir, "indexes", "indexes")
	if err := os.MkdirAll(idx, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(idx, "owner.json"), []byte(`{"index":{"fields":["owner"]},"ddoc":"ownerDoc","name":"owner","type":"json"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tgzFile := filepath.Join(dir, "asset.tgz")
	if _, err := ccpackage.WriteFile(tgzFile, ccpackage.Spec{Type: "k8s", Label: "asset_1.0", Image: image + "@" + digest, Indexes: filepath.Dir(idx)}); err != nil {
		t.Fatal(err)
	}
	tgz, err := os.ReadFile(tgzFile)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := peersim.ParsePackage(tgz)
	if err != nil {
		t.Fatal(err)
	}
	tmp, fsPath := filepath.Join(dir, "tmp"), filepath.Join(dir, "peer")
	for _, d := range []string{tmp, fsPath} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := &peer{ca: testpki.NewCA("peer chaincode CA"), pkg: pkg, Peer: &peersim.Peer{
		Builders: []peersim.Builder{
			{Name: "extbuilder", Path: env.mainDir},
			{Name: "extbuilder-k8s", Path: env.k8sDir, PropagateEnvironment: kubelaunch.Variables},
		},
		Env: append([]string{"PATH=/usr/bin:/bin", "TMPDIR=" + tmp, "HOME=/root",
			"CORE_PEER_ID=" + peerID, "KUBECONFIG=" + env.kubeconfig}, settings...),
		FileSystemPath: fsPath,
	}}
	p.res, err = p.Install(pkg)
	if err != nil {
		t.Fatalf("install: %v; steps %+v", err, p.res.Steps)
	}
	return p
}

// launch starts bin/run as the peer does, with chaincode.json naming the
// peer stand-in's address and fresh TLS material.
func (p *peer) launch(t *testing.T, peerAddress string) *peersim.Launched {
	t.Helper()
	client := p.ca.Client(p.pkg.ID)
	l, err := p.Launch(p.res, peersim.ChaincodeJSON{ChaincodeID: p.pkg.ID, PeerAddress: peerAddress,
		ClientCert: client.CertPEM, ClientKey: client.KeyPEM, RootCert: p.ca.CertPEM, MSPID: "Org1MSP"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Kill)
	return l
}

// peerEndpoint is the peer's chaincode endpoint (peersim.ListenChaincode),
// closed when the test ends.
func peerEndpoint(t *testing.T, ca *testpki.CA) (string, <-chan string) {
	t.Helper()
	e, err := peersim.ListenChaincode(ca)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e.Addr, e.IDs
}

// record is what the fake chaincode wrote about itself.
type record struct {
	Pid        int
	Args       []string
	Env        []string
	Dial       string
	Base64Same bool
}

// readRecord waits for the line the fake chaincode writes on its stderr
// when it has started ("fakecc-record {JSON}"): it reaches run's stderr
// only through the container's log, which the API server proxies from the
// test kubelet.
func readRecord(t *testing.T, l *peersim.Launched, timeout time.Duration) record {
	t.Helper()
	end := time.Now().Add(timeout)
	for {
		for _, line := range l.Stderr() {
			if data, ok := strings.CutPrefix(line, "fakecc-record "); ok {
				var rec record
				if err := json.Unmarshal([]byte(data), &rec); err != nil {
					t.Fatalf("fakecc-record: %v", err)
				}
				return rec
			}
		}
		if time.Now().After(end) {
			t.Fatalf("the chaincode did not start within %s; run's stderr %q", timeout, l.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func podName(p *peer) string { return kubelaunch.PodName(peerID, p.pkg.ID) }

func getPod(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	pod, err := env.cluster.admin.CoreV1().Pods(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// nothingLeft checks that no pod and no Secret is left in the namespace.
func nothingLeft(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	end := time.Now().Add(5 * time.Second)
	for {
		pods, err1 := env.cluster.admin.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
		secrets, err2 := env.cluster.admin.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{})
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if len(pods.Items) == 0 && len(secrets.Items) == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("left behind: %d pods, %d Secrets", len(pods.Items), len(secrets.Items))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitDone(t *testing.T, l *peersim.Launched, timeout time.Duration) {
	t.Helper()
	select {
	case <-l.Done():
	case <-time.After(timeout):
		t.Fatalf("run did not exit within %s; stderr %q", timeout, l.Stderr())
	}
}

func lastLine(l *peersim.Launched) string {
	lines := l.Stderr()
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

func TestHappyPathThroughThePeer(t *testing.T) {
	k := needCluster(t)
	k.setEnv("FAKECC_MODE=graceful")
	p := install(t, fakeccImage)

	// The main builder leaves the package to the Kubernetes builder.
	if p.res.Builder != "extbuilder-k8s" {
		t.Fatalf("claimed by %q, want extbuilder-k8s", p.res.Builder)
	}
	if d := p.res.Steps[0]; d.Program != "detect" || d.ExitCode != 1 ||
		len(d.Stderr) != 1 || !strings.Contains(d.Stderr[0], `"k8s" is left to extbuilder's Kubernetes builder`) {
		t.Errorf("main builder's detect: %+v", d)
	}
	if _, err := os.Stat(filepath.Join(p.res.CachedRelease, "statedb/couchdb/indexes/owner.json")); err != nil {
		t.Errorf("release did not place the index: %v", err)
	}
	if _, err := os.Stat(filepath.Join(p.res.CachedRelease, "chaincode/server/connection.json")); err == nil {
		t.Error("release placed connection.json: the peer would dial instead of calling run")
	}

	addr, seen := peerEndpoint(t, p.ca)
	l := p.launch(t, addr)
	r := readRecord(t, l, 30*time.Second)
	if r.Dial != "ok" {
		t.Errorf("the chaincode could not reach the peer over mutual TLS: %s", r.Dial)
	}
	if !r.Base64Same {
		t.Error("the base64 key and certificate do not decode to the PEM files")
	}
	select {
	case id := <-seen:
		if id != p.pkg.ID {
			t.Errorf("the peer saw chaincode %q, want %q", id, p.pkg.ID)
		}
	case <-time.After(10 * time.Second):
		t.Error("the peer stand-in saw no chaincode")
	}
	if len(r.Args) != 2 || r.Args[1] != "-peer.address="+addr {
		t.Errorf("chaincode arguments %q", r.Args)
	}
	for _, want := range []string{"CORE_CHAINCODE_ID_NAME=" + p.pkg.ID, "CORE_PEER_ADDRESS=" + addr, "CORE_PEER_TLS_ENABLED=true", "CORE_PEER_LOCALMSPID=Org1MSP"} {
		if !contains(r.Env, want) {
			t.Errorf("chaincode environment lacks %s: %q", want, r.Env)
		}
	}
	for _, kv := range r.Env {
		if strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "CORE_PEER_ID=") || strings.HasPrefix(kv, "HOME=") {
			t.Errorf("the chaincode got the peer's %s", kv)
		}
	}

	// The pod as the real API server holds it: hardened, labelled, owned.
	pod := getPod(t, podName(p))
	checkHardened(t, pod)
	if pod.Labels[kubelaunch.LabelPeer] != peerID || pod.Labels[kubelaunch.LabelChaincodeLabel] != "asset_1.0" || pod.Annotations[kubelaunch.AnnotationPackageID] != p.pkg.ID {
		t.Errorf("labels %v, annotations %v", pod.Labels, pod.Annotations)
	}
	secret, err := env.cluster.admin.CoreV1().Secrets(namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(secret.OwnerReferences) != 1 || secret.OwnerReferences[0].UID != pod.UID || secret.OwnerReferences[0].Kind != "Pod" {
		t.Errorf("the Secret is not owned by the pod: %+v", secret.OwnerReferences)
	}

	// The peer stops the chaincode: SIGTERM to run, SIGKILL 5 s later.
	start := time.Now()
	if killed := l.Stop(peersim.StopGrace); killed {
		t.Fatalf("run did not exit within the peer's %s; stderr %q", peersim.StopGrace, l.Stderr())
	}
	t.Logf("run exited %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	if code := l.ExitCode(); code != 0 {
		t.Errorf("run exited %d, want the container's 0; stderr %q", code, l.Stderr())
	}
	// The container's log reached run's stderr, the peer log.
	if !contains(l.Stderr(), "graceful stop") {
		t.Errorf("the chaincode's log line is not in run's stderr %q", l.Stderr())
	}
	want := fmt.Sprintf("run: pod %s/%s deleted after run received SIGTERM, its container exited with status 0 (exit status 0)", namespace, pod.Name)
	if got := lastLine(l); got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	// The Secret went with the pod.
	nothingLeft(t)
}

func checkHardened(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	spec := pod.Spec
	c := spec.Containers[0]
	sc := c.SecurityContext
	switch {
	case c.Image != fakeccImage+"@"+digest:
		t.Errorf("image %s", c.Image)
	case spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken:
		t.Error("the service account token is mounted")
	case sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("runAsNonRoot is not set")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("the root filesystem is writable")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("privilege escalation is allowed")
	case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0:
		t.Errorf("capabilities %+v", sc.Capabilities)
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("no RuntimeDefault seccomp profile")
	case spec.RestartPolicy != corev1.RestartPolicyNever:
		t.Errorf("restart policy %s", spec.RestartPolicy)
	}
	for _, m := range c.VolumeMounts {
		if m.MountPath == kubelaunch.TLSMountPath && !m.ReadOnly {
			t.Error("the TLS Secret is mounted writable")
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestStalePodIsReplaced(t *testing.T) {
	k := needCluster(t)
	k.setEnv("FAKECC_MODE=wait")
	p := install(t, fakeccImage)
	addr, _ := peerEndpoint(t, p.ca)

	// run is SIGKILLed (with the peer, say): its pod and Secret stay.
	first := p.launch(t, addr)
	r1 := readRecord(t, first, 30*time.Second)
	stale := getPod(t, podName(p))
	first.Kill()

	k.setEnv("FAKECC_MODE=graceful")
	second := p.launch(t, addr)
	readRecord(t, second, 30*time.Second)
	pod := getPod(t, podName(p))
	if pod.UID == stale.UID {
		t.Fatal("the stale pod was not replaced")
	}
	if err := syscall.Kill(r1.Pid, 0); err == nil {
		t.Error("the stale pod's chaincode still runs")
	}
	if !containsPrefix(second.Stderr(), fmt.Sprintf("run: deleting pod %s/%s, left by an earlier launch", namespace, pod.Name)) {
		t.Errorf("stderr %q", second.Stderr())
	}
	if killed := second.Stop(peersim.StopGrace); killed {
		t.Fatalf("run did not exit within the peer's grace; stderr %q", second.Stderr())
	}
	nothingLeft(t)
}

func containsPrefix(list []string, prefix string) bool {
	for _, x := range list {
		if strings.HasPrefix(x, prefix) {
			return true
		}
	}
	return false
}

func TestSIGTERMDeletesAPodThatIgnoresIt(t *testing.T) {
	k := needCluster(t)
	// The chaincode ignores SIGTERM: the pod's grace period (3 s) ends it.
	k.setEnv("FAKECC_MODE=ignore")
	p := install(t, fakeccImage)
	addr, _ := peerEndpoint(t, p.ca)
	l := p.launch(t, addr)
	r := readRecord(t, l, 30*time.Second)
	start := time.Now()
	if killed := l.Stop(peersim.StopGrace); killed {
		t.Fatalf("run did not exit within the peer's %s; stderr %q", peersim.StopGrace, l.Stderr())
	}
	t.Logf("run exited %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	if err := syscall.Kill(r.Pid, 0); err == nil {
		t.Error("the chaincode still runs")
	}
	if code := l.ExitCode(); code != 137 {
		t.Errorf("run exited %d, want 137 (the container was killed); stderr %q", code, l.Stderr())
	}
	nothingLeft(t)
}

func TestContainerExitStatusAndLogLines(t *testing.T) {
	k := needCluster(t)
	for _, tc := range []struct {
		mode string
		code int
		line func([]string) bool
	}{
		{"exit=3", 3, func([]string) bool { return true }},
		// A 100 KiB line is cut as for a binary chaincode: no line over 64 KiB reaches the peer.
		{"bigline", 0, func(lines []string) bool { return contains(lines, "after bigline") }},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			k.setEnv("FAKECC_MODE=" + tc.mode)
			p := install(t, fakeccImage)
			addr, _ := peerEndpoint(t, p.ca)
			l := p.launch(t, addr)
			waitDone(t, l, 60*time.Second)
			if code := l.ExitCode(); code != tc.code {
				t.Errorf("run exited %d, want %d; stderr %q", code, tc.code, l.Stderr())
			}
			if l.StderrOverflow() || !tc.line(l.Stderr()) {
				t.Errorf("stderr (overflow %v): %q", l.StderrOverflow(), shorten(l.Stderr()))
			}
			want := fmt.Sprintf("run: chaincode container of pod %s/%s exited with status %d", namespace, podName(p), tc.code)
			if got := lastLine(l); got != want {
				t.Errorf("last line %q, want %q", got, want)
			}
			nothingLeft(t)
		})
	}
}

func shorten(lines []string) []string {
	var out []string
	for _, l := range lines {
		if len(l) > 100 {
			l = fmt.Sprintf("%s... (%d bytes)", l[:100], len(l))
		}
		out = append(out, l)
	}
	return out
}

func TestStartFailuresAreReportedWithinTheTimeout(t *testing.T) {
	needCluster(t)
	for _, tc := range []struct {
		name, image string
		settings    []string
		want        string
	}{
		{"image pull", missingImage, nil, "ImagePullBackOff: Back-off pulling image \"" + missingImage + "@" + digest + "\""},
		{"unschedulable", fakeccImage, []string{"EXTBUILDER_K8S_NODE_SELECTOR=pool=gpu"}, "Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = 3 * time.Second
			p := install(t, tc.image, append(tc.settings, "EXTBUILDER_K8S_START_TIMEOUT="+timeout.String())...)
			start := time.Now()
			l := p.launch(t, "127.0.0.1:1")
			waitDone(t, l, timeout+15*time.Second)
			t.Logf("run exited %s after it started", time.Since(start).Round(time.Millisecond))
			if code := l.ExitCode(); code != 1 {
				t.Errorf("run exited %d, want 1", code)
			}
			name := podName(p)
			want := fmt.Sprintf("run: pod %s/%s did not start within 3s (EXTBUILDER_K8S_START_TIMEOUT): %s", namespace, name, tc.want)
			if got := lastLine(l); !strings.HasPrefix(got, want) {
				t.Errorf("last line\n %q\nwant it to start with\n %q", got, want)
			}
			nothingLeft(t)
		})
	}
}

func TestBadSettingsCreateNothing(t *testing.T) {
	needCluster(t)
	for _, tc := range []struct{ setting, want string }{
		{"EXTBUILDER_K8S_RESOURCES=limits.memory=lots", `run: EXTBUILDER_K8S_RESOURCES: limits.memory: expected a positive quantity such as 100m or 256Mi, found "lots"`},
		{"EXTBUILDER_K8S_NAMESPACE=Not_A_Namespace", `run: EXTBUILDER_K8S_NAMESPACE: expected a namespace name, found "Not_A_Namespace"`},
		{"EXTBUILDER_K8S_TOLERATIONS=[{", `run: EXTBUILDER_K8S_TOLERATIONS: expected a JSON list of tolerations`},
	} {
		t.Run(tc.setting, func(t *testing.T) {
			p := install(t, fakeccImage, tc.setting)
			l := p.launch(t, "127.0.0.1:1")
			waitDone(t, l, 30*time.Second)
			if code := l.ExitCode(); code != 1 {
				t.Errorf("run exited %d, want 1", code)
			}
			if lines := l.Stderr(); len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want) {
				t.Errorf("stderr %q, want one line starting with %q", lines, tc.want)
			}
			nothingLeft(t)
		})
	}
}

// TestRBACIsEnough shows that deploy/k8s's Role is all run needs: every test
// here runs with a token of its ServiceAccount, and a launch in a namespace
// it has no rights in fails in one line that points at the Role.
func TestRBACIsEnough(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	if _, err := env.cluster.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	p := install(t, fakeccImage, "EXTBUILDER_K8S_NAMESPACE=elsewhere")
	l := p.launch(t, "127.0.0.1:1")
	waitDone(t, l, 30*time.Second)
	if code := l.ExitCode(); code != 1 {
		t.Errorf("run exited %d, want 1", code)
	}
	lines := l.Stderr()
	if len(lines) != 1 || !strings.Contains(lines[0], "is forbidden") || !strings.HasSuffix(lines[0], "hint: the peer's service account needs the Role in deploy/k8s (docs/kubernetes.md, RBAC)") {
		t.Errorf("stderr %q", lines)
	}
}
