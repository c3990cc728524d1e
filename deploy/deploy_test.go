// Package deploy_test checks the deployment artefacts: the Dockerfile, every
// Kubernetes manifest (decoded strictly into the real API types, then checked
// against each other and against the worker's configuration), the compose
// file and the Grafana dashboard (whose every query must name a metric a real
// worker serves).
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/ops"
	"github.com/backupflow/backupflow/internal/searchattr"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/wiring"
)

// ---------------------------------------------------------------- helpers

// strict decodes JSON into v, refusing unknown fields and trailing data.
func strict(t *testing.T, what string, raw []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v), "%s: %s", what, raw)
	require.False(t, dec.More(), "%s: trailing data", what)
}

// strictYAML converts YAML to JSON and decodes it strictly.
func strictYAML(t *testing.T, what string, doc []byte, v any) {
	t.Helper()
	raw, err := yaml.YAMLToJSON(doc)
	require.NoError(t, err, what)
	strict(t, what, raw, v)
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// configVars lists every environment variable the worker reads.
func configVars() map[string]bool {
	vars := map[string]bool{}
	for _, v := range provider.EnvVariables(reflect.TypeFor[wiring.Config]()) {
		vars[v] = true
	}
	for _, r := range provider.Registered() {
		for _, v := range r.Variables {
			vars[v] = true
		}
		vars[wiring.CallsPerSecondVariable(r.Name)] = true
	}
	return vars
}

func TestConfigVarsAreCollected(t *testing.T) {
	vars := configVars()
	for _, v := range []string{"TEMPORAL_ADDRESS", "BACKUPFLOW_OPS_ADDR", "BACKUPFLOW_STOP_TIMEOUT", "BACKUPFLOW_SPANNER_CREDENTIALS_FILE",
		"BACKUPFLOW_OTCRDS_SECRET_KEY_FILE", "BACKUPFLOW_CODEC_KEY_FILE", "BACKUPFLOW_PROVIDER_RATE_LIMIT",
		"BACKUPFLOW_SPANNER_CALLS_PER_SECOND"} {
		assert.True(t, vars[v], v)
	}
}

// ---------------------------------------------------------------- Dockerfile

type dockerfile struct {
	stages []stage
}

type stage struct {
	from, name string
	instr      []string // "KEYWORD args", continuation lines joined
}

func parseDockerfile(t *testing.T, raw []byte) dockerfile {
	t.Helper()
	var d dockerfile
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	require.Zero(t, cur.Len(), "dangling line continuation")
	for _, l := range lines {
		kw, args, _ := strings.Cut(l, " ")
		kw = strings.ToUpper(kw)
		require.Contains(t, []string{"FROM", "WORKDIR", "ENV", "COPY", "RUN", "USER", "EXPOSE", "ENTRYPOINT", "CMD", "ARG", "LABEL"}, kw, "instruction %q", l)
		if kw == "FROM" {
			f := strings.Fields(args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			} else {
				require.Len(t, f, 1, "FROM %s", args)
			}
			d.stages = append(d.stages, s)
			continue
		}
		require.NotEmpty(t, d.stages, "%s before FROM", kw)
		d.stages[len(d.stages)-1].instr = append(d.stages[len(d.stages)-1].instr, kw+" "+args)
	}
	return d
}

func (s stage) all(kw string) []string {
	var out []string
	for _, in := range s.instr {
		if k, args, _ := strings.Cut(in, " "); k == kw {
			out = append(out, args)
		}
	}
	return out
}

func goDirective(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(read(t, "../go.mod"))
	require.NotNil(t, m)
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t, read(t, "Dockerfile"))
	require.Len(t, d.stages, 2, "a builder and a runtime stage")
	build, final := d.stages[0], d.stages[1]

	assert.Equal(t, "golang:"+goDirective(t), build.from, "the builder's Go is go.mod's")
	assert.Equal(t, "build", build.name)
	envs := strings.Join(build.all("ENV"), " ")
	assert.Contains(t, strings.Fields(envs), "CGO_ENABLED=0", "static binaries")
	assert.Contains(t, strings.Fields(envs), "GOTOOLCHAIN=local", "no toolchain download in the build")
	runs := strings.Join(build.all("RUN"), " ")
	binaries := map[string]string{"./worker": "/out/backupflow-worker", "./starter": "/out/backupflow"}
	for pkg, out := range binaries {
		re := regexp.MustCompile(`go build -trimpath -ldflags="-s -w" -o ` + regexp.QuoteMeta(out) + ` ` + regexp.QuoteMeta(pkg) + `\b`)
		assert.Regexp(t, re, runs, "builds %s", pkg)
		_, err := os.Stat(filepath.Join("..", pkg, "main.go"))
		assert.NoError(t, err, "%s is a command", pkg)
	}

	assert.Equal(t, "gcr.io/distroless/static-debian12:nonroot", final.from)
	users := final.all("USER")
	require.Len(t, users, 1)
	uid, _, _ := strings.Cut(users[0], ":")
	n, err := strconv.Atoi(uid)
	require.NoError(t, err, "USER is numeric so runAsNonRoot can verify it")
	assert.NotZero(t, n, "non-root")
	assert.Equal(t, 65532, n, "distroless nonroot")

	copies := strings.Join(final.all("COPY"), " ")
	assert.Contains(t, copies, "--from=build")
	for _, out := range binaries {
		assert.Contains(t, copies, out, "both binaries are in the image")
	}
	entry := final.all("ENTRYPOINT")
	require.Len(t, entry, 1)
	var argv []string
	require.NoError(t, json.Unmarshal([]byte(entry[0]), &argv), "exec-form ENTRYPOINT (signals reach the worker)")
	assert.Equal(t, []string{"/usr/local/bin/backupflow-worker"}, argv)
	assert.Equal(t, []string{"9090"}, final.all("EXPOSE"))
	assert.Contains(t, final.all("ENV"), "BACKUPFLOW_OPS_ADDR=0.0.0.0:9090", "probes reach the ops server from outside the container")
}

