//go:build linux

package k8s

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/extbuilder/extbuilder/internal/kubelaunch"
)

// Images the test kubelet knows. Any digest will do: nothing is pulled.
const (
	fakeccImage  = "registry.test/fakecc"  // runs the fake chaincode as a local process
	missingImage = "registry.test/missing" // fails to pull, as a registry that lacks it would
)

// kubelet plays the node agent (and the scheduler) for one Node, as far as
// run can tell: it binds pods whose node selector matches the Node, or
// marks them Unschedulable; it starts a bound pod's "container" as a local
// process (the fake chaincode) with the pod's arguments and environment and
// the Secret's files, and reports its state through the status
// subresource; it serves /containerLogs, where the API server proxies
// pods/log; and it finishes graceful deletions as a kubelet does (SIGTERM,
// SIGKILL after the grace period, then delete with grace 0).
type kubelet struct {
	client kubernetes.Interface
	ns     string
	node   string
	labels map[string]string
	fakecc string // the fake chaincode's executable
	dir    string

	mu   sync.Mutex
	env  []string // added to every container, e.g. FAKECC_MODE
	pods map[types.UID]*podState
	next int
	seen map[types.UID]bool
	srv  *httptest.Server
	stop context.CancelFunc
	done chan struct{}
}

type podState struct {
	seq  int // order of creation: the newest pod of a name is the one bound now
	name string
	cmd  *exec.Cmd
	logs *logBuffer
	tls  string // the Secret's files, where the container sees TLSMountPath
	exit chan struct{}
	term sync.Once
}

func startKubelet(client kubernetes.Interface, ns, fakecc, dir string) (*kubelet, error) {
	k := &kubelet{client: client, ns: ns, node: "test-node", labels: map[string]string{"kubernetes.io/hostname": "test-node", "pool": "chaincode"},
		fakecc: fakecc, dir: dir, pods: map[types.UID]*podState{}, seen: map[types.UID]bool{}, done: make(chan struct{})}
	k.srv = httptest.NewUnstartedServer(http.HandlerFunc(k.serveLogs))
	k.srv.StartTLS()
	_, portText, _ := net.SplitHostPort(k.srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)

	ctx, cancel := context.WithCancel(context.Background())
	k.stop = cancel
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.node, Labels: k.labels}}
	created, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		cancel()
		return nil, err
	}
	// The API server finds the node's log endpoint here.
	created.Status = corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(port)}},
		Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}},
	}
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		cancel()
		return nil, err
	}
	go k.loop(ctx)
	return k, nil
}

// setEnv sets what the next containers get on top of the pod's environment.
func (k *kubelet) setEnv(env ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.env = env
}

func (k *kubelet) close() {
	k.stop()
	<-k.done
	k.srv.Close()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range k.pods {
		if p.cmd != nil && p.cmd.Process != nil {
			p.cmd.Process.Kill()
		}
	}
}

func (k *kubelet) logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "test kubelet: "+format+"\n", a...)
}

func (k *kubelet) loop(ctx context.Context) {
	defer close(k.done)
	for ctx.Err() == nil {
		w, err := k.client.CoreV1().Pods(k.ns).Watch(ctx, metav1.ListOptions{})
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			k.handle(ctx, ev.Type, p)
		}
	}
}

func (k *kubelet) handle(ctx context.Context, typ watch.EventType, p *corev1.Pod) {
	k.mu.Lock()
	st := k.pods[p.UID]
	first := !k.seen[p.UID]
	k.seen[p.UID] = true
	k.mu.Unlock()
	switch {
	case typ == watch.Deleted:
		// Deleted at once (grace 0): a kubelet kills what is left. The
		// next pod of the same name (same peer, same package) is another.
		k.mu.Lock()
		if st != nil && st.cmd != nil {
			st.cmd.Process.Kill()
		}
		delete(k.pods, p.UID)
		k.mu.Unlock()
	case p.DeletionTimestamp != nil:
		go k.terminate(ctx, p, st)
	case p.Spec.NodeName == "" && first:
		k.schedule(ctx, p)
	case p.Spec.NodeName == k.node && st == nil:
		k.mu.Lock()
		k.next++
		st = &podState{seq: k.next, name: p.Name, exit: make(chan struct{})}
		k.pods[p.UID] = st
		k.mu.Unlock()
		go k.run(ctx, p, st)
	}
}

// schedule binds the pod to the node, or says why it cannot, in the
// scheduler's words.
func (k *kubelet) schedule(ctx context.Context, p *corev1.Pod) {
	if !labels.SelectorFromSet(p.Spec.NodeSelector).Matches(labels.Set(k.labels)) {
		k.setStatus(ctx, p, func(s *corev1.PodStatus) {
			s.Phase = corev1.PodPending
			s.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
				Message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."}}
		})
		return
	}
	err := k.client.CoreV1().Pods(k.ns).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, UID: p.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: k.node},
	}, metav1.CreateOptions{})
	if err != nil {
		k.logf("bind %s: %v", p.Name, err)
	}
}

