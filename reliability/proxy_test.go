package reliability

import (
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/internal/clouds"
)

// holdProxy is a loopback TCP proxy in front of a simulator. Requests pass at
// once; what the provider sends back can be held for a while (SetHold). It
// speaks no protocol, so it serves gRPC and HTTP simulators alike.
//
// Holding answers opens the window a crash test needs: the provider has
// accepted and applied a create, and the worker has not heard of it yet. A
// worker killed in that window leaves a backup it does not know about, which
// the next attempt must adopt rather than duplicate.
type holdProxy struct {
	ln     net.Listener
	target string
	hold   atomic.Int64 // nanoseconds
	held   atomic.Int64 // answer chunks received from the provider, not yet delivered
	done   chan struct{}

	mu     sync.Mutex
	conns  map[net.Conn]*proxyConn
	closed bool
}

// proxyConn tracks whether a request is waiting at the provider.
type proxyConn struct {
	lastRequest, lastAnswer atomic.Int64 // unix nanoseconds
}

func startHoldProxy(t *testing.T, target string) *holdProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &holdProxy{ln: ln, target: target, done: make(chan struct{}), conns: map[net.Conn]*proxyConn{}}
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *holdProxy) Addr() string { return p.ln.Addr().String() }

// SetHold holds every answer chunk for d before delivering it (0: pass at once).
func (p *holdProxy) SetHold(d time.Duration) { p.hold.Store(int64(d)) }

// Held counts answer chunks the provider sent that the client has not received yet.
func (p *holdProxy) Held() int64 { return p.held.Load() }

// Waiting counts connections whose latest request has no answer yet: a call
// is in flight at the provider.
func (p *holdProxy) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, pc := range p.conns {
		if pc.lastRequest.Load() > pc.lastAnswer.Load() {
			n++
		}
	}
	return n
}

func (p *holdProxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	_ = p.ln.Close()
}

func (p *holdProxy) track(c net.Conn, pc *proxyConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = pc
	return true
}

func (p *holdProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		_ = c.Close()
	}
}

func (p *holdProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		upstream, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			_ = client.Close()
			continue
		}
		pc := &proxyConn{}
		if !p.track(client, pc) || !p.track(upstream, &proxyConn{}) {
			p.untrack(client, upstream)
			continue
		}
		var once sync.Once
		closeBoth := func() { once.Do(func() { p.untrack(client, upstream) }) }
		go p.forward(client, upstream, pc, closeBoth)
		go p.answer(upstream, client, pc, closeBoth)
	}
}

// forward passes requests to the provider as they come. When the client goes
// away (a killed worker), both sides close, as the provider would see it.
func (p *holdProxy) forward(client, upstream net.Conn, pc *proxyConn, closeBoth func()) {
	defer closeBoth()
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			pc.lastRequest.Store(time.Now().UnixNano())
			if _, werr := upstream.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

type heldChunk struct {
	data []byte
	due  time.Time
}

// answer delivers what the provider sends, each chunk after the hold in force
// when it arrived, in order.
func (p *holdProxy) answer(upstream, client net.Conn, pc *proxyConn, closeBoth func()) {
	defer closeBoth()
	chunks := make(chan heldChunk, 1024)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := upstream.Read(buf)
			if n > 0 {
				pc.lastAnswer.Store(time.Now().UnixNano())
				p.held.Add(1)
				chunks <- heldChunk{data: buf[:n], due: time.Now().Add(time.Duration(p.hold.Load()))}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for c := range chunks {
		if !failed {
			if d := time.Until(c.due); d > 0 {
				timer := time.NewTimer(d)
				select {
				case <-timer.C:
				case <-p.done:
					timer.Stop()
					failed = true
				}
			}
		}
		if !failed {
			if _, err := client.Write(c.data); err != nil {
				failed = true
				closeBoth() // unblocks the reader above
			}
		}
		p.held.Add(-1)
	}
}

// proxied puts a hold proxy in front of every simulator and returns the
// worker environment pointing through them (every variable that named the
// simulator's address now names its proxy's).
func proxied(t *testing.T, set clouds.Set, base map[string]string) (map[string]string, map[string]*holdProxy) {
	t.Helper()
	env := map[string]string{}
	for k, v := range base {
		env[k] = v
	}
	proxies := map[string]*holdProxy{}
	for _, c := range set {
		addr := c.Simulator.Endpoint()
		if i := strings.Index(addr, "://"); i >= 0 {
			addr = addr[i+3:]
		}
		addr = strings.TrimSuffix(addr, "/")
		p := startHoldProxy(t, addr)
		proxies[c.Provider] = p
		replaced := 0
		for k, v := range c.Env {
			if strings.Contains(v, addr) {
				env[k] = strings.ReplaceAll(v, addr, p.Addr())
				replaced++
			}
		}
		require.NotZero(t, replaced, "%s: no worker variable names the simulator's address %s", c.Provider, addr)
	}
	return env, proxies
}

// TestHoldProxy proves the proxy holds answers, and counts them while held.
func TestHoldProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }() // echo
		}
	}()
	p := startHoldProxy(t, ln.Addr().String())
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()

	roundTrip := func() {
		_, err := c.Write([]byte("ping"))
		require.NoError(t, err)
		buf := make([]byte, 4)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
		require.Equal(t, "ping", string(buf))
	}
	roundTrip() // unheld
	p.SetHold(300 * time.Millisecond)
	start := time.Now()
	_, err = c.Write([]byte("ping"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.Held() == 1 }, time.Second, time.Millisecond, "the echo is held")
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "the answer was held")
	require.Eventually(t, func() bool { return p.Held() == 0 }, time.Second, time.Millisecond)
	p.SetHold(0)
	roundTrip()
}