// ---------------------------------------------------------------- Kubernetes

// ScaledObject is the part of KEDA's keda.sh/v1alpha1 ScaledObject these
// manifests use (KEDA's Go types are not imported: strict decoding against
// this subset still catches typos).
type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicaCount *int32 `json:"minReplicaCount"`
		MaxReplicaCount *int32 `json:"maxReplicaCount"`
		PollingInterval *int32 `json:"pollingInterval"`
		CooldownPeriod  *int32 `json:"cooldownPeriod"`
		Advanced        *struct {
			HorizontalPodAutoscalerConfig *struct {
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior"`
			} `json:"horizontalPodAutoscalerConfig"`
		} `json:"advanced"`
		Triggers []struct {
			Type              string            `json:"type"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind,omitempty"`
			} `json:"authenticationRef,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

// Kustomization is the subset of kustomize.config.k8s.io/v1beta1 used here.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
	Labels []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
}

// kedaTemporalMetadata are the temporal scaler's metadata fields (KEDA 2.17+ docs).
var kedaTemporalMetadata = []string{"endpoint", "endpointFromEnv", "namespace", "taskQueue", "targetQueueSize",
	"activationTargetQueueSize", "queueTypes", "workerDeploymentName", "workerDeploymentBuildId", "includeRunningWorkflowCount",
	"workflowTaskQueueForCount", "minConnectTimeout", "unsafeSsl", "tlsServerName", "enableTLS"}

type manifests struct {
	files        map[string][]any // file -> decoded objects
	deployment   *appsv1.Deployment
	configMap    *corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	service      *corev1.Service
	pdb          *policyv1.PodDisruptionBudget
	netpol       *networkingv1.NetworkPolicy
	hpa          *autoscalingv2.HorizontalPodAutoscaler
	scaledObject *ScaledObject
	job          *batchv1.Job
	kustomize    *Kustomization
	serviceAcct  *corev1.ServiceAccount
	namespace    *corev1.Namespace
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{files: map[string][]any{}, secrets: map[string]*corev1.Secret{}}
	paths, err := filepath.Glob("kubernetes/*")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, path := range paths {
		require.True(t, strings.HasSuffix(path, ".yaml"), "%s: manifests are .yaml", path)
		for i, doc := range docSeparator.Split(string(read(t, path)), -1) {
			raw, err := yaml.YAMLToJSON([]byte(doc))
			require.NoError(t, err, path)
			if string(raw) == "null" {
				continue
			}
			var tm metav1.TypeMeta
			require.NoError(t, json.Unmarshal(raw, &tm), path)
			what := fmt.Sprintf("%s#%d (%s %s)", path, i, tm.APIVersion, tm.Kind)
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "v1 Namespace":
				m.namespace = &corev1.Namespace{}
				obj = m.namespace
			case "v1 ServiceAccount":
				m.serviceAcct = &corev1.ServiceAccount{}
				obj = m.serviceAcct
			case "v1 ConfigMap":
				m.configMap = &corev1.ConfigMap{}
				obj = m.configMap
			case "v1 Secret":
				s := &corev1.Secret{}
				obj = s
				defer func() { m.secrets[s.Name] = s }()
			case "v1 Service":
				m.service = &corev1.Service{}
				obj = m.service
			case "apps/v1 Deployment":
				m.deployment = &appsv1.Deployment{}
				obj = m.deployment
			case "networking.k8s.io/v1 NetworkPolicy":
				m.netpol = &networkingv1.NetworkPolicy{}
				obj = m.netpol
			case "policy/v1 PodDisruptionBudget":
				m.pdb = &policyv1.PodDisruptionBudget{}
				obj = m.pdb
			case "autoscaling/v2 HorizontalPodAutoscaler":
				m.hpa = &autoscalingv2.HorizontalPodAutoscaler{}
				obj = m.hpa
			case "batch/v1 Job":
				m.job = &batchv1.Job{}
				obj = m.job
			case "keda.sh/v1alpha1 ScaledObject":
				m.scaledObject = &ScaledObject{}
				obj = m.scaledObject
			case "kustomize.config.k8s.io/v1beta1 Kustomization":
				m.kustomize = &Kustomization{}
				obj = m.kustomize
			default:
				t.Fatalf("%s: unexpected kind", what)
			}
			strict(t, what, raw, obj)
			m.files[filepath.Base(path)] = append(m.files[filepath.Base(path)], obj)
		}
	}
	for name, v := range map[string]any{"Deployment": m.deployment, "ConfigMap": m.configMap, "Service": m.service,
		"PodDisruptionBudget": m.pdb, "HorizontalPodAutoscaler": m.hpa, "ScaledObject": m.scaledObject, "Job": m.job,
		"Kustomization": m.kustomize, "ServiceAccount": m.serviceAcct, "Namespace": m.namespace, "NetworkPolicy": m.netpol} {
		require.False(t, reflect.ValueOf(v).IsNil(), "no %s manifest", name)
	}
	return m
}

func TestManifestsDecodeStrictly(t *testing.T) {
	loadManifests(t)
	// The strict decoder does catch a misspelt field.
	var d appsv1.Deployment
	raw, err := yaml.YAMLToJSON([]byte("apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      terminationGracePeriodSecond: 60\n"))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	require.ErrorContains(t, dec.Decode(&d), "terminationGracePeriodSecond")
}

func TestKustomizationListsTheManifests(t *testing.T) {
	m := loadManifests(t)
	k := m.kustomize
	assert.Equal(t, m.namespace.Name, k.Namespace)
	alternatives := []string{"keda-scaledobject.yaml", "hpa.yaml"} // the user picks one
	notApplied := append([]string{"kustomization.yaml", "secret.example.yaml"}, alternatives...)
	for file := range m.files {
		if slices.Contains(notApplied, file) {
			assert.NotContains(t, k.Resources, file)
			continue
		}
		assert.Contains(t, k.Resources, file, "%s is applied", file)
	}
	for _, r := range k.Resources {
		assert.Contains(t, m.files, r, "resource %s exists", r)
	}
	kust := string(read(t, "kubernetes/kustomization.yaml"))
	for _, alt := range alternatives {
		assert.Contains(t, kust, "# - "+alt, "the kustomization says how to enable %s", alt)
	}
	require.Len(t, k.Images, 1)
	c := m.deployment.Spec.Template.Spec.Containers[0]
	assert.Equal(t, k.Images[0].Name, c.Image, "the kustomization sets the worker's image")
}

func selectorMatches(t *testing.T, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	require.NoError(t, err)
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

func TestWorkerDeployment(t *testing.T) {
	m := loadManifests(t)
	d := m.deployment
	pod := d.Spec.Template
	require.True(t, selectorMatches(t, d.Spec.Selector, pod.Labels), "the selector matches the pod template")
	spec := pod.Spec
	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]
	data := m.configMap.Data

	// Ops port, probes, and the worker's ops address agree.
	require.Len(t, c.Ports, 2, "the ops port and the codec port")
	port := containerPort(t, c, "ops")
	_, opsPort, err := net.SplitHostPort(data["BACKUPFLOW_OPS_ADDR"])
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(int(port.ContainerPort)), opsPort)
	assert.Equal(t, "0.0.0.0", strings.Split(data["BACKUPFLOW_OPS_ADDR"], ":")[0], "probes come from the kubelet, not loopback")
	require.NotNil(t, c.ReadinessProbe)
	require.NotNil(t, c.LivenessProbe)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
		assert.Equal(t, port.Name, p.HTTPGet.Port.String())
	}
	assert.Equal(t, opsPort, pod.Annotations["prometheus.io/port"])

	// Shutdown: the grace period covers the worker's drain.
	stop, err := time.ParseDuration(data["BACKUPFLOW_STOP_TIMEOUT"])
	require.NoError(t, err)
	require.NotNil(t, spec.TerminationGracePeriodSeconds)
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	assert.Greater(t, grace, stop+10*time.Second, "terminationGracePeriodSeconds exceeds BACKUPFLOW_STOP_TIMEOUT with room for the ops server and exit")

	// Resources.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		assert.Contains(t, c.Resources.Requests, r)
		assert.Contains(t, c.Resources.Limits, r)
		req, limit := c.Resources.Requests[r], c.Resources.Limits[r]
		assert.True(t, req.Cmp(limit) <= 0, "%s request <= limit", r)
	}

	// Security: non-root (the image's uid), read-only root, no privilege.
	psc, csc := spec.SecurityContext, c.SecurityContext
	require.NotNil(t, psc)
	require.NotNil(t, csc)
	assert.True(t, *psc.RunAsNonRoot)
	assert.Equal(t, int64(65532), *psc.RunAsUser, "the Dockerfile's USER")
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)
	assert.True(t, *csc.ReadOnlyRootFilesystem)
	assert.False(t, *csc.AllowPrivilegeEscalation)
	assert.Equal(t, []corev1.Capability{"ALL"}, csc.Capabilities.Drop)
	assert.False(t, *spec.AutomountServiceAccountToken)
	assert.Equal(t, m.serviceAcct.Name, spec.ServiceAccountName)

	// Configuration: the ConfigMap, and secrets as files.
	require.Len(t, c.EnvFrom, 1)
	assert.Equal(t, m.configMap.Name, c.EnvFrom[0].ConfigMapRef.Name)
	vars := configVars()
	for k := range data {
		assert.True(t, vars[k], "ConfigMap key %s is a variable the worker reads", k)
	}
	memoryFromLimit := false
	for _, e := range c.Env {
		assert.True(t, vars[e.Name], "env %s", e.Name)
		assert.Empty(t, e.Value, "no literal values in the Deployment: they belong in the ConfigMap")
		if e.Name == "BACKUPFLOW_MEMORY_LIMIT_BYTES" {
			ref := e.ValueFrom.ResourceFieldRef
			require.NotNil(t, ref)
			memoryFromLimit = ref.Resource == "limits.memory" && ref.ContainerName == c.Name && (ref.Divisor.IsZero() || ref.Divisor.Value() == 1)
		}
	}
	assert.True(t, memoryFromLimit, "the worker learns its memory limit in bytes, and keeps GOMEMLIMIT at 90 %% of it")
	assert.NotNil(t, c.Resources.Limits.Memory(), "a memory limit to take 90 %% of")
	mounts := map[string]string{} // mount path -> secret name
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	for _, vm := range c.VolumeMounts {
		v, ok := volumes[vm.Name]
		require.True(t, ok, "mount %s has a volume", vm.Name)
		if v.Secret != nil {
			assert.True(t, vm.ReadOnly, "secret mounts are read-only")
			mounts[vm.MountPath] = v.Secret.SecretName
		}
	}
	files := 0
	for k, path := range data {
		if !strings.HasSuffix(k, "_FILE") {
			continue
		}
		files++
		dir, key := filepath.Split(path)
		secret, ok := mounts[strings.TrimSuffix(dir, "/")]
		require.True(t, ok, "%s=%s is under a mounted Secret", k, path)
		require.Contains(t, m.secrets, secret, "the example shows Secret %s", secret)
		assert.Contains(t, m.secrets[secret].StringData, key, "Secret %s has key %s for %s", secret, key, k)
	}
	assert.GreaterOrEqual(t, files, 4, "provider secrets are files")
	for k, v := range data {
		if strings.Contains(k, "SECRET") || strings.Contains(k, "PASSWORD") || strings.Contains(k, "TOKEN") || strings.HasSuffix(k, "API_KEY") {
			assert.True(t, strings.HasSuffix(k, "_FILE"), "%s=%s: secrets come from files, not the ConfigMap", k, v)
		}
	}
}

func containerPort(t *testing.T, c corev1.Container, name string) corev1.ContainerPort {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p
		}
	}
	require.Failf(t, "no such port", "container %s has no port named %s", c.Name, name)
	return corev1.ContainerPort{}
}

func TestNetworkPolicy(t *testing.T) {
	m := loadManifests(t)
	np := m.netpol
	pod := m.deployment.Spec.Template
	require.True(t, selectorMatches(t, &np.Spec.PodSelector, pod.Labels), "the policy selects the worker's pods")
	assert.ElementsMatch(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, np.Spec.PolicyTypes,
		"both directions are closed by default")

	// One rule per port, each with its own peers: scrapers never reach the
	// codec, and the codec's callers never reach /metrics.
	require.Len(t, np.Spec.Ingress, 2)
	peers := map[string][]networkingv1.NetworkPolicyPeer{}
	for _, in := range np.Spec.Ingress {
		require.Len(t, in.Ports, 1, "one port per rule")
		name := in.Ports[0].Port.String()
		containerPort(t, pod.Spec.Containers[0], name) // a named port of the worker
		assert.NotContains(t, peers, name, "one rule for %s", name)
		require.NotEmpty(t, in.From, "rule for %s names its peers", name)
		for _, peer := range in.From {
			require.NotNil(t, peer.NamespaceSelector, "every peer is confined to a namespace")
			assert.NotEmpty(t, peer.NamespaceSelector.MatchLabels)
			assert.Nil(t, peer.IPBlock)
		}
		peers[name] = in.From
	}
	require.Len(t, peers["ops"], 1)
	assert.Equal(t, map[string]string{"kubernetes.io/metadata.name": "monitoring"}, peers["ops"][0].NamespaceSelector.MatchLabels,
		"the ops port: monitoring only")
	assert.Nil(t, peers["ops"][0].PodSelector)
	require.Len(t, peers["codec"], 1)
	codecPeer := peers["codec"][0]
	require.NotNil(t, codecPeer.PodSelector, "the codec port: one workload's pods, not a whole namespace")
	assert.NotEmpty(t, codecPeer.PodSelector.MatchLabels)
	assert.NotEqual(t, "monitoring", codecPeer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"])

	open := map[string]bool{}
	for _, rule := range np.Spec.Egress {
		for _, p := range rule.Ports {
			open[fmt.Sprintf("%d/%s", p.Port.IntValue(), *p.Protocol)] = true
		}
		require.NotEmpty(t, rule.Ports, "no egress rule opens every port")
	}
	temporalPort := strings.Split(m.configMap.Data["TEMPORAL_ADDRESS"], ":")[1]
	assert.Equal(t, map[string]bool{"53/UDP": true, "53/TCP": true, temporalPort + "/TCP": true, "443/TCP": true}, open,
		"egress: DNS, the Temporal frontend and HTTPS only")
}

// codecExample returns the ConfigMap's commented codec settings
// ("#   BACKUPFLOW_CODEC_...: value"), which turn the codec on.
func codecExample(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	re := regexp.MustCompile(`(?m)^\s*#\s+(BACKUPFLOW_CODEC_[A-Z_]+):\s*(\S+)\s*$`)
	for _, m := range re.FindAllStringSubmatch(string(read(t, "kubernetes/configmap.yaml")), -1) {
		out[m[1]] = m[2]
	}
	require.NotEmpty(t, out)
	return out
}

