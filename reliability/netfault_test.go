package reliability

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// faultMode is what a faultProxy does to the connections it accepts.
type faultMode int32

const (
	// passMode forwards to the simulator (and records credentials on the wire).
	passMode faultMode = iota
	// refuseMode closes the listener: dials meet "connection refused".
	refuseMode
	// stallMode swallows what open and new connections carry and never
	// answers: calls time out.
	stallMode
	// resetMode reads the first bytes of a request, then resets the connection.
	resetMode
)

func (m faultMode) String() string {
	return [...]string{"pass", "refuse", "stall", "reset"}[m]
}

// faultProxy is a loopback TCP proxy in front of a simulator that can refuse,
// stall or reset connections. It speaks no protocol, so it serves gRPC and
// HTTP simulators alike. Changing the mode to anything but stall drops every
// open connection (with an RST for reset), so the next call dials anew and
// meets the new mode; stall keeps them open and silent, as a network that
// stops delivering does, so that gRPC's established connection times out too.
type faultProxy struct {
	addr   string
	target string
	wire   *wireRecorder
	mode   atomic.Int32

	mu     sync.Mutex
	ln     net.Listener // nil while refusing
	conns  map[net.Conn]bool
	closed bool
}

func startFaultProxy(t *testing.T, target string, wire *wireRecorder) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &faultProxy{addr: ln.Addr().String(), target: target, wire: wire, ln: ln, conns: map[net.Conn]bool{}}
	go p.accept(ln)
	t.Cleanup(p.Close)
	return p
}

// SetMode switches the mode for every connection from now on.
func (p *faultProxy) SetMode(m faultMode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("proxy closed")
	}
	p.mode.Store(int32(m))
	for c := range p.conns {
		if m == stallMode {
			continue
		}
		if m == resetMode {
			reset(c)
		} else {
			_ = c.Close()
		}
		delete(p.conns, c)
	}
	switch {
	case m == refuseMode && p.ln != nil:
		_ = p.ln.Close()
		p.ln = nil
	case m != refuseMode && p.ln == nil:
		// The same port again: the worker's configuration names it.
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return fmt.Errorf("listen again on %s: %w", p.addr, err)
		}
		p.ln = ln
		go p.accept(ln)
	}
	return nil
}

func (p *faultProxy) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

func (p *faultProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *faultProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		_ = c.Close()
	}
}

// reset closes c with an RST rather than a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *faultProxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		switch faultMode(p.mode.Load()) {
		case passMode:
			up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil {
				_ = c.Close()
				continue
			}
			if !p.track(c, up) {
				continue
			}
			var once sync.Once
			closeBoth := func() { once.Do(func() { p.untrack(c, up) }) }
			stalled := &atomic.Bool{}
			go p.pipe(up, c, stalled, closeBoth)
			go p.pipe(c, up, stalled, closeBoth)
		case stallMode:
			if p.track(c) {
				go func() { _, _ = io.Copy(io.Discard, c); p.untrack(c) }()
			}
		case resetMode:
			if p.track(c) {
				go func() {
					_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
					_, _ = c.Read(make([]byte, 4096))
					reset(c)
					p.untrack(c)
				}()
			}
		default: // accepted just before the listener closed
			reset(c)
		}
	}
}