func (k *kubelet) run(ctx context.Context, p *corev1.Pod, st *podState) {
	c := p.Spec.Containers[0]
	image, _, _ := strings.Cut(c.Image, "@")
	switch image {
	case missingImage:
		msg := fmt.Sprintf("failed to pull and unpack image %q: failed to resolve reference %q: %s: not found", c.Image, c.Image, c.Image)
		k.waiting(ctx, p, "ErrImagePull", msg)
		time.Sleep(300 * time.Millisecond)
		k.waiting(ctx, p, "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %s", c.Image, msg))
		return
	case fakeccImage:
	default:
		k.waiting(ctx, p, "ErrImagePull", "the test kubelet knows no image "+image)
		return
	}

	// Mount the volumes: the Secret's files, as the kubelet would, once
	// the Secret exists.
	st.tls = filepath.Join(k.dir, string(p.UID), "tls")
	for _, v := range p.Spec.Volumes {
		if v.Secret == nil {
			continue
		}
		var secret *corev1.Secret
		for secret == nil && ctx.Err() == nil {
			s, err := k.client.CoreV1().Secrets(k.ns).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
			if err == nil {
				secret = s
			} else {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if secret == nil {
			return
		}
		if err := os.MkdirAll(st.tls, 0o755); err != nil {
			k.logf("%v", err)
			return
		}
		for name, data := range secret.Data {
			if err := os.WriteFile(filepath.Join(st.tls, name), data, os.FileMode(*v.Secret.DefaultMode)); err != nil {
				k.logf("%v", err)
				return
			}
		}
	}
	k.mu.Lock()
	env := append([]string{"PATH=/usr/bin:/bin"}, k.env...)
	k.mu.Unlock()
	for _, e := range c.Env {
		env = append(env, e.Name+"="+strings.ReplaceAll(e.Value, kubelaunch.TLSMountPath, st.tls))
	}
	logs := newLogBuffer()
	cmd := exec.Command(k.fakecc, c.Args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		k.waiting(ctx, p, "RunContainerError", err.Error())
		return
	}
	k.mu.Lock()
	st.cmd, st.logs = cmd, logs
	k.mu.Unlock()
	now := metav1.Now()
	k.setStatus(ctx, p, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodRunning
		s.StartTime = &now
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, Ready: true, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
	})
	cmd.Wait()
	logs.close()
	code := cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	// The status first, then the final delete (terminate waits on exit),
	// as the kubelet's status manager does.
	defer close(st.exit)
	k.setStatus(ctx, p, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodSucceeded
		reason := "Completed"
		if code != 0 {
			s.Phase, reason = corev1.PodFailed, "Error"
		}
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: reason, FinishedAt: metav1.Now()}}}}
	})
}

// terminate finishes a graceful deletion: SIGTERM, SIGKILL after the grace
// period, then the final delete.
func (k *kubelet) terminate(ctx context.Context, p *corev1.Pod, st *podState) {
	once := &sync.Once{}
	if st != nil {
		once = &st.term
	}
	once.Do(func() {
		k.mu.Lock()
		var cmd *exec.Cmd
		if st != nil {
			cmd = st.cmd
		}
		k.mu.Unlock()
		if cmd != nil {
			cmd.Process.Signal(syscall.SIGTERM)
			grace := time.Duration(*p.DeletionGracePeriodSeconds) * time.Second
			select {
			case <-st.exit:
			case <-time.After(grace):
				cmd.Process.Kill()
				<-st.exit
			}
		}
		err := k.client.CoreV1().Pods(k.ns).Delete(ctx, p.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			k.logf("delete %s: %v", p.Name, err)
		}
	})
}

func (k *kubelet) waiting(ctx context.Context, p *corev1.Pod, reason, message string) {
	k.setStatus(ctx, p, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodPending
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, Image: p.Spec.Containers[0].Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}}
	})
}

func (k *kubelet) setStatus(ctx context.Context, p *corev1.Pod, edit func(*corev1.PodStatus)) {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := k.client.CoreV1().Pods(k.ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != p.UID {
			return nil
		}
		edit(&cur.Status)
		_, err = k.client.CoreV1().Pods(k.ns).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		k.logf("status of %s: %v", p.Name, err)
	}
}

// serveLogs serves GET /containerLogs/NAMESPACE/POD/CONTAINER[?follow=true],
// where the API server proxies pods/log.
func (k *kubelet) serveLogs(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if len(parts) != 3 || parts[0] != k.ns {
		http.NotFound(w, r)
		return
	}
	k.mu.Lock()
	var st *podState
	for _, s := range k.pods {
		if s.name == parts[1] && s.logs != nil && (st == nil || s.seq > st.seq) {
			st = s
		}
	}
	k.mu.Unlock()
	if st == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	st.logs.copyTo(r.Context(), w, r.URL.Query().Get("follow") == "true")
}

// logBuffer holds a container's output, for as many readers as ask.
type logBuffer struct {
	mu     sync.Mutex
	cond   *sync.Cond
	data   []byte
	closed bool
}

func newLogBuffer() *logBuffer {
	b := &logBuffer{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data = append(b.data, p...)
	b.cond.Broadcast()
	return len(p), nil
}

func (b *logBuffer) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.cond.Broadcast()
}

func (b *logBuffer) copyTo(ctx context.Context, w http.ResponseWriter, follow bool) {
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.cond.Broadcast()
	})
	defer stop()
	sent := 0
	for {
		b.mu.Lock()
		for sent == len(b.data) && follow && !b.closed && ctx.Err() == nil {
			b.cond.Wait()
		}
		chunk := append([]byte(nil), b.data[sent:]...)
		closed := b.closed
		b.mu.Unlock()
		if len(chunk) > 0 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			sent += len(chunk)
			w.(http.Flusher).Flush()
		}
		if !follow || ctx.Err() != nil || closed && len(chunk) == 0 {
			return
		}
	}
}