// TestCodecExample enables the ConfigMap's commented codec settings, with
// the example Secret's files (a real key in place of the placeholders), and
// checks that the worker accepts them and that the codec port, Service and
// address agree.
func TestCodecExample(t *testing.T) {
	m := loadManifests(t)
	example := codecExample(t)
	for _, v := range []string{"BACKUPFLOW_CODEC_KEY_FILE", "BACKUPFLOW_CODEC_OLD_KEY_FILES", "BACKUPFLOW_CODEC_ADDR",
		"BACKUPFLOW_CODEC_AUTH_TOKEN_FILE", "BACKUPFLOW_CODEC_OIDC_ISSUER", "BACKUPFLOW_CODEC_OIDC_AUDIENCE", "BACKUPFLOW_CODEC_CORS_ORIGINS"} {
		assert.Contains(t, example, v)
		assert.True(t, configVars()[v], "%s is a variable the worker reads", v)
	}
	dir := t.TempDir()
	environment := map[string]string{}
	for k, v := range m.configMap.Data {
		if !strings.HasSuffix(k, "_FILE") { // the provider secrets are TestConfigMapLoads' business
			environment[k] = v
		}
	}
	secret := m.secrets["backupflow-providers"].StringData
	for k, v := range example {
		if strings.HasSuffix(k, "_FILE") || strings.HasSuffix(k, "_FILES") {
			key := filepath.Base(v)
			require.Contains(t, secret, key, "the example Secret has %s for %s", key, k)
			content := secret[key]
			if strings.HasPrefix(key, "codec-key") { // placeholders, not keys
				raw := make([]byte, 32)
				_, err := rand.Read(raw)
				require.NoError(t, err)
				content = base64.StdEncoding.EncodeToString(raw)
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, key), []byte(content), 0o600))
			v = filepath.Join(dir, key)
		}
		environment[k] = v
	}
	environment["BACKUPFLOW_PROVIDERS"] = "memory"
	cfg, err := wiring.ParseConfig(environment)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	codec, err := wiring.NewCodec(cfg)
	require.NoError(t, err)
	assert.Len(t, codec.KeyIDs(), 2, "the current key and the old one")
	assert.NotContains(t, cfg.Ops.CodecCORSOrigins, "*")

	host, port, err := net.SplitHostPort(cfg.Ops.CodecAddr)
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0", host, "the ingress reaches the pod")
	c := m.deployment.Spec.Template.Spec.Containers[0]
	assert.Equal(t, port, strconv.Itoa(int(containerPort(t, c, "codec").ContainerPort)))
	_, opsPort, err := net.SplitHostPort(cfg.Ops.Addr)
	require.NoError(t, err)
	assert.NotEqual(t, opsPort, port, "its own port")

	// Off loopback the worker refuses to serve it without authentication.
	noAuth := cfg
	noAuth.Ops.CodecAuthTokenFile, noAuth.Ops.CodecOIDCIssuer, noAuth.Ops.CodecOIDCAudience = "", "", ""
	require.ErrorContains(t, noAuth.Validate(), "BACKUPFLOW_CODEC_ADDR")
}