// pipe forwards src to dst, recording credentials, until either side ends.
// From the first byte that arrives in stall mode on, the pair stays silent.
func (p *faultProxy) pipe(dst, src net.Conn, stalled *atomic.Bool, done func()) {
	defer done()
	rec := p.wire.stream()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			_, _ = rec.Write(buf[:n])
			if faultMode(p.mode.Load()) == stallMode {
				stalled.Store(true)
			}
			if !stalled.Load() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// wireRecorder collects the credentials that cross the proxies: header values
// that authenticate (Authorization, X-Auth-Token, IAM's X-Subject-Token) and
// the signature parameters of Alibaba's signed query strings. They are what
// must never reappear in histories, logs, metrics or CLI output.
type wireRecorder struct {
	mu     sync.Mutex
	values map[string]bool
	kinds  map[string]int // what was seen: header or parameter name -> count
}

var (
	wireHeader = regexp.MustCompile(`(?i)^(authorization|x-auth-token|x-subject-token):\s*(.+?)\s*$`)
	wireParam  = regexp.MustCompile(`(?:^|[?&\s])(Signature|SignatureNonce)=([^&\s]+)`)
	wireSig    = regexp.MustCompile(`Signature=([0-9a-fA-F]{16,})`)
)

func (w *wireRecorder) add(kind string, vs ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.values == nil {
		w.values, w.kinds = map[string]bool{}, map[string]int{}
	}
	w.kinds[strings.ToLower(kind)]++
	for _, v := range vs {
		if len(v) >= 8 {
			w.values[v] = true
		}
	}
}

// Kinds counts what was recorded by header or parameter name (lower case).
func (w *wireRecorder) Kinds() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for k, n := range w.kinds {
		out[k] = n
	}
	return out
}

// Values lists what was recorded.
func (w *wireRecorder) Values() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.values))
	for v := range w.values {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func (w *wireRecorder) line(l string) {
	if m := wireHeader.FindStringSubmatch(l); m != nil {
		w.add(m[1], m[2])
		for _, s := range wireSig.FindAllStringSubmatch(m[2], -1) {
			w.add("Signature", s[1])
		}
	}
	for _, m := range wireParam.FindAllStringSubmatch(l, -1) {
		w.add(m[1], m[2])
		if v, err := url.QueryUnescape(m[2]); err == nil {
			w.add(m[1], v)
		}
	}
}

// stream returns a writer that scans one direction of a connection line by line.
func (w *wireRecorder) stream() io.Writer { return &lineScanner{w: w} }

type lineScanner struct {
	w   *wireRecorder
	buf []byte
}

func (s *lineScanner) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		s.w.line(strings.TrimRight(string(s.buf[:i]), "\r"))
		s.buf = s.buf[i+1:]
	}
	// A form body ends without a newline: look at what is pending too (a
	// value cut short is recorded as its prefix, which finds leaks as well).
	s.w.line(string(s.buf))
	if len(s.buf) > 64<<10 { // a binary stream (gRPC): keep memory bounded
		s.buf = s.buf[:0]
	}
	return len(p), nil
}

// faultProxied puts a fault proxy in front of every simulator and returns the
// worker environment pointing through them.
func faultProxied(t *testing.T, set clouds.Set, base map[string]string, wire *wireRecorder) (map[string]string, map[string]*faultProxy) {
	t.Helper()
	env := map[string]string{}
	for k, v := range base {
		env[k] = v
	}
	proxies := map[string]*faultProxy{}
	for _, c := range set {
		addr := strings.TrimSuffix(c.Simulator.Endpoint(), "/")
		if i := strings.Index(addr, "://"); i >= 0 {
			addr = addr[i+3:]
		}
		p := startFaultProxy(t, addr, wire)
		proxies[c.Provider] = p
		replaced := 0
		for k, v := range c.Env {
			if strings.Contains(v, addr) {
				env[k] = strings.ReplaceAll(v, addr, p.addr)
				replaced++
			}
		}
		require.NotZero(t, replaced, "%s: no worker variable names the simulator's address %s", c.Provider, addr)
	}
	return env, proxies
}

// leakPatterns are fragments of signed requests: a signature, nonce or key
// parameter with its value (a "[redacted]" value is no leak), the Huawei
// signing scheme and its date header, token headers with their value, and a
// query string that carries signing parameters.
var leakPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\b(Signature|SignatureNonce|AccessKeyId)["']?\s*=\s*["']?[^\[\s"'&\\]`),
	regexp.MustCompile(`SDK-HMAC-SHA256`),
	regexp.MustCompile(`(?i)X-Sdk-Date["'\\]*\s*[:=]\s*["'\\]*\d`),
	regexp.MustCompile(`(?i)X-(Auth|Subject)-Token["'\\]*\s*[:=]\s*["'\\]*[^\[\s"'\\]`),
	regexp.MustCompile(`\?([^\s"'#]*&)?(AccessKeyId|Signature|SignatureNonce|SignatureMethod|SignatureVersion)=`),
}

