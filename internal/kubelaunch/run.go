// Package kubelaunch is the logic of the Kubernetes builder's bin/run: it
// runs a package of type k8s as one pod per launch, named the same for the
// same peer and package, with the TLS material in a Secret the pod owns,
// streams the container's log to stderr, exits with the container's status,
// and deletes the pod when the peer stops run. It links client-go, so only
// the Kubernetes builder's run imports it (docs/kubernetes.md).
package kubelaunch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/utils/ptr"

	"github.com/extbuilder/extbuilder/internal/imageref"
	"github.com/extbuilder/extbuilder/internal/launch"
	"github.com/extbuilder/extbuilder/internal/msg"
)

// StopGrace is the grace period of the pod deletion run asks for on
// SIGTERM, and the pod's terminationGracePeriodSeconds. The peer kills run
// 5 s after its SIGTERM: 3 s for the container, then stopWait for the pod
// to be gone and the Secret deleted.
const StopGrace = 3 * time.Second

// stopWait bounds the wait, from the stop signal, for the pod to be gone.
const stopWait = 4 * time.Second

// logDrain bounds the wait for the end of the log once the container has
// ended.
const logDrain = 2 * time.Second

// cleanupTimeout bounds each API call made while cleaning up.
const cleanupTimeout = 2 * time.Second

var tmpSize = resource.MustParse("64Mi")

// Config is one launch.
type Config struct {
	BuildDir    string              // BUILD_OUTPUT_DIR, holding image.json
	MetadataDir string              // RUN_METADATA_DIR, holding chaincode.json
	Getenv      func(string) string // run's environment (os.Getenv)
	Output      io.Writer           // receives the container's log, line by line
	Log         launch.Logger       // run's own lines; serialized with Output
	Stop        <-chan os.Signal    // SIGTERM, SIGINT

	// Client and Namespace replace the connection made from the
	// environment (tests); Namespace is the default namespace.
	Client    kubernetes.Interface
	Namespace string
}

// Run checks the settings, chaincode.json and image.json, then creates
// the pod and supervises it until it ends. An error means the chaincode did
// not run (nothing is left behind); otherwise Exit says how it ended.
func Run(cfg Config) (launch.Exit, error) {
	out, log := launch.Serialize(cfg.Output, cfg.Log)

	settings, err := ParseSettings(cfg.Getenv)
	if err != nil {
		return launch.Exit{}, err
	}
	cc, warnings, err := launch.ReadChaincode(cfg.MetadataDir)
	if err != nil {
		return launch.Exit{}, err
	}
	img, more, err := imageref.Read(cfg.BuildDir, "BUILD_OUTPUT_DIR/"+imageref.File)
	if err != nil {
		var e *msg.Error
		if errors.As(err, &e) && errors.Is(err, os.ErrNotExist) {
			e.Hint = "build writes it for packages of type k8s; rebuild the package with the Kubernetes builder (peer lifecycle chaincode install)"
		}
		return launch.Exit{}, err
	}
	for _, w := range append(warnings, more...) {
		log.Warnf("%s", w)
	}
	client, namespace := cfg.Client, cfg.Namespace
	if client == nil {
		if client, namespace, err = Connect(cfg.Getenv); err != nil {
			return launch.Exit{}, err
		}
	}
	if settings.Namespace != "" {
		namespace = settings.Namespace
	}
	if sig, ok := launch.PendingSignal(cfg.Stop); ok {
		code := 128 + int(sig)
		return launch.Exit{Code: code, Reason: fmt.Sprintf("received %s before the pod was created; nothing was created (exit status %d)", launch.SignalName(sig), code)}, nil
	}
	s := &supervisor{
		l:       Build(settings, namespace, cc, img),
		pods:    client.CoreV1().Pods(namespace),
		secrets: client.CoreV1().Secrets(namespace),
		timeout: settings.StartTimeout,
		out:     out,
		log:     log,
		stop:    cfg.Stop,
	}
	return s.run()
}

// supervisor runs one pod until it ends.
type supervisor struct {
	l       *Launch
	pods    typedcorev1.PodInterface
	secrets typedcorev1.SecretInterface
	timeout time.Duration
	out     io.Writer // from launch.Serialize
	log     launch.Logger
	stop    <-chan os.Signal

	uid  string // of the pod run created
	gone bool   // the pod is known to be deleted
}