// TestConfigMapLoads reads the ConfigMap as the worker would (secret files
// replaced by the example Secret's values) and builds every driver.
func TestConfigMapLoads(t *testing.T) {
	m := loadManifests(t)
	dir := t.TempDir()
	environment := map[string]string{}
	for k, v := range m.configMap.Data {
		if strings.HasSuffix(k, "_FILE") {
			key := filepath.Base(v)
			content := []byte(m.secrets["backupflow-providers"].StringData[key])
			if k == "BACKUPFLOW_SPANNER_CREDENTIALS_FILE" {
				content = serviceAccountKey(t) // the example's placeholder key is not a key
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, key), content, 0o600))
			v = filepath.Join(dir, key)
		}
		environment[k] = v
	}
	cfg, err := wiring.ParseConfig(environment)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	assert.Equal(t, backup.TaskQueue, cfg.Worker.TaskQueue)
	assert.Equal(t, "0.0.0.0:9090", cfg.Ops.Addr)
	limits, err := cfg.CallsPerSecond()
	require.NoError(t, err)
	for _, p := range cfg.Providers {
		assert.Positive(t, limits[p], "%s has a cluster-wide call limit", wiring.CallsPerSecondVariable(p))
	}
	reg, err := wiring.NewRegistry(cfg, nil)
	require.NoError(t, err, "every provider in the ConfigMap is fully configured")
	assert.ElementsMatch(t, cfg.Providers, reg.Names())
}