// unquote undoes the escapes JSON logs and exports put in text ("&" is
// \u0026 there), so that a fragment is found however it was written.
var unquote = strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">", `\u003d`, "=", `\"`, `"`, `\\`, `\`)

// leaks returns, with some context, every signature fragment in text.
func leaks(text []byte) []string {
	var out []string
	text = []byte(unquote.Replace(string(text)))
	for _, re := range leakPatterns {
		for _, loc := range re.FindAllIndex(text, 3) {
			lo, hi := max(loc[0]-200, 0), min(loc[1]+200, len(text))
			out = append(out, fmt.Sprintf("(%s) ...%s...", re, text[lo:hi]))
		}
	}
	return out
}

// assertNoLeaks fails if text holds any of values or any signature fragment.
func assertNoLeaks(t *testing.T, where string, text []byte, values []string) {
	t.Helper()
	assertNoSecrets(t, where, text, values)
	assertNoSecrets(t, where+" (unquoted)", []byte(unquote.Replace(string(text))), values)
	for _, l := range leaks(text) {
		t.Errorf("a signature fragment appears in %s: %s", where, l)
	}
}

// TestLeakPatterns: the fragments the scans look for are found in what the
// SDKs put in their errors, raw or JSON-quoted as a log line quotes them, and
// not once provider.Redact has been through.
func TestLeakPatterns(t *testing.T) {
	for _, raw := range []string{
		`Post "http://127.0.0.1:1/?AccessKeyId=LTAI5t&Signature=abc%3D&SignatureNonce=n-1": dial tcp: connection refused`,
		`Get "https://rds.aliyuncs.com/?Action=DescribeBackups&SignatureNonce=5f0e9c": EOF`,
		`request AccessKeyId=LTAI5tBackupflow&Format=JSON`,
		`Authorization: SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=deadbeefdeadbeef`,
		`X-Sdk-Date: 20260101T120000Z`,
		`X-Auth-Token: MIIEvQYJKoZIhvcNAQcCoIIErjCCBKoCAQExDTALBglghkgBZQMEAgEwggKO`,
		`X-Subject-Token=MIIEvQYJKoZIhvcNAQcC`,
	} {
		quoted, err := json.Marshal(map[string]string{"Error": raw})
		require.NoError(t, err)
		for _, text := range []string{raw, string(quoted)} {
			assert.NotEmpty(t, leaks([]byte(text)), "found in %s", text)
		}
		assert.Empty(t, leaks([]byte(provider.Redact(raw))), "redacted: %s", provider.Redact(raw))
	}
	for _, clean := range []string{
		`alirds: the signature of the request does not match (code SignatureDoesNotMatch)`,
		`otcrds: IAM token request refused: The request you have made requires authentication (code IAM.Unauthorized)`,
		`Post "http://127.0.0.1:42391/": dial tcp 127.0.0.1:42391: connect: connection refused`,
		`X-Auth-Token: [redacted]`,
	} {
		assert.Empty(t, leaks([]byte(clean)), clean)
	}
}

// historyText is a history as the CLI and UI export it, followed by every
// payload decoded: payloads are base64 in the export, and a credential inside
// one would not show in the raw text.
func historyText(t *testing.T, h *historypb.History) []byte {
	t.Helper()
	raw := historyJSON(t, h)
	var doc any
	require.NoError(t, json.Unmarshal(raw, &doc))
	out := bytes.NewBuffer(append([]byte(nil), raw...))
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "data" {
					if b, err := base64.StdEncoding.DecodeString(s); err == nil {
						out.WriteByte('\n')
						out.Write(b)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	return out.Bytes()
}

// starterCLI builds the starter (the operator's CLI) and runs it against one
// Temporal server, in a clean environment, collecting everything it prints.
type starterCLI struct {
	bin string
	env []string
	out syncBuffer
}

func newStarterCLI(t *testing.T, address, namespace string) *starterCLI {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "backupflow")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/backupflow/backupflow/starter").CombinedOutput()
	require.NoError(t, err, "go build ./starter: %s", out)
	return &starterCLI{bin: bin, env: []string{"TEMPORAL_ADDRESS=" + address, "TEMPORAL_NAMESPACE=" + namespace, "BACKUPFLOW_TASK_QUEUE=backups"}}
}

// run runs one command and keeps its stdout and stderr; exit codes other
// than 0 are expected for failed or running backups, so they are not errors.
func (s *starterCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	require.NoError(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Errorf("%s %v: %v", s.bin, args, err)
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("%v did not end within a minute", args)
	}
	text := fmt.Sprintf("$ backupflow %s\n%s%s\n", strings.Join(args, " "), stdout.String(), stderr.String())
	_, _ = s.out.Write([]byte(text))
	return text
}

// phaseErrors are what a failed attempt's message says in each fault mode,
// whichever SDK made the call.
var phaseErrors = map[faultMode]*regexp.Regexp{
	passMode:   regexp.MustCompile(`still making the backup`),
	refuseMode: regexp.MustCompile(`connection refused`),
	stallMode:  regexp.MustCompile(`(?i)timeout|deadline exceeded|timed out`),
	resetMode:  regexp.MustCompile(`(?i)connection reset|\bEOF\b|broken pipe|transport is closing`),
}

// attemptFailed reports whether the worker logged, after offset, a failed
// activity attempt of workflowID whose line matches re (a poll that found
// the backup running is a failed attempt too).
func attemptFailed(log string, offset int, workflowID string, re *regexp.Regexp) bool {
	id, _ := json.Marshal(workflowID)
	for _, line := range strings.Split(log[offset:], "\n") {
		if strings.Contains(line, `"Activity error."`) && strings.Contains(line, string(id)) && re.MatchString(line) {
			return true
		}
	}
	return false
}

// TestSecretsUnderNetworkFaults runs one backup per provider on a worker
// process (debug logs) whose every provider connection goes through a fault
// proxy. Each backup meets, in turn, refused connections, calls that time
// out and connections reset mid-request (each seen failing an attempt in the
// worker's log), then a healthy network, and must succeed. Then the workflow
// histories (payloads decoded), the worker's log, its metrics and the CLI's
// describe and list output are scanned for every credential: those
// configured, those seen on the wire (signatures, nonces, IAM tokens), and
// signature fragments of any provider.
func TestSecretsUnderNetworkFaults(t *testing.T) {
	t.Parallel()
	// Backups long enough to be polled at least once before the faults begin.
	set := startClouds(t, simkit.Options{Duration: 10 * time.Second})
	e := testenv.Start(t, true)
	wire := &wireRecorder{}
	env, proxies := faultProxied(t, set, workerEnv(set, e.Server.GetFrontendHostPort(), e.Namespace), wire)
	// Timeouts short enough that a stalled call fails in a second.
	for k, v := range map[string]string{
		"BACKUPFLOW_SPANNER_CALL_TIMEOUT":   "1s",
		"BACKUPFLOW_TAURUSDB_CALL_TIMEOUT":  "1s",
		"BACKUPFLOW_OTCRDS_CALL_TIMEOUT":    "1s",
		"BACKUPFLOW_ALIRDS_CONNECT_TIMEOUT": "1s",
		"BACKUPFLOW_ALIRDS_READ_TIMEOUT":    "1s",
	} {
		env[k] = v
	}
	w := newWorkerProcess(t, env)
	w.Start()
	cli := newStarterCLI(t, e.Server.GetFrontendHostPort(), e.Namespace)
	bc := e.BackupClient()
	ctx := testenv.Context(t, 4*time.Minute)

	var (
		mu        sync.Mutex
		workflows = map[string]string{} // workflow ID -> run ID
		backupIDs = map[string]string{} // workflow ID -> the backup made
	)
	t.Run("providers", func(t *testing.T) {
		for _, c := range set {
			p := proxies[c.Provider]
			t.Run(c.Provider, func(t *testing.T) {
				t.Parallel()
				offset := len(w.Log.String())
				h, err := bc.StartCreate(ctx, backup.Request{Provider: c.Provider, Section: c.CreateSection(5)})
				require.NoError(t, err)
				mu.Lock()
				workflows[h.WorkflowID] = h.RunID
				mu.Unlock()
				// The faults come while the backup is polled: a regular
				// activity, whose failed attempts the worker logs (those of
				// Validate, a local activity, it does not) and which retries
				// a failed call within about a second. Refusal comes last:
				// after it, gRPC waits out a reconnect back-off.
				for _, m := range []faultMode{passMode, stallMode, resetMode, refuseMode} {
					require.NoError(t, p.SetMode(m))
					re := phaseErrors[m]
					require.Eventually(t, func() bool { return attemptFailed(w.Log.String(), offset, h.WorkflowID, re) },
						time.Minute, 50*time.Millisecond, "%s: no poll failed with %s (%s)", c.Provider, re, m)
					offset = len(w.Log.String())
					// The CLI shows the failure too (as what the backup waits for).
					require.Eventually(t, func() bool { return re.MatchString(cli.run(t, "describe", h.WorkflowID, "--output", "json")) },
						30*time.Second, 100*time.Millisecond, "%s: describe never showed %s (%s)", c.Provider, re, m)
					cli.run(t, "describe", h.WorkflowID)
				}
				require.NoError(t, p.SetMode(passMode))
				res, err := h.Result(ctx)
				require.NoError(t, err, "%s: the backup succeeds once the network heals", c.Provider)
				t.Logf("%s: %d attempts, backup %s", c.Provider, res.Attempts, res.Backup.ID)
				mu.Lock()
				backupIDs[h.WorkflowID] = res.Backup.ID
				mu.Unlock()
				cli.run(t, "describe", h.WorkflowID)
				cli.run(t, "describe", h.WorkflowID, "--output", "json")
			})
		}
	})
	require.Len(t, workflows, len(set), "every provider's backup ran")
	for _, c := range set {
		cli.run(t, "list", "--provider", c.Provider)
		cli.run(t, "list", "--provider", c.Provider, "--output", "json")
	}
	w.stop()

	values := append(secretValues(t, set), wire.Values()...)
	t.Logf("scanning for %d credential values (%d seen on the wire)", len(values), len(wire.Values()))
	kinds := wire.Kinds()
	t.Logf("seen on the wire: %v", kinds)
	for _, k := range []string{"authorization", "x-subject-token", "x-auth-token", "signature", "signaturenonce"} {
		require.Positive(t, kinds[k], "the proxies saw %s (TaurusDB signs, OTC's IAM issues and RDS takes tokens, Alibaba signs its parameters)", k)
	}
	for id, run := range workflows {
		hist, err := history(ctx, e.Client, id, run)
		require.NoError(t, err)
		text := historyText(t, hist)
		require.Contains(t, string(text), backupIDs[id], "the result's payload was decoded and scanned")
		assertNoLeaks(t, "the history of "+id, text, values)
	}
	assertNoLeaks(t, "the worker's log", []byte(w.Log.String()), values)
	assertNoLeaks(t, "the worker's metrics", []byte(w.Metrics.String()), values)
	assertNoLeaks(t, "the CLI's output", []byte(cli.out.String()), values)
	require.Contains(t, w.Metrics.String(), "backupflow_provider_errors_total{", "the metrics were scraped")
	require.Contains(t, cli.out.String(), "SUCCEEDED", "the CLI described the backups")
}