func (s *supervisor) ref() string { return s.l.Pod.Namespace + "/" + s.l.Pod.Name }

func (s *supervisor) run() (launch.Exit, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if exit, stopped, err := s.replaceStale(ctx); err != nil || stopped {
		return exit, err
	}
	created, err := s.pods.Create(ctx, s.l.Pod, metav1.CreateOptions{})
	if err != nil {
		return launch.Exit{}, apiError("cannot create pod "+s.ref(), err)
	}
	s.uid = string(created.UID)
	defer s.cleanup()
	if s.l.Secret != nil {
		secret := s.l.Secret.DeepCopy()
		// Owned by the pod: if run is killed before it deletes the Secret,
		// Kubernetes' garbage collector deletes it with the pod.
		secret.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "Pod", Name: created.Name, UID: created.UID,
		}}
		if _, err := s.secrets.Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			return launch.Exit{}, apiError("cannot create Secret "+s.ref()+" for the chaincode's TLS material", err)
		}
	}
	s.log.Infof("created pod %s (image %s)", s.ref(), s.l.Pod.Spec.Containers[0].Image)
	return s.supervise(ctx, created)
}

// replaceStale deletes the pod and Secret an earlier launch of the same
// package on the same peer left behind (run was killed, or the peer was),
// and waits until the pod is gone so the name is free.
func (s *supervisor) replaceStale(ctx context.Context) (launch.Exit, bool, error) {
	err := s.pods.Delete(ctx, s.l.Pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(StopGrace.Seconds()))})
	found := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return launch.Exit{}, false, apiError("cannot delete pod "+s.ref()+", which an earlier launch may have left", err)
	}
	// Its Secret too, at once: the name is needed now, and the garbage
	// collector would take its time.
	if s.l.Secret != nil {
		err := s.secrets.Delete(ctx, s.l.Secret.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return launch.Exit{}, false, apiError("cannot delete Secret "+s.ref()+", which an earlier launch may have left", err)
		}
	}
	if !found {
		return launch.Exit{}, false, nil
	}
	s.log.Infof("deleting pod %s, left by an earlier launch of this chaincode on this peer", s.ref())
	deadline := time.NewTimer(s.timeout)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := s.pods.Get(ctx, s.l.Pod.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return launch.Exit{}, false, nil
		}
		select {
		case sig := <-s.stop:
			if sys, ok := sig.(syscall.Signal); ok {
				code := 128 + int(sys)
				return launch.Exit{Code: code, Reason: fmt.Sprintf("received %s while waiting for the earlier pod to go; no pod was created (exit status %d)", launch.SignalName(sys), code)}, true, nil
			}
		case <-deadline.C:
			return launch.Exit{}, false, fmt.Errorf("pod %s, left by an earlier launch, was still there %s after run deleted it; hint: check its finalizers and node (kubectl describe pod)", s.ref(), s.timeout)
		case <-tick.C:
		}
	}
}