// serviceAccountKey returns a well-formed Google service-account key file
// (a fresh RSA key; nothing is ever signed with it).
func serviceAccountKey(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	raw, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "example", "private_key_id": "0",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "backupflow@example.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token",
	})
	require.NoError(t, err)
	return raw
}

func TestServicePDBAndAutoscalers(t *testing.T) {
	m := loadManifests(t)
	d := m.deployment
	podLabels := d.Spec.Template.Labels

	assert.True(t, selectorMatches(t, &metav1.LabelSelector{MatchLabels: m.service.Spec.Selector}, podLabels))
	var targets []string
	for _, p := range m.service.Spec.Ports {
		targets = append(targets, p.TargetPort.String())
		cp := containerPort(t, d.Spec.Template.Spec.Containers[0], p.TargetPort.String())
		assert.Equal(t, cp.ContainerPort, p.Port, "%s: the same number in and out", p.Name)
		assert.Equal(t, p.Name, p.TargetPort.String())
	}
	assert.Equal(t, []string{"ops", "codec"}, targets, "the ops port and the codec port")

	assert.True(t, selectorMatches(t, m.pdb.Spec.Selector, podLabels), "the PDB covers the workers")
	require.NotNil(t, m.pdb.Spec.MaxUnavailable)
	assert.Equal(t, 1, m.pdb.Spec.MaxUnavailable.IntValue())

	so := m.scaledObject
	assert.Equal(t, "Deployment", so.Spec.ScaleTargetRef.Kind)
	assert.Equal(t, d.Name, so.Spec.ScaleTargetRef.Name)
	assert.GreaterOrEqual(t, *so.Spec.MinReplicaCount, int32(1), "a worker always polls")
	assert.Greater(t, *so.Spec.MaxReplicaCount, *so.Spec.MinReplicaCount)
	require.Len(t, so.Spec.Triggers, 1)
	tr := so.Spec.Triggers[0]
	assert.Equal(t, "temporal", tr.Type)
	for k := range tr.Metadata {
		assert.Contains(t, kedaTemporalMetadata, k, "KEDA temporal scaler metadata field %s", k)
	}
	data := m.configMap.Data
	assert.Equal(t, data["TEMPORAL_ADDRESS"], tr.Metadata["endpoint"])
	assert.Equal(t, data["TEMPORAL_NAMESPACE"], tr.Metadata["namespace"])
	assert.Equal(t, data["BACKUPFLOW_TASK_QUEUE"], tr.Metadata["taskQueue"])
	assert.Equal(t, backup.TaskQueue, tr.Metadata["taskQueue"])
	for _, k := range []string{"targetQueueSize", "activationTargetQueueSize"} {
		_, err := strconv.Atoi(tr.Metadata[k])
		assert.NoError(t, err, "%s is an integer string", k)
	}
	for _, q := range strings.Split(tr.Metadata["queueTypes"], ",") {
		assert.Contains(t, []string{"workflow", "activity", "nexus"}, q)
	}

	h := m.hpa
	assert.Equal(t, "Deployment", h.Spec.ScaleTargetRef.Kind)
	assert.Equal(t, d.Name, h.Spec.ScaleTargetRef.Name)
	require.Len(t, h.Spec.Metrics, 1)
	assert.Equal(t, corev1.ResourceCPU, h.Spec.Metrics[0].Resource.Name)
	require.NotNil(t, d.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu(), "CPU utilisation needs a CPU request")
}

