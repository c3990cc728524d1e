// Package pgtest starts a private, throwaway PostgreSQL cluster for a test:
// initdb into a temporary directory, then the server on 127.0.0.1 and a free
// port, with password authentication, stopped and deleted when the test ends.
// It uses the PostgreSQL server binaries from the operating system's packages
// (Debian: apt-get install postgresql) and fails the test, saying how to
// install them, when they are missing. Only tests import it.
//
// initdb and the server refuse to run as root, so when the test runs as root
// (as CI does) they run as the "postgres" system user that the package
// creates, in a directory owned by that user.
package pgtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backupflow/backupflow/deploy/dev/devserver"
)

// InstallHint is how to get the binaries, as the failure message says it.
const InstallHint = "install PostgreSQL's server binaries (initdb, pg_ctl, postgres): " +
	"`apt-get install -y postgresql` on Debian or Ubuntu; .ci/run does this on CI"

// systemUser runs the binaries when the test runs as root.
const systemUser = "postgres"

// Cluster is one running PostgreSQL server.
type Cluster struct {
	Host     string
	Port     int
	User     string
	Password string
	// Dir holds the data directory, the socket and the server's log.
	Dir string

	bin     string
	asUser  []string // the command prefix that runs a binary as systemUser, or nil
	dataDir string
	logFile string
}

// URL is the cluster's address for database db, as devserver.Options.DatabaseURL takes it.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s", c.User, c.Password, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), db)
}

// Log is the server's log so far.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(c.logFile)
	return string(b)
}

// Start initialises and starts a cluster, and stops and deletes it when the
// test ends. Its superuser is "backupflow" with a random password.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Host: devserver.Host, User: "backupflow", Password: randomPassword(t), bin: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup(systemUser); err != nil {
			t.Fatalf("pgtest: running as root, and PostgreSQL must run as the %q system user, which does not exist (%v); %s", systemUser, err, InstallHint)
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			t.Fatalf("pgtest: running as root needs runuser (util-linux) to run PostgreSQL as %q: %v", systemUser, err)
		}
		c.asUser = []string{runuser, "-u", systemUser, "--"}
	}
	// Not t.TempDir: the server's user must be able to reach the directory.
	c.Dir, err = os.MkdirTemp("", "backupflow-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(c.Dir) })
	c.dataDir, c.logFile = filepath.Join(c.Dir, "data"), filepath.Join(c.Dir, "server.log")
	pwFile := filepath.Join(c.Dir, "password")
	if err := os.WriteFile(pwFile, []byte(c.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.asUser != nil {
		if err := chownTree(c.Dir, systemUser); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.run("initdb", "-D", c.dataDir, "-U", c.User, "--pwfile", pwFile, "--auth", "scram-sha-256",
		"-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	t.Cleanup(c.stop)
	// A port picked free can be taken before the server binds it: pick again.
	for attempt := 1; ; attempt++ {
		if c.Port, err = devserver.FreePort(); err != nil {
			t.Fatal(err)
		}
		out, err := c.run("pg_ctl", "start", "-D", c.dataDir, "-l", c.logFile, "-w", "-t", "60", "-o", c.serverOptions())
		if err == nil {
			return c
		}
		if attempt == 3 || !strings.Contains(c.Log(), "could not bind") {
			t.Fatalf("pgtest: pg_ctl start: %v\n%s\nserver log:\n%s", err, out, c.Log())
		}
	}
}

// serverOptions: loopback only, the socket in the cluster's own directory,
// room for the Temporal server's connection pools, and no fsync: the cluster
// is thrown away with the test, so durability against power loss buys nothing.
func (c *Cluster) serverOptions() string {
	return strings.Join([]string{
		"-h", c.Host, "-p", strconv.Itoa(c.Port), "-k", c.Dir,
		"-c", "max_connections=300",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
	}, " ")
}

// stop stops the server at once (it is thrown away, so no checkpoint is needed).
func (c *Cluster) stop() {
	if _, err := os.Stat(filepath.Join(c.dataDir, "postmaster.pid")); err != nil {
		return // never started, or already stopped
	}
	_, _ = c.run("pg_ctl", "stop", "-D", c.dataDir, "-m", "immediate", "-w", "-t", "30")
}

// run runs one of the cluster's binaries (as systemUser when root), bounded in time.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	argv := append(slices.Clone(c.asUser), append([]string{filepath.Join(c.bin, name)}, args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		return out.Bytes(), fmt.Errorf("%s did not finish within 2 minutes", name)
	}
}

// BinDir finds the directory of initdb and pg_ctl: the newest of Debian's
// /usr/lib/postgresql/<version>/bin, else the one holding initdb on PATH.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if executable(filepath.Join(d, "initdb")) && executable(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if d := filepath.Dir(p); executable(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("pgtest: PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH); %s", InstallHint)
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// chownTree gives dir and everything in it to the named user.
func chownTree(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, uid, gid)
	})
}

// randomPassword is a fresh password per cluster, hex so it needs no escaping in a URL.
func randomPassword(t testing.TB) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// StartTemporal starts backupflow's embedded Temporal server (devserver) on
// database db of the cluster, without the Web UI, and stops it when the test
// ends. opts may set ports, the namespace and the log level.
func (c *Cluster) StartTemporal(t testing.TB, db string, opts devserver.Options) *devserver.Server {
	t.Helper()
	opts.DatabaseURL, opts.NoUI = c.URL(db), true
	srv, err := devserver.Start(opts)
	if err != nil {
		t.Fatalf("pgtest: Temporal on PostgreSQL: %v\nPostgreSQL log:\n%s", err, c.Log())
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}