// supervise follows the pod from creation to its end.
func (s *supervisor) supervise(ctx context.Context, pod *corev1.Pod) (launch.Exit, error) {
	events := s.watch(ctx, pod.ResourceVersion)
	startTimer := time.NewTimer(s.timeout)
	defer startTimer.Stop()
	var (
		started  bool
		reason   string // the latest reason the container is not running
		logsDone <-chan struct{}
	)
	for {
		select {
		case sig := <-s.stop:
			sys, ok := sig.(syscall.Signal)
			if !ok {
				continue
			}
			return s.stopPod(ctx, sys, events, logsDone)
		case <-startTimer.C:
			if started {
				continue
			}
			if reason == "" {
				reason = "the pod is still Pending and Kubernetes gives no reason"
			}
			return launch.Exit{}, fmt.Errorf("pod %s did not start within %s (%s): %s; hint: kubectl describe pod -n %s %s",
				s.ref(), s.timeout, EnvStartTimeout, reason, s.l.Pod.Namespace, s.l.Pod.Name)
		case ev := <-events:
			if ev.err != nil {
				return launch.Exit{}, ev.err
			}
			if ev.pod == nil {
				s.gone = true
				return launch.Exit{}, fmt.Errorf("pod %s was deleted by someone else while its chaincode ran", s.ref())
			}
			p := ev.pod
			st := containerStatus(p)
			if !started && st != nil && (st.State.Running != nil || st.State.Terminated != nil) {
				started = true
				s.log.Infof("pod %s started on node %s", s.ref(), p.Spec.NodeName)
				logsDone = s.streamLogs(ctx)
			}
			if st != nil && st.State.Terminated != nil {
				s.waitLogs(logsDone)
				t := st.State.Terminated
				code := int(t.ExitCode)
				why := ""
				if t.Reason != "" && t.Reason != "Completed" && t.Reason != "Error" {
					why = " (" + t.Reason + ")"
				}
				return launch.Exit{Code: code, Reason: fmt.Sprintf("chaincode container of pod %s exited with status %d%s", s.ref(), code, why)}, nil
			}
			if !started && (p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded) {
				return launch.Exit{}, fmt.Errorf("pod %s ended before its container started: %s", s.ref(), podReason(p))
			}
			if r := notRunningReason(p, st); r != "" && r != reason {
				reason = r
				s.log.Infof("pod %s: %s", s.ref(), r)
			}
		}
	}
}

// stopPod deletes the pod with StopGrace and waits, at most stopWait, for
// it to be gone. A second signal deletes it at once.
func (s *supervisor) stopPod(ctx context.Context, sig syscall.Signal, events <-chan podEvent, logsDone <-chan struct{}) (launch.Exit, error) {
	s.log.Infof("received %s; deleting pod %s with a grace period of %s", launch.SignalName(sig), s.ref(), StopGrace)
	deadline := time.NewTimer(stopWait)
	defer deadline.Stop()
	del := func(grace time.Duration) {
		err := s.pods.Delete(ctx, s.l.Pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To(int64(grace.Seconds())),
			Preconditions:      &metav1.Preconditions{UID: ptrUID(s.uid)},
		})
		if apierrors.IsNotFound(err) {
			s.gone = true
		} else if err != nil {
			s.log.Warnf("%s", apiError("cannot delete pod "+s.ref(), err))
		}
	}
	del(StopGrace)
	code := 128 + int(sig)
	status := ""
	for !s.gone {
		select {
		case <-s.stop:
			s.log.Infof("received another stop signal; deleting pod %s now", s.ref())
			del(0)
		case ev := <-events:
			if ev.err != nil {
				s.log.Warnf("%s", ev.err)
				events = nil
				continue
			}
			if ev.pod == nil {
				s.gone = true
				continue
			}
			if st := containerStatus(ev.pod); st != nil && st.State.Terminated != nil {
				code = int(st.State.Terminated.ExitCode)
				status = fmt.Sprintf(", its container exited with status %d", code)
			}
		case <-deadline.C:
			return launch.Exit{Code: code, Reason: fmt.Sprintf("pod %s was still terminating %s after %s; Kubernetes finishes deleting it (exit status %d)",
				s.ref(), stopWait, launch.SignalName(sig), code)}, nil
		}
	}
	s.waitLogs(logsDone)
	return launch.Exit{Code: code, Reason: fmt.Sprintf("pod %s deleted after run received %s%s (exit status %d)", s.ref(), launch.SignalName(sig), status, code)}, nil
}

// cleanup deletes the Secret and, unless it is known to be gone, the pod:
// a pod whose container has ended, or that never started, holds nothing
// worth a grace period.
func (s *supervisor) cleanup() {
	if !s.gone {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		err := s.pods.Delete(ctx, s.l.Pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: ptrUID(s.uid)},
		})
		cancel()
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			s.log.Warnf("%s", apiError("cannot delete pod "+s.ref(), err))
		}
	}
	s.deleteSecret()
}

func (s *supervisor) deleteSecret() {
	if s.l.Secret == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := s.secrets.Delete(ctx, s.l.Secret.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		s.log.Warnf("%s", apiError("cannot delete Secret "+s.ref(), err))
	}
}