func TestSearchAttributeJob(t *testing.T) {
	m := loadManifests(t)
	j := m.job
	spec := j.Spec.Template.Spec
	assert.Contains(t, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}, spec.RestartPolicy)
	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]
	assert.True(t, strings.HasPrefix(c.Image, "temporalio/admin-tools:"), c.Image)
	assert.NotContains(t, c.Image, ":latest")
	script := strings.Join(append(c.Command, c.Args...), " ")
	for _, name := range searchattr.Names {
		assert.Contains(t, script, name)
	}
	assert.Contains(t, script, "--type Keyword")
	assert.Equal(t, m.configMap.Name, c.EnvFrom[0].ConfigMapRef.Name, "the Job reaches Temporal as the worker does")
	assert.True(t, *spec.SecurityContext.RunAsNonRoot)
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
}

// ---------------------------------------------------------------- compose

// composeFile is the subset of the Compose specification the stack uses.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]struct{}       `json:"volumes"`
}

type composeService struct {
	Image string `json:"image"`
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
	} `json:"build"`
	DependsOn map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Restart         string            `json:"restart"`
	ReadOnly        bool              `json:"read_only"`
	StopGracePeriod string            `json:"stop_grace_period"`
	Environment     map[string]string `json:"environment"`
	EnvFile         []struct {
		Path     string `json:"path"`
		Required *bool  `json:"required"`
	} `json:"env_file"`
	Volumes     []string `json:"volumes"`
	Ports       []string `json:"ports"`
	Entrypoint  []string `json:"entrypoint"`
	Command     []string `json:"command"`
	Healthcheck *struct {
		Test        []string `json:"test"`
		Interval    string   `json:"interval"`
		Timeout     string   `json:"timeout"`
		Retries     int      `json:"retries"`
		StartPeriod string   `json:"start_period"`
	} `json:"healthcheck"`
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(string(read(t, path)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s: %q", path, line)
		out[k] = v
	}
	return out
}

func TestComposeFile(t *testing.T) {
	var c composeFile
	strictYAML(t, "compose.yaml", read(t, "compose/compose.yaml"), &c)
	require.Contains(t, c.Services, "worker")
	require.Contains(t, c.Services, "temporal")
	require.Contains(t, c.Services, "temporal-ui")
	require.Contains(t, c.Services, "postgresql")

	for name, s := range c.Services {
		assert.True(t, s.Image != "" || s.Build != nil, "%s has an image or a build", name)
		if s.Image != "" && s.Build == nil {
			assert.Regexp(t, `^[a-z0-9./-]+:[0-9][0-9A-Za-z.-]*$`, s.Image, "%s: image pinned to a version", name)
		}
		for _, p := range s.Ports {
			assert.True(t, strings.HasPrefix(p, "127.0.0.1:"), "%s publishes %s on loopback only", name, p)
		}
		for dep, d := range s.DependsOn {
			assert.Contains(t, c.Services, dep, "%s depends on %s", name, dep)
			assert.Contains(t, []string{"service_started", "service_healthy", "service_completed_successfully"}, d.Condition)
			if d.Condition == "service_healthy" {
				assert.NotNil(t, c.Services[dep].Healthcheck, "%s waits for %s to be healthy: it needs a healthcheck", name, dep)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				_, err := os.Stat(filepath.Join("compose", src))
				assert.NoError(t, err, "%s mounts %s", name, src)
			} else {
				assert.Contains(t, c.Volumes, src, "%s: named volume %s is declared", name, src)
			}
		}
		if s.Healthcheck != nil {
			for _, d := range []string{s.Healthcheck.Interval, s.Healthcheck.Timeout, s.Healthcheck.StartPeriod} {
				_, err := time.ParseDuration(d)
				assert.NoError(t, err, "%s healthcheck duration %q", name, d)
			}
		}
	}

	w := c.Services["worker"]
	require.NotNil(t, w.Build)
	assert.Equal(t, "deploy/Dockerfile", w.Build.Dockerfile)
	_, err := os.Stat(filepath.Join("compose", w.Build.Context, w.Build.Dockerfile))
	assert.NoError(t, err, "the build context and Dockerfile path resolve")
	_, err = os.Stat(filepath.Join("compose", w.Build.Context, "go.mod"))
	assert.NoError(t, err, "the build context is the repository root")
	assert.Equal(t, "service_completed_successfully", w.DependsOn["temporal-setup"].Condition, "the worker starts after the namespace and search attributes exist")
	assert.True(t, w.ReadOnly)
	grace, err := time.ParseDuration(w.StopGracePeriod)
	require.NoError(t, err)

	require.NotEmpty(t, w.EnvFile)
	defaults := readEnvFile(t, filepath.Join("compose", w.EnvFile[0].Path))
	vars := configVars()
	for k := range defaults {
		assert.True(t, vars[k], "%s is a variable the worker reads", k)
	}
	stop, err := time.ParseDuration(defaults["BACKUPFLOW_STOP_TIMEOUT"])
	require.NoError(t, err)
	assert.Greater(t, grace, stop, "stop_grace_period exceeds BACKUPFLOW_STOP_TIMEOUT")
	host, port, err := net.SplitHostPort(defaults["TEMPORAL_ADDRESS"])
	require.NoError(t, err)
	assert.Contains(t, c.Services, host, "the worker's TEMPORAL_ADDRESS names the temporal service")
	assert.Contains(t, c.Services[host].Ports, "127.0.0.1:"+port+":"+port)
	_, opsPort, err := net.SplitHostPort(defaults["BACKUPFLOW_OPS_ADDR"])
	require.NoError(t, err)
	assert.Contains(t, w.Ports, "127.0.0.1:"+opsPort+":"+opsPort)
	// The UI's commented codec endpoint is the worker's published codec port.
	endpoint := regexp.MustCompile(`#\s*TEMPORAL_CODEC_ENDPOINT:\s*http://localhost:(\d+)/codec`).FindStringSubmatch(string(read(t, "compose/compose.yaml")))
	require.NotNil(t, endpoint)
	assert.Contains(t, w.Ports, "127.0.0.1:"+endpoint[1]+":"+endpoint[1])
	assert.NotEqual(t, opsPort, endpoint[1])
	for _, origin := range strings.Split(defaults["BACKUPFLOW_CODEC_CORS_ORIGINS"], ",") {
		assert.NotEqual(t, "*", origin)
	}
	override := w.EnvFile[len(w.EnvFile)-1]
	require.NotNil(t, override.Required)
	assert.False(t, *override.Required, "worker.env is optional")

	setup := strings.Join(c.Services["temporal-setup"].Command, " ")
	for _, name := range searchattr.Names {
		assert.Contains(t, setup, name)
	}
}

// ---------------------------------------------------------------- Grafana

type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promNonMetric = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "bool": true, "offset": true,
		"and": true, "or": true, "unless": true, "group_left": true, "group_right": true, "inf": true, "nan": true}
)

// metricNames returns the metric names a PromQL expression reads.
func metricNames(expr string) []string {
	expr = promStrings.ReplaceAllString(expr, `""`)
	expr = promMatchers.ReplaceAllString(expr, " ")
	expr = promRanges.ReplaceAllString(expr, " ")
	expr = promGrouping.ReplaceAllString(expr, " ")
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(expr, -1) {
		id := expr[loc[0]:loc[1]]
		rest := strings.TrimLeft(expr[loc[1]:], " ")
		if strings.HasPrefix(rest, "(") || promNonMetric[strings.ToLower(id)] || strings.HasPrefix(id, "$") {
			continue
		}
		if loc[0] > 0 && (expr[loc[0]-1] == '$' || expr[loc[0]-1] == '.' || (expr[loc[0]-1] >= '0' && expr[loc[0]-1] <= '9')) {
			continue
		}
		names = append(names, id)
	}
	return names
}

func TestMetricNamesParser(t *testing.T) {
	assert.Equal(t, []string{"a_bucket"},
		metricNames(`histogram_quantile(0.95, sum by (le, provider) (rate(a_bucket{provider=~"$provider", x="y(z)"}[$__rate_interval])))`))
	assert.Equal(t, []string{"x_total", "y_total"}, metricNames(`sum(rate(x_total[5m])) / ignoring(class) sum(rate(y_total[5m])) > 0.5`))
	assert.Equal(t, []string{"go_goroutines"}, metricNames(`go_goroutines offset 1h`))
}

func (p panel) all() []panel {
	out := []panel{p}
	for _, c := range p.Panels {
		out = append(out, c.all()...)
	}
	return out
}

// exportedMetrics runs a real worker (InitializeWorker, as worker/main.go
// does) on an in-process Temporal server, puts backups through it (one
// succeeding, one failing at the provider, a copy the provider refuses, one
// cancelled), with an inventory for its RPO watch and a sink refusing their
// notifications (alerts_test.go), and returns what /metrics serves.
func exportedMetrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	e := testenv.Start(t, true)
	startRPOInventory(t, e)
	cfg := e.ConfigFromEnv(t, map[string]string{"BACKUPFLOW_PROVIDERS": "memory", "BACKUPFLOW_OPS_ADDR": "127.0.0.1:0",
		"BACKUPFLOW_RPO_WATCH_INTERVAL": "5s", "BACKUPFLOW_NOTIFY_SINKS_FILE": refusingSink(t)})
	app, cleanup, err := wiring.InitializeWorker(cfg)
	require.NoError(t, err)
	t.Cleanup(cleanup)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cancel()
			<-done
		}
	})
	addr, err := app.OpsAddr(testenv.Context(t, 30*time.Second))
	require.NoError(t, err)
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "the worker becomes ready")

	bc := e.BackupClient()
	run := func(name string, section backup.MemoryCreate) *backup.Handle {
		req, err := backup.NewRequest(&section)
		require.NoError(t, err)
		h, err := bc.StartCreate(testenv.Context(t, 30*time.Second), req)
		require.NoError(t, err, name)
		return h
	}
	ok := run("ok", backup.MemoryCreate{Target: "orders-db", Name: "nightly", DurationSeconds: 1})
	bad := run("bad", backup.MemoryCreate{Target: "users-db", Name: "nightly", FailWith: "disk full"})
	slow := run("slow", backup.MemoryCreate{Target: "audit-db", Name: "nightly", DurationSeconds: 3600})
	_, err = ok.Result(testenv.Context(t, 60*time.Second))
	require.NoError(t, err)
	// A copy of a backup that does not exist: the provider refuses (NotFound).
	creq, err := backup.NewRequest(&backup.MemoryCopy{Source: "no-such-backup", Target: "orders-db", Name: "copy"})
	require.NoError(t, err)
	ch, err := bc.StartCopy(testenv.Context(t, 30*time.Second), creq)
	require.NoError(t, err)
	_, err = ch.Result(testenv.Context(t, 60*time.Second))
	require.Error(t, err)
	_, err = bad.Result(testenv.Context(t, 60*time.Second))
	require.Error(t, err)
	require.Eventually(t, func() bool {
		p, err := slow.Progress(testenv.Context(t, 10*time.Second))
		return err == nil && p.State == backup.StateRunning
	}, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, slow.Cancel(testenv.Context(t, 10*time.Second), "test"))
	_, err = slow.Result(testenv.Context(t, 60*time.Second))
	require.Error(t, err)

	// The SDK counts a workflow's outcome after the server has recorded it,
	// so a client can see the result first: scrape until all three
	// outcomes are counted.
	var families map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err = parser.TextToMetricFamilies(bytes.NewReader(body))
		require.NoError(t, err)
		for _, outcome := range []string{"temporal_workflow_completed", "temporal_workflow_failed", "temporal_workflow_canceled"} {
			if families[outcome] == nil && families[outcome+"_total"] == nil {
				return false
			}
		}
		for _, name := range alertSeries {
			if families[name] == nil {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "the worker counts the completed, failed and cancelled workflows, "+
		"serves the RPO gauges and counts the dead-lettered notifications")

	// Shutdown order: Run returns once the worker has stopped, and only then
	// is the ops server gone.
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	stopped = true
	_, err = http.Get(base + "/healthz")
	require.Error(t, err, "the ops server is closed after the worker stopped")
	return families
}