// streamLogs copies the container's log, line by line, to the output until
// the container ends or ctx is done.
func (s *supervisor) streamLogs(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		rc, err := s.pods.GetLogs(s.l.Pod.Name, &corev1.PodLogOptions{Container: ContainerName, Follow: true}).Stream(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warnf("%s", apiError("cannot read the log of pod "+s.ref(), err))
			}
			return
		}
		defer rc.Close()
		lines := launch.NewLines(s.out)
		io.Copy(lines, rc)
		lines.Flush()
	}()
	return done
}

func (s *supervisor) waitLogs(done <-chan struct{}) {
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(logDrain):
	}
}

// podEvent is the pod's latest state; pod nil means it was deleted.
type podEvent struct {
	pod *corev1.Pod
	err error
}

// watch sends the pod's states from resourceVersion on. It starts again
// from the pod's current state when the watch ends early (a timeout, or an
// expired resource version).
func (s *supervisor) watch(ctx context.Context, resourceVersion string) <-chan podEvent {
	ch := make(chan podEvent)
	send := func(ev podEvent) bool {
		select {
		case ch <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	name := s.l.Pod.Name
	go func() {
		rv := resourceVersion
		failures := 0
		for ctx.Err() == nil {
			w, err := s.pods.Watch(ctx, metav1.ListOptions{
				FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
				ResourceVersion: rv,
			})
			if err != nil {
				failures++
				if failures >= 5 {
					send(podEvent{err: apiError("cannot watch pod "+s.ref(), err)})
					return
				}
				time.Sleep(time.Duration(failures) * 200 * time.Millisecond)
				continue
			}
			// The state now, in case events were missed before the watch
			// began.
			p, err := s.pods.Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err) || err == nil && string(p.UID) != s.uid:
				w.Stop()
				send(podEvent{})
				return
			case err == nil:
				rv = p.ResourceVersion
				if !send(podEvent{pod: p}) {
					w.Stop()
					return
				}
			}
			for ev := range w.ResultChan() {
				switch ev.Type {
				case watch.Added, watch.Modified:
					p, ok := ev.Object.(*corev1.Pod)
					if !ok || p.Name != name || string(p.UID) != s.uid {
						continue
					}
					failures = 0
					rv = p.ResourceVersion
					if !send(podEvent{pod: p}) {
						w.Stop()
						return
					}
				case watch.Deleted:
					if p, ok := ev.Object.(*corev1.Pod); ok && p.Name == name && string(p.UID) == s.uid {
						w.Stop()
						send(podEvent{})
						return
					}
				case watch.Error:
					rv = "" // expired: start again from the current state
				}
			}
			w.Stop()
		}
	}()
	return ch
}

// containerStatus is the chaincode container's status, nil before the
// kubelet reports one.
func containerStatus(p *corev1.Pod) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == ContainerName {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// notRunningReason says, in Kubernetes' own words, why the container is not
// running yet: the scheduler's reason, or the container's waiting reason
// (ErrImagePull, ImagePullBackOff, CrashLoopBackOff, ...).
func notRunningReason(p *corev1.Pod, st *corev1.ContainerStatus) string {
	if st != nil && st.State.Waiting != nil && st.State.Waiting.Reason != "" {
		return withMessage(st.State.Waiting.Reason, st.State.Waiting.Message)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason != "" {
			return withMessage(c.Reason, c.Message)
		}
	}
	return ""
}

func podReason(p *corev1.Pod) string {
	if p.Status.Reason != "" {
		return withMessage(p.Status.Reason, p.Status.Message)
	}
	return "phase " + string(p.Status.Phase)
}

func withMessage(reason, message string) string {
	if message == "" {
		return reason
	}
	return reason + ": " + msg.Safe(message)
}

// apiError is one line for a failed API call.
func apiError(what string, err error) error {
	hint := ""
	if apierrors.IsForbidden(err) {
		hint = "; hint: the peer's service account needs the Role in deploy/k8s (docs/kubernetes.md, RBAC)"
	}
	return fmt.Errorf("%s: %s%s", what, msg.Safe(err.Error()), hint)
}

func ptrUID(uid string) *types.UID {
	u := types.UID(uid)
	return &u
}