// seriesNames are the series names of families, as PromQL sees them.
func seriesNames(families map[string]*dto.MetricFamily) map[string]bool {
	names := map[string]bool{}
	for name, f := range families {
		switch f.GetType().String() {
		case "HISTOGRAM":
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case "SUMMARY":
			names[name+"_sum"], names[name+"_count"] = true, true
			names[name] = true
		default:
			names[name] = true
		}
	}
	return names
}

// The workflows count every backup's outcome once: the copy the provider
// refuses in Validate is a failure without a start, and the cancelled
// backup was started.
func TestWorkerCountsEachBackupOutcomeOnce(t *testing.T) {
	families := exportedMetrics(t)
	value := func(name string, labels map[string]string) float64 {
		f := families[name]
		require.NotNil(t, f, "the worker serves %s", name)
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if maps.Equal(got, labels) {
				if h := m.GetHistogram(); h != nil {
					return float64(h.GetSampleCount())
				}
				return m.GetCounter().GetValue()
			}
		}
		return 0
	}
	create := map[string]string{"provider": "memory", "kind": "create"}
	assert.Equal(t, 3.0, value(ops.MetricBackupsStarted, create), "ok, bad and slow started")
	assert.Equal(t, 1.0, value(ops.MetricBackupsSucceeded, create))
	assert.Equal(t, 1.0, value(ops.MetricBackupDuration, create), "one run time observed")
	assert.Equal(t, 1.0, value(ops.MetricBackupsCancelled, create))
	assert.Equal(t, 1.0, value(ops.MetricBackupsFailed, map[string]string{"provider": "memory", "kind": "create", "class": "BackupFailed"}))
	assert.Equal(t, 1.0, value(ops.MetricBackupsFailed, map[string]string{"provider": "memory", "kind": "copy", "class": "NotFound"}))
	assert.Equal(t, 0.0, value(ops.MetricBackupsStarted, map[string]string{"provider": "memory", "kind": "copy"}))
	assert.Len(t, families[ops.MetricBackupsFailed].GetMetric(), 2, "no other failures")
}

func TestGrafanaDashboard(t *testing.T) {
	var d dashboard
	require.NoError(t, json.Unmarshal(read(t, "grafana/backupflow.json"), &d))
	require.NotEmpty(t, d.Title)
	require.NotEmpty(t, d.UID)

	exported := seriesNames(exportedMetrics(t))
	for _, want := range []string{ops.MetricBackupsStarted, ops.MetricBackupsSucceeded, ops.MetricBackupsFailed,
		ops.MetricBackupsCancelled, ops.MetricBackupDuration + "_bucket", ops.MetricProviderCalls, ops.MetricProviderErrors,
		ops.MetricProviderCallDuration + "_bucket",
		"temporal_activity_execution_latency_seconds_bucket", "temporal_workflow_task_schedule_to_start_latency_seconds_bucket"} {
		require.True(t, exported[want], "the worker serves %s; it serves:\n%s", want, strings.Join(sortedKeys(exported), "\n"))
	}

	ids := map[int]bool{}
	used := map[string]bool{}
	exprs := 0
	for _, top := range d.Panels {
		for _, p := range top.all() {
			assert.False(t, ids[p.ID], "panel id %d is unique", p.ID)
			ids[p.ID] = true
			assert.NotEmpty(t, p.Title, "panel %d has a title", p.ID)
			if p.Type == "row" {
				continue
			}
			assert.Positive(t, p.GridPos.W, "panel %q has a size", p.Title)
			assert.Positive(t, p.GridPos.H, "panel %q has a size", p.Title)
			require.NotEmpty(t, p.Targets, "panel %q has a query", p.Title)
			for _, tg := range p.Targets {
				names := metricNames(tg.Expr)
				require.NotEmpty(t, names, "panel %q: %s names a metric", p.Title, tg.Expr)
				for _, n := range names {
					used[n] = true
					assert.True(t, exported[n], "panel %q reads %s, which the worker does not export", p.Title, n)
				}
				exprs++
			}
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok && strings.HasPrefix(q, "label_values(") {
			metric := strings.TrimSuffix(strings.Split(strings.TrimPrefix(q, "label_values("), ",")[0], ")")
			assert.True(t, exported[metric], "variable %s reads %s", v.Name, metric)
		}
	}
	assert.GreaterOrEqual(t, exprs, 10)
	// Every backupflow metric is on the dashboard.
	for _, n := range []string{ops.MetricBackupsStarted, ops.MetricBackupsSucceeded, ops.MetricBackupsFailed, ops.MetricBackupsCancelled,
		ops.MetricBackupDuration + "_bucket", ops.MetricProviderCalls, ops.MetricProviderErrors, ops.MetricProviderCallDuration + "_bucket"} {
		assert.True(t, used[n], "the dashboard shows %s", n)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
